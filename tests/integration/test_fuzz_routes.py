"""Property-based requests over every route of the URL map: hostile paths, query strings and headers.

Whatever the path segments (valid IDs, random IDs, encoded `/`, `..`, NUL, non-UTF-8
bytes, very long text), query parameters and headers, and whoever asks (anonymous, a
viewer, the admin; POSTs with and without a CSRF token), the gallery answers with a
4xx page or JSON error, never a 500 or a traceback, and every path it sends to Orthanc
is one of a known set of shapes built from validated Orthanc IDs.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery import create_app
from gallery.access.albums import add_studies, create_album
from gallery.access.shares import create_share
from gallery.access.users import create_user, find_user

from ..support.data import Archive
from ..support.web import client_for, csrf_token

ORTHANC_ID = r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}"
LEVEL = r"(?:patients|studies|series|instances)"
#: Every path shape the gallery may send to Orthanc: only known endpoints and validated IDs.
ORTHANC_PATHS = re.compile(
    "|".join(
        [
            rf"/{LEVEL}",
            rf"/{LEVEL}/{ORTHANC_ID}",
            rf"/patients/{ORTHANC_ID}/(?:studies|series)",
            rf"/studies/{ORTHANC_ID}/(?:series|archive)",
            rf"/series/{ORTHANC_ID}/(?:instances|ordered-slices|numpy|archive)",
            rf"/instances/{ORTHANC_ID}/(?:file|tags)",
            rf"/instances/{ORTHANC_ID}/frames/[0-9]{{1,6}}/(?:rendered|numpy)",
            r"/changes",
            r"/statistics",
            r"/system",
            r"/tools/lookup",
        ]
    )
)

ROLES = ("anonymous", "viewer", "admin")
QUERY_NAMES = (
    "page", "size", "frame", "slice", "wc", "ww", "preset", "plane", "format", "rows", "cols", "from", "to",
    "q", "modality", "tag", "action", "actor", "next", "ended", "instance", "data", "expand",
)  # fmt: skip
HOSTILE_TEXTS = (
    b"..",
    b"../../etc/passwd",
    b"%2F..%2F",
    b"/",
    b"\x00",
    b"%00",
    b"\xff\xfe",
    b"\xc0\xaf",
    b"%C0%AF",
    b"%FF",
    b"\\..\\",
    b"<script>alert(1)</script>",
    b"-1",
    b"0",
    b"1e309",
    b"nan",
    b"inf",
    b"99999999999999999999999",
    b"2024-02-30",
    b"0000-00-00",
    b" ",
    b"\t\r\n",
    b"x" * 5000,
    b"9" * 400,
    b"{{7*7}}",
    b"' OR 1=1 --",
    b"\xe2\x80\xae",
)
DESTRUCTIVE = {
    "admin.delete_patient",
    "admin.delete_study",
    "admin.delete_series",
    "admin.remove",
    "albums.delete",
    "albums.remove",
}


@pytest.fixture(scope="module")
def fuzz(app_config, orthanc_server, archive: Archive):
    """One app for the whole module (Hypothesis runs many examples), its users, a share link and real IDs."""
    app = create_app(
        app_config(orthanc_server, LOGIN_LIMIT_PER_ACCOUNT="1000 per minute", LOGIN_LIMIT_PER_ADDRESS="1000 per minute")
    )
    with app.app_context():
        create_user("viewer", "viewer-password-1", "viewer")
        admin = find_user("admin")
        _share, token = create_share("study", archive.volume[0].study, "x", admin, timedelta(days=1), False)
        viewer_id = find_user("viewer").id
        album = create_album("fuzz", "", admin)
        add_studies(album, [archive.volume[0].study, archive.multiframe.study], admin)
        album_id = album.id
    seen: list[tuple[str, str]] = []
    client = app.extensions["orthanc"]
    counted = client.observer
    client.observer = lambda method, path, seconds: (seen.append((method, path)), counted(method, path, seconds))
    valid = {
        "patient_id": [archive.volume[0].patient, archive.korean.patient, archive.html.patient],
        "study_id": [archive.volume[0].study, archive.two_series[0].study, archive.multiframe.study],
        "series_id": [archive.volume_series, archive.multiframe.series, archive.structured_report.series],
        "instance_id": [archive.volume[3].instance, archive.multiframe.instance, archive.structured_report.instance],
        "token": [token],
        "share_id": ["1"],
        "album_id": [str(album_id)],
        "user_id": [str(viewer_id)],
        "level": ["studies", "series", "instances"],
        "uid": ["1.2.3"],
        "filename": ["css/gallery.css"],
        "code": ["en", "ko"],
    }
    tokens = {role: csrf_token(client_as(app, role)) for role in ROLES}
    return app, valid, seen, tokens


def client_as(app, role: str):
    return app.test_client() if role == "anonymous" else client_for(app, role)


def rules(app):
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: r.rule)


random_id = st.from_regex(ORTHANC_ID, fullmatch=True)
hostile = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.binary(max_size=40),
    st.text(max_size=30).map(str.encode),
    st.builds(lambda b, n: b * n, st.sampled_from([b"a", b"%2F", b"\xff", b"9"]), st.integers(1, 3000)),
)


def segment(valid: dict[str, list[str]], argument: str):
    """A path argument: one of the archive's real values, a well-shaped random one, or hostile bytes."""
    real = st.sampled_from(valid[argument]).map(str.encode)
    shaped = (
        random_id.map(str.encode)
        if argument.endswith("_id")
        else st.integers(-5, 10**12).map(lambda n: str(n).encode())
    )
    return st.one_of(real, shaped, hostile)


