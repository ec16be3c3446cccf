"""The archive index: patients, studies and series as list pages read them, kept in the gallery's database.

tables.py (the schema) · records.py (rows from Orthanc's JSON) · writer.py (upserts, deletions) ·
queries.py (what list pages read) · the one syncer that keeps it current: sync.py (its steps: initial
pages, the change feed, the sweep), fetch.py (studies read from Orthanc and written, also for uploads),
state.py (its checkpoint and progress), worker.py (its thread in gallery processes), lease.py (who
syncs), status.py (what it reports).
"""
