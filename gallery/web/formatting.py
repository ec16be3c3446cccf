"""DICOM values as people read them in the current language: names, dates, times, numbers, sizes.

Models keep locale-free values (the list index is shared by every visitor); templates format
them here, per request. Anything that cannot be parsed is shown as it is, never an error.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache

from babel import dates, numbers
from flask_babel import get_locale

from ..dicom.values import HANGUL, name_groups, parse_dicom_date
from ..store.clock import moment


def _locale() -> str:
    return str(get_locale() or "en")


@lru_cache(maxsize=16384)  # pure, and a list page formats 50 names per request
def display_name(raw: str, language: str) -> str:
    """A DICOM PN as people read it, never with `^` or `=`.

    English: the alphabetic group, given name first ("Gildong Hong"), with the Hangul (else
    ideographic) form as a hint: "Gildong Hong (홍길동)". Korean: the Hangul group (phonetic or
    ideographic, whichever is Hangul; else the ideographic one), family name first, with the
    alphabetic form as a hint: "홍길동 (Hong Gildong)". A group that is the only one is shown alone.
    """
    alphabetic, ideographic, phonetic = name_groups(raw)
    family_first = language == "ko"
    native_group = next((g for g in (phonetic, ideographic) if HANGUL.search(g.text(True))), ideographic)
    native = native_group.text(True) or phonetic.text(True)
    latin = alphabetic.text(family_first)
    primary, hint = (native, latin) if family_first else (latin, native)
    if not primary:
        primary, hint = hint, ""
    return f"{primary} ({hint})" if hint and hint != primary else primary


def person_name(value: object) -> str:
    """Template filter: a name from the models (which keep the DICOM form in `.dicom`) for this locale."""
    raw = getattr(value, "dicom", None)
    if raw is None:
        return str(value or "")
    return display_name(raw, _locale())


def parse_dicom_time(value: str) -> time | None:
    """`HHMM[SS[.frac]]` (TM) or `HH:MM[:SS]`; None for anything else."""
    text = (value or "").strip().replace(":", "").split(".")[0]
    if len(text) not in (4, 6) or not text.isdigit():
        return None
    try:
        return time(int(text[:2]), int(text[2:4]), int(text[4:6] or 0))
    except ValueError:
        return None


def dicom_date(value: str | None) -> str:
    """A DICOM date in this locale's medium form ("Mar 5, 2024", "2024. 3. 5."); malformed ones as they are."""
    return _dicom_date(value or "", _locale())


def dicom_time(value: str | None) -> str:
    """A DICOM time in this locale's short form ("2:30 PM", "오후 2:30"); malformed ones as they are."""
    return _dicom_time(value or "", _locale())


# Babel takes ~50 µs a value; the same dates and times recur on every list page.
@lru_cache(maxsize=16384)
def _dicom_date(value: str, locale: str) -> str:
    parsed = parse_dicom_date(value)
    return dates.format_date(parsed, "medium", locale=locale) if parsed else value


@lru_cache(maxsize=16384)
def _dicom_time(value: str, locale: str) -> str:
    parsed = parse_dicom_time(value)
    return dates.format_time(parsed, "short", locale=locale) if parsed else value


def number(value: float | int | None) -> str:
    """1234567 → "1,234,567" with this locale's separators."""
    return "" if value is None else numbers.format_decimal(value, locale=_locale())


def file_size(size: int | float | None) -> str:
    """Bytes in B/KB/MB/GB/TB (powers of 1024), the number in this locale's format."""
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{numbers.format_decimal(value, '0' if unit == 'B' else '0.0', locale=_locale())} {unit}"
        value /= 1024
    return f"{numbers.format_decimal(value, '0.0', locale=_locale())} TB"


FILTERS = {
    "person_name": person_name,
    "dicom_date": dicom_date,
    "dicom_time": dicom_time,
    "moment": moment,
    "number": number,
    "human_size": file_size,
}
