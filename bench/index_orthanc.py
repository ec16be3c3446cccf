"""Benchmark of the archive index against a real Orthanc whose own index is in PostgreSQL.

    .venv/bin/python -m bench.index_orthanc                    (part of `make bench-index`)
    .venv/bin/python -m bench.index_orthanc --studies 60000 --patients 20000

Loads `--studies` tiny generated studies (one 16×16 instance each, scripts/synthetic.py) for
`--patients` patients into Orthanc (uploads in parallel; kept under bench/data/ and topped up on the
next run), then, with the gallery's index in a fresh PostgreSQL database on the same server:
- initial sync: studies/s and Orthanc calls per indexed study (the syncer's own call counter);
- Orthanc calls per list page once synced (Server-Timing header): target 0;
- freshness: `--new` more studies stored in Orthanc while a syncer thread runs; the seconds from the
  last one stored until `/studies` lists them all (target ≤ 10 s), and the Orthanc calls made by
  those page requests (target 0);
- Orthanc 40 s slow (tests/faultproxy.py in front of it, a syncer thread behind the proxy): list page
  times (target < 200 ms, answered from the index).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from .index_sim import DATA, KeptPostgreSQL, percentile

LIST_PAGES = ["/patients", "/patients?page=-1", "/studies", "/studies?modality=CT&from=2010-01-01&to=2015-12-31",
              "/patients?q=kim", "/studies?q=%EB%AF%BC%EC%A4%80", "/"]  # fmt: skip
CALLS = re.compile(r'desc="(\d+) calls"')


def study_files(first: int, count: int, patients: int, tag: str = "B") -> list[bytes]:
    """`count` one-instance studies numbered from `first`; study n belongs to patient n % patients."""
    from scripts.synthetic import StudyInfo, random_date, random_patient, small_study

    files = []
    for n in range(first, first + count):
        p = n % patients
        patient = random_patient(random.Random(p), f"{tag}P{p:06d}")
        rng = random.Random(n * 7919)
        study = StudyInfo(patient, f"{tag}{n}", random_date(rng, 2006, 2025), "101500", "BENCH STUDY", f"{tag}{n:08d}")
        files += list(small_study(study, modality=rng.choice(("CT", "MR", "CR", "US")), size=16))
    return files


def upload(orthanc, files: list[bytes], threads: int = 4) -> float:
    """POST every file (one per request, raw bytes) with `threads` in parallel; returns seconds."""
    session = requests.Session()
    session.auth = (orthanc.user, orthanc.password)

    def post(body: bytes) -> None:
        answer = session.post(f"{orthanc.url.rstrip('/')}/instances", data=body, timeout=60)
        answer.raise_for_status()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, files))
    return time.monotonic() - started


def orthanc_statistics(orthanc) -> dict:
    return requests.get(
        f"{orthanc.url.rstrip('/')}/statistics", auth=(orthanc.user, orthanc.password), timeout=60
    ).json()


def load(orthanc, studies: int, patients: int, chunk: int = 2000) -> float:
    """Top Orthanc up to `studies` studies (kept between runs); returns the upload rate (studies/s), 0 if none."""
    have = int(orthanc_statistics(orthanc)["CountStudies"])
    uploaded, seconds = 0, 0.0
    for first in range(have, studies, chunk):
        files = study_files(first, min(chunk, studies - first), patients)
        seconds += upload(orthanc, files)
        uploaded += len(files)
        print(
            f"\r  loading Orthanc: {first + len(files):,} of {studies:,} studies", end="", file=sys.stderr, flush=True
        )
    print(file=sys.stderr)
    return uploaded / seconds if seconds else 0.0


def gallery_app(database_url: str, orthanc_url: str, orthanc, **extra):
    from bench.index_sim import VIEWER
    from gallery import create_app
    from gallery.access.users import create_user, find_user

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "ORTHANC_URL": orthanc_url,
            "ORTHANC_USER": orthanc.user,
            "ORTHANC_PASSWORD": orthanc.password,
            "CACHE_TYPE": "SimpleCache",
            "GALLERY_ADMIN_USER": "",
            "INDEX_SYNC": "off",
            **extra,
        }  # fmt: skip
    )
    with app.app_context():
        if find_user(VIEWER) is None:
            create_user(VIEWER, "bench-password-1", "viewer")
        user_id = find_user(VIEWER).get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    return app, client


def timed_get(client, path: str) -> tuple[float, int, str]:
    """(milliseconds, Orthanc calls from Server-Timing, body) of one page; anything but 200 is an error."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")
    match = CALLS.search(response.headers.get("Server-Timing", ""))
    return elapsed, int(match.group(1)) if match else 0, response.get_data(as_text=True)


def list_total(client, path: str) -> tuple[int, int]:
    """(total shown by the page, Orthanc calls it made): "1–50 of 61,000 studies"."""
    _, calls, body = timed_get(client, path)
    found = re.search(r"–[\d,]+ of ([\d,]+) ", body)
    return (int(found.group(1).replace(",", "")) if found else 0), calls


