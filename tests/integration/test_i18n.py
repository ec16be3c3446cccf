"""Languages: complete catalogues, nothing unmarked in templates, and the locale chosen, switched and used."""

from __future__ import annotations

import re
from html import unescape

import pytest

from ..support.catalogue import TAG, msgid, read_korean
from ..support.data import KOREAN_GROUPS, ODD_DATES, Archive
from ..support.web import client_for

KO = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def korean():
    return read_korean()


# -- the locale: browser, cookie, switch ---------------------------------------------------------------


def visible_text(html: str) -> str:
    """The page's text as read, with every run of white space (U+202F in "12:00 PM" too) as one space."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(TAG.sub(" ", html)))


def test_korean_browser_gets_korean_pages(client, archive: Archive, korean):
    english = [  # phrases whose Korean differs (DICOM terms such as "SOP Instance UID" stay as they are)
        msgid(m)
        for m in korean
        if m.id and " " in msgid(m) and "%" not in msgid(m) and "<" not in msgid(m) and m.string != m.id
    ]
    pages = [
        "/",
        "/patients",
        "/studies",
        f"/patients/{archive.korean_groups.patient}",
        f"/studies/{archive.korean_groups.study}",
        f"/series/{archive.volume_series}",
        f"/series/{archive.volume_series}/view",
        f"/instances/{archive.volume[0].instance}",
        "/upload",
        "/shares",
        "/admin/users",
        "/admin/audit",
        f"/studies/{archive.korean_groups.study}/share",
        f"/studies/{archive.korean_groups.study}/delete",
        "/no-such-page",
    ]
    for url in pages:
        response = client.get(url, headers=KO)
        html = response.get_data(as_text=True)
        assert '<html lang="ko">' in html, url
        text = visible_text(html)
        leaks = [s for s in english if s in text]
        assert not leaks, f"{url} shows English: {leaks[:5]}"
        assert re.search("[가-힣]", text), url


def test_login_page_follows_accept_language_and_defaults_to_english(app):
    visitor = app.test_client()
    korean_page = visitor.get("/login", headers=KO).get_data(as_text=True)
    assert '<html lang="ko">' in korean_page and "로그인" in korean_page
    assert "Sign in" not in visible_text(korean_page)
    for header in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "en-GB"}):
        page = visitor.get("/login", headers=header).get_data(as_text=True)
        assert '<html lang="en">' in page and "Sign in" in page


def test_cookie_overrides_accept_language(app):
    visitor = app.test_client()
    visitor.set_cookie("lang", "en")
    assert '<html lang="en">' in visitor.get("/login", headers=KO).get_data(as_text=True)
    visitor.set_cookie("lang", "ko")
    assert '<html lang="ko">' in visitor.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    visitor.set_cookie("lang", "xx")  # unknown: the browser's choice again
    assert '<html lang="ko">' in visitor.get("/login", headers=KO).get_data(as_text=True)


def test_switch_sets_the_cookie_and_goes_back_to_the_page(app):
    visitor = app.test_client()
    response = visitor.get("/language/ko?next=/patients%3Fq%3D%ED%99%8D%26page%3D2")
    assert response.status_code == 303 and response.headers["Location"] == "/patients?q=%ED%99%8D&page=2"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=ko;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert "HttpOnly" not in cookie and "Path=/" in cookie
    assert '<html lang="ko">' in visitor.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    unknown = visitor.get("/language/xx?next=/login")
    assert unknown.status_code == 303 and "Set-Cookie" not in unknown.headers


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil.example", ""],
)
def test_switch_never_redirects_off_site(app, target):
    response = app.test_client().get("/language/en", query_string={"next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_every_page_has_the_switch_with_the_current_page_as_next(client, archive: Archive):
    url = f"/studies/{archive.korean_groups.study}"
    html = client.get(url, headers=KO).get_data(as_text=True)
    assert f'href="/language/en?next={url}"' in html
    assert 'lang="ko" hreflang="ko" aria-current="true">한국어</a>' in html
    anonymous = client.application.test_client().get("/login?next=%2Fstudies").get_data(as_text=True)
    assert 'href="/language/ko?next=/login?next%3D%252Fstudies"' in anonymous


def test_share_visitors_can_switch_language(app, client, archive: Archive):
    from ..support.shares import create_link, open_link

    link = create_link(client, archive.korean_groups.study)
    visitor = app.test_client()
    landing = visitor.get(link, headers=KO).get_data(as_text=True)
    assert "공유된 검사" in landing and 'content="공유된 검사 — Orthanc 갤러리"' in landing
    open_link(visitor, link)
    visitor.get("/language/en?next=/")
    page = visitor.get(f"/studies/{archive.korean_groups.study}", headers=KO).get_data(as_text=True)
    assert '<html lang="en">' in page and "Shared study · read-only" in page


def test_errors_in_korean_as_page_and_json(client):
    response = client.get("/patients?page=abc", headers={**KO, **JSON})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error == {"status": 400, "title": "잘못된 요청", "message": "'page' 값은 정수여야 합니다. 입력값: 'abc'"}
    missing = client.get("/no/such/page", headers={**KO, **JSON}).get_json()["error"]
    assert missing["title"] == "찾을 수 없음" and missing["message"] == "찾을 수 없음"
    page = visible_text(client.get("/studies?from=2024-13-01", headers=KO).get_data(as_text=True))
    assert "'from' 값은 YYYY-MM-DD 형식의 날짜여야 합니다" in page and "이전 페이지로 돌아가" in page
    csrf = client.post("/logout", headers=KO).get_data(as_text=True)
    assert "CSRF 토큰이 없습니다." in csrf
    english = client.get("/patients?page=abc", headers=JSON).get_json()["error"]
    assert english["message"] == "'page' must be a whole number, not 'abc'."


def test_form_validation_errors_in_korean(app):
    visitor = app.test_client()
    html = visitor.get("/login", headers=KO).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    answer = visitor.post("/login", data={"csrf_token": token, "username": "", "password": ""}, headers=KO)
    assert answer.status_code == 200 or answer.status_code == 400
    assert "필수" in answer.get_data(as_text=True)  # WTForms' own Korean for "This field is required."


def test_pages_vary_on_language_and_images_do_not(client, archive: Archive):
    page = client.get("/patients", headers=KO)
    assert {"Accept-Language", "Cookie"} <= set(page.vary)
    data = client.get("/patients", headers={**KO, **JSON})
    assert {"Accept-Language", "Cookie"} <= set(data.vary)
    thumbnail = client.get(f"/instances/{archive.korean_groups.instance}/thumbnail", headers=KO)
    assert thumbnail.status_code == 200 and "Accept-Language" not in thumbnail.vary
    english = client.get(f"/instances/{archive.korean_groups.instance}/thumbnail")
    assert english.data == thumbnail.data and english.headers["ETag"] == thumbnail.headers["ETag"]


# -- names, dates and numbers on real pages --------------------------------------------------------------


def test_korean_names_read_naturally_in_each_language(client, archive: Archive):
    url = f"/patients/{archive.korean_groups.patient}"
    korean = client.get(url, headers=KO).get_data(as_text=True)
    assert "<h1>홍길동 (Hong Gildong)</h1>" in korean
    english = client.get(url).get_data(as_text=True)
    assert "<h1>Gildong Hong (홍길동)</h1>" in english
    for html in (korean, english):
        assert "Hong^" not in html and "=洪" not in html
    assert client.get(url, headers=JSON).get_json()["patient"]["ref"]["name"] == "Hong, Gildong (洪 吉洞 / 홍 길동)"
    listing = client.get("/patients?q=KR-0002", headers=KO).get_data(as_text=True)
    assert '<span class="card__title">홍길동 (Hong Gildong)</span>' in listing


def test_dates_and_times_per_locale(client, archive: Archive):
    url = f"/studies/{archive.korean_groups.study}"
    korean = visible_text(client.get(url, headers=KO).get_data(as_text=True))
    assert "2024. 3. 5. 오후 12:00" in korean and "1990. 3. 5. 출생" in korean and "여" in korean
    english = visible_text(client.get(url).get_data(as_text=True))
    assert "Mar 5, 2024 12:00 PM" in english and "born Mar 5, 1990" in english and "female" in english


def test_malformed_dicom_dates_are_shown_as_they_are(client, archive: Archive):
    assert ODD_DATES.birth_date == "abcd"
    for headers in ({}, KO):
        study = client.get(f"/studies/{archive.odd_dates.study}", headers=headers)
        text = visible_text(study.get_data(as_text=True))
        assert study.status_code == 200 and "2024130 2599" in text
        patient = client.get(f"/patients/{archive.odd_dates.patient}", headers=headers)
        assert patient.status_code == 200 and "abcd" in visible_text(patient.get_data(as_text=True))
    assert client.get("/studies?q=ODD-0001").status_code == 200


def test_numbers_and_sizes_on_the_home_page(client):
    html = client.get("/", headers=KO).get_data(as_text=True)
    assert re.search(r"<strong>[\d,]+</strong> 환자", html)
    assert re.search(r"<strong>[\d,.]+ (B|KB|MB|GB)</strong> 저장됨", html)


# -- search with what people type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["홍길동", "홍 길동", "길동", "洪吉洞", "Hong Gildong", "gildong hong", "hong^gildong", "HONG", "Hong, Gildong"],
)
def test_search_finds_korean_names_in_any_group(client, query):
    items = client.get("/patients", query_string={"q": query}, headers=JSON).get_json()["patients"]["items"]
    assert KOREAN_GROUPS.patient_id in [p["patient_id"] for p in items], query


@pytest.mark.parametrize("query", ["García José", "garcia jose", "Jose Garcia", "garcía^josé", "GARCIA^JOSE"])
def test_search_latin_names_with_or_without_accents_in_either_order(client, query):
    items = client.get("/patients", query_string={"q": query}, headers=JSON).get_json()["patients"]["items"]
    assert "ES-0001" in [p["patient_id"] for p in items], query


def test_search_by_name_does_not_match_everyone(client):
    items = client.get("/patients", query_string={"q": "홍길동"}, headers=JSON).get_json()["patients"]["items"]
    assert {p["patient_id"] for p in items} == {"KR-0001", KOREAN_GROUPS.patient_id}


def test_share_visitor_pages_are_korean_too(app, archive: Archive):
    admin = client_for(app)
    html = admin.get(f"/series/{archive.volume_series}/share", headers=KO).get_data(as_text=True)
    assert "시리즈 공유" in html and "1일" in html and "30일" in html
