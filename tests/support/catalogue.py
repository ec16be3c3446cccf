"""Where the translation catalogues are, and how the tests read them."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "gallery" / "translations"
KO_PO = TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po"
KO_MO = KO_PO.with_suffix(".mo")
TEMPLATES = ROOT / "templates"
#: An HTML tag, removed to read a page's or a template's text.
TAG = re.compile(r"<[^>]*>", re.S)


def read_korean() -> Catalog:
    """The Korean catalogue as committed."""
    with KO_PO.open("rb") as handle:
        return read_po(handle, locale="ko")


def msgid(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id
