"""The archive index: patients, studies and series as list pages read them, kept in the gallery's database.

tables.py (the schema) · records.py (rows from Orthanc's JSON) · writer.py (upserts, deletions) ·
queries.py (what list pages read) · sync.py, lease.py, status.py (the one syncer that keeps it
current, and what it reports).
"""
