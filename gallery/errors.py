"""One error handler for every failure: a short page or JSON body saying what was wrong.

Never a stack trace: unexpected exceptions are logged and answered with a plain 500.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from werkzeug.exceptions import ClientDisconnected, HTTPException, InternalServerError

from .dicom import human_size
from .orthanc import OrthancError, OrthancNotFound, OrthancUnauthorized, OrthancUnavailable
from .paging import PageOutOfRange
from .responses import wants_json

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    410: "No longer available",
    413: "Upload too large",
    415: "Cannot be shown",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "Orthanc answered with an error",
    503: "Orthanc cannot be reached",
}

CUT_OFF = (
    "The request was cut off before all of it arrived (the connection closed early), "
    "so nothing was stored. Send it again."
)


def error_response(status: int, message: str) -> Response:
    """The error page (errors/<status>.html, else errors/error.html) or its JSON twin."""
    title = TITLES.get(status, "Error")
    if wants_json():
        response = jsonify({"error": {"status": status, "title": title, "message": message}})
    elif request_ctx.url_adapter is None:
        # The Host header could not be bound to the URL map (e.g. an over-long name): pages
        # cannot build their links, so the answer is plain text.
        response = Response(f"{title}: {message}\n", mimetype="text/plain")
    else:
        try:
            html = render_template(f"errors/{status}.html", status=status, title=title, message=message)
        except TemplateNotFound:
            html = render_template("errors/error.html", status=status, title=title, message=message)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.vary.add("Accept")
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = _too_large_message() if status == 413 else error.description or TITLES.get(status, "Error")
    if isinstance(error, ClientDisconnected):
        message = CUT_OFF
    response = error_response(status, message)
    if status == 405 and error.valid_methods:
        response.allow.update(error.valid_methods)
    return response


def _too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit and (request.content_length or 0) > limit:
        return f"The upload is larger than the limit of {human_size(limit)}. Send fewer or smaller files at once."
    parts = current_app.config.get("MAX_FORM_PARTS")
    return (
        f"The upload holds more than {parts:,} files or fields, or a form field is too long. "
        "Send a ZIP archive instead, or fewer files at once."
    )


def _orthanc_error(error: OrthancError) -> Response:
    if isinstance(error, OrthancNotFound):
        return error_response(404, "There is no such patient, study, series, instance or frame in Orthanc.")
    if isinstance(error, OrthancUnavailable):
        log.warning("Orthanc unavailable on %s: %s", error.path, error.message)
        return error_response(503, "Orthanc cannot be reached right now. Try again in a moment.")
    if isinstance(error, OrthancUnauthorized):
        log.error("Orthanc refused the gallery's credentials on %s", error.path)
        return error_response(
            502, "Orthanc refused the gallery's credentials; an administrator must fix the configuration."
        )
    log.warning("Orthanc error %s on %s: %s", error.orthanc_status, error.path, error.message)
    return error_response(502, f"Orthanc could not complete the request: {error.message}")


def _csrf_error(error: CSRFError) -> Response:
    return error_response(400, f"The form could not be accepted: {error.description} Reload the page and try again.")


def _page_error(error: PageOutOfRange) -> Response:
    return error_response(404, str(error))


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "An unexpected error happened. It has been logged; please try again.")


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OrthancError, _orthanc_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(PageOutOfRange, _page_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
