"""Benchmarks: page latency, Orthanc calls per page and thumbnail throughput, at several archive sizes.

    .venv/bin/python -m bench.run --patients 1000,10000        (what `make bench` runs)

For each size the archive is opened (built once, see bench/dataset.py) and the
gallery is served over real HTTP by gunicorn with gunicorn.conf.py, as in
production. Measured:

- index: the archive index's initial sync into this size's gallery database (the syncer,
  as `flask index sync --once` runs it), its memory peak, and one poll once current
  (/changes + /statistics). Lists read that database from then on.
- cold: a fresh gunicorn process (empty cache, no warm-up) answers the page as its very
  first request; one process per page, size and run.
- warm: one process per size, all running; every page once to warm them, then all
  pages in turn `--repeats` times. List pages read the index and make no Orthanc call.
- Sizes are interleaved page by page, so a change in the machine's load (it may be
  shared) affects every size alike and the 10k/1k ratios stay fair.
- thumbnails: the 500 slices of the landmark series (64², as cheap as Orthanc renders
  anything) and 100 typical 256² MR slices, `--concurrency` requests at a time:
  Orthanc's own /rendered (the exact request the gallery makes), then the gallery
  uncached (fresh process), then cached, `--passes` times; with the CPU time each of
  Orthanc, the gallery and this client spent per image.

Orthanc calls per answer come from the gallery's Server-Timing header (it counts
every call its Orthanc client makes). Results: a table on stdout,
bench/results/<time>.json and <time>.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc
from scripts.launch import GalleryServer
from tests.support.services import start_redis

from .dataset import Landmarks, open_archive
from .measure import Connection, Sample, summarise
from .processes import GALLERY_HEADERS, Gallery, cache_settings, gunicorn_settings, rss_mb
from .report import render_markdown, render_text
from .thumbnails import measure_thumbnails

RESULTS = Path(__file__).resolve().parent / "results"
PAGE_SIZE = 50  # config.PAGE_SIZE


def machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024**2, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pages(landmarks: Landmarks, patients: int) -> dict[str, str]:
    last = -(-patients // PAGE_SIZE)
    return {
        "/": "/",
        "/patients": "/patients",
        "/patients middle page": f"/patients?page={(last + 1) // 2}",
        "/patients last page": f"/patients?page={last}",
        "/patients name search": f"/patients?q={quote(landmarks.name_query)}",
        "/patients common search": f"/patients?q={quote(landmarks.common_query)}",
        "/studies date filter": f"/studies?from={landmarks.date_from}&to={landmarks.date_to}",
        "study with 20 series": f"/studies/{landmarks.twenty_series_study}",
        "series with 500 slices": f"/series/{landmarks.five_hundred_slice_series}",
    }


def get(server: GalleryServer, path: str) -> Sample:
    connection = Connection(server.url, GALLERY_HEADERS)
    try:
        return connection.get(path)
    finally:
        connection.close()


def measure_index(orthanc: EmbeddedOrthanc, database: Path, repeats: int) -> dict[str, float]:
    """The archive index's initial sync into this size's gallery database (reset before each run), its
    memory peak, and the cost of one poll once current (/changes + /statistics), as the syncer does them.

    The gunicorn processes measured next read this database; their own syncer then only follows changes.
    """
    from gallery import create_app
    from gallery.archive.index.sync import reset
    from gallery.archive.index.worker import make_syncer
    from gallery.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": "benchmark",
            "ORTHANC_URL": orthanc.url,
            "ORTHANC_USER": orthanc.user,
            "ORTHANC_PASSWORD": orthanc.password,
            "INDEX_SYNC": "off",
            "GALLERY_ADMIN_USER": "",
        }
    )
    builds, peak = [], 0
    with app.app_context():
        for run in range(repeats):
            reset(db.engine)
            syncer = make_syncer(app)
            assert syncer.lease.acquire(), "another syncer holds the lease"
            if run == repeats - 1:
                tracemalloc.start()
            started = time.perf_counter()
            syncer.run_until_current()
            builds.append(time.perf_counter() - started)
            if run == repeats - 1:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            polls = []
            for _ in range(10):
                started = time.perf_counter()
                syncer.step()
                polls.append(time.perf_counter() - started)
            syncer.lease.release()
    return {
        "build_median_ms": round(statistics.median(builds) * 1000, 1),
        "build_max_ms": round(max(builds) * 1000, 1),
        "memory_mb": 0.0,  # the index lives in the database, not in the process
        "build_peak_memory_mb": round(peak / 1024**2, 1),
        "poll_median_ms": round(statistics.median(polls) * 1000, 2),
    }


@dataclass
class Archive:
    """One archive size: its Orthanc, landmarks, pages and the gallery processes serving it."""

    patients: int
    orthanc: EmbeddedOrthanc
    client: OrthancClient
    landmarks: Landmarks
    manifest: dict
    gallery: Gallery
    paths: dict[str, str]


Samples = dict[int, dict[str, list[Sample]]]


def measure_cold(archives: list[Archive], runs: int) -> tuple[Samples, dict[int, dict[str, float]]]:
    """Sizes and pages interleaved, so that a change in the machine's load hits all alike."""
    samples: Samples = {a.patients: {name: [] for name in a.paths} for a in archives}
    memory: dict[int, dict[str, float]] = {}
    for run in range(runs):
        for name in archives[0].paths:
            for archive in archives:
                server = archive.gallery.start()
                try:
                    worker = server.worker_pids()[0]
                    before = rss_mb(worker)
                    samples[archive.patients][name].append(get(server, archive.paths[name]))
                    if run == 0 and name == "/patients":
                        memory[archive.patients] = {
                            "worker_rss_at_boot_mb": before,
                            "worker_rss_after_index_mb": rss_mb(worker),
                        }
                finally:
                    server.stop()
    return samples, memory


