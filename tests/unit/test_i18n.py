"""Languages: complete catalogues, nothing unmarked in templates, and the locale chosen, switched and used."""

from __future__ import annotations

import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ..support.catalogue import KO_MO, ROOT, TAG, TEMPLATES, TRANSLATIONS, msgid, read_korean

# -- templates: no text outside the translation functions ---------------------------------------------

TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
#: Written the same in every language the gallery speaks: units and the time zone.
SYMBOLS = {"mm", "UTC"}
TEXT_ATTRIBUTES = re.compile(r'\s(alt|title|placeholder|aria-label|aria-description)="([^"]*)"')
META_TEXT = re.compile(
    r'<meta\s+(?:name|property)="(?:description|og:title|og:description|og:site_name|twitter:title|'
    r'twitter:description)"\s+content="([^"]*)"'
)
SUBMIT_VALUE = re.compile(r'<input[^>]*type="(?:submit|button|reset)"[^>]*\svalue="([^"]*)"')


@pytest.fixture(scope="module")
def korean():
    return read_korean()


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict[str, object]:
    """What `make messages` would extract from the code and templates today."""
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(TRANSLATIONS / "babel.cfg")]
    command += ["-k", "_l", "-k", "_ln:1,2", "--no-location", "-o", str(pot), "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return {msgid(m): m for m in read_po(handle) if m.id}


def test_every_extracted_message_has_a_korean_translation(extracted, korean):
    assert len(extracted) > 300
    catalogued = {msgid(m): m for m in korean if m.id}
    missing = sorted(set(extracted) - set(catalogued))
    assert not missing, f"not in ko/messages.po (run `make messages`, then translate): {missing[:10]}"
    untranslated = [
        k for k, m in catalogued.items() if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    fuzzy = [k for k, m in catalogued.items() if m.fuzzy]
    assert not fuzzy, f"fuzzy (check and clear the flag): {fuzzy[:10]}"
    stale = sorted(set(catalogued) - set(extracted))
    assert not stale, f"no longer used (run `make messages`): {stale[:10]}"


def test_korean_translations_keep_their_placeholders(korean):
    problems = [(msgid(m), [str(e) for e in errors]) for m, errors in korean.check() if errors]
    assert not problems
    for message in korean:
        if message.id:
            names = set(re.findall(r"%\((\w+)\)s", msgid(message)))
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(set(re.findall(r"%\((\w+)\)s", s)) == names for s in strings), msgid(message)


def test_compiled_catalogue_matches_the_po_file(korean):
    """The committed .mo is what `pybabel compile` makes of the .po (so a fresh clone needs no compile step)."""
    compiled = BytesIO()
    write_mo(compiled, korean)
    assert KO_MO.read_bytes() == compiled.getvalue(), "run `make messages` to recompile messages.mo"


def templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def letters(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]+", text) if w not in SYMBOLS]


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_text_is_all_marked_for_translation(path: Path):
    source = path.read_text(encoding="utf-8")
    text = TAG.sub(" ", JINJA.sub(" ", TRANS_BLOCK.sub(" ", source)))
    assert not letters(re.sub(r"&\w+;", " ", text)), f"unmarked text in {path.name}"
    for pattern in (TEXT_ATTRIBUTES, META_TEXT, SUBMIT_VALUE):
        for match in pattern.finditer(source):
            value = JINJA.sub("", match.group(match.lastindex))
            assert not letters(value), f"unmarked attribute in {path.name}: {match.group(0)[:80]}"


def test_the_template_check_finds_unmarked_text():
    """The check above can fail: plain words, a plain attribute and a plain og:description are all caught."""
    for source in ("<p>Hello</p>", '<img alt="A scan">', '<meta property="og:description" content="Shared">'):
        stripped = TAG.sub(" ", JINJA.sub(" ", source))
        attributes = [m.group(m.lastindex) for p in (TEXT_ATTRIBUTES, META_TEXT) for m in p.finditer(source)]
        assert letters(stripped) or any(letters(a) for a in attributes), source
    assert not letters(TAG.sub(" ", JINJA.sub(" ", '<p>{{ _("Hello") }}</p><img alt="{{ _(\'A\') }}">')))
