"""The gallery under gunicorn with the repository's gunicorn.conf.py."""

from __future__ import annotations

import socket

from scripts.embedded import free_port
from scripts.launch import start_gunicorn

from ..support.services import gallery_get
from ..support.web import ADMIN_PASSWORD, ADMIN_USER


def test_gunicorn_starts_and_answers_503_while_orthanc_is_down(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "ORTHANC_URL": f"http://127.0.0.1:{closed}/",
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gallery.db'}",
        "GALLERY_ADMIN_USER": ADMIN_USER,
        "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    server = start_gunicorn({**env, "GUNICORN_THREADS": "2"}, free_port(), log=log)
    try:
        page = gallery_get(server.url + "/patients", json=True)
        assert page.status_code == 503
        assert page.json()["error"]["message"] and str(closed) not in page.text
        assert gallery_get(server.url + "/").status_code == 503  # the worker is still serving
    finally:
        server.stop()
    assert "list index warm-up failed" in log.read_text()  # post_worker_init tried, and only logged it
