"""Orthanc Gallery: a server-rendered web gallery over an Orthanc PACS."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

import config as default_config

from .access.audit import register_audit
from .access.throttle import init_throttle
from .access.users import init_admin
from .archive.index.worker import init_syncer
from .extensions import cache, csrf, init_orthanc, login_manager
from .store.database import init_database
from .web.assets import register_static
from .web.errors import register_errorhandlers
from .web.guards import register_guards
from .web.i18n import init_i18n
from .web.params import OrthancIdConverter, RowIdConverter
from .web.spool import SpoolingRequest
from .web.templating import register_template_helpers

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults from config.py, then the environment, then `test_config`."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    app.request_class = SpoolingRequest
    load_config(app, test_config)
    app.url_map.converters["oid"] = OrthancIdConverter
    app.url_map.converters["int"] = RowIdConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    app.config.from_object(default_config)
    if test_config is None:
        app.config.update(default_config.from_environment(os.environ, app.config))
    else:
        app.config.update(test_config)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def register_extensions(app: Flask) -> None:
    from .imaging import stack, voxels

    if app.config["CACHE_TYPE"].endswith("RedisCache"):
        # An unreachable Redis must fail fast; the gallery then goes without it a while (archive/cache.py).
        app.config.setdefault("CACHE_OPTIONS", {"socket_connect_timeout": 1.0, "socket_timeout": 1.0})
    cache.init_app(app)
    csrf.init_app(app)
    init_i18n(app)
    init_throttle(app)
    login_manager.init_app(app)
    init_database(app, after_schema=lambda: init_admin(app))  # the first admin under the schema lock
    init_orthanc(app)
    init_syncer(app)
    voxels.init_app(app)
    stack.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .blueprints import accounts, admin, albums, browse, health, language, previews, shares, upload, viewer

    for feature in (language, browse, previews, viewer, upload, accounts, shares, albums, admin, health):
        app.register_blueprint(feature.bp)


def register_hooks(app: Flask) -> None:
    register_guards(app)
    register_audit(app)
    register_static(app)

    @app.after_request
    def server_timing(response: Response) -> Response:
        calls = g.get("orthanc_calls", 0)
        if calls:
            seconds = g.get("orthanc_seconds", 0.0)
            response.headers["Server-Timing"] = f'orthanc;dur={seconds * 1000:.1f};desc="{calls} calls"'
        return response


def register_cli(app: Flask) -> None:
    from .cli import COMMANDS

    for command in COMMANDS:
        app.cli.add_command(command)
