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
    missing = "/patients/" + "-".join(["0" * 8] * 5)
    try:
        page = gallery_get(server.url + "/patients", json=True)
        assert page.status_code == 200 and str(closed) not in page.text  # lists answer from the index
        detail = gallery_get(server.url + missing, json=True)  # a page that needs Orthanc
        assert detail.status_code == 503
        assert detail.json()["error"]["message"] and str(closed) not in detail.text
        assert gallery_get(server.url + "/").status_code == 200  # the worker is still serving
    finally:
        server.stop()
    assert "index sync step failed" in log.read_text()  # the worker's syncer tried, and only logged it
