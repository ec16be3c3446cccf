"""The benchmark report: tables and the issue's targets, as plain text and as Markdown."""

from __future__ import annotations

from typing import Any

LATENCY_RATIO = 1.5
WARM_LIST_MS = 100.0
UNCACHED_RATIO = 0.8
CACHED_RATIO = 3.0
LIST_PAGES = (
    "/patients",
    "/patients middle page",
    "/patients last page",
    "/patients name search",
    "/patients common search",
    "/studies date filter",
)
#: Orthanc calls of the list index's poll (/changes, /statistics), at most once a second per worker.
POLL_CALLS = 2


def table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def calls(values: list[int]) -> str:
    return "–".join(str(v) for v in (values if len(values) < 2 else [min(values), max(values)]))


def size_label(patients: int) -> str:
    return f"{patients // 1000}k" if patients % 1000 == 0 else str(patients)


def latency_rows(size: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, page in size.get("pages", {}).items():
        cold, warm = page["cold"], page["warm"]
        rows.append(
            [
                name,
                calls(cold["calls"]),
                calls(warm["calls"]),
                f"{cold['ttfb_median_ms']:.1f}",
                f"{cold['total_median_ms']:.1f}",
                f"{cold['total_p95_ms']:.1f}",
                f"{cold.get('orthanc_median_ms', float('nan')):.1f}",
                f"{warm['ttfb_median_ms']:.1f}",
                f"{warm['total_median_ms']:.1f}",
                f"{warm['total_p95_ms']:.1f}",
            ]
        )
    return rows


LATENCY_HEADERS = [
    "page",
    "calls cold",
    "calls warm",
    "cold TTFB",
    "cold median",
    "cold p95",
    "cold: Orthanc",
    "warm TTFB",
    "warm median",
    "warm p95",
]


def targets(report: dict[str, Any]) -> list[list[str]]:
    """[target, measured, verdict] rows; ratios compare the smallest and the largest size."""
    sizes = sorted(report["sizes"], key=lambda s: s["patients"])
    rows: list[list[str]] = []
    small, large = sizes[0], sizes[-1]
    label = f"{size_label(large['patients'])}/{size_label(small['patients'])}"
    if len(sizes) > 1:
        for name, page in large.get("pages", {}).items():
            before = small["pages"][name]
            same = page["cold"]["calls"] == before["cold"]["calls"] and size_independent(
                page["warm"]["calls"], before["warm"]["calls"]
            )
            rows.append(
                [
                    f"Orthanc calls independent of size: {name}",
                    f"cold {calls(before['cold']['calls'])} → {calls(page['cold']['calls'])}, "
                    f"warm {calls(before['warm']['calls'])} → {calls(page['warm']['calls'])}",
                    verdict(same),
                ]
            )
        for state in ("warm", "cold"):
            for name, page in large.get("pages", {}).items():
                ratio = page[state]["total_median_ms"] / small["pages"][name][state]["total_median_ms"]
                rows.append(
                    [
                        f"{state} latency {label} ≤ {LATENCY_RATIO}: {name}",
                        f"{ratio:.2f}×",
                        verdict(ratio <= LATENCY_RATIO),
                    ]
                )
    for name in LIST_PAGES if "pages" in large else ():
        median = large["pages"][name]["warm"]["total_median_ms"]
        rows.append(
            [
                f"warm {name} at {size_label(large['patients'])} < {WARM_LIST_MS:.0f} ms (median)",
                f"{median:.1f} ms",
                verdict(median < WARM_LIST_MS),
            ]
        )
    for size in sizes:
        for images, thumbs in size.get("thumbnails", {}).items():
            at = f"{size_label(size['patients'])}, {images}"
            rows.append(
                [
                    f"uncached thumbnails ≥ {UNCACHED_RATIO}× Orthanc direct ({at})",
                    f"{thumbs['uncached_ratio']:.2f}×",
                    verdict(thumbs["uncached_ratio"] >= UNCACHED_RATIO),
                ]
            )
            rows.append(
                [
                    f"cached thumbnails ≥ {CACHED_RATIO:.0f}× Orthanc direct ({at})",
                    f"{thumbs['cached_ratio']:.2f}×",
                    verdict(thumbs["cached_ratio"] >= CACHED_RATIO),
                ]
            )
    return rows


def size_independent(warm: list[int], before: list[int]) -> bool:
    """Warm counts agree, apart from the once-a-second poll that may land on any list page."""
    return min(warm) == min(before) and all(c - min(warm) in (0, POLL_CALLS) for c in warm + before)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def sections(report: dict[str, Any], markdown: bool) -> list[str]:
    m = report["machine"]
    g = report["gunicorn"]
    out = [
        f"Date: {report['date']}. Command: `{report['command']}`.",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB RAM, {m['cpu']}; Python {m['python']}. "
        f"gunicorn: {g['workers']} worker(s) × {g['threads']} threads ({g['worker_class']}), {report['cache']}.",
    ]
    for size in report["sizes"]:
        a = size["archive"]
        out.append(
            f"\n{size_label(size['patients'])}: {a['CountPatients']} patients, {a['CountStudies']} studies, "
            f"{a['CountSeries']} series, {a['CountInstances']} instances (Orthanc {size['orthanc_version']}); "
            f"load average {size['load_at_start']} at start, {size['load_at_end']} at end. Times in ms."
        )
        out.append(table(LATENCY_HEADERS, latency_rows(size), markdown))
    out.append("\nList index, memory and poll cost:")
    out.append(
        table(
            [
                "size",
                "index build",
                "re-sort",
                "index memory",
                "build peak",
                "poll",
                "worker RSS at boot",
                "after index",
                "after warm run",
            ],
            [
                [
                    size_label(s["patients"]),
                    f"{s['index']['build_median_ms']:.0f} ms",
                    f"{s['index'].get('resort_median_ms', float('nan')):.0f} ms",
                    f"{s['index']['memory_mb']:.1f} MB",
                    f"{s['index'].get('build_peak_memory_mb', float('nan')):.0f} MB",
                    f"{s['index']['poll_median_ms']:.1f} ms",
                    f"{s['memory'].get('worker_rss_at_boot_mb', 0):.0f} MB",
                    f"{s['memory'].get('worker_rss_after_index_mb', 0):.0f} MB",
                    f"{s['memory'].get('worker_rss_after_warm_run_mb', 0):.0f} MB",
                ]
                for s in report["sizes"]
            ],
            markdown,
        )
    )
    for s in report["sizes"]:
        if "redis_used_mb" in s["memory"]:
            out.append(
                f"Redis ({size_label(s['patients'])}), holding the thumbnails of the last pass: "
                f"{s['memory']['redis_used_mb']} MB in {s['memory']['redis_keys']} keys."
            )
    thumbnail_rows = [
        [
            size_label(s["patients"]),
            images,
            f"{t['median_per_second']['orthanc_direct']:.0f}",
            f"{t['median_per_second']['gallery_uncached']:.0f}",
            f"{t['median_per_second']['gallery_cached']:.0f}",
            f"{t['uncached_ratio']:.2f}×",
            f"{t['cached_ratio']:.2f}×",
        ]
        for s in report["sizes"]
        for images, t in s.get("thumbnails", {}).items()
    ]
    if thumbnail_rows:
        concurrency = next(t["concurrency"] for s in report["sizes"] for t in s.get("thumbnails", {}).values())
        out.append(f"\nThumbnails per second, {concurrency} concurrent requests (median of passes):")
        headers = ["size", "images", "Orthanc direct", "gallery uncached", "gallery cached", "uncached", "cached"]
        out.append(table(headers, thumbnail_rows, markdown))
    cpu_rows = [
        [size_label(s["patients"]), images, phase.replace("_", " ")]
        + [f"{ms.get(k, 0):.2f}" for k in ("orthanc", "gallery", "client")]
        for s in report["sizes"]
        for images, t in s.get("thumbnails", {}).items()
        for phase, ms in t.get("cpu_ms_per_image", {}).items()
    ]
    if cpu_rows:
        out.append("\nCPU time per thumbnail (ms), summed over the passes:")
        out.append(table(["size", "images", "path", "Orthanc", "gallery", "client"], cpu_rows, markdown))
    out.append("\nTargets:")
    out.append(table(["target", "measured", ""], targets(report), markdown))
    return out


def render_text(report: dict[str, Any]) -> str:
    return "\n".join(sections(report, markdown=False))


def render_markdown(report: dict[str, Any]) -> str:
    return "\n\n".join(s.strip("\n") for s in sections(report, markdown=True)) + "\n"
