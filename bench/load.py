"""Load test: 50 signed-in users browsing at once (lists, pages, thumbnails, viewer) for 60 s, with wrk.

    .venv/bin/python -m bench.load                      (what `make load` runs: 3000 patients, 60 s, 50 users)
    .venv/bin/python -m bench.load --short              (10 s, 500 patients: a quick check)

A real Orthanc holds the demo data (`make run`'s) plus a generated archive of
`--patients` patients (built once under bench/data/load-<N>/, see bench/dataset.py).
The gallery runs under gunicorn with gunicorn.conf.py on loopback, as in production.
A user signs in through /login; the URLs come from the gallery itself (the JSON
twins of its pages, see bench/discover.py). wrk then keeps `--connections`
keep-alive connections busy, each request a URL of a kind picked by the weights in
discover.WEIGHTS (thumbnails most, as a browser loads them with every page), until
`--duration` or `--max-requests`, whichever comes first. Then, unless
`--no-breakdown`, each group of kinds alone for a shorter run, for latencies by kind.

Errors: socket errors, timeouts (`--timeout`) and any status other than 2xx/304
(a 302 to /login, a 4xx or a 5xx), plus tracebacks in gunicorn's log. Results:
bench/results/load-<time>.json and .md; the exit status is 1 if any error happened.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gallery.orthanc.client import OrthancClient
from scripts.demo import load_demo_data
from scripts.embedded import EmbeddedOrthanc
from tests.support.services import start_redis

from . import serverlog
from .dataset import DATA, open_archive
from .discover import GROUPS, WEIGHTS, discover, sign_in
from .load_report import render_markdown
from .processes import BENCH_PASSWORD, BENCH_USER, Gallery, cpu_seconds, gunicorn_settings, rss_mb
from .run import RESULTS, load, machine
from .wrk import WrkResult, run_wrk

DEMO_MARKER = "demo-data.json"


def open_load_archive(patients: int) -> tuple[EmbeddedOrthanc, dict]:
    """The generated archive in bench/data/load-<N>/ plus the demo data (added once; its patients remembered)."""
    folder = DATA / f"load-{patients}"
    orthanc, _, manifest = open_archive(patients, folder)
    marker = folder / DEMO_MARKER
    if not marker.exists():
        client = OrthancClient(orthanc.url, orthanc.user, orthanc.password, read_timeout=300)
        print("Adding the demo data (once)...", flush=True)
        before = set(client.get_json("/patients"))
        counts = load_demo_data(client)
        demo = sorted(set(client.get_json("/patients")) - before)
        marker.write_text(json.dumps({"counts": dict(counts), "patients": demo}, indent=2))
    demo_data = json.loads(marker.read_text())
    statistics = OrthancClient(orthanc.url, orthanc.user, orthanc.password).get_json("/statistics")
    archive = {k: statistics[k] for k in ("CountPatients", "CountStudies", "CountSeries", "CountInstances")}
    return orthanc, {"generated_patients": patients, "demo_patients": demo_data["patients"], "statistics": archive}


def usage(gallery_pids: list[int], orthanc_pid: int) -> dict[str, float]:
    return {
        "gallery_cpu_s": round(cpu_seconds(gallery_pids), 2),
        "orthanc_cpu_s": round(cpu_seconds([orthanc_pid]), 2),
        "gallery_rss_mb": round(sum(rss_mb(pid) for pid in gallery_pids), 1),
        "orthanc_rss_mb": rss_mb(orthanc_pid),
    }


def run_load(args: argparse.Namespace, stamp: str) -> dict:
    orthanc, archive = open_load_archive(args.patients)
    log = RESULTS / f"load-{stamp}-gunicorn.log"
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))  # the plan (it holds the session cookie), Redis
    redis_server = server = None
    try:
        redis_server = start_redis(workdir / "redis") if args.redis else None
        gallery = Gallery(orthanc, log, redis_server.url if redis_server else "", cache_prefix="load:")
        server = gallery.start()
        session = sign_in(server.url, BENCH_USER, BENCH_PASSWORD)
        print("Discovering URLs from the gallery's JSON twins...", flush=True)
        found = time.monotonic()
        plan = discover(session, server.url, archive["demo_patients"], args.sample_patients, seed=args.seed)
        print(f"{plan.summary()} ({time.monotonic() - found:.0f} s)", flush=True)
        plan_file = plan.write(workdir / "plan.tsv", session)
        pids = [server.process.pid, *server.worker_pids()]
        orthanc_pid = orthanc.process.pid
        log_start = log.stat().st_size if log.exists() else 0
        before = usage(pids, orthanc_pid)
        load_before = load()
        print(
            f"Mixed browsing: {args.connections} users, {args.duration} s or {args.max_requests} requests...",
            flush=True,
        )
        mixed = run_wrk(server.url, plan_file, args, args.duration, args.max_requests)
        after = usage(pids, orthanc_pid)
        load_after = load()
        time.sleep(0.5)  # gunicorn logs a request just after answering it
        log_mixed_end = log.stat().st_size
        print(mixed.summary(), flush=True)
        breakdown: dict[str, WrkResult] = {}
        if args.breakdown:
            for group, kinds in GROUPS.items():
                print(f"{group} alone, {args.breakdown_duration} s...", flush=True)
                breakdown[group] = run_wrk(
                    server.url, plan_file, args, args.breakdown_duration, args.max_requests, kinds
                )
                print(breakdown[group].summary(), flush=True)
        time.sleep(0.5)
        errors_in_log = serverlog.errors(serverlog.read_from(log, log_start))
        times = serverlog.server_times(serverlog.read_from(log, log_start, log_mixed_end))
    finally:
        if server:
            server.stop()
        orthanc.stop()
        if redis_server:
            redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "archive": archive,
        "gunicorn": gunicorn_settings(gallery.env),
        "cache": gallery.env["CACHE_TYPE"],
        "plan": plan.counts(),
        "weights": WEIGHTS,
        "groups": GROUPS,
        "mixed": mixed.as_dict(),
        "server_ms_by_kind_in_mixed_run": times,
        "resources": {
            "cpu_s_during_mixed_run": {
                "gallery": round(after["gallery_cpu_s"] - before["gallery_cpu_s"], 2),
                "orthanc": round(after["orthanc_cpu_s"] - before["orthanc_cpu_s"], 2),
                "wrk": round(mixed.cpu_s, 2),
            },
            "rss_mb_after_mixed_run": {"gallery": after["gallery_rss_mb"], "orthanc": after["orthanc_rss_mb"]},
        },
        "load_average": {"before_mixed_run": load_before, "after_mixed_run": load_after, "at_end": load()},
        "breakdown": {group: result.as_dict() for group, result in breakdown.items()},
        "server_log_errors": errors_in_log[:50],
        "server_log_error_count": len(errors_in_log),
    }


def total_errors(report: dict) -> int:
    runs = [report["mixed"], *report["breakdown"].values()]
    return sum(run["errors"]["total"] for run in runs) + report["server_log_error_count"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=3000, help="generated patients besides the demo data")
    parser.add_argument("--connections", type=int, default=50, help="concurrent users (keep-alive connections)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of mixed browsing")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop earlier after this many requests")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=10, help="seconds before wrk counts a request as timed out")
    parser.add_argument("--sample-patients", type=int, default=120, help="generated patients whose pages are used")
    parser.add_argument("--breakdown-duration", type=int, default=10, help="seconds of each per-kind run")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false", help="only the mixed run")
    parser.add_argument(
        "--redis", action="store_true", help="the shared-cache set-up: Redis, gunicorn with 2 workers per core"
    )
    parser.add_argument("--seed", type=int, default=7, help="which patients are sampled")
    parser.add_argument("--short", action="store_true", help="a quick check: 10 s, 500 patients, 5 s per kind")
    args = parser.parse_args(argv)
    if args.short:
        args.duration, args.patients, args.breakdown_duration = 10, 500, 5

    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now().astimezone()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    report = {
        "command": "python -m bench.load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            k: getattr(args, k)
            for k in ("patients", "connections", "duration", "max_requests", "threads", "timeout", "sample_patients")
        },
        **run_load(args, stamp),
    }
    report["total_errors"] = total_errors(report)
    (RESULTS / f"load-{stamp}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    markdown = render_markdown(report)
    (RESULTS / f"load-{stamp}.md").write_text(markdown)
    print(markdown)
    print(f"Written: {RESULTS}/load-{stamp}.json and .md")
    if report["total_errors"]:
        print(f"FAILED: {report['total_errors']} errors (see the report)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
