"""Run wrk (Debian package `wrk`) with bench/load.lua and read what its done() prints."""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "load.lua"
WRK_ERRORS = ("connect", "read", "write", "timeout")


@dataclass
class WrkResult:
    raw: dict
    cpu_s: float  # CPU time wrk itself used

    @property
    def seconds(self) -> float:
        """From the first request to the last response (wrk's own duration ignores an early stop)."""
        return self.raw["span_us"] / 1e6

    @property
    def errors(self) -> dict[str, int]:
        """Socket errors and timeouts as wrk counts them, and every status other than 2xx/304 (load.lua counts)."""
        errors = {name: int(self.raw["errors"].get(name, 0)) for name in WRK_ERRORS}
        errors["status"] = int(self.raw["bad_status"])
        errors["total"] = sum(errors.values())
        return errors

    def latency_ms(self) -> dict[str, float]:
        return {name: round(value / 1000, 1) for name, value in self.raw["latency_us"].items()}

    def as_dict(self) -> dict:
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.raw["requests"],
            "requests_per_second": round(self.raw["requests"] / self.seconds, 1),
            "stopped_by_request_bound": self.raw["stopped_by_request_bound"],
            "megabytes": round(self.raw["bytes"] / 1e6, 1),
            "latency_ms": self.latency_ms(),
            "errors": self.errors,
            "statuses": self.raw["statuses"],
            "sent_by_kind": self.raw["sent"],
            "wrk_cpu_s": round(self.cpu_s, 2),
        }

    def summary(self) -> str:
        d = self.as_dict()
        lat = d["latency_ms"]
        return (
            f"  {d['requests']} requests in {d['seconds']} s ({d['requests_per_second']}/s); "
            f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
            f"errors {d['errors']['total']}; statuses {d['statuses']}"
        )


def run_wrk(
    url: str,
    plan: Path,
    args: argparse.Namespace,
    duration: int,
    max_requests: int,
    kinds: tuple[str, ...] = (),
) -> WrkResult:
    """wrk with `args.threads` threads and `args.connections` connections for `duration` s or `max_requests`."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: run `scripts/setup.sh bench` (Debian package wrk)")
    per_thread = -(-max_requests // args.threads)
    command = [
        wrk,
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={duration}s",
        f"--timeout={args.timeout}s",
        f"--script={SCRIPT}",
        url,
        "--",
        str(plan),
        str(per_thread),
        ",".join(kinds),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("LOAD-RESULT ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(json.loads(line.removeprefix("LOAD-RESULT ")), cpu)
