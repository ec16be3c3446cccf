"""The archive index: patients, studies and series as list pages read them, kept in the gallery's database.

tables.py (the schema) · records.py (rows from Orthanc's JSON) · writer.py (upserts, deletions) ·
sync.py, lease.py, status.py (the one syncer that keeps it current, and what it reports) ·
memory.py (the in-process index it replaces; removed once the lists read the database).
"""

from . import tables  # noqa: F401 - registers the index tables on db.metadata
from .memory import Catalog, init_catalog, series_entry, study_row

__all__ = ["Catalog", "init_catalog", "series_entry", "study_row"]
