"""The shared cache is an optimisation: pages and images still work while Redis is down."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import redis as redis_py

from gallery import create_app
from gallery.access.albums import add_studies, create_album
from gallery.access.shares import create_share
from gallery.access.users import find_user

from ..support.data import Archive
from ..support.services import start_redis
from ..support.web import ADMIN_USER, client_for, sync_index


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pages_and_images_are_served_from_orthanc_while_redis_is_down(
    app_config, orthanc_server, archive: Archive, caplog
):
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


#: App setup binds the instance; archive/cache.py guards every use of it.
MAY_USE_THE_CACHE_INSTANCE = {"__init__.py", "archive/cache.py"}


#: Beyond each rule's bare URL: the viewer's planes, slices and data windows, and the exports.
VARIANTS = {
    "viewer.view": ["", "?plane=sagittal", "?plane=coronal&slice=3", "?preset=auto"],
    "viewer.image": ["?slice=3", "?plane=sagittal&slice=3", "?plane=axial&preset=full", "?slice=3&format=png"],
    "viewer.mosaic": ["", "?cols=3&rows=2&size=64"],
    "viewer.series_export": ["?format=jpeg", "?plane=coronal&format=png"],
    "viewer.study_export": ["?format=jpeg"],
    "browse.series": ["", "?page=2&size=10"],
}


def walk_urls(app, values: dict[str, object]) -> list[str]:
    """Every GET rule of the URL map with real IDs in its arguments, plus the VARIANTS."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: add a value for {missing}"
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        urls += [url + query for query in VARIANTS.get(rule.endpoint, [""])]
    return urls


def test_every_get_route_survives_redis_stopping_after_use(
    app_config, orthanc_server, archive: Archive, tmp_path, monkeypatch
):
    """A real Redis fills up, then stops: no route answers 5xx, and the images still come (from Orthanc)."""
    redis = start_redis(tmp_path / "redis")
    try:
        app = create_app(
            app_config(orthanc_server, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis.url, PROPAGATE_EXCEPTIONS=False)
        )
        sync_index(app)  # album pages read the index
        with app.app_context():
            admin = find_user(ADMIN_USER)
            share, token = create_share("study", archive.volume[0].study, "x", admin, timedelta(days=1), False)
            album = create_album("Cache walk", "", admin)  # its page, ZIPs and contact sheet are walked too
            add_studies(album, [archive.volume[0].study, archive.korean.study], admin)
            album_id = album.id
        values = {
            "patient_id": archive.volume[0].patient,
            "study_id": archive.volume[0].study,
            "series_id": archive.volume_series,
            "instance_id": archive.volume[0].instance,
            "token": token,
            "level": "series",
            "uid": "1.2.3",
            "code": "ko",
            "album_id": album_id,
        }
        urls = walk_urls(app, values)
        client = client_for(app)
        for url in urls[:12] + [u for u in urls if "/view" in u or "/image" in u or "/mosaic" in u]:
            assert client.get(url).status_code < 500, url  # the cache is in use...
        assert redis_py.Redis.from_url(redis.url).dbsize() > 0, "nothing was cached while Redis ran"
    finally:
        redis.stop()  # ...and goes away
    monkeypatch.setattr("gallery.archive.cache.RETRY_AFTER", 0.0)  # every cache call meets the stopped Redis

    failures = []
    for url in urls:
        for accept in ("text/html", "application/json"):
            try:
                response = client.get(url, headers={"Accept": accept})
                body = response.get_data()  # exports stream: their errors come while the body is read
            except Exception as exc:  # a failure while streaming
                failures.append(f"{url} ({accept}): {type(exc).__name__}")
                continue
            if response.status_code >= 500:
                failures.append(f"{url} ({accept}) -> {response.status_code}")
            elif "/series/" in url and ("/image" in url or "/mosaic" in url):
                assert response.status_code == 200 and response.mimetype.startswith("image/") and body, url
    assert failures == []
    assert len(urls) > 30
