"""Benchmark the series viewer: time to first image and scroll rate, through the gallery and straight from Orthanc.

    .venv/bin/python bench/viewer.py [--size 256] [--slices 200] [--parallel 4]

Generates an MR volume (gallery/synthetic.mr_volume) into a private Orthanc, then, `--runs` times:

1. Orthanc direct: the same rendered JPEGs the viewer shows (`/instances/{id}/frames/0/rendered`,
   native size, VIEWER_QUALITY), fetched one by one, then with `--parallel` connections (a browser
   prefetching); and `/series/{id}/numpy` once. This also warms the OS file cache, so the
   gallery's cold run is fair.
2. Gallery cold: a fresh gunicorn (gunicorn.conf.py: one gthread worker, SimpleCache) over real
   HTTP on loopback: time to first image (the viewer page, then its image), every slice in
   order one by one, then (in another window, so nothing is cached) with `--parallel` connections.
3. Gallery warm: the same requests again, answered from the gallery's cache.
4. Reformatting: the first sagittal image (fetches the volume from `/series/{id}/numpy`), then
   every sagittal slice in order, cold (cut, resample, encode) and warm (cached images).

Prints a table and writes bench/results/viewer.json. Not a test: figures vary with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from bench.processes import BENCH_PASSWORD, BENCH_USER, gallery_env, rss_mb  # noqa: E402
from gallery.orthanc.client import OrthancClient  # noqa: E402
from scripts.demo import upload  # noqa: E402
from scripts.embedded import free_port, remove_storage, start_orthanc  # noqa: E402
from scripts.launch import GalleryServer, start_gunicorn  # noqa: E402
from scripts.synthetic import PatientInfo, StudyInfo, mr_volume  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "viewer.json"


def fetch_all(session: requests.Session, urls: Sequence[str], parallel: int, **kwargs) -> float:
    """Fetch every URL (checking each answer); return images per second."""

    def get(url: str) -> int:
        response = session.get(url, timeout=120, **kwargs)
        response.raise_for_status()
        return len(response.content)

    started = time.perf_counter()
    if parallel == 1:
        for url in urls:
            get(url)
    else:
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(get, urls))
    return len(urls) / (time.perf_counter() - started)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def start_gallery(orthanc, port: int, log: Path) -> GalleryServer:
    env = gallery_env(orthanc, log.parent / "viewer-bench.db", CACHE_TYPE="SimpleCache")
    return start_gunicorn(env, port, log=log)


def measure(orthanc, series_id: str, instances: list[str], args: argparse.Namespace, log: Path) -> dict[str, float]:
    """One run: Orthanc direct, then a fresh gallery process cold and warm, then reformatting."""
    direct = requests.Session()
    direct.auth = (orthanc.user, orthanc.password)
    jpeg = {"Accept": "image/jpeg"}
    box = f"width={args.size}&height={args.size}&quality={config.VIEWER_QUALITY}"
    direct_urls = [f"{orthanc.url}instances/{i}/frames/0/rendered?{box}" for i in instances]
    middle = direct_urls[len(direct_urls) // 2]
    figures = {
        "orthanc_first_image_ms": timed(lambda: direct.get(middle, headers=jpeg).raise_for_status()) * 1000,
        "orthanc_scroll_per_s": fetch_all(direct, direct_urls, 1, headers=jpeg),
        "orthanc_scroll_parallel_per_s": fetch_all(direct, direct_urls, args.parallel, headers=jpeg),
        "orthanc_series_numpy_s": timed(
            lambda: direct.get(f"{orthanc.url}series/{series_id}/numpy").raise_for_status()
        ),
    }
    port = free_port()
    gallery = start_gallery(orthanc, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        session.auth = (BENCH_USER, BENCH_PASSWORD)

        def first_image() -> None:
            page = session.get(f"{base}/series/{series_id}/view", timeout=60)
            page.raise_for_status()
            source = re.search(r'id="viewer-image" src="([^"]+)"', page.text).group(1).replace("&amp;", "&")
            session.get(base + source, timeout=60).raise_for_status()

        stack = [f"{base}/series/{series_id}/image?slice={n}" for n in range(1, args.slices + 1)]
        windowed = [url + "&wc=500&ww=1000" for url in stack]  # same page data, images not cached yet
        sagittal = [f"{base}/series/{series_id}/image?plane=sagittal&slice={n}" for n in range(1, args.size + 1)]
        figures["gallery_first_image_cold_ms"] = timed(first_image) * 1000
        figures["gallery_scroll_cold_per_s"] = fetch_all(session, stack, 1)
        figures["gallery_scroll_cold_parallel_per_s"] = fetch_all(session, windowed, args.parallel)
        figures["gallery_first_image_warm_ms"] = timed(first_image) * 1000
        figures["gallery_scroll_warm_per_s"] = fetch_all(session, stack, 1)
        figures["gallery_scroll_warm_parallel_per_s"] = fetch_all(session, windowed, args.parallel)
        first_sagittal = sagittal[len(sagittal) // 2]
        figures["mpr_first_sagittal_cold_ms"] = timed(lambda: session.get(first_sagittal).raise_for_status()) * 1000
        figures["mpr_scroll_cold_per_s"] = fetch_all(session, sagittal, 1)
        figures["mpr_scroll_warm_per_s"] = fetch_all(session, sagittal, 1)
        figures["gallery_worker_rss_mb"] = max((rss_mb(pid) for pid in gallery.worker_pids()), default=0)
    finally:
        gallery.stop()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3, help="repeat, each with a fresh gallery; medians are reported")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    orthanc = start_orthanc(folder / "orthanc")
    try:
        client = OrthancClient(orthanc.url, orthanc.user, orthanc.password)
        study = StudyInfo(PatientInfo("Bench^Viewer", "BENCH-VIEWER"), "bench-viewer", "20260101", "", "Bench")
        files = list(mr_volume(study, size=args.size, slices=args.slices))
        upload_seconds = timed(lambda: upload(client, ((str(i), lambda d=d: d) for i, d in enumerate(files))))
        series_id = client.get_json("/series")[0]
        instances = [entry[0] for entry in client.get_json(f"/series/{series_id}/ordered-slices")["SlicesShort"]]
        runs = [measure(orthanc, series_id, instances, args, folder / "gunicorn.log") for _ in range(args.runs)]
    finally:
        remove_storage(orthanc)
        shutil.rmtree(folder, ignore_errors=True)

    results = {
        "volume": f"{args.size}x{args.size}x{args.slices} MR",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "upload_seconds": round(upload_seconds, 2),
        "parallel": args.parallel,
        "median": {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]},
        "runs": [{key: round(value, 1) for key, value in run.items()} for run in runs],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    return 0


def report(results: dict) -> None:
    m = results["median"]
    rows = [
        (
            "time to first image (ms)",
            m["orthanc_first_image_ms"],
            m["gallery_first_image_cold_ms"],
            m["gallery_first_image_warm_ms"],
        ),
        (
            "scroll, one at a time (img/s)",
            m["orthanc_scroll_per_s"],
            m["gallery_scroll_cold_per_s"],
            m["gallery_scroll_warm_per_s"],
        ),
        (
            f"scroll, {results['parallel']} in parallel (img/s)",
            m["orthanc_scroll_parallel_per_s"],
            m["gallery_scroll_cold_parallel_per_s"],
            m["gallery_scroll_warm_parallel_per_s"],
        ),
        ("first sagittal image (ms)", "—", m["mpr_first_sagittal_cold_ms"], "—"),
        ("sagittal scroll (img/s)", "—", m["mpr_scroll_cold_per_s"], m["mpr_scroll_warm_per_s"]),
    ]
    print(f"\nSeries viewer, {results['volume']}: medians of {len(results['runs'])} runs")
    print(f"({results['machine']}, load average {results['load_average']})")
    print(f"{'':34} {'Orthanc direct':>15} {'gallery cold':>13} {'gallery warm':>13}")
    for name, *values in rows:
        print(f"{name:34} {values[0]!s:>15} {values[1]!s:>13} {values[2]!s:>13}")
    print(
        f"Orthanc /series/{{id}}/numpy of the volume: {m['orthanc_series_numpy_s']} s; "
        f"gallery worker RSS after a run: {m['gallery_worker_rss_mb']} MB"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
