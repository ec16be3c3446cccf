"""Static files: fingerprinted names cached for a year, checked against the content."""

from __future__ import annotations

import re
from pathlib import Path

YEAR = 365 * 24 * 3600


def linked_assets(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_pages_link_fingerprinted_names_cached_for_a_year(client, app):
    assets = linked_assets(client.get("/").get_data(as_text=True))
    assert "/static/css/gallery.css" not in assets
    css = next(a for a in assets if a.startswith("/static/css/gallery."))
    assert re.fullmatch(r"/static/css/gallery\.[0-9a-f]{12}\.css", css)
    response = client.get(css)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.data == (Path(app.static_folder) / "css" / "gallery.css").read_bytes()
    cache_control = response.cache_control
    assert cache_control.max_age == YEAR and cache_control.public and cache_control.immutable
    for asset in assets:
        assert client.get(asset).status_code == 200


def test_a_stale_fingerprint_is_404_not_old_content_kept_for_a_year(client):
    assert client.get("/static/css/gallery.0123456789ab.css").status_code == 404


def test_the_plain_name_still_works_without_the_long_cache(client):
    response = client.get("/static/css/gallery.css")
    assert response.status_code == 200
    assert not response.cache_control.immutable and (response.cache_control.max_age or 0) < YEAR
