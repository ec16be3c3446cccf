"""The archive index: patients, studies and series as list pages read them, kept in the gallery's database.

tables.py (the schema) · records.py (rows from Orthanc's JSON) · writer.py (upserts, deletions) ·
memory.py (the in-process index it replaces; removed once the lists read the database).
"""

from .memory import Catalog, init_catalog, series_entry, study_row

__all__ = ["Catalog", "init_catalog", "series_entry", "study_row"]
