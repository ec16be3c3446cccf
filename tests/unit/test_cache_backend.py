"""The shared cache is an optimisation: pages and images still work while Redis is down."""

from __future__ import annotations

import ast
from pathlib import Path

MAY_USE_THE_CACHE_INSTANCE = {"__init__.py", "archive/cache.py"}
GALLERY = Path(__file__).resolve().parents[2] / "gallery"


def uses_of_the_cache_instance(source: str) -> list[int]:
    """Lines importing `cache` from gallery's extensions module, or reading `extensions.cache`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "extensions":
            lines += [node.lineno for alias in node.names if alias.name == "cache"]
        elif isinstance(node, ast.Attribute) and node.attr == "cache" and getattr(node.value, "id", "") == "extensions":
            lines.append(node.lineno)
    return lines


def test_the_check_finds_direct_uses_of_the_cache_instance():
    assert uses_of_the_cache_instance("from .extensions import cache, orthanc\n") == [1]
    assert uses_of_the_cache_instance("from ..extensions import db\nfrom gallery.extensions import cache\n") == [2]
    assert uses_of_the_cache_instance("from . import extensions\nextensions.cache.get('k')\n") == [2]
    assert uses_of_the_cache_instance("from ..archive.cache import cache_get\n") == []


def test_only_app_setup_and_the_guarded_module_use_the_cache_instance():
    """Flask-Caching raises when Redis is down: a direct `cache.get` elsewhere turns an outage into 500s."""
    found = {
        f"{path.relative_to(GALLERY)}:{line}"
        for path in GALLERY.rglob("*.py")
        if str(path.relative_to(GALLERY)) not in MAY_USE_THE_CACHE_INSTANCE
        for line in uses_of_the_cache_instance(path.read_text(encoding="utf-8"))
    }
    assert found == set()
