"""What can go wrong with Orthanc, as one exception tree, and the ID check every path goes through.

Orthanc decodes `%2F` inside path segments (and 1.12.7 aborts on some malformed requests), so a
path is built only from values that passed `require_id`. No Flask here: the web layer maps
these errors to pages (web/errors.py).
"""

from __future__ import annotations

import re

ORTHANC_ID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}")


class OrthancError(Exception):
    """Orthanc could not answer as asked. Carries the REST path, never the host."""

    status = 502

    def __init__(self, path: str, message: str, orthanc_status: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.orthanc_status = orthanc_status


class OrthancNotFound(OrthancError):
    status = 404


class OrthancBadRequest(OrthancError):
    status = 400


class OrthancUnsupported(OrthancError):
    """Orthanc's 415: it cannot render this object (no pixels, or a codec it lacks)."""

    status = 415


class OrthancUnauthorized(OrthancError):
    """Orthanc refused the gallery's credentials: a configuration problem."""

    status = 502


class OrthancUnavailable(OrthancError):
    """No answer: connection refused, reset or timed out.

    `reached` tells whether the request may have got to Orthanc (reset or timed
    out after connecting), so a POST may or may not have been applied; when it
    is False (connection refused), Orthanc certainly did nothing.
    """

    status = 503

    def __init__(
        self,
        path: str,
        message: str,
        orthanc_status: int | None = None,
        *,
        reached: bool = True,
        retry_after: float | None = None,
        dropped: bool = False,
        node: int = 0,
    ) -> None:
        super().__init__(path, message, orthanc_status)
        self.reached = reached
        self.retry_after = retry_after  # seconds worth waiting before asking again, when known
        #: The connection was made and then closed with no answer (not a timeout): Orthanc may have died on it.
        self.dropped = dropped
        self.node = node  # which of the configured URLs failed


#: Orthanc's HTTP status → the error the gallery raises (others: OrthancError, 502).
ERROR_BY_STATUS: dict[int, type[OrthancError]] = {
    400: OrthancBadRequest,
    401: OrthancUnauthorized,
    403: OrthancUnauthorized,
    404: OrthancNotFound,
    415: OrthancUnsupported,
}


def is_orthanc_id(value: str) -> bool:
    return bool(ORTHANC_ID.fullmatch(value))


def require_id(value: str) -> str:
    """Return `value` if it has the shape of an Orthanc ID, else raise OrthancNotFound."""
    if not is_orthanc_id(value):
        raise OrthancNotFound("(invalid id)", "not an Orthanc ID")
    return value
