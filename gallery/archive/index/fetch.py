"""Reading studies from Orthanc into the index: the change feed's refreshes, and uploads indexed at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection

from ...orthanc.errors import OrthancNotFound, require_id
from . import tables, writer
from .records import SeriesRecord, StudyRecord, series_record, study_record


@dataclass
class Fetched:
    studies: list[StudyRecord] = field(default_factory=list)
    series: list[SeriesRecord] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # studies Orthanc no longer has


#: Studies read from Orthanc at once by the change feed and uploads. One after the other, 1,000 new
#: studies took 14–18 s to list (2 calls of ~7 ms each); 4 at a time, 10.2 s; 8 no faster on 2 cores
#: (docs/benchmarks.md), and fewer leave the process's other Orthanc calls their room.
PARALLEL = 4


def _fetch_one(get: Callable[..., Any], study_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A study's JSON and its series (expanded), or None when Orthanc no longer has it."""
    try:
        return get(f"/studies/{study_id}"), get(f"/studies/{study_id}/series")
    except OrthancNotFound:
        return None


def fetch_studies(get: Callable[..., Any], study_ids: Iterable[str]) -> Fetched:
    """2 calls per study, `PARALLEL` studies at a time; a 404 means it was deleted."""
    ids = sorted(set(study_ids))
    for study_id in ids:
        require_id(study_id)
    if len(ids) > 1:
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="index-fetch") as pool:
            answers = list(pool.map(lambda study_id: _fetch_one(get, study_id), ids))
    else:
        answers = [_fetch_one(get, study_id) for study_id in ids]
    fetched = Fetched()
    for study_id, answer in zip(ids, answers, strict=True):
        if answer is None:
            fetched.gone.append(study_id)
            continue
        data, members = answer
        fetched.studies.append(study_record(data))
        fetched.series += [series_record(s) for s in members]
    return fetched


def write_fetched(connection: Connection, fetched: Fetched) -> None:
    """Replace the fetched studies' rows (series Orthanc dropped go too) and delete the gone ones."""
    if fetched.gone:
        writer.delete_studies(connection, fetched.gone)
    by_study: dict[str, list[str]] = {s.id: [] for s in fetched.studies}
    for s in fetched.series:
        by_study.setdefault(s.study, []).append(s.id)
    for study_id, keep in by_study.items():
        connection.execute(
            delete(tables.series).where(tables.series.c.study == study_id, tables.series.c.id.not_in(keep))
        )
    writer.upsert(connection, fetched.studies, fetched.series)


def index_studies_now(study_ids: Iterable[str]) -> None:
    """Index these studies at once (uploads, inside the request): 2 Orthanc calls per study.

    Needs an app context. No lease: upserts are idempotent, and the syncer refreshes the same
    studies again when their changes reach it.
    """
    from ...extensions import db, orthanc

    fetched = fetch_studies(orthanc().get_json, study_ids)
    with db.engine.begin() as connection:
        write_fetched(connection, fetched)
