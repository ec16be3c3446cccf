"""Images that make Orthanc fail are remembered; placeholders carry no words (issue 12, 1b + 5c).

Real Orthanc, real files: Orthanc 1.10.1 aborts rendering pydicom's rtdose_1frame.dcm,
1.12.7 aborts on pydicom-data's US1_J2KR.dcm. Both are uploaded and whichever kills the
running version is the one that must be recorded.
"""

from __future__ import annotations

import re
import time

import pytest
from pydicom.data import get_testdata_file

from gallery import create_app
from gallery.imaging.failures import CRASH, UNSUPPORTED, listing
from gallery.imaging.render import ICONS, placeholder_svg
from gallery.orthanc.client import OrthancClient
from gallery.store.models import AuditEvent

from ..support.web import add_user, client_for, csrf_token, orthanc_calls

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
CANDIDATES = ("rtdose_1frame.dcm", "US1_J2KR.dcm")


def upload(server, *names: str) -> dict[str, dict]:
    client = OrthancClient(server.url, server.user, server.password)
    stored = {}
    for name in names:
        path = get_testdata_file(name)
        assert path, f"{name} is not installed (pydicom / pydicom-data)"
        with open(path, "rb") as handle:
            stored[name] = client.store_instance(handle.read())
    return stored


def wait_running(server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not server.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.running


def has_no_words(svg: bytes) -> bool:
    return b"<svg" in svg and b"<text" not in svg and b"<title" not in svg


@pytest.fixture
def supervised(fresh_orthanc):
    stop = fresh_orthanc.supervise(interval=0.2)
    yield fresh_orthanc
    stop.set()
    time.sleep(0.3)


def test_an_image_that_kills_orthanc_is_recorded_and_never_asked_again(app_config, supervised):
    stored = upload(supervised, *CANDIDATES)
    app = create_app(app_config(supervised, RENDER_CRASH_WAIT=30.0))
    add_user(app, "viewer", "viewer")
    admin, viewer = client_for(app), client_for(app, "viewer")

    killers = []
    for name, answer in stored.items():
        before = supervised.process.pid
        response = admin.get(f"/instances/{answer['ID']}/thumbnail")
        assert response.status_code == 200, name  # the placeholder or the image, never a 500
        wait_running(supervised)
        if supervised.process.pid != before:
            killers.append(answer["ID"])
            assert response.mimetype == "image/svg+xml" and has_no_words(response.data)
    assert len(killers) >= 1, "neither file crashed this Orthanc: pick the one that does"
    with app.app_context():
        crashes = {f.instance for f in listing(CRASH)}
    assert crashes == set(killers)  # only what died, not the image that rendered

    killer, pid = killers[0], supervised.process.pid
    again = admin.get(f"/instances/{killer}/thumbnail")
    assert again.status_code == 200 and again.mimetype == "image/svg+xml"
    assert orthanc_calls(again) == 0  # answered from the record, Orthanc not asked
    time.sleep(0.5)
    assert supervised.running and supervised.process.pid == pid  # not killed a second time

    # Pages say why, as text, before any image is requested.
    page = admin.get(f"/instances/{killer}").get_data(as_text=True)
    assert "This image made Orthanc fail" in page

    listed = admin.get("/admin/images").get_data(as_text=True)
    assert killer in re.findall(r"<code>([^<]+)</code>", listed)
    twin = admin.get("/admin/images", headers={"Accept": "application/json"}).get_json()
    entry = next(f for f in twin["failures"] if f["instance"] == killer)
    assert entry["reason"] == CRASH and entry["frame"] == 0 and entry["count"] == 1 and entry["series"]
    assert "127.0.0.1" not in str(twin) and supervised.password not in str(twin)

    assert viewer.get("/admin/images").status_code == 403
    token = csrf_token(viewer)
    assert viewer.post(f"/admin/images/{killer}/clear?frame=0", data={"csrf_token": token}).status_code == 403
    assert admin.post(f"/admin/images/{killer}/clear?frame=0").status_code == 400  # no CSRF token
    with app.app_context():
        assert killer in {f.instance for f in listing(CRASH)}

    cleared = admin.post(f"/admin/images/{killer}/clear?frame=0", data={"csrf_token": csrf_token(admin)})
    assert cleared.status_code == 302
    with app.app_context():
        assert killer not in {f.instance for f in listing()}
        audit = AuditEvent.query.filter_by(action="image_clear", resource_id=killer).one()
        assert audit.actor == "admin"


def test_a_stopped_orthanc_implicates_no_image(app_config, fresh_orthanc):
    stored = upload(fresh_orthanc, "CT_small.dcm")
    instance = stored["CT_small.dcm"]["ID"]
    app = create_app(app_config(fresh_orthanc, RENDER_CRASH_WAIT=2.0))
    admin = client_for(app)
    fresh_orthanc.stop()
    response = admin.get(f"/instances/{instance}/thumbnail", headers={"Accept": "application/json"})
    assert response.status_code == 503 and "error" in response.get_json()
    fresh_orthanc.start()
    with app.app_context():
        assert listing() == []
    back = admin.get(f"/instances/{instance}/thumbnail")
    assert back.status_code == 200 and back.mimetype == "image/jpeg"
    with app.app_context():
        assert listing() == []


def test_placeholders_have_no_words_and_cards_say_why_in_korean(app_config, supervised):
    # rtdose.dcm: a 32-bit RT dose; 1.10.1 answers 415 to it, 1.12.7 dies on it.
    stored = upload(supervised, "rtdose.dcm")["rtdose.dcm"]
    app = create_app(app_config(supervised, RENDER_CRASH_WAIT=30.0))
    admin = client_for(app)
    response = admin.get(f"/instances/{stored['ID']}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert has_no_words(response.data)
    assert all(has_no_words(placeholder_svg(256, reason)) for reason in ICONS)
    with app.app_context():
        (reason,) = [f.reason for f in listing()]
    assert reason in (UNSUPPORTED, CRASH)

    series = admin.get(f"/series/{stored['ParentSeries']}", headers=KO).get_data(as_text=True)
    assert '<html lang="ko">' in series
    korean = {UNSUPPORTED: "Orthanc에서 이 영상을 표시할 수 없습니다.", CRASH: "Orthanc가 중단되어 표시하지 않습니다."}
    assert korean[reason] in series
    assert "Orthanc cannot show this image" not in series and "made Orthanc fail" not in series
    # The card shows the reason as text instead of an image request.
    assert f'/instances/{stored["ID"]}/thumbnail"' not in series  # frame 0: recorded; other frames still asked
