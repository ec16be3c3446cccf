"""Answer a page request as HTML or, for `Accept: application/json`, as JSON."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, make_response, render_template, request

from .serialize import to_json


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def respond(template: str, status: int = 200, **context: Any) -> Response:
    """Render `template` with `context`, or return `context` as JSON.

    Context keys starting with `_` are for the template only (forms, helpers).
    """
    if wants_json():
        response = jsonify({k: to_json(v) for k, v in context.items() if not k.startswith("_")})
        response.status_code = status
    else:
        response = make_response(render_template(template, **context), status)
    response.vary.add("Accept")
    return response
