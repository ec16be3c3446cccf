"""Stateless helpers over an app, a test client or a browser page: signing in, tokens, call counts."""

from __future__ import annotations

import re
import threading

from werkzeug.serving import make_server

from gallery.access.users import create_user, find_user
from gallery.archive.index.sync import Syncer
from gallery.archive.index.worker import make_syncer

#: The admin account every test app creates (the `app_config` fixture sets it).
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password-1"


def sync_index(app) -> Syncer:
    """Bring the app's archive index up to date synchronously, as the syncer would (lists read it)."""
    with app.app_context():
        syncer = make_syncer(app)
        assert syncer.lease.acquire(), "another syncer holds the lease"
        try:
            syncer.run_until_current()
        finally:
            syncer.lease.release()
    return syncer


def add_user(app, username: str, role: str, password: str = "user-password-1") -> None:
    with app.app_context():
        create_user(username, password, role)


def client_for(app, username: str = ADMIN_USER):
    """A test client signed in as `username` (the admin by default) through its session."""
    client = app.test_client()
    with app.app_context():
        user_id = find_user(username).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def orthanc_calls(response) -> int:
    """Orthanc calls the gallery made for a response, from its Server-Timing header (0 if none)."""
    match = re.search(r'desc="(\d+) calls"', response.headers.get("Server-Timing", ""))
    return int(match.group(1)) if match else 0


def csrf_token(client) -> str:
    """The CSRF token of the client's session, as every page carries it in a meta tag."""
    html = client.get("/no-such-page").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class LiveServer:
    """The app served over real HTTP on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def sign_in(page, base_url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/")


VISIBLE_IMAGES_LOADED = """() => {
  const visible = Array.from(document.images).filter(
    (img) => img.getBoundingClientRect().top < window.innerHeight && img.getBoundingClientRect().bottom > 0);
  return visible.length > 0 && visible.every((img) => img.complete && img.naturalWidth > 0);
}"""


def assert_images_loaded(page) -> None:
    page.wait_for_function(VISIBLE_IMAGES_LOADED, timeout=15000)
    broken = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).length")
    assert broken == 0


def album_from_study_list(page, base_url: str, name: str, studies: list[str], list_query: str = "") -> str:
    """As an owner does it in the browser: a new album, then studies ticked on the study list and added
    (no script needed). Returns the album's URL."""
    page.goto(f"{base_url}/albums")
    page.click("text=New album")
    page.get_by_label("Name").fill(name)
    page.click("button:has-text('Create album')")
    page.wait_for_url(re.compile(r"/albums/\d+$"))
    album_url = page.url
    page.goto(f"{base_url}/studies{list_query}")
    for study in studies:
        page.check(f'input[name=study][value="{study}"]')
    page.select_option("#album-add-album", label=name)
    with page.expect_navigation():
        page.click("button:has-text('Add selected studies to album')")
    return album_url