def raw_path(rule, values: dict[str, bytes]) -> bytes:
    """The rule with its arguments replaced by raw bytes: the path as a server would decode it."""
    parts = re.split(r"(<[^>]+>)", rule.rule)
    out = b""
    for part in parts:
        if part.startswith("<"):
            name = part.strip("<>").split(":")[-1]
            out += values.get(name, b"x")
        else:
            out += part.encode()
    return out


query_value = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.binary(max_size=20),
    st.integers(-(10**20), 10**20).map(lambda n: str(n).encode()),
    st.sampled_from([b"1", b"2", b"jpeg", b"png", b"axial", b"sagittal", b"coronal", b"CT", b"2020-01-01", b"1"]),
)
query = st.lists(st.tuples(st.sampled_from(QUERY_NAMES), query_value), max_size=5)

headers = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(
            [
                "application/json",
                "text/html",
                "*/*",
                "image/*",
                "application/json;q=0.1, text/html;q=0.2",
                "x/y;;;q=",
                "application/json, text/html;q=abc",
                "\x00",
                "",
            ]
        ),  # fmt: skip
        "Accept-Language": st.sampled_from(["ko-KR,ko;q=0.9", "*;q=x", "zz-ZZ", "en;q=0.5,,,", "é"]),
        "Range": st.sampled_from(["bytes=0-0", "bytes=-1", "bytes=9999999999-", "bytes=5-1", "lines=1-2", "bytes="]),
        "If-None-Match": st.sampled_from(['"x"', "*", 'W/"', "\x7f", '"' + "a" * 500 + '"']),
        "If-Modified-Since": st.sampled_from(["Thu, 01 Jan 1970 00:00:00 GMT", "not a date", "Thu, 31 Dec 9999"]),
        "Cookie": st.sampled_from(["gallery_session=garbage", "gallery_session=.eJw.x.y", "a=b; ;;=", "session="]),
        "Authorization": st.sampled_from(
            ["Basic", "Basic !!!", "Basic Og==", "Basic YWRtaW46", "Basic YWRtaW46d3Jvbmc=", "Bearer x", "Digest a=b"]
        ),
        "Host": st.sampled_from(["evil.example", "localhost:99999", "[::1", "a b", "x" * 300]),
    },
)


def check(response, method: str, accept: str, where: str) -> None:
    status = response.status_code
    body = response.get_data()
    assert status < 500, where
    assert b"Traceback" not in body and b'File "/' not in body, where
    if status >= 400 and accept == "application/json" and method != "HEAD":
        assert response.is_json and response.get_json()["error"]["message"], where


