"""What list pages read: one page of patients or studies with its total, from the index alone.

No function here calls Orthanc, and none loads more than a page of rows, so a page costs the same
at any archive size. The last pages are read backwards (reversed order, offset from the end), so
page 6,000 of 6,000 is as cheap as page 1.

Search (the same rules as the in-memory index had, served by indexes instead of a scan):
- 3+ characters without wildcards: contained anywhere in a name variant, patient ID, description or
  accession — trigram indexes (SQLite FTS5 `tokenize='trigram'`, PostgreSQL pg_trgm);
- 1–2 characters: the start of a word ("홍", "ki" for "Kim, Minjun") — index_search_terms words;
- `*`/`?` wildcards: one whole line must match ("smi*" starts with smi) — index_search_terms lines,
  found by the literal prefix; a pattern starting with a wildcard narrows by its longest literal run.
Everything is compared folded (`dicom.values.fold`): case- and accent-insensitive, Korean and Latin alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from ...dicom.values import PersonName, fold
from ...extensions import db
from ...store.models import AlbumStudy
from ..models import PatientRow, Statistics, StudyRow
from ..paging import Page, PageOutOfRange
from . import tables

TRIGRAM = 3  # the shortest text trigram indexes find
_WILDCARDS = re.compile(r"[*?]")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# -- search --------------------------------------------------------------------------------


def _glob(folded: str) -> str:
    """A DICOM pattern as SQLite GLOB: `*` and `?` keep their meaning, `[` is made literal."""
    return folded.replace("[", "[[]")


def _like(folded: str) -> str:
    """A DICOM pattern as SQL LIKE (escape character `\\`)."""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _term_matches(kind: str, pattern: str) -> ColumnElement[bool]:
    """index_search_terms rows of `kind` whose term matches the DICOM pattern (index range on its prefix)."""
    t = tables.terms.c
    if _dialect() == "sqlite":  # GLOB is case-sensitive, so SQLite serves its prefix from the B-tree
        return and_(t.kind == kind, t.term.op("GLOB")(_glob(pattern)))
    return and_(t.kind == kind, t.term.like(_like(pattern), escape="\\"))


def _contains(table, needle: str) -> ColumnElement[bool]:
    """Rows whose search_text contains `needle` (3+ characters), found through the trigram index."""
    if _dialect() == "sqlite":
        fts = f"{table.name}_fts"
        phrase = '"' + needle.replace('"', '""') + '"'
        return text(f"{table.name}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :phrase)").bindparams(
            phrase=phrase
        )
    return table.c.search_text.like("%" + _like(needle.replace("*", "").replace("?", "")) + "%", escape="\\")


def search_clause(table, level: str, query: str) -> ColumnElement[bool] | None:
    """The WHERE clause selecting the rows of `table` ("patients" or "studies") that match `query`."""
    folded = fold(query.strip())
    if not folded:
        return None
    if "\x00" in folded:  # no stored text holds NUL (PostgreSQL cannot), and neither FTS5 nor psycopg take it
        return false()
    ids = table.c.id
    lines, words = tables.TERM_KINDS[(level, "line")], tables.TERM_KINDS[(level, "word")]
    if not _WILDCARDS.search(folded):
        if len(folded) >= TRIGRAM:
            return _contains(table, folded)
        return ids.in_(select(tables.terms.c.ref).where(_term_matches(words, folded + "*")))
    if folded[0] not in "*?":  # a literal prefix: a range of the terms' index
        return ids.in_(select(tables.terms.c.ref).where(_term_matches(lines, folded)))
    longest = max(_WILDCARDS.split(folded), key=len)
    if len(longest) >= TRIGRAM and "\n" not in longest:
        line_matches = exists().where(tables.terms.c.ref == ids, _term_matches(lines, folded))
        return and_(_contains(table, longest), line_matches)
    return ids.in_(select(tables.terms.c.ref).where(_term_matches(lines, folded)))  # reads every line


# -- paging --------------------------------------------------------------------------------


def _read_page(
    statement: Select, order: Sequence[ColumnElement], descending: bool, total: int, number: int, size: int
) -> list[Any]:
    """Page `number` of `statement` sorted by `order`; past the middle, read it from the end, backwards."""
    pages = max(1, -(-total // size))
    if number > pages:
        raise PageOutOfRange(number, pages)
    offset = (number - 1) * size

    def ordered(reverse: bool) -> Select:
        down = descending != reverse
        return statement.order_by(*(column.desc() if down else column.asc() for column in order))

    if offset <= total // 2:
        return list(db.session.execute(ordered(False).limit(size).offset(offset)))
    limit = min(size, total - offset)
    return list(reversed(db.session.execute(ordered(True).limit(limit).offset(total - offset - limit)).all()))


def _count(statement: Select) -> int:
    return db.session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


def _rows(*names: str) -> list[int]:
    """Row counts of whole tables from index_counts (kept by triggers): count(*) reads every row."""
    c = tables.counts.c
    found = dict(db.session.execute(select(c.name, c.rows).where(c.name.in_(names))).all())
    return [int(found[name]) for name in names]


# -- rows ------------------------------------------------------------------------------------


def _patient_row(row: Any) -> PatientRow:
    return PatientRow(
        id=row.id,
        name=PersonName(row.name, row.name_dicom),
        patient_id=row.patient_id,
        birth_date=row.birth_date,
        sex=row.sex,
        study_count=row.study_count,
        latest_study_date=row.latest_study_date,
        thumbnail=row.thumbnail,
    )


def _study_row(row: Any) -> StudyRow:
    return StudyRow(
        id=row.id,
        patient=row.patient,
        patient_name=PersonName(row.patient_name, row.patient_name_dicom),
        patient_id=row.patient_id,
        patient_birth_date=row.patient_birth_date,
        patient_sex=row.patient_sex,
        date=row.date,
        time=row.time,
        description=row.description,
        accession=row.accession,
        modalities=tuple(row.modalities.split("\\")) if row.modalities else (),
        series_count=row.series_count,
        instance_count=row.instance_count,
        thumbnail=row.thumbnail,
    )


_PATIENT_COLUMNS = [c for c in tables.patients.c if c.name not in ("search_text", "sort_key")]
_STUDY_COLUMNS = [c for c in tables.studies.c if c.name not in ("search_text", "sweep", "indexed_at")]


# -- what pages read -----------------------------------------------------------------------


def patient_page(query: str, number: int, size: int) -> Page[PatientRow]:
    """Patients A–Z by name (then patient ID), optionally those matching `query`."""
    p = tables.patients
    statement = select(*_PATIENT_COLUMNS)
    match = search_clause(p, "patients", query)
    if match is not None:
        statement = statement.where(match)
    total = _count(select(p.c.id).where(match)) if match is not None else _rows(p.name)[0]
    rows = _read_page(statement, (p.c.sort_key, p.c.id), False, total, number, size)
    return Page(items=[_patient_row(r) for r in rows], number=number, size=size, total=total)


def study_page(
    query: str = "",
    modality: str = "",
    date_from: str = "",
    date_to: str = "",
    number: int = 1,
    size: int = 50,
    album: int | None = None,
) -> Page[StudyRow]:
    """Studies newest first (undated last), filtered by text, one modality, an ISO date range and an album.

    A modality filter reads index_study_modalities (modality, sort_key, study) in order; a date range
    is a range of sort_key ("1YYYY-MM-DD|HH:MM"), so neither looks at rows outside the page's filter.
    An album keeps the studies it names that the index holds (an inner join: a study Orthanc
    deleted has no row, so it never shows as a broken card).
    """
    s = tables.studies
    if modality:
        m = tables.study_modalities
        sort_key, study_id = m.c.sort_key, m.c.study
        statement = select(*_STUDY_COLUMNS).join_from(m, s, s.c.id == m.c.study).where(m.c.modality == modality)
        counted = select(m.c.study).join_from(m, s, s.c.id == m.c.study).where(m.c.modality == modality)
    else:
        sort_key, study_id = s.c.sort_key, s.c.id
        statement = select(*_STUDY_COLUMNS)
        counted = select(s.c.id)
    conditions: list[ColumnElement[bool]] = []
    if date_from:
        conditions += [sort_key >= f"1{date_from}", s.c.date >= date_from]
    if date_to:
        conditions += [sort_key >= "1", sort_key < f"1{date_to}}}", s.c.date <= date_to]
    match = search_clause(s, "studies", query)
    if match is not None:
        conditions.append(match)
    if album is not None:
        a = AlbumStudy.__table__.c
        conditions.append(s.c.id.in_(select(a.study_id).where(a.album_id == album)))
    if conditions:
        statement, counted = statement.where(*conditions), counted.where(*conditions)
    total = _count(counted) if modality or conditions else _rows(s.name)[0]
    rows = _read_page(statement, (sort_key, study_id), True, total, number, size)
    return Page(items=[_study_row(r) for r in rows], number=number, size=size, total=total)


def recent_studies(count: int) -> list[StudyRow]:
    """The newest studies (the home page)."""
    s = tables.studies
    statement = select(*_STUDY_COLUMNS).order_by(s.c.sort_key.desc(), s.c.id.desc()).limit(count)
    return [_study_row(r) for r in db.session.execute(statement)]


def study_row(study_id: str) -> StudyRow | None:
    """One study's row, if the index holds it (the upload report's study cards)."""
    row = db.session.execute(select(*_STUDY_COLUMNS).where(tables.studies.c.id == study_id)).first()
    return _study_row(row) if row is not None else None


def modalities() -> list[str]:
    """The modalities of indexed studies, A–Z: one index probe per modality (a loose index scan).

    A recursive query hops from one modality to the next in the (modality, sort_key, study)
    primary key instead of reading its millions of entries, on SQLite and PostgreSQL alike.
    """
    statement = text(
        "WITH RECURSIVE m(modality) AS ("
        " SELECT min(modality) FROM index_study_modalities"
        " UNION ALL"
        " SELECT (SELECT min(modality) FROM index_study_modalities WHERE modality > m.modality)"
        " FROM m WHERE m.modality IS NOT NULL"
        ") SELECT modality FROM m WHERE modality IS NOT NULL"
    )
    return [row.modality for row in db.session.execute(statement)]


def state(key: str) -> Any:
    """A value the syncer keeps in index_state (JSON), or None."""
    value = db.session.execute(select(tables.state.c.value).where(tables.state.c.key == key)).scalar()
    return json.loads(value) if value is not None else None


def statistics() -> Statistics:
    """Counts of what the index holds; instances and disk size as Orthanc last reported them to the syncer.

    Summing instance counts would read every series row, so the syncer's last `/statistics`
    (index_state "orthanc_statistics") gives instances and disk size; before the syncer has
    read it, instances are summed from the index (small archives only: a fresh install).
    """
    count = _rows(tables.patients.name, tables.studies.name, tables.series.name)
    orthanc = state("orthanc_statistics") or {}
    instances = orthanc.get("CountInstances")
    if instances is None:
        instances = db.session.execute(select(func.coalesce(func.sum(tables.series.c.instance_count), 0))).scalar()
    return Statistics(
        patients=count[0],
        studies=count[1],
        series=count[2],
        instances=int(instances),
        disk_size=int(orthanc.get("TotalDiskSize", 0)),
    )
