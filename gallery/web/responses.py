"""Answer a request: a page as HTML or, for `Accept: application/json`, as JSON; an image with its cache headers."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, make_response, render_template, request

from ..access.deidentified import shown
from ..imaging.render import Image
from .serialize import to_json

#: Cache lifetime of content-addressed responses (fingerprinted static files, images named by their ETag).
YEAR = 365 * 24 * 3600


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def respond(template: str, status: int = 200, **context: Any) -> Response:
    """Render `template` with `context`, or return `context` as JSON.

    Context keys starting with `_` are for the template only (forms, helpers). Through a
    de-identified share link, the domain objects are rewritten first (access/deidentified.py).
    """
    context = {key: shown(value) for key, value in context.items()}
    if wants_json():
        response = jsonify({k: to_json(v) for k, v in context.items() if not k.startswith("_")})
        response.status_code = status
    else:
        response = make_response(render_template(template, **context), status)
    response.vary.add("Accept")
    return response


def image_response(image: Image, max_age: int) -> Response:
    response = Response(image.content, mimetype=image.content_type)
    response.set_etag(image.etag)
    # Images show patient data: `private` keeps them out of shared proxies.
    response.cache_control.private = True
    response.cache_control.max_age = max_age if not image.placeholder else min(max_age, 3600)
    if max_age >= YEAR and not image.placeholder:
        response.cache_control.immutable = True
    return response


def not_modified(etag: str) -> Response | None:
    """A 304 before any Orthanc call when the browser already holds this image."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
        return response
    return None
