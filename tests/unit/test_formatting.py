"""Names, dates, times, numbers and sizes as each language reads them (gallery/web/formatting.py)."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st

from gallery.dicom.values import format_date, format_name, format_time
from gallery.web.formatting import dicom_date, dicom_time, display_name, file_size, moment, number, person_name
from gallery.web.i18n import init_i18n


@pytest.fixture(scope="module")
def babel_app() -> Flask:
    app = Flask(__name__)
    init_i18n(app)
    return app


@pytest.fixture
def in_language(babel_app):
    """Run a formatter inside a request whose locale is forced to `language`."""

    def run(language: str, function, *args, **kwargs):
        with babel_app.test_request_context(), force_locale(language):
            return function(*args, **kwargs)

    return run


@pytest.mark.parametrize(
    "raw, english, korean",
    [
        ("Hong^Gildong=洪^吉洞=홍^길동", "Gildong Hong (홍길동)", "홍길동 (Hong Gildong)"),
        ("Hong^Gildong=홍^길동", "Gildong Hong (홍길동)", "홍길동 (Hong Gildong)"),  # Hangul as ideographic group
        ("Hong^Gildong==홍^길동", "Gildong Hong (홍길동)", "홍길동 (Hong Gildong)"),  # empty ideographic group
        ("=洪^吉洞=홍^길동", "홍길동", "홍길동"),  # no alphabetic group
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "Tarou Yamada (山田太郎)", "山田太郎 (Yamada Tarou)"),
        ("홍^길동", "홍길동", "홍길동"),
        ("Smith^John", "John Smith", "Smith John"),
        ("Smith^John^Quincy^Dr^Jr", "Dr John Quincy Smith Jr", "Dr Smith John Quincy Jr"),
        ("Smith", "Smith", "Smith"),
        ("^John", "John", "John"),
        ("García^José", "José García", "García José"),
        ("", "", ""),
        ("^^^^", "", ""),
        ("===", "", ""),
        ("a=b=c=d=e", "a (b)", "b (a)"),
    ],
)
def test_person_names(raw, english, korean):
    assert display_name(raw, "en") == english
    assert display_name(raw, "ko") == korean


@given(st.text(alphabet=st.sampled_from("^= \\ab홍길洪é"), max_size=30) | st.text(max_size=40))
def test_any_name_is_shown_without_dicom_separators(raw):
    for language in ("en", "ko"):
        shown = display_name(raw, language)
        assert isinstance(shown, str) and not set(shown) & {"^", "="}, (raw, shown)


def test_models_keep_the_dicom_name_for_the_templates(in_language):
    name = format_name("  Hong^Gildong=洪^吉洞=홍^길동 ")
    assert name == "Hong, Gildong (洪 吉洞 / 홍 길동)" and name.dicom == "Hong^Gildong=洪^吉洞=홍^길동"
    assert in_language("ko", person_name, name) == "홍길동 (Hong Gildong)"
    assert in_language("en", person_name, "plain text") == "plain text"
    import pickle

    assert pickle.loads(pickle.dumps(name)).dicom == name.dicom


@pytest.mark.parametrize(
    "value, english, korean",
    [
        ("20240305", "Mar 5, 2024", "2024. 3. 5."),
        ("2024-03-05", "Mar 5, 2024", "2024. 3. 5."),
        ("2024.03.05", "Mar 5, 2024", "2024. 3. 5."),  # ACR-NEMA
        ("2024130", "2024130", "2024130"),
        ("20241301", "20241301", "20241301"),
        ("abcd", "abcd", "abcd"),
        ("", "", ""),
        (None, "", ""),
    ],
)
def test_dicom_dates(in_language, value, english, korean):
    assert in_language("en", dicom_date, format_date(value)) == english
    assert in_language("ko", dicom_date, format_date(value)) == korean


@pytest.mark.parametrize(
    "value, english, korean",
    [
        ("143000", "2:30\u202fPM", "오후 2:30"),
        ("0905", "9:05\u202fAM", "오전 9:05"),
        ("143000.123456", "2:30\u202fPM", "오후 2:30"),
        ("2599", "2599", "2599"),
        ("ab", "ab", "ab"),
        ("", "", ""),
    ],
)
def test_dicom_times(in_language, value, english, korean):
    assert in_language("en", dicom_time, format_time(value)) == english
    assert in_language("ko", dicom_time, format_time(value)) == korean


def test_numbers_sizes_and_timestamps_follow_the_locale(in_language):
    assert in_language("en", number, 1234567) == "1,234,567"
    assert in_language("de", number, 1234567) == "1.234.567"
    assert in_language("en", file_size, 1536) == "1.5 KB"
    assert in_language("de", file_size, 1536) == "1,5 KB"
    assert in_language("ko", file_size, 3 * 1024**3) == "3.0 GB"
    assert in_language("en", file_size, 512) == "512 B"
    when = datetime(2030, 1, 1, 13, 5, 9)
    assert in_language("en", moment, when) == "Jan 1, 2030 1:05\u202fPM"
    assert in_language("ko", moment, when, seconds=True) == "2030. 1. 1. 오후 1:05:09"
