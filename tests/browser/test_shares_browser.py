"""Share links in Debian's Chromium: created, opened by a visitor, revoked."""

from __future__ import annotations

import pytest

from ..support.data import Archive
from ..support.web import sign_in

pytestmark = pytest.mark.browser


def test_share_revoke_in_the_browser(app, live_server, browser, archive: Archive):
    owner_context = browser.new_context()
    visitor_context = browser.new_context()
    try:
        owner = owner_context.new_page()
        sign_in(owner, live_server.url)
        owner.goto(f"{live_server.url}/studies/{archive.volume[0].study}")
        owner.click("text=Share…")
        owner.select_option("select[name=expires_in]", label="1 day")
        owner.click("button:has-text('Create link')")
        link = owner.input_value("#share-link")
        assert owner.locator("button[data-copy-target]").is_visible()

        visitor = visitor_context.new_page()
        visitor.goto(link)
        assert "Shared study" in visitor.title() and "Volume" not in visitor.content()
        visitor.click("button:has-text('Open the shared study')")
        visitor.wait_for_url(f"**/studies/{archive.volume[0].study}")
        assert "Volume study" in visitor.content()

        owner.goto(f"{live_server.url}/shares")
        with owner.expect_navigation():
            owner.click("button:has-text('Revoke')")
        assert "No live share links" in owner.content()
        visitor.reload()
        assert "revoked" in visitor.content() and "Volume study" not in visitor.content()
    finally:
        owner_context.close()
        visitor_context.close()
