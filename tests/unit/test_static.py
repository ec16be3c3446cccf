"""Static files: fingerprinted names cached for a year, checked against the content."""

from __future__ import annotations

import re

from gallery.web.assets import fingerprinted_name, resolve


def test_the_fingerprint_follows_the_content(tmp_path):
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    script = static / "js" / "app.js"
    script.write_text("one();")
    first = fingerprinted_name(static, "js/app.js")
    assert resolve(static, first) == ("js/app.js", True)
    script.write_text("two(); // changed")
    second = fingerprinted_name(static, "js/app.js")
    assert second != first and re.fullmatch(r"js/app\.[0-9a-f]{12}\.js", second)
    assert resolve(static, first) == (first, False)  # the old name is no longer this file


def test_a_fingerprinted_name_never_reaches_outside_the_folder(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("not public")
    name = "../" + fingerprinted_name(tmp_path, "secret.txt")
    assert resolve(tmp_path / "static", name) == (name, False)
