"""axe-core (tests/axe/node_modules, installed by `scripts/setup.sh test`) run inside Playwright pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .data import pydicom_file

AXE_JS = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe's best practices for what the issue asks beyond the WCAG-tagged rules: landmarks, one main,
# headings in order, a working skip link.
STRUCTURE_RULES = [
    "landmark-one-main",
    "landmark-unique",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "region",
    "heading-order",
    "page-has-heading-one",
    "skip-link",
]
LANGUAGES = {"en": "en-US,en;q=0.9", "ko": "ko-KR,ko;q=0.9"}

RUN = """async ([tags, rules]) => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    rules: Object.fromEntries(rules.map((id) => [id, {enabled: true}])),
    resultTypes: ['violations'],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — '
      + (n.failureSummary || '').split('\\n').slice(1).join(' ').trim()),
    count: v.nodes.length,
  }));
}"""


# WCAG 1.4.11, which axe does not check: the edge of every form control (its border, or else its fill)
# needs 3:1 against the background around it, or the control cannot be seen as one.
CONTROL_CONTRAST = """() => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((c) => c / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const opaque = (css) => { const v = rgb(css); return v.length === 3 || v[3] > 0; };
  const behind = (node) => {
    for (let e = node.parentElement; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (opaque(bg)) return rgb(bg);
    }
    return [255, 255, 255];
  };
  const controls = document.querySelectorAll(
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=range]),'
    + 'select, textarea, button, a.button');
  const faint = [];
  for (const control of controls) {
    if (!control.getClientRects().length) continue;
    const style = getComputedStyle(control);
    const around = behind(control);
    const edge = style.borderStyle !== 'none' && parseFloat(style.borderTopWidth) > 0 && opaque(style.borderTopColor)
      ? style.borderTopColor : style.backgroundColor;
    const contrast = opaque(edge) ? ratio(rgb(edge), around) : 1;
    if (contrast >= 3) continue;
    faint.push(`${control.outerHTML.slice(0, 80)} edge ${edge} on rgb(${around}) = ${contrast.toFixed(2)}:1`);
  }
  return faint;
}"""


def upload_payloads(*dicom_names: str) -> list[dict[str, Any]]:
    """Files for an upload that leaves the session archive as it is: DICOM files it already holds
    (reported as already stored) and one text file (rejected)."""
    files = [pydicom_file(name) for name in dicom_names]
    payloads = [{"name": f.name, "mimeType": "application/dicom", "buffer": f.read_bytes()} for f in files]
    return [*payloads, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not DICOM"}]


def axe_context(browser, language: str, theme: str = "dark", **options: Any):
    """A browser context for axe runs, in `language` ("en" or "ko") and `theme` (the gallery's default: dark).

    axe-core goes into every page as an init script (through the DevTools protocol, which the page's
    Content-Security-Policy does not govern), so no `bypass_csp` is needed: the pages are checked
    exactly as served, strict CSP included. (A <script> tag injected by add_script_tag would be blocked.)
    """
    locale = "ko-KR" if language == "ko" else "en-US"
    context = browser.new_context(
        locale=locale,
        extra_http_headers={"Accept-Language": LANGUAGES[language]},
        color_scheme=theme,
        viewport={"width": 1280, "height": 900},
        **options,
    )
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `scripts/setup.sh test` (npm ci in tests/axe)"
    context.add_init_script(path=str(AXE_JS))  # in every page before its own scripts
    return context


def axe_violations(page) -> list[dict[str, Any]]:
    """The page's WCAG 2.1 A/AA violations (and the structure rules'), as axe-core reports them.

    The page must come from an `axe_context`, which puts axe-core in every page."""
    return page.evaluate(RUN, [WCAG_AA_TAGS, STRUCTURE_RULES])


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
        self.titles: dict[str, str] = {}

    def check(self, page, where: str) -> None:
        violations = axe_violations(page)
        self.checked.append(where)
        self.titles[where] = page.title()
        if violations:
            self.problems.append(describe(f"{where} [{page.url}]", violations))
        faint = page.evaluate(CONTROL_CONTRAST)
        if faint:
            listed = "\n    ".join(faint)
            self.problems.append(f"{where} [{page.url}]: form controls under 3:1 (WCAG 1.4.11)\n    {listed}")

    def assert_clean(self) -> None:
        assert not self.problems, "axe-core found WCAG 2.1 AA violations:\n" + "\n".join(self.problems)
