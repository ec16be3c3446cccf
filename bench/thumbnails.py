"""Thumbnails per second: Orthanc's own rendering against the gallery, uncached and cached, with CPU per image."""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable
from functools import partial

from scripts.embedded import EmbeddedOrthanc

from .measure import Throughput, throughput
from .processes import GALLERY_HEADERS, Gallery, cpu_seconds


class CpuMeter:
    """CPU time spent by Orthanc, the gallery's processes and this client, per image."""

    def __init__(self, orthanc_pid: int) -> None:
        self.orthanc_pid = orthanc_pid
        self.totals: dict[str, dict[str, float]] = {}

    def run(self, phase: str, gallery_pids: list[int], work: Callable[[], Throughput]) -> Throughput:
        before = (cpu_seconds([self.orthanc_pid]), cpu_seconds(gallery_pids), time.process_time())
        result = work()
        after = (cpu_seconds([self.orthanc_pid]), cpu_seconds(gallery_pids), time.process_time())
        total = self.totals.setdefault(phase, {"orthanc": 0.0, "gallery": 0.0, "client": 0.0, "images": 0})
        for key, start, end in zip(("orthanc", "gallery", "client"), before, after, strict=True):
            total[key] += end - start
        total["images"] += result.requests
        return result

    def per_image_ms(self) -> dict[str, dict[str, float]]:
        return {
            phase: {k: round(v / t["images"] * 1000, 2) for k, v in t.items() if k != "images"}
            for phase, t in self.totals.items()
        }


def measure_thumbnails(
    gallery: Gallery, orthanc: EmbeddedOrthanc, instances: list[str], concurrency: int, passes: int
) -> dict[str, object]:
    """Images per second: Orthanc direct, gallery uncached, gallery cached, on the same images."""
    token = base64.b64encode(f"{orthanc.user}:{orthanc.password}".encode()).decode()
    direct_headers = {"Authorization": f"Basic {token}", "Accept": "image/jpeg"}
    # Exactly what the gallery asks Orthanc for a thumbnail (config THUMBNAIL_SIZE, THUMBNAIL_QUALITY).
    direct_paths = [f"/instances/{i}/frames/0/rendered?width=256&height=256&quality=85" for i in instances]
    gallery_paths = [f"/instances/{i}/thumbnail" for i in instances]
    throughput(orthanc.url, direct_paths, concurrency, direct_headers)  # Orthanc reads the files once
    rows: dict[str, list[float]] = {"orthanc_direct": [], "gallery_uncached": [], "gallery_cached": []}
    failures = 0
    cache_memory: dict[str, float] = {}
    assert orthanc.process is not None
    cpu = CpuMeter(orthanc.process.pid)
    for _ in range(passes):
        direct = partial(throughput, orthanc.url, direct_paths, concurrency, direct_headers)
        results = {"orthanc_direct": cpu.run("orthanc_direct", [], direct)}
        server = gallery.start()
        try:
            # One request first, outside the measure: it checks the account's password (scrypt,
            # ~60 ms, then remembered) and opens the pool to Orthanc, as any earlier page would have.
            throughput(server.url, [f"{gallery_paths[0]}?size=17"], 1, GALLERY_HEADERS)
            pids = [server.process.pid, *server.worker_pids()]
            for phase in ("gallery_uncached", "gallery_cached"):
                results[phase] = cpu.run(
                    phase, pids, partial(throughput, server.url, gallery_paths, concurrency, GALLERY_HEADERS)
                )
            cache_memory = gallery.redis_memory()
        finally:
            server.stop()
        for phase, result in results.items():
            rows[phase].append(round(result.per_second, 1))
            failures += result.failures
    medians = {key: statistics.median(values) for key, values in rows.items()}
    return {
        "images": len(instances),
        "concurrency": concurrency,
        "per_second": rows,
        "median_per_second": medians,
        "uncached_ratio": round(medians["gallery_uncached"] / medians["orthanc_direct"], 2),
        "cached_ratio": round(medians["gallery_cached"] / medians["orthanc_direct"], 2),
        "cpu_ms_per_image": cpu.per_image_ms(),
        "failures": failures,
        **cache_memory,
    }