def measure_warm(archives: list[Archive], repeats: int) -> tuple[Samples, dict[int, float]]:
    """One gallery per size, all running; every page once to warm, then rounds over sizes and pages."""
    samples: Samples = {a.patients: {name: [] for name in a.paths} for a in archives}
    servers = {a.patients: a.gallery.start() for a in archives}
    connections = {size: Connection(server.url, GALLERY_HEADERS) for size, server in servers.items()}
    try:
        for archive in archives:
            for path in archive.paths.values():
                connections[archive.patients].get(path)
        for _ in range(repeats):
            for name in archives[0].paths:
                for archive in archives:
                    samples[archive.patients][name].append(connections[archive.patients].get(archive.paths[name]))
        return samples, {size: rss_mb(server.worker_pids()[0]) for size, server in servers.items()}
    finally:
        for connection in connections.values():
            connection.close()
        for server in servers.values():
            server.stop()


def open_size(patients: int, stamp: str, redis_url: str) -> Archive:
    orthanc, landmarks, manifest = open_archive(patients)
    log = RESULTS / f"{stamp}-gunicorn-{patients}.log"
    return Archive(
        patients=patients,
        orthanc=orthanc,
        client=OrthancClient(orthanc.url, orthanc.user, orthanc.password, read_timeout=300),
        landmarks=landmarks,
        manifest=manifest,
        gallery=Gallery(orthanc, log, redis_url, cache_prefix=f"bench{patients}:"),
        paths=pages(landmarks, manifest["statistics"]["CountPatients"]),
    )


def run_sizes(archives: list[Archive], args: argparse.Namespace) -> list[dict[str, object]]:
    results: dict[int, dict[str, object]] = {}
    for a in archives:
        print(f"[{a.patients}] list index build...", flush=True)
        results[a.patients] = {
            "patients": a.patients,
            "archive": a.manifest["statistics"],
            "orthanc_version": a.client.get_json("/system")["Version"],
            "landmarks": asdict(a.landmarks),
            "load_at_start": load(),
            "index": measure_index(a.orthanc, a.gallery.database, args.index_repeats),
        }
    if args.pages:
        print(f"cold pages ({args.runs} runs × {len(archives[0].paths)} pages × {len(archives)} sizes)...", flush=True)
        cold, memory = measure_cold(archives, args.runs)
        print(f"warm pages ({args.repeats} rounds)...", flush=True)
        warm, warm_rss = measure_warm(archives, args.repeats)
    for a in archives:
        result = results[a.patients]
        result["memory"] = {}
        if args.pages:
            result["memory"] = {**memory[a.patients], "worker_rss_after_warm_run_mb": warm_rss[a.patients]}
            result["pages"] = {
                name: {
                    "path": path,
                    "cold": summarise(cold[a.patients][name]),
                    "warm": summarise(warm[a.patients][name]),
                }
                for name, path in a.paths.items()
            }
        if args.concurrency:
            print(f"[{a.patients}] thumbnails ({args.passes} passes, concurrency {args.concurrency})...", flush=True)
            result["thumbnails"] = {
                name: measure_thumbnails(
                    a.gallery,
                    a.orthanc,
                    a.client.get_json(f"/series/{series}")["Instances"],
                    args.concurrency,
                    args.passes,
                )
                for name, series in (
                    ("64² MR, 500 slices", a.landmarks.five_hundred_slice_series),
                    ("256² MR, 100 slices", a.landmarks.typical_mr_series),
                    ("512² CT, 100 slices", a.landmarks.typical_ct_series),
                    ("2048×2500 CR, 20 images", a.landmarks.radiograph_series),
                )
            }
            result["memory"].update(a.gallery.redis_memory())
        result["load_at_end"] = load()
    return list(results.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", default="1000,10000", help="archive sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--runs", type=int, default=5, help="cold samples per page (a fresh process each)")
    parser.add_argument("--repeats", type=int, default=20, help="warm samples per page")
    parser.add_argument("--index-repeats", type=int, default=3, help="list index builds timed")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel thumbnail requests (0: skip)")
    parser.add_argument("--no-pages", dest="pages", action="store_false", help="thumbnails only, no page timings")
    parser.add_argument("--passes", type=int, default=3, help="thumbnail passes (direct, uncached, cached)")
    parser.add_argument(
        "--redis", action="store_true", help="share the cache in a local Redis (gunicorn: 2 workers/core)"
    )
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.patients.split(",")]

    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now().astimezone()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    redis_server = start_redis(Path(tempfile.mkdtemp(prefix="bench-redis-"))) if args.redis else None
    redis_url = redis_server.url if redis_server else ""
    archives: list[Archive] = []
    try:
        archives = [open_size(patients, stamp, redis_url) for patients in sizes]
        report = {
            "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": started.isoformat(timespec="seconds"),
            "machine": machine(),
            "cache": cache_settings(redis_url)["CACHE_TYPE"],
            "gunicorn": gunicorn_settings(cache_settings(redis_url)),
            "sizes": run_sizes(archives, args),
        }
    finally:
        for archive in archives:
            archive.orthanc.stop()
        if redis_server:
            redis_server.stop()
    (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (RESULTS / f"{stamp}.md").write_text(render_markdown(report))
    print(render_text(report))
    print(f"Written: {RESULTS / stamp}.json and .md")


if __name__ == "__main__":
    main()
