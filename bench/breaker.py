"""What the circuit breaker and the bulkhead cost on the hot path: `python -m bench.breaker`.

1. In isolation: allow() + success() on a closed breaker, enter() + leave() on the bulkhead.
2. On real calls: thumbnails rendered by a real Orthanc through OrthancClient, with the
   breaker and bulkhead as configured, and with both replaced by no-ops (A/B, interleaved).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import timeit

from gallery.orthanc.breaker import Bulkhead, CircuitBreaker
from gallery.orthanc.client import OrthancClient
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, small_study


class NoBreaker:
    def allow(self, wait: float = 0.0) -> bool:
        return True

    def success(self) -> None:
        pass

    def failure(self) -> None:
        pass

    def retry_in(self) -> float:
        return 0.0


def per_call_ns(statement: str, namespace: dict, number: int = 1_000_000) -> float:
    return min(timeit.repeat(statement, globals=namespace, number=number, repeat=5)) / number * 1e9


def isolated() -> dict[str, float]:
    breaker, bulkhead = CircuitBreaker(), Bulkhead(12, 0.5)
    namespace = {"breaker": breaker, "bulkhead": bulkhead}
    return {
        "breaker allow()+success() ns": round(per_call_ns("breaker.allow(0.5); breaker.success()", namespace), 1),
        "bulkhead enter()+leave() ns": round(per_call_ns("bulkhead.enter(0.5); bulkhead.leave()", namespace), 1),
    }


def thumbnails(rounds: int = 10, per_round: int = 200) -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="bench-breaker-")
    orthanc = start_orthanc(folder)
    try:
        guarded = OrthancClient(orthanc.url, orthanc.user, orthanc.password, max_concurrent=12)
        bare = OrthancClient(orthanc.url, orthanc.user, orthanc.password)
        bare.breakers, bare.bulkhead = [NoBreaker()], Bulkhead(0, 0)
        study = StudyInfo(PatientInfo("Bench^Breaker", "BENCH-BRK"), "brk", "20260101", "101010", "breaker")
        instance = [guarded.store_instance(data) for data in small_study(study, size=256)][0]["ID"]
        path = f"/instances/{instance}/frames/0/rendered"

        def mean_ms(client: OrthancClient) -> float:
            started = time.perf_counter()
            for _ in range(per_round):
                client.get_binary(path, {"width": 128}, accept="image/jpeg")
            return (time.perf_counter() - started) / per_round * 1000

        mean_ms(guarded), mean_ms(bare)  # warm the connection pools
        samples: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(rounds):
            samples["with"].append(mean_ms(guarded))
            samples["without"].append(mean_ms(bare))
        return {
            "thumbnail ms, breaker+bulkhead (median of rounds)": round(statistics.median(samples["with"]), 3),
            "thumbnail ms, no-op stand-ins (median of rounds)": round(statistics.median(samples["without"]), 3),
        }
    finally:
        orthanc.stop(fast=True)
        remove_storage(orthanc)


def main() -> None:
    for name, value in {**isolated(), **thumbnails()}.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
