"""Fill an app's archive index from an Orthanc, synchronously, before a test reads its lists.

Pages through `/series` and `/studies` (bounded pages, as the syncer's initial sync does) and writes
them with the index writer; also stores Orthanc's `/statistics` where the syncer keeps it.
"""

from __future__ import annotations

import json

from gallery.archive.index import tables, writer
from gallery.archive.index.records import series_record, study_record
from gallery.extensions import db
from gallery.orthanc.client import OrthancClient

PAGE = 500


def _pages(client: OrthancClient, level: str):
    since = 0
    while True:
        page = client.get_json(f"/{level}", {"expand": "", "limit": PAGE, "since": since})
        if not page:
            return
        yield page
        since += len(page)


def fill_index(app, client: OrthancClient) -> None:
    with app.app_context():
        connection = db.session.connection()
        for page in _pages(client, "series"):
            writer.upsert(connection, [], [series_record(s) for s in page])
        for page in _pages(client, "studies"):
            writer.upsert(connection, [study_record(s) for s in page], [])
        value = json.dumps(client.get_json("/statistics"))
        connection.execute(tables.state.delete().where(tables.state.c.key == "orthanc_statistics"))
        connection.execute(tables.state.insert().values(key="orthanc_statistics", value=value))
        db.session.commit()
