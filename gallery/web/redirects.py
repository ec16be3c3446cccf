"""Where to send the browser: a resource's page, or where a `next` parameter asks (only back into the gallery)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from ..archive.levels import Level


def safe_next(target: str | None) -> str:
    """A local path (with its query) to go back to; anything that could leave the site goes home.

    Browsers read `\\` as `/` and drop tabs and newlines anywhere in a URL, so `/\\evil`
    and `/<tab>/evil` mean `//evil` (another host); control characters would also
    break the Location header. Such targets, and anything not a plain path, go home.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 or ord(c) == 127 for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("browse.home")


def page_url(level: Level, resource_id: str) -> str:
    """The browse page of one patient, study, series or instance."""
    return url_for(f"browse.{level.value}", **{level.arg: resource_id})
