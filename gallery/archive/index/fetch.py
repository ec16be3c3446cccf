"""Reading studies from Orthanc into the index: the change feed's refreshes, and uploads indexed at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def fetch_studies(get: Callable[..., Any], study_ids: Iterable[str]) -> Fetched:
    """2 calls per study: its JSON and its series (expanded); a 404 means it was deleted."""
    fetched = Fetched()
    for study_id in sorted(set(study_ids)):
        require_id(study_id)
        try:
            data = get(f"/studies/{study_id}")
            members = get(f"/studies/{study_id}/series")
        except OrthancNotFound:
            fetched.gone.append(study_id)
            continue
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
