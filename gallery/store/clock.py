"""The time, in one place: now (tests can move it, e.g. share-link expiry) and how stored times read."""

from __future__ import annotations

from datetime import UTC, datetime

from babel import dates
from flask import current_app, has_app_context
from flask_babel import get_locale


def utcnow() -> datetime:
    """Naive UTC now (stored as such in SQLite and PostgreSQL), or the app's test clock."""
    clock = current_app.extensions.get("clock") if has_app_context() else None
    return clock() if clock else datetime.now(UTC).replace(tzinfo=None)


def moment(value: datetime | None, seconds: bool = False) -> str:
    """A stored (UTC) timestamp as a date and time in this locale, in UTC."""
    if value is None:
        return ""
    locale = str(get_locale() or "en")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    when = dates.format_date(value, "medium", locale=locale)
    clock = dates.format_time(value, "medium" if seconds else "short", tzinfo=UTC, locale=locale)
    return f"{when} {clock}"
