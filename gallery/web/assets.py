"""Static files under fingerprinted names (`css/gallery.3f2a1b4c5d6e.css`), cached for a year.

Why names rather than `?v=<hash>`: some shared caches and CDNs leave the query
string out of their cache key (CloudFront's default), and a name is checked here:
during a rolling deploy a page of the new version may reach an old process, which
answers 404 for a fingerprint it does not have, instead of its old content under
a URL that browsers then keep, immutable, for a year. The plain name still works,
without the long cache.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath

from flask import Flask, Response, current_app, send_from_directory, url_for

from .responses import YEAR

FINGERPRINTED = re.compile(r"(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)?")


@lru_cache(maxsize=256)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def fingerprint(folder: str | Path, filename: str) -> str:
    """The first 12 hex digits of the file's SHA-256, recomputed when the file changes."""
    path = Path(folder) / filename
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def fingerprinted_name(folder: str | Path, filename: str) -> str:
    """`css/gallery.css` → `css/gallery.3f2a1b4c5d6e.css`."""
    path = PurePosixPath(filename)
    return str(path.with_name(f"{path.stem}.{fingerprint(folder, filename)}{path.suffix}"))


def resolve(folder: str | Path, requested: str) -> tuple[str, bool]:
    """The file behind a requested name, and whether the name carried that file's current fingerprint."""
    match = FINGERPRINTED.fullmatch(requested)
    if match:
        original = match["stem"] + (match["suffix"] or "")
        path = Path(folder) / original
        inside = path.is_file() and Path(folder).resolve() in path.resolve().parents
        if inside and fingerprint(folder, original) == match["hash"]:
            return original, True
    return requested, False


def static_url(filename: str) -> str:
    """The URL of a static file under its fingerprinted name (for templates)."""
    return url_for("static", filename=fingerprinted_name(current_app.static_folder or "", filename))


def register_static(app: Flask) -> None:
    """Serve fingerprinted names through Flask's own `static` endpoint."""
    folder = app.static_folder or ""

    def static(filename: str) -> Response:
        real, current = resolve(folder, filename)
        response = send_from_directory(folder, real, max_age=YEAR if current else None)
        if current:
            response.cache_control.public = True
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static