def check_orthanc_paths(seen: list[tuple[str, str]], where: str) -> None:
    for method, path in seen:
        assert ORTHANC_PATHS.fullmatch(path), f"{where}: unvalidated Orthanc path {method} {path!r}"
    seen.clear()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_request_to_any_route_never_fails_or_reaches_orthanc_unvalidated(fuzz, data):
    app, valid, seen, tokens = fuzz
    rule = data.draw(st.sampled_from(rules(app)), label="rule")
    method = data.draw(st.sampled_from(sorted(rule.methods - {"OPTIONS"})), label="method")
    role = data.draw(st.sampled_from(ROLES), label="role")
    with_token = method == "POST" and data.draw(st.booleans(), label="with CSRF token")
    values = {}
    for argument in rule.arguments:
        if with_token and rule.endpoint in DESTRUCTIVE:
            values[argument] = data.draw(random_id.map(str.encode) if argument.endswith("_id") else hostile)
        else:
            values[argument] = data.draw(segment(valid, argument), label=argument)
    path = raw_path(rule, values)
    pairs = data.draw(query, label="query")
    query_string = "&".join(f"{quote_from_bytes(k.encode())}={quote_from_bytes(v)}" for k, v in pairs)
    sent_headers = data.draw(headers, label="headers")
    form = {"csrf_token": tokens[role]} if with_token else {}
    form.update(data.draw(st.dictionaries(st.sampled_from(["next", "password", "role", "username", "expires_in"]),
                                          st.text(string.printable, max_size=20), max_size=3)))  # fmt: skip
    client = client_as(app, role)
    if with_token and role != "anonymous":
        form["csrf_token"] = csrf_token(client)
    seen.clear()
    response = client.open(
        "/",
        method=method,
        headers=sent_headers,
        data=form if method == "POST" else None,
        environ_overrides={"PATH_INFO": path.decode("latin-1"), "QUERY_STRING": query_string},
    )
    where = f"{role} {method} {path[:200]!r}?{query_string[:200]} {sent_headers} -> {response.status_code}"
    check(response, method, sent_headers.get("Accept", ""), where)
    check_orthanc_paths(seen, where)


REAL_QUERY_VALUES = st.one_of(
    query_value,
    st.integers(-3, 3000).map(lambda n: str(n).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
    st.sampled_from([b"auto", b"full", b"lung", b"bone", b"brain", b"native", b"jpg", b"webp", b"0x10", b"1_000"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_query_parameters_on_real_resources_never_fail(fuzz, data):
    """The same, concentrated where parsing meets real data: GET pages and images of real IDs, as the admin."""
    app, valid, seen, _tokens = fuzz
    candidates = [r for r in rules(app) if r.arguments and "GET" in r.methods and r.endpoint != "static"]
    rule = data.draw(st.sampled_from(candidates), label="rule")
    values = {argument: data.draw(st.sampled_from(valid[argument])).encode() for argument in rule.arguments}
    path = raw_path(rule, values)
    names = st.sampled_from(QUERY_NAMES)
    pairs = data.draw(st.lists(st.tuples(names, REAL_QUERY_VALUES), min_size=1, max_size=4), label="query")
    query_string = "&".join(f"{quote_from_bytes(k.encode())}={quote_from_bytes(v)}" for k, v in pairs)
    accept = data.draw(st.sampled_from(["application/json", "text/html", "*/*"]), label="accept")
    seen.clear()
    response = client_for(app).get(
        "/", headers={"Accept": accept}, environ_overrides={"PATH_INFO": path.decode(), "QUERY_STRING": query_string}
    )
    where = f"GET {path.decode()}?{query_string[:300]} ({accept}) -> {response.status_code}"
    check(response, "GET", accept, where)
    if response.status_code == 400:
        message = response.get_json()["error"]["message"] if response.is_json else response.get_data(as_text=True)
        assert any(name in message for name, _ in pairs) or "page" in message, where  # names what was wrong
    check_orthanc_paths(seen, where)


# -- the 500s the fuzzing found, pinned --------------------------------------------------------


def test_a_host_header_the_url_map_cannot_bind_gets_a_plain_400(app):
    """A 300-character host name fails IDNA encoding: the error page cannot build links, so it is plain text."""
    response = app.test_client().get("/", headers={"Host": "x" * 300})
    assert response.status_code == 400
    assert response.mimetype == "text/plain" and "Bad request" in response.get_data(as_text=True)
    as_json = app.test_client().get("/", headers={"Host": "x" * 300, "Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json()["error"]["status"] == 400


@pytest.mark.parametrize("user_id", ["2147483648", "9223372036854775808", "1" + "0" * 40])
def test_row_ids_beyond_the_database_integer_are_404(app, client, user_id):
    token = csrf_token(client)
    response = client.post(f"/admin/users/{user_id}/password", data={"password": "x" * 12, "csrf_token": token})
    assert response.status_code == 404
    assert client.post(f"/shares/{user_id}/revoke", data={"csrf_token": token}).status_code == 404


def test_a_refused_share_link_answers_json_when_asked(app):
    response = app.test_client().get("/s/0", headers={"Accept": "application/json"})
    assert response.status_code in (403, 404, 410) and response.is_json
    assert response.get_json()["error"]["message"]
    assert app.test_client().get("/s/0").mimetype == "text/html"