def main(argv: list[str] | None = None) -> int:
    from gallery.archive.index.worker import SyncThread, make_syncer
    from scripts.embedded import postgresql_index_config, start_orthanc
    from tests.support.faultproxy import FaultProxy

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=60_000)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--slow", type=float, default=40.0)
    parser.add_argument("--load-only", action="store_true", help="top Orthanc up, measure nothing")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    results: dict = {"date": datetime.datetime.now().isoformat(timespec="minutes"), "cores": os.cpu_count(),
                     "orthanc": os.environ.get("ORTHANC_BINARY", "/usr/sbin/Orthanc")}  # fmt: skip
    server = KeptPostgreSQL(DATA / "pg-orthanc")
    orthanc = proxy = thread = None
    try:
        server.database("orthanc")
        orthanc = start_orthanc(
            DATA / "orthanc-pg", extra_config=postgresql_index_config("127.0.0.1", server.port, "orthanc", "orthanc")
        )
        results["upload_studies_per_s"] = round(load(orthanc, args.studies, args.patients), 1)
        if args.load_only:
            return 0
        stats = orthanc_statistics(orthanc)
        results["orthanc"] = {k: stats[k] for k in ("CountPatients", "CountStudies", "CountSeries")}
        name = f"gallery_{int(time.time())}"
        database = server.database(name)
        app, client = gallery_app(database, orthanc.url, orthanc)

        # initial sync
        with app.app_context():
            syncer = make_syncer(app)
            assert syncer.lease.acquire()
            started = time.monotonic()
            syncer.run_until_current()
            seconds = time.monotonic() - started
            syncer.lease.release()
        indexed = stats["CountStudies"]
        calls = sum(syncer.calls.values())
        results["initial_sync"] = {"seconds": round(seconds, 1), "studies_per_s": round(indexed / seconds, 1),
                                   "orthanc_calls": calls, "calls_per_study": round(calls / indexed, 4),
                                   "calls_by_kind": dict(syncer.calls)}  # fmt: skip
        print(f"  initial sync: {results['initial_sync']}", file=sys.stderr)

        # list pages once synced
        middle = max(1, -(-stats["CountPatients"] // 50) // 2)
        paths = [p.replace("page=-1", f"page={middle}") for p in LIST_PAGES]
        pages = {}
        for path in paths:
            timed_get(client, path)
            samples = [timed_get(client, path) for _ in range(10)]
            pages[path] = {"p50_ms": round(percentile([s[0] for s in samples], 0.5), 1),
                           "p95_ms": round(percentile([s[0] for s in samples], 0.95), 1),
                           "orthanc_calls": max(s[1] for s in samples)}  # fmt: skip
        results["synced_pages"] = pages

        # freshness: a syncer thread follows /changes while more studies arrive
        with app.app_context():
            thread = SyncThread(make_syncer(app)).start()
        before, _ = list_total(client, "/studies")
        files = study_files(args.studies + int(time.time()) % 1_000_000 * 10, args.new, args.patients, tag="N")
        upload(orthanc, files)
        stored = time.monotonic()
        page_calls, polls, total = 0, 0, before
        while total < before + args.new and time.monotonic() - stored < 120:
            total, calls = list_total(client, "/studies")
            page_calls += calls
            polls += 1
            time.sleep(0.2)
        results["freshness"] = {
            "new_studies": args.new,
            "seconds_after_last_stored": round(time.monotonic() - stored, 1),
            "shown": total - before,
            "page_requests": polls,
            "orthanc_calls_by_pages": page_calls,
        }
        print(f"  freshness: {results['freshness']}", file=sys.stderr)
        thread.stop()
        thread = None

        # Orthanc slow: the same index, a syncer and the pages talking to Orthanc through a slow proxy
        proxy = FaultProxy(orthanc.port)
        proxy.slow(args.slow)
        slow_app, slow_client = gallery_app(database, proxy.url, orthanc, INDEX_POLL_SECONDS=1)
        with slow_app.app_context():
            thread = SyncThread(make_syncer(slow_app)).start()
        time.sleep(2)  # the syncer's poll is now waiting on Orthanc
        slow = {}
        for path in paths:
            first = timed_get(slow_client, path)  # a fresh app's first render of the page (templates compile)
            samples = [timed_get(slow_client, path) for _ in range(10)]
            times = [s[0] for s in samples]
            slow[path] = {"first_ms": round(first[0], 1), "p50_ms": round(percentile(times, 0.5), 1),
                          "p95_ms": round(percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
                          "orthanc_calls": max(s[1] for s in [first, *samples])}  # fmt: skip
        results["slow_orthanc"] = slow
    finally:
        if thread is not None:
            thread.stopped.set()
        if proxy is not None:
            proxy.close()
        if orthanc is not None:
            orthanc.stop()
        server.stop()
    print(json.dumps(results, indent=1, ensure_ascii=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"index-orthanc-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
