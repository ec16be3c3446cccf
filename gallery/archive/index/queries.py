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


def _term_keys(kind: str, pattern: str) -> Select:
    """(id, sort_key) of the rows with a term of `kind` matching the pattern: one covering index range."""
    t = tables.terms.c
    return select(t.ref.label("id"), t.sort_key).where(_term_matches(kind, pattern)).distinct()


def matching_keys(table, level: str, query: str) -> Select | None:
    """(id, sort_key) of the rows of `table` ("patients" or "studies") that match `query`; None: no query.

    Term searches (wildcards, 1–2 characters) read index_search_terms alone, which carries the
    rows' sort keys; contains-searches read the trigram index and the matching rows.
    """
    folded = fold(query.strip())
    if not folded:
        return None
    if "\x00" in folded:  # no stored text holds NUL (PostgreSQL cannot), and neither FTS5 nor psycopg take it
        return select(table.c.id, table.c.sort_key).where(false())
    lines, words = tables.TERM_KINDS[(level, "line")], tables.TERM_KINDS[(level, "word")]
    if not _WILDCARDS.search(folded):
        if len(folded) >= TRIGRAM:
            return select(table.c.id, table.c.sort_key).where(_contains(table, folded))
        return _term_keys(words, folded + "*")
    if folded[0] not in "*?":  # a literal prefix: a range of the terms' index
        return _term_keys(lines, folded)
    longest = max(_WILDCARDS.split(folded), key=len)
    if len(longest) >= TRIGRAM and "\n" not in longest:
        line_matches = exists().where(tables.terms.c.ref == table.c.id, _term_matches(lines, folded))
        return select(table.c.id, table.c.sort_key).where(_contains(table, longest), line_matches)
    return _term_keys(lines, folded)  # reads every line


# -- paging --------------------------------------------------------------------------------
#
# A page is read in two steps: the page's IDs from a narrow source in sort order (the sort index,
# the modality table, the terms: index-only, so skipping 150,000 entries to a middle page never
# reads a row), then those 50 rows (a "deferred join"). Unfiltered and modality/date lists count
# from index_counts or an index range first, which decides the reading direction (the last pages
# are read backwards). A search or an album is counted in the same statement as its page (its
# matches, which the page has to sort anyway, are read once into a MATERIALIZED CTE): one pass, not two.


def _keyed_rows(keys: Select, table, descending: bool, limit: int, offset: int, total: bool = False) -> list[Any]:
    """Rows `offset`..`offset+limit` of `keys` (id, sort_key) sorted by (sort_key, id), joined to `table`.

    With `total`, the keys are materialised once, then counted and sorted: left to itself, PostgreSQL
    walked the whole sort index testing each row for a contains-search (1.2 s at 300,000 patients)
    instead of reading the trigram index's 10,000 matches.
    """
    if total:
        k = keys.cte("k").prefix_with("MATERIALIZED")
        columns = [k.c.id, k.c.sort_key, select(func.count()).select_from(k).scalar_subquery().label("matches")]
    else:
        k = keys.subquery("k")
        columns = [k.c.id, k.c.sort_key]
    key_order = [k.c.sort_key, k.c.id]
    page = (
        select(*columns)
        .order_by(*(c.desc() if descending else c.asc() for c in key_order))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    extra = [page.c.matches] if total else []
    page_order = [page.c.sort_key, page.c.id]
    statement = (
        select(*_COLUMNS[table.name], *extra)
        .join_from(page, table, table.c.id == page.c.id)
        .order_by(*(c.desc() if descending else c.asc() for c in page_order))
    )
    return list(db.session.execute(statement))


def _read_page(keys: Select, table, descending: bool, total: int, number: int, size: int) -> list[Any]:
    """Page `number` of `keys`, whose `total` is known; past the middle, read it from the end, backwards."""
    pages = max(1, -(-total // size))
    if number > pages:
        raise PageOutOfRange(number, pages)
    offset = (number - 1) * size
    if offset <= total // 2:
        return _keyed_rows(keys, table, descending, size, offset)
    limit = min(size, total - offset)
    return list(reversed(_keyed_rows(keys, table, not descending, limit, total - offset - limit)))


def _read_counted(keys: Select, table, descending: bool, number: int, size: int) -> tuple[list[Any], int]:
    """Page `number` of a search or album with its total, counted by the same statement."""
    rows = _keyed_rows(keys, table, descending, size, (number - 1) * size, total=True)
    total = rows[0].matches if rows else (_count(keys) if number > 1 else 0)
    pages = max(1, -(-total // size))
    if number > pages:
        raise PageOutOfRange(number, pages)
    return rows, total


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
_COLUMNS = {tables.patients.name: _PATIENT_COLUMNS, tables.studies.name: _STUDY_COLUMNS}


# -- what pages read -----------------------------------------------------------------------


def _iso_dates_only() -> bool:
    """True when every study's date is ISO-shaped or empty, so a sort_key range is exactly a date range.

    sort_key is "1" + date + "|" + time: for dates of 10 characters (and undated studies) a range of
    it selects exactly the dates in the range, so date filters need no look at the rows. A stored
    date of another length ("2024", "2024130": DICOM values that are not dates) can sort into a range
    it is not in; the partial index ix_index_studies_odd_date holds just those, so this is one probe.
    """
    s = tables.studies.c  # ordered by date: else PostgreSQL, which cannot estimate the predicate, scans the table
    odd = select(s.date).where(tables.ODD_DATE).order_by(s.date).limit(1)
    return db.session.execute(odd).first() is None


def patient_page(query: str, number: int, size: int) -> Page[PatientRow]:
    """Patients A–Z by name (then patient ID), optionally those matching `query`."""
    p = tables.patients
    keys = matching_keys(p, "patients", query)
    if keys is None:
        total = _rows(p.name)[0]
        rows = _read_page(select(p.c.id, p.c.sort_key), p, False, total, number, size)
    else:
        rows, total = _read_counted(keys, p, False, number, size)
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
        keys = select(study_id.label("id"), sort_key).where(m.c.modality == modality)
    else:
        sort_key, study_id = s.c.sort_key, s.c.id
        keys = select(study_id, sort_key)
    conditions: list[ColumnElement[bool]] = []
    if date_from:
        conditions.append(sort_key >= f"1{date_from}")
    if date_to:
        conditions += [sort_key >= "1", sort_key < f"1{date_to}}}"]
    if (date_from or date_to) and not _iso_dates_only():
        # dates not of the ISO form ("2024", "20241301") may sort into a range they are not in
        if modality:
            keys = keys.join_from(m, s, s.c.id == m.c.study)
        conditions += [s.c.date >= date_from] if date_from else []
        conditions += [s.c.date <= date_to] if date_to else []
    matches = matching_keys(s, "studies", query)
    if matches is not None:
        conditions.append(study_id.in_(select(matches.subquery().c.id)))
    if album is not None:
        a = AlbumStudy.__table__.c
        conditions.append(study_id.in_(select(a.study_id).where(a.album_id == album)))
    if matches is not None and not (modality or date_from or date_to or album is not None):
        keys = matches  # a search alone: its own keys (terms or trigram matches), not a semi-join
    elif conditions:
        keys = keys.where(*conditions)
    if matches is not None or album is not None:
        rows, total = _read_counted(keys, s, True, number, size)
    else:
        total = _count(keys) if modality or conditions else _rows(s.name)[0]
        rows = _read_page(keys, s, True, total, number, size)
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
