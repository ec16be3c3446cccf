"""What gunicorn's log says about a stretch of the load test: errors, and server time by kind of URL.

The access log (gunicorn.conf.py) has no query strings, so list pages and searches
count together. Its time is the worker's, from reading the request to the last byte
written: wrk's latency adds the wait for a free thread and the network.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from .measure import percentile

ACCESS = re.compile(r'^\S+ "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms$')
OID = r"[0-9a-f]{8}(?:-[0-9a-f]{8}){4}"
KINDS = {
    "lists and searches": re.compile(r"/(?:patients|studies)?"),
    "patient": re.compile(rf"/patients/{OID}"),
    "study": re.compile(rf"/studies/{OID}"),
    "series": re.compile(rf"/series/{OID}"),
    "instance": re.compile(rf"/instances/{OID}"),
    "thumbnail": re.compile(rf"/instances/{OID}/thumbnail"),
    "series_thumbnail": re.compile(rf"/series/{OID}/thumbnail"),
    "viewer": re.compile(rf"/series/{OID}/view"),
    "viewer_image": re.compile(rf"/series/{OID}/image"),
}
ERROR_MARKERS = ("[ERROR]", "[CRITICAL]", " ERROR ", "WORKER TIMEOUT")
CHAINED = ("The above exception was the direct cause", "During handling of the above exception")


def read_from(log: Path, start: int, end: int | None = None) -> list[str]:
    return log.read_bytes()[start:end].decode("utf-8", "replace").splitlines()


def errors(lines: list[str]) -> list[str]:
    """Requests answered other than 2xx/304, errors logged, and one line per traceback (chained ones count once):
    the log message before it and the first exception in it (the root cause)."""
    found = []
    for number, line in enumerate(lines):
        match = ACCESS.match(line)
        failed = match is not None and not (match["status"].startswith("2") or match["status"] == "304")
        if failed or any(m in line for m in ERROR_MARKERS):
            found.append(line)
        elif line.startswith("Traceback") and not any(c in lines[max(0, number - 2)] for c in CHAINED):
            message = lines[number - 1] if number else ""
            exception = next((x for x in lines[number + 1 :] if x and not x.startswith((" ", "Traceback"))), "")
            found.append(f"{message}: {exception}")
    return found


def kind_of(path: str) -> str:
    return next((kind for kind, pattern in KINDS.items() if pattern.fullmatch(path)), "other")


def server_times(lines: list[str]) -> dict[str, dict[str, float]]:
    """Requests, median, p95 and max server time (ms) by kind of URL."""
    times: dict[str, list[int]] = {}
    for line in lines:
        match = ACCESS.match(line)
        if match:
            times.setdefault(kind_of(match["path"]), []).append(int(match["ms"]))
    return {
        kind: {
            "requests": len(values),
            "p50": statistics.median(values),
            "p95": percentile(values, 0.95),
            "max": max(values),
        }
        for kind, values in sorted(times.items(), key=lambda item: -len(item[1]))
    }
