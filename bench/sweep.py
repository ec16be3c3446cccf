"""The deletion sweep's database side at archive size: `python -m bench.sweep --studies 100000 [--postgresql URL]`.

Fills the index tables directly (N studies, 3N series, N/3 patients), removes 1% of the studies from
the ID lists "Orthanc" answers, and times Syncer.sweep(): marking every listed ID page by page, then
deleting the rows left unmarked. Orthanc's side is replaced by the ID lists in memory (answering
`/studies?limit=P&since=K` with IDs only), so this measures the database work and counts the calls;
add Orthanc's time per IDs-only page (a few ms per 10,000 IDs) for the whole bound.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from gallery import create_app
from gallery.archive.index import tables
from gallery.archive.index.lease import Lease
from gallery.archive.index.sync import Settings, Syncer
from gallery.extensions import db


def orthanc_id(rng: random.Random) -> str:
    return "-".join(f"{rng.getrandbits(32):08x}" for _ in range(5))


class IdLists:
    """Answers the sweep's calls: IDs-only pages of studies and series, and /statistics."""

    def __init__(self, studies: list[str], series: list[str]) -> None:
        self.lists = {"/studies": studies, "/series": series}
        self.calls = 0

    def get_json(self, path: str, params: dict | None = None):
        self.calls += 1
        if path == "/statistics":
            return {"CountStudies": len(self.lists["/studies"]), "CountSeries": len(self.lists["/series"])}
        since, limit = int(params["since"]), int(params["limit"])
        return self.lists[path][since : since + limit]


def fill(n: int, rng: random.Random) -> tuple[list[str], list[tuple[str, str]]]:
    studies = [orthanc_id(rng) for _ in range(n)]
    patients = [orthanc_id(rng) for _ in range(max(1, n // 3))]
    series = [(orthanc_id(rng), study) for study in studies for _ in range(3)]
    with db.engine.begin() as connection:
        for start in range(0, n, 5000):
            connection.execute(
                insert(tables.studies),
                [
                    {"id": s, "patient": patients[i % len(patients)], "sort_key": "1", "indexed_at": 0.0}
                    for i, s in enumerate(studies[start : start + 5000], start)
                ],
            )
        for start in range(0, len(series), 5000):
            connection.execute(insert(tables.series), [{"id": i, "study": s} for i, s in series[start : start + 5000]])
    return studies, series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--postgresql", default="", help="a PostgreSQL URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.postgresql or f"sqlite:///{Path(tempfile.mkdtemp()) / 'sweep.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INDEX_SYNC": "off"})
    rng = random.Random(14)
    with app.app_context():
        started = time.perf_counter()
        studies, series = fill(args.studies, rng)
        print(f"filled {len(studies):,} studies, {len(series):,} series in {time.perf_counter() - started:.1f} s")
        gone = set(rng.sample(studies, len(studies) // 100))
        orthanc = IdLists([s for s in studies if s not in gone], [i for i, s in series if s not in gone])
        lease = Lease(db.engine, "bench")
        assert lease.acquire()
        syncer = Syncer(db.engine, orthanc, lease, Settings())
        before = syncer._read_statistics()
        started = time.perf_counter()
        deleted = syncer.sweep(before)
        seconds = time.perf_counter() - started
        with db.engine.connect() as connection:
            left = connection.scalar(select(func.count()).select_from(tables.studies))
        engine = db.engine.dialect.name
        print(f"{engine}: sweep of {args.studies:,} studies: {seconds:.1f} s, {orthanc.calls} calls, {deleted} deleted")
        assert left == len(studies) - len(gone)


if __name__ == "__main__":
    main()
