"""HTTP timing for the benchmarks: time to first byte, total time, Orthanc calls, throughput.

Uses http.client on keep-alive connections: far less client overhead than
`requests`, and the same client measures the gallery and Orthanc alike.
"""

from __future__ import annotations

import http.client
import re
import statistics
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SERVER_TIMING = re.compile(r'orthanc;dur=([0-9.]+);desc="(\d+) calls"')


@dataclass(frozen=True)
class Sample:
    status: int
    ttfb: float  # seconds until the status line and headers arrived
    total: float  # seconds until the last byte of the body
    calls: int  # Orthanc requests the gallery made for this answer (Server-Timing)
    orthanc: float  # seconds the gallery spent waiting for them
    size: int
    content_type: str


class Connection:
    """One keep-alive HTTP connection to `base_url`, reopened when the server closes it."""

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Sample:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                started = time.perf_counter()
                self.conn.request("GET", self.prefix + path, headers={**self.headers, **(headers or {})})
                response = self.conn.getresponse()
                first_byte = time.perf_counter()
                body = response.read()
                done = time.perf_counter()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.close()  # the server closed an idle keep-alive connection: open a new one
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            match = SERVER_TIMING.search(response.getheader("Server-Timing") or "")
            return Sample(
                status=response.status,
                ttfb=first_byte - started,
                total=done - started,
                calls=int(match.group(2)) if match else 0,
                orthanc=float(match.group(1)) / 1000 if match else 0.0,
                size=len(body),
                content_type=response.getheader("Content-Type", ""),
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarise(samples: list[Sample]) -> dict[str, float | int | list[int]]:
    """Median and p95 in milliseconds, and the Orthanc call counts seen."""
    return {
        "n": len(samples),
        "ttfb_median_ms": round(statistics.median(s.ttfb for s in samples) * 1000, 2),
        "total_median_ms": round(statistics.median(s.total for s in samples) * 1000, 2),
        "total_p95_ms": round(percentile((s.total for s in samples), 0.95) * 1000, 2),
        "orthanc_median_ms": round(statistics.median(s.orthanc for s in samples) * 1000, 2),
        "calls": sorted({s.calls for s in samples}),
        "statuses": sorted({s.status for s in samples}),
    }


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def throughput(
    base_url: str,
    paths: list[str],
    concurrency: int,
    headers: Mapping[str, str] | None = None,
    expect_type: str = "image/",
) -> Throughput:
    """GET every path once with `concurrency` threads on keep-alive connections; count what was not a 200 image."""
    queue = iter(paths)
    lock = threading.Lock()
    failures = [0]

    def work() -> None:
        connection = Connection(base_url, headers)
        try:
            while True:
                with lock:
                    path = next(queue, None)
                if path is None:
                    return
                try:
                    sample = connection.get(path)
                    failed = sample.status != 200 or not sample.content_type.startswith(expect_type)
                except (OSError, http.client.HTTPException):
                    failed = True
                if failed:
                    with lock:
                        failures[0] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Throughput(len(paths), time.perf_counter() - started, failures[0])
