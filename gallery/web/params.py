"""Query-string parsing with clear 400 answers for bad values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from flask import abort, request
from flask_babel import gettext as _
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from ..orthanc.errors import ORTHANC_ID

MODALITY = re.compile(r"^[A-Z0-9]{1,16}$")
MAX_QUERY = 200


class OrthancIdConverter(BaseConverter):
    """`<oid:...>` matches Orthanc's ID shape only, so anything else is a 404 before any call."""

    regex = ORTHANC_ID.pattern


class RowIdConverter(IntegerConverter):
    """`<int:...>` for row IDs: above a 32-bit integer (PostgreSQL INTEGER) is a 404, not a database overflow."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def text_arg(name: str) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_QUERY:
        abort(400, _("The search text '%(name)s' is longer than %(limit)s characters.", name=name, limit=MAX_QUERY))
    return value


def whole_arg(name: str) -> int | None:
    """A whole number of any size, or None when absent; callers check the range (a 400 or a 404)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        abort(400, _("'%(name)s' must be a whole number, not '%(value)s'.", name=name, value=raw[:40]))


def int_arg(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number within [minimum, maximum]; outside it a 400 naming the range (never clamped)."""
    value = whole_arg(name)
    if value is None:
        return default
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is None:
            abort(
                400,
                _(
                    "'%(name)s' must be %(minimum)s or more; got %(value)s.",
                    name=name,
                    minimum=minimum,
                    value=echoed(value),
                ),
            )
        abort(
            400,
            _(
                "'%(name)s' must be from %(minimum)s to %(maximum)s; got %(value)s.",
                name=name,
                minimum=minimum,
                maximum=maximum,
                value=echoed(value),
            ),
        )
    return value


def frame_arg(frames: Callable[[], int]) -> int:
    """`?frame=N`, 0-based as in Orthanc's API, checked against the object's frame count before Orthanc sees it.

    Orthanc 1.12.7 aborts on a frame past the end of some objects. Frame 0 is what Orthanc
    renders for any object, so `frames()` (the instance's tags) is only asked for N != 0:
    thumbnails are the hot path. A frame that does not exist is a 404 naming the valid ones.
    """
    frame = whole_arg("frame") or 0
    if frame == 0:
        return 0
    count = frames()
    if not 0 <= frame < count:
        if count == 1:
            abort(404, _("This image has only frame 0; frame %(frame)s does not exist.", frame=echoed(frame)))
        abort(
            404,
            _(
                "This image has frames 0–%(last)s; frame %(frame)s does not exist.",
                last=count - 1,
                frame=echoed(frame),
            ),
        )
    return frame


def echoed(number: int) -> str:
    """A number as typed, cut short when it is absurdly long (messages echo it back)."""
    text = str(number)
    return text if len(text) <= 40 else text[:20] + "…"


def float_arg(name: str) -> float | None:
    """A finite number, or None when absent."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        abort(400, _("'%(name)s' must be a number, not '%(value)s'.", name=name, value=raw[:40]))
    if not math.isfinite(value):
        abort(400, _("'%(name)s' must be a finite number, not '%(value)s'.", name=name, value=raw[:40]))
    return value


def choice_arg(name: str, choices: Sequence[str], default: str) -> str:
    """One of `choices` (case-insensitive), or `default` when absent."""
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        abort(
            400,
            _(
                "'%(name)s' must be one of %(choices)s; got '%(value)s'.",
                name=name,
                choices=", ".join(choices),
                value=raw[:40],
            ),
        )
    return raw


def page_arg() -> int:
    return int_arg("page", 1, minimum=1, maximum=10**6)


def date_arg(name: str) -> str:
    """An ISO date `YYYY-MM-DD` (as HTML date inputs send), or ''."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return ""
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    abort(400, _("'%(name)s' must be a date written YYYY-MM-DD, not '%(value)s'.", name=name, value=raw[:40]))


def modality_arg() -> str:
    raw = request.args.get("modality", "").strip().upper()
    if raw and not MODALITY.match(raw):
        abort(400, _("'%(value)s' is not a DICOM modality code (e.g. CT, MR, US).", value=raw[:40]))
    return raw
