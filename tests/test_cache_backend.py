"""The shared cache is an optimisation: pages and images still work while Redis is down."""

from __future__ import annotations

import logging
import socket

from gallery import create_app

from .conftest import app_config, client_for
from .data import Archive


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pages_and_images_are_served_from_orthanc_while_redis_is_down(orthanc_server, archive: Archive, caplog):
    app = create_app(
        app_config(orthanc_server, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    )
    client = client_for(app)
    with caplog.at_level(logging.WARNING, logger="gallery.archive.cache"):
        assert client.get("/patients").status_code == 200
        study = client.get(f"/studies/{archive.korean.study}")
        assert study.status_code == 200 and "Chest CT" in study.get_data(as_text=True)
        thumbnail = client.get(f"/instances/{archive.korean.instance}/thumbnail")
        assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    warnings = [r for r in caplog.records if r.name == "gallery.archive.cache"]
    assert len(warnings) == 1  # then the cache is left alone for a while, not retried on every call
    assert "ConnectionError" in warnings[0].getMessage()
