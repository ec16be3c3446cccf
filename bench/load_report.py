"""The load test's report as Markdown (bench/results/load-<time>.md), the tables docs/operations.md quotes."""

from __future__ import annotations


def _row(name: str, run: dict) -> str:
    lat, errors = run["latency_ms"], run["errors"]
    error_text = str(errors["total"])
    if errors["total"]:
        error_text += " (" + ", ".join(f"{k} {v}" for k, v in errors.items() if k != "total" and v) + ")"
    bound = " (request bound)" if run["stopped_by_request_bound"] else ""
    return (
        f"| {name} | {run['requests']} | {run['seconds']:.1f} s{bound} | {run['requests_per_second']:.0f} | "
        f"{lat['p50']:.0f} | {lat['p95']:.0f} | {lat['p99']:.0f} | {lat['max']:.0f} | {error_text} |"
    )


def render_markdown(report: dict) -> str:
    settings, archive = report["settings"], report["archive"]
    stats = archive["statistics"]
    gunicorn = report["gunicorn"]
    machine = report["machine"]
    lines = [
        f"# Load test, {report['date']}",
        "",
        f"`{report['command'].strip()}`",
        "",
        f"Machine: {machine['cores']} cores, {machine['memory_gb']} GB RAM, {machine['cpu']}; "
        f"Python {machine['python']}. gunicorn (gunicorn.conf.py): {gunicorn['workers']} worker(s) × "
        f"{gunicorn['threads']} threads ({gunicorn['worker_class']}), {report['cache']}.",
        "",
        f"Archive: the demo data ({len(archive['demo_patients'])} patients) plus {archive['generated_patients']} "
        f"generated patients: {stats['CountPatients']} patients, {stats['CountStudies']} studies, "
        f"{stats['CountSeries']} series, {stats['CountInstances']} instances.",
        "",
        f"wrk: {settings['threads']} threads, {settings['connections']} connections (users), at most "
        f"{settings['duration']} s or {settings['max_requests']} requests, timeout {settings['timeout']} s. "
        f"Load average (1, 5, 15 min) before the mixed run {report['load_average']['before_mixed_run']}, "
        f"after it {report['load_average']['after_mixed_run']}.",
        "",
        "Latencies in ms, from wrk (request sent to response complete).",
        "",
        "| run | requests | time | req/s | p50 | p95 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|---|---|",
        _row("mixed browsing", report["mixed"]),
        *(_row(f"{group} alone", run) for group, run in report["breakdown"].items()),
        "",
        "Mixed run, requests by kind (weight: share of requests; URLs: distinct URLs found):",
        "",
        "| kind | weight | requested | URLs |",
        "|---|---|---|---|",
        *(
            f"| {kind} | {weight} | {report['mixed']['sent_by_kind'].get(kind, 0)} | {report['plan'][kind]} |"
            for kind, weight in report["weights"].items()
        ),
        "",
    ]
    lines += [
        "Mixed run, time in the gallery by kind (ms, gunicorn's access log: from reading the request to the "
        "last byte; wrk's latency adds waiting for a free thread):",
        "",
        "| kind | requests | p50 | p95 | max |",
        "|---|---|---|---|---|",
        *(
            f"| {kind} | {t['requests']} | {t['p50']:.0f} | {t['p95']:.0f} | {t['max']:.0f} |"
            for kind, t in report["server_ms_by_kind_in_mixed_run"].items()
        ),
        "",
    ]
    resources = report["resources"]
    cpu, rss = resources["cpu_s_during_mixed_run"], resources["rss_mb_after_mixed_run"]
    seconds = report["mixed"]["seconds"] or 1
    lines += [
        f"CPU during the mixed run: gallery {cpu['gallery']} s ({cpu['gallery'] / seconds:.0%} of a core), "
        f"Orthanc {cpu['orthanc']} s ({cpu['orthanc'] / seconds:.0%}), wrk {cpu['wrk']} s "
        f"({cpu['wrk'] / seconds:.0%}). Memory (RSS) after it: gallery {rss['gallery']} MB (master and workers), "
        f"Orthanc {rss['orthanc']} MB.",
        "",
        f"Statuses in the mixed run: {report['mixed']['statuses']}. Errors in gunicorn's log: "
        f"{report['server_log_error_count']}.",
        "",
        f"**Total errors: {report['total_errors']}**",
    ]
    if report["server_log_errors"]:
        lines += ["", "```", *report["server_log_errors"], "```"]
    return "\n".join(lines) + "\n"
