"""Writing the index: upsert studies and series, recompute what lists show, delete what Orthanc lost.

Every write is set-based over one batch (a page of the initial sync, a batch of changes, an upload),
so the cost per study stays flat at any archive size. The caller owns the transaction: pass a
Connection inside `engine.begin()` (the syncer) or use `db.session.connection()` and commit.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ...dicom.values import PersonName, fold
from ..search import name_variants
from . import tables
from .records import SeriesRecord, StudyRecord, aggregates, display_name

BATCH = 500  # rows per IN (...) list: well under SQLite's 32,766 bound parameters


def _chunks(items: Sequence[str], size: int = BATCH) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(connection: Connection, table, rows: list[dict], keys: tuple[str, ...] = ("id",)) -> None:
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    columns = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=columns), rows)


def study_sort_key(date: str, time_of_day: str) -> str:
    """Sorted DESCENDING: dated studies newest first, then undated ones."""
    return f"1{date}|{time_of_day}" if date else "0"


def _search_text(*parts: str) -> str:
    return fold("\n".join(p for p in parts if p))


WORD_BREAK = re.compile(r"[\W_]+")
TERM_LENGTH = 200  # tables.terms.c.term; longer lines are cut (a wildcard beyond that cannot match them)


def search_terms(search_text: str) -> tuple[set[str], set[str]]:
    """The lines of a search text (wildcards match a whole line) and their words (short queries match starts)."""
    lines = {line[:TERM_LENGTH] for line in search_text.split("\n") if line}
    words = {w[:TERM_LENGTH] for line in lines for w in WORD_BREAK.split(line) if w}
    return lines, words


def _write_terms(connection: Connection, level: str, texts: dict[str, tuple[str, str]]) -> None:
    """Replace the search terms of these rows (id → (search_text, sort_key)); an id mapped to ("", "")
    only loses its terms. Every write of a row's search text or sort key comes through here, so the
    terms' copy of the sort key never differs from the row's."""
    line_kind, word_kind = tables.TERM_KINDS[(level, "line")], tables.TERM_KINDS[(level, "word")]
    t = tables.terms.c
    for chunk in _chunks(sorted(texts)):
        connection.execute(delete(tables.terms).where(t.ref.in_(chunk), t.kind.in_((line_kind, word_kind))))
        rows = []
        for ref in chunk:
            text, sort_key = texts[ref]
            lines, words = search_terms(text)
            rows += [{"kind": line_kind, "term": term, "ref": ref, "sort_key": sort_key} for term in lines]
            rows += [{"kind": word_kind, "term": term, "ref": ref, "sort_key": sort_key} for term in words]
        if rows:
            connection.execute(tables.terms.insert(), rows)


def upsert(connection: Connection, studies: Iterable[StudyRecord], series: Iterable[SeriesRecord]) -> None:
    """Insert or replace these rows, then recompute the touched studies' aggregates and patients."""
    now = time.time()
    series_rows = [
        {
            "id": s.id,
            "study": s.study,
            "modality": s.modality,
            "instance_count": s.instance_count,
            "middle_instance": s.middle_instance,
            "viewable": s.viewable,
        }
        for s in series
    ]
    _upsert(connection, tables.series, series_rows)
    study_rows = []
    for s in studies:
        name = display_name(s)
        study_rows.append(
            {
                "id": s.id,
                "patient": s.patient,
                "patient_name": name,
                "patient_name_dicom": s.patient_name,
                "patient_id": s.patient_id,
                "patient_birth_date": s.patient_birth_date,
                "patient_sex": s.patient_sex,
                "date": s.date,
                "time": s.time,
                "sort_key": study_sort_key(s.date, s.time),
                "description": s.description,
                "accession": s.accession,
                "series_count": s.series_count,
                "search_text": _search_text(
                    s.description, s.accession, *name_variants(PersonName(name, s.patient_name)), s.patient_id
                ),
                "indexed_at": now,
            }
        )
    _upsert(connection, tables.studies, study_rows)
    _write_terms(connection, "studies", {row["id"]: (row["search_text"], row["sort_key"]) for row in study_rows})
    touched = sorted({row["id"] for row in study_rows} | {row["study"] for row in series_rows})
    patients = refresh_studies(connection, touched)
    refresh_patients(connection, patients)


