"""Templates are compiled once and shared: a new worker's first page loads them instead of compiling
them (~200 ms of its first list page, docs/benchmarks.md "Archive index")."""

from __future__ import annotations

from ..support.databases import app_without_orthanc

PAGES = ("browse/studies.html", "browse/patients.html", "browse/home.html")


def compiled_by_a_new_app(url: str, folder) -> list[str]:
    """The templates a freshly created app had to compile to load PAGES."""
    app = app_without_orthanc(url, TEMPLATE_CACHE_DIR=str(folder))
    compiled: list[str] = []
    environment = app.jinja_env
    original = environment.compile

    def counting(source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return original(source, name, filename, raw, defer_init)

    environment.compile = counting
    for page in PAGES:
        environment.get_template(page)
    return compiled


def test_a_new_app_loads_the_templates_a_previous_one_compiled(tmp_path):
    url = f"sqlite:///{tmp_path / 'gallery.db'}"
    first = compiled_by_a_new_app(url, tmp_path / "templates")
    assert set(PAGES) <= set(first)  # the first process compiles (and stores) them
    assert compiled_by_a_new_app(url, tmp_path / "templates") == []  # the next one compiles none
    assert set(PAGES) <= set(compiled_by_a_new_app(url, tmp_path / "other"))  # an empty cache: compiles
