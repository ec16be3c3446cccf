"""The time, in one place, so tests can move it (share-link expiry)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def utcnow() -> datetime:
    """Naive UTC now (stored as such in SQLite and PostgreSQL), or the app's test clock."""
    clock = current_app.extensions.get("clock") if has_app_context() else None
    return clock() if clock else datetime.now(UTC).replace(tzinfo=None)