def refresh_studies(connection: Connection, study_ids: Sequence[str]) -> set[str]:
    """Recompute modalities, counts and thumbnails of these studies from their series rows.

    Returns the patients of the studies that exist (their rows need recomputing too).
    """
    patients: set[str] = set()
    for chunk in _chunks(list(study_ids)):
        known = {
            row.id: row
            for row in connection.execute(
                select(tables.studies.c.id, tables.studies.c.patient, tables.studies.c.sort_key).where(
                    tables.studies.c.id.in_(chunk)
                )
            )
        }
        members: dict[str, list] = defaultdict(list)
        for row in connection.execute(select(tables.series).where(tables.series.c.study.in_(list(known)))):
            members[row.study].append(row)
        connection.execute(delete(tables.study_modalities).where(tables.study_modalities.c.study.in_(list(known))))
        links, counted, uncounted = [], [], []
        for study_id, study in known.items():
            rows = members.get(study_id, [])
            modalities, instance_count, thumbnail = aggregates(rows)
            values = {"_id": study_id, "modalities": "\\".join(modalities), "instances": instance_count}
            values["thumb"] = thumbnail
            if rows:  # else keep the count from the study's JSON: its series may arrive in a later page
                counted.append({**values, "series": len(rows)})
            else:
                uncounted.append(values)
            links += [{"modality": m, "sort_key": study.sort_key, "study": study_id} for m in modalities]
            patients.add(study.patient)
        # one executemany per kind, not one statement per study: a third of an initial sync's time went there
        for batch, extra in ((counted, {"series_count": bindparam("series")}), (uncounted, {})):
            if batch:
                connection.execute(_AGGREGATES_UPDATE.values(**extra), batch)
        if links:
            connection.execute(tables.study_modalities.insert(), links)
    return patients


_AGGREGATES_UPDATE = (
    update(tables.studies)
    .where(tables.studies.c.id == bindparam("_id"))
    .values(modalities=bindparam("modalities"), instance_count=bindparam("instances"), thumbnail=bindparam("thumb"))
)


def refresh_patients(connection: Connection, patient_ids: Iterable[str]) -> None:
    """Recompute each patient's row from its studies (the newest names it); drop patients left without any."""
    ids = sorted(set(patient_ids))
    s = tables.studies.c
    for chunk in _chunks(ids):
        by_patient: dict[str, list] = defaultdict(list)
        rows = connection.execute(
            select(tables.studies).where(s.patient.in_(chunk)).order_by(s.patient, s.sort_key.desc(), s.id.desc())
        )
        for row in rows:
            by_patient[row.patient].append(row)
        gone = [p for p in chunk if p not in by_patient]
        if gone:
            connection.execute(delete(tables.patients).where(tables.patients.c.id.in_(gone)))
            _write_terms(connection, "patients", dict.fromkeys(gone, ("", "")))
        patient_rows = []
        for patient_id, studies in by_patient.items():
            newest = studies[0]
            name = PersonName(newest.patient_name, newest.patient_name_dicom)
            patient_rows.append(
                {
                    "id": patient_id,
                    "name": str(name),
                    "name_dicom": newest.patient_name_dicom,
                    "patient_id": newest.patient_id,
                    "birth_date": newest.patient_birth_date,
                    "sex": newest.patient_sex,
                    "sort_key": f"{fold(name)}\x1f{newest.patient_id}"[: tables.patients.c.sort_key.type.length],
                    "study_count": len(studies),
                    "latest_study_date": newest.date,
                    "thumbnail": next((st.thumbnail for st in studies if st.thumbnail), None),
                    "search_text": _search_text(*name_variants(name), newest.patient_id),
                }
            )
        _upsert(connection, tables.patients, patient_rows)
        _write_terms(connection, "patients", {row["id"]: (row["search_text"], row["sort_key"]) for row in patient_rows})


def delete_studies(connection: Connection, study_ids: Iterable[str]) -> None:
    """Forget studies (deleted in Orthanc) with their series; their patients are recomputed."""
    ids = sorted(set(study_ids))
    patients: set[str] = set()
    for chunk in _chunks(ids):
        patients |= set(connection.scalars(select(tables.studies.c.patient).where(tables.studies.c.id.in_(chunk))))
        connection.execute(delete(tables.series).where(tables.series.c.study.in_(chunk)))
        connection.execute(delete(tables.study_modalities).where(tables.study_modalities.c.study.in_(chunk)))
        connection.execute(delete(tables.studies).where(tables.studies.c.id.in_(chunk)))
    _write_terms(connection, "studies", dict.fromkeys(ids, ("", "")))
    refresh_patients(connection, patients)


def delete_series(connection: Connection, series_ids: Iterable[str]) -> None:
    """Forget series (deleted in Orthanc); their studies' aggregates and patients are recomputed.

    A study left without series stays until Orthanc's own answer says it is gone (Orthanc
    removes empty parents, and the changes or the sweep then remove the study here).
    """
    ids = sorted(set(series_ids))
    studies: set[str] = set()
    for chunk in _chunks(ids):
        studies |= set(connection.scalars(select(tables.series.c.study).where(tables.series.c.id.in_(chunk))))
        connection.execute(delete(tables.series).where(tables.series.c.id.in_(chunk)))
    refresh_patients(connection, refresh_studies(connection, sorted(studies)))
