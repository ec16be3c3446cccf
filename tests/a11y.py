"""axe-core (tests/axe/node_modules, installed by `scripts/setup.sh test`) run inside Playwright pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .data import pydicom_file

AXE_JS = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = {"en": "en-US,en;q=0.9", "ko": "ko-KR,ko;q=0.9"}

RUN = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — '
      + (n.failureSummary || '').split('\\n').slice(1).join(' ').trim()),
    count: v.nodes.length,
  }));
}"""


def upload_payloads(*dicom_names: str) -> list[dict[str, Any]]:
    """Files for an upload that leaves the session archive as it is: DICOM files it already holds
    (reported as already stored) and one text file (rejected)."""
    files = [pydicom_file(name) for name in dicom_names]
    payloads = [{"name": f.name, "mimeType": "application/dicom", "buffer": f.read_bytes()} for f in files]
    return [*payloads, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not DICOM"}]


def axe_context(browser, language: str, **options: Any):
    """A browser context for axe runs, in `language` ("en" or "ko") and the gallery's dark theme.

    bypass_csp: the gallery's Content-Security-Policy (no inline or injected scripts) would block
    axe-core's script tag; bypassing it only in these contexts keeps the pages otherwise as served.
    """
    locale = "ko-KR" if language == "ko" else "en-US"
    return browser.new_context(
        bypass_csp=True,
        locale=locale,
        extra_http_headers={"Accept-Language": LANGUAGES[language]},
        color_scheme="dark",
        viewport={"width": 1280, "height": 900},
        **options,
    )


def axe_violations(page) -> list[dict[str, Any]]:
    """The page's WCAG 2.1 A/AA violations, as axe-core reports them."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN, WCAG_AA_TAGS)


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{where}: {v['id']} ({v['impact']}, {v['count']} nodes) — {v['help']}")
        lines.extend(f"    {target}" for target in v["targets"])
    return "\n".join(lines)


class AxeReport:
    """Violations collected over many pages, so one failure lists every page's problems at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page, where: str) -> None:
        violations = axe_violations(page)
        self.checked.append(where)
        if violations:
            self.problems.append(describe(f"{where} [{page.url}]", violations))

    def assert_clean(self) -> None:
        assert not self.problems, "axe-core found WCAG 2.1 AA violations:\n" + "\n".join(self.problems)
