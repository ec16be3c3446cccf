"""One error handler for every failure: a short page or JSON body saying what was wrong.

Never a stack trace: unexpected exceptions are logged and answered with a plain 500.
"""

from __future__ import annotations

import logging
import math

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from werkzeug.exceptions import ClientDisconnected, HTTPException, InternalServerError

from ..archive.paging import PageOutOfRange
from ..orthanc.errors import OrthancError, OrthancNotFound, OrthancUnauthorized, OrthancUnavailable
from .formatting import file_size, number
from .responses import wants_json

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Bad request"),
    401: _l("Sign-in required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    410: _l("No longer available"),
    413: _l("Upload too large"),
    415: _l("Cannot be shown"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    502: _l("Orthanc answered with an error"),
    503: _l("Orthanc cannot be reached"),
}

CUT_OFF = _l(
    "The request was cut off before all of it arrived (the connection closed early), "
    "so nothing was stored. Send it again."
)


def _title(status: int) -> str:
    return str(TITLES.get(status) or _("Error"))


def error_response(status: int, message: str) -> Response:
    """The error page (errors/<status>.html, else errors/error.html) or its JSON twin."""
    title = _title(status)
    message = str(message)
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
    message = _too_large_message() if status == 413 else _described(error)
    if isinstance(error, ClientDisconnected):
        message = CUT_OFF
    response = error_response(status, message)
    if status == 405 and error.valid_methods:
        response.allow.update(error.valid_methods)
    return response


def _too_large_message() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit and (request.content_length or 0) > limit:
        return _(
            "The upload is larger than the limit of %(limit)s. Send fewer or smaller files at once.",
            limit=file_size(limit),
        )
    parts = current_app.config.get("MAX_FORM_PARTS")
    return _(
        "The upload holds more than %(parts)s files or fields, or a form field is too long. "
        "Send a ZIP archive instead, or fewer files at once.",
        parts=number(parts),
    )


def _described(error: HTTPException) -> str:
    """The view's own message (already translated where it was raised), else the status' title.

    Werkzeug's default descriptions (a 404 for an unknown URL, a 405) are English: the
    translated title stands in for them.
    """
    description = error.description
    if description is None or description == type(error).description:
        return _title(error.code or 500)
    return str(description)


def _orthanc_error(error: OrthancError) -> Response:
    if isinstance(error, OrthancNotFound):
        return error_response(404, _("There is no such patient, study, series, instance or frame in Orthanc."))
    if isinstance(error, OrthancUnavailable):
        log.warning("Orthanc unavailable on %s: %s", error.path, error.message)
        response = error_response(503, _("Orthanc cannot be reached right now. Try again in a moment."))
        if error.retry_after:
            response.retry_after = math.ceil(error.retry_after)
        return response
    if isinstance(error, OrthancUnauthorized):
        log.error("Orthanc refused the gallery's credentials on %s", error.path)
        return error_response(
            502, _("Orthanc refused the gallery's credentials; an administrator must fix the configuration.")
        )
    log.warning("Orthanc error %s on %s: %s", error.orthanc_status, error.path, error.message)
    return error_response(502, _("Orthanc could not complete the request: %(reason)s", reason=error.message))


#: Flask-WTF's reasons, which it does not translate itself.
CSRF_REASONS = {
    "The CSRF token is missing.": _l("The CSRF token is missing."),
    "The CSRF session token is missing.": _l("The CSRF session token is missing."),
    "The CSRF token has expired.": _l("The CSRF token has expired."),
    "The CSRF token is invalid.": _l("The CSRF token is invalid."),
    "The CSRF tokens do not match.": _l("The CSRF tokens do not match."),
}


def _csrf_error(error: CSRFError) -> Response:
    reason = CSRF_REASONS.get(error.description, error.description)
    return error_response(
        400, _("The form could not be accepted: %(reason)s Reload the page and try again.", reason=reason)
    )


def _page_error(error: PageOutOfRange) -> Response:
    message = _("Page %(number)s does not exist: the last page is %(last)s.", number=error.number, last=error.last)
    return error_response(404, message)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error", exc_info=error)
    return error_response(500, _("An unexpected error happened. It has been logged; please try again."))


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OrthancError, _orthanc_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(PageOutOfRange, _page_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
