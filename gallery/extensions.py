"""Extension instances, created unbound and initialised in create_app()."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context
from flask_caching import Cache
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .orthanc.client import OrthancClient
from .orthanc.errors import OrthancUnavailable

cache = Cache()
csrf = CSRFProtect()
db = SQLAlchemy()
login_manager = LoginManager()


def _count_call(method: str, path: str, seconds: float) -> None:
    """Tally Orthanc calls per request, reported in the Server-Timing header."""
    if has_request_context():
        g.orthanc_calls = g.get("orthanc_calls", 0) + 1
        g.orthanc_seconds = g.get("orthanc_seconds", 0.0) + seconds


def init_orthanc(app: Flask) -> None:
    """One client (one connection pool) per app."""
    client = None
    if app.config["ORTHANC_URL"]:
        client = OrthancClient(
            app.config["ORTHANC_URL"],
            app.config["ORTHANC_USER"],
            app.config["ORTHANC_PASSWORD"],
            connect_timeout=app.config["ORTHANC_CONNECT_TIMEOUT"],
            read_timeout=app.config["ORTHANC_READ_TIMEOUT"],
            retries=app.config["ORTHANC_RETRIES"],
            observer=_count_call,
            breaker_failures=app.config["ORTHANC_BREAKER_FAILURES"],
            breaker_cooldown=app.config["ORTHANC_BREAKER_COOLDOWN"],
            max_concurrent=app.config["ORTHANC_MAX_CONCURRENT"],
            queue_wait=app.config["ORTHANC_QUEUE_WAIT"],
        )
    app.extensions["orthanc"] = client


def orthanc() -> OrthancClient:
    client = current_app.extensions.get("orthanc")
    if client is None:
        raise OrthancUnavailable("(none)", "ORTHANC_URL is not configured")
    return client
