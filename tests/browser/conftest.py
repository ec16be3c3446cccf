"""Browser fixtures: pages of Debian's Chromium (`browser` is in tests/conftest.py) signed in on a live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..support.web import sign_in


@pytest.fixture
def anonymous_page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def page(anonymous_page, live_server) -> Any:
    """A browser page signed in as the admin on `live_server`."""
    sign_in(anonymous_page, live_server.url)
    return anonymous_page
