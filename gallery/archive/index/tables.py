"""The archive index's tables: one row per patient, study and series, shared by every gallery process.

Built once by the one syncer (sync.py) from Orthanc and read by every list page, so no page waits
on Orthanc and no process holds the archive in memory. Columns hold what lists, filters, search,
counts and card thumbnails need, in the form they are shown (`format_name`, ISO dates).
Schema changes go through the Alembic migrations (gallery/store/migrations/).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text, text

from ...extensions import db

ID = 44  # Orthanc IDs: 5 groups of 8 hex digits
ODD_DATE = text("length(date) NOT IN (0, 10)")
metadata = db.metadata

patients = Table(
    "index_patients",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(400), nullable=False, default=""),  # shown form ("Smith, John")
    Column("name_dicom", String(400), nullable=False, default=""),  # the PN as stored (name groups)
    Column("patient_id", String(64), nullable=False, default=""),
    Column("birth_date", String(10), nullable=False, default=""),
    Column("sex", String(16), nullable=False, default=""),
    Column("sort_key", String(480), nullable=False, default=""),  # folded name \x1f patient ID: A–Z
    Column("study_count", Integer, nullable=False, default=0),
    Column("latest_study_date", String(10), nullable=False, default=""),
    Column("thumbnail", String(ID), nullable=True),
    Column("search_text", Text, nullable=False, default=""),  # folded name variants and ID, one per line
    Index("ix_index_patients_sort", "sort_key", "id"),
)

studies = Table(
    "index_studies",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient", String(ID), nullable=False, index=True),
    Column("patient_name", String(400), nullable=False, default=""),
    Column("patient_name_dicom", String(400), nullable=False, default=""),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("patient_birth_date", String(10), nullable=False, default=""),
    Column("patient_sex", String(16), nullable=False, default=""),
    Column("date", String(10), nullable=False, default=""),  # ISO, or "" when not a date
    Column("time", String(8), nullable=False, default=""),
    Column("sort_key", String(80), nullable=False, default=""),  # DESC: newest first, undated last
    Column("description", String(400), nullable=False, default=""),
    Column("accession", String(64), nullable=False, default=""),
    Column("modalities", String(200), nullable=False, default=""),  # "CT\\MR", sorted
    Column("series_count", Integer, nullable=False, default=0),
    Column("instance_count", Integer, nullable=False, default=0),
    Column("thumbnail", String(ID), nullable=True),
    Column("search_text", Text, nullable=False, default=""),
    Column("sweep", Integer, nullable=False, default=0),  # the deletion sweep that last saw it in Orthanc
    Column("indexed_at", Float, nullable=False, default=0.0),  # epoch seconds
    Index("ix_index_studies_sort", "sort_key", "id"),
    Index("ix_index_studies_date", "date", "sort_key"),
    # the few studies whose date is not ISO-shaped (queries._iso_dates_only), migration 0006
    Index("ix_index_studies_odd_date", "date", sqlite_where=ODD_DATE, postgresql_where=ODD_DATE),
)

study_modalities = Table(
    "index_study_modalities",
    metadata,
    Column("modality", String(16), primary_key=True),
    Column("sort_key", String(80), primary_key=True),
    Column("study", String(ID), primary_key=True),
    Index("ix_index_study_modalities_study", "study"),
)

series = Table(
    "index_series",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("study", String(ID), nullable=False, index=True),
    Column("modality", String(16), nullable=False, default=""),
    Column("instance_count", Integer, nullable=False, default=0),
    Column("middle_instance", String(ID), nullable=True),
    Column("viewable", Boolean, nullable=False, default=False),
    Column("sweep", Integer, nullable=False, default=0),
)

terms = Table(
    "index_search_terms",
    metadata,
    Column("kind", String(2), primary_key=True),  # TERM_KINDS: whose (patient, study) and what (line, word)
    Column("term", String(200), primary_key=True),  # a line of the row's search_text, or one word of a line
    Column("ref", String(ID), primary_key=True),  # the patient's or study's id
    Column("sort_key", String(480), nullable=False, default=""),  # the ref's sort_key: search pages sort by it
    Index("ix_index_search_terms_ref", "ref"),
)
"""Search terms for what trigram indexes cannot serve, found by B-tree prefix: wildcard patterns match
whole lines, 1–2 character queries match the start of words. Each term carries its row's sort key
(written with the row), so a search's count and page come from one covering index range (migration
0006). Contains-search of 3+ characters uses the trigram structures the migrations add outside this
metadata (store/schema.py SEARCH_OBJECTS): SQLite FTS5 tables `index_patients_fts`/`index_studies_fts`
kept by triggers, PostgreSQL pg_trgm GIN indexes."""

#: index_search_terms.kind: (patients or studies) × (whole lines or words)
TERM_KINDS = {
    ("patients", "line"): "pl",
    ("patients", "word"): "pw",
    ("studies", "line"): "sl",
    ("studies", "word"): "sw",
}

state = Table(
    "index_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False, default="null"),  # JSON
)

counts = Table(
    "index_counts",
    metadata,
    Column("name", String(32), primary_key=True),  # index_patients, index_studies, index_series
    Column("rows", BigInteger, nullable=False),
)
"""Row counts kept exact by triggers (migration 0004), so totals and statistics never count(*) a table."""

lease = Table(
    "index_lease",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(200), nullable=False, default=""),
    Column("expires_at", Float, nullable=False, default=0.0),  # epoch seconds
    Column("acquired_at", Float, nullable=False, default=0.0),
)
