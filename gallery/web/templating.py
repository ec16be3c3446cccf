"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, url_for
from flask_babel import lazy_gettext as _l
from jinja2 import FileSystemBytecodeCache

from ..archive.paging import Page
from ..imaging.failures import known
from .assets import static_url
from .guards import may_open
from .vocabulary import TERMS, term, translated

#: Header links, shown when the endpoint exists (and, with accounts, is allowed).
NAV = (
    ("browse.patients", _l("Patients")),
    ("browse.studies", _l("Studies")),
    ("albums.index", _l("Albums")),
    ("upload.form", _l("Upload")),
    ("shares.index", _l("Shares")),
    ("admin.users", _l("Users")),
    ("admin.audit_log", _l("Audit log")),
    ("admin.render_failures", _l("Failed images")),
)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav_items() -> list[tuple[str, str]]:
    return [(e, str(label)) for e, label in NAV if has_endpoint(e) and may_open(url_for(e))]


def page_window(page: Page, radius: int = 2) -> list[int | None]:
    """Page numbers around the current one, with first/last and `None` for gaps."""
    numbers = {1, page.pages, *range(page.number - radius, page.number + radius + 1)}
    shown = sorted(n for n in numbers if 1 <= n <= page.pages)
    window: list[int | None] = []
    for n in shown:
        if window and window[-1] is not None and n - window[-1] > 1:
            window.append(None)
        window.append(n)
    return window


def nonempty(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v}


def register_template_helpers(app: Flask) -> None:
    # Compiling the templates a list page uses took ~200 ms of every new worker's first page;
    # compiled once, they are loaded from the cache (keyed by each template's source checksum).
    folder = app.config.get("TEMPLATE_CACHE_DIR") or None
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(folder)
    app.jinja_env.filters.update(nonempty=nonempty, term=term, translated=translated)
    app.jinja_env.globals.update(
        modality_names=TERMS["modality"],
        static_url=static_url,
        has_endpoint=has_endpoint,
        nav_items=nav_items,
        page_window=page_window,
        may_open=may_open,
        render_failure=known,  # a per-process memo, no Orthanc call
    )
    app.context_processor(lambda: {"share": g.get("share")})
