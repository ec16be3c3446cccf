"""The album ZIP: each study's original DICOM files in a folder of their own, streamed file by file.

Each file is read from Orthanc's /instances/{id}/file in chunks and written to the ZIP as it arrives,
so neither the archive nor any one file is held in memory. (Orthanc's per-study /archive is a ZIP
itself; nesting ZIPs would make recipients unpack twice.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import Response

from ...archive.loaders import load_study, series_instances
from ...extensions import orthanc
from ...web.downloads import attachment, safe_filename, with_app_context, zip_stream_chunks


def _file_chunks(instance_id: str) -> Iterator[bytes]:
    stream = orthanc().stream(f"/instances/{instance_id}/file")
    try:
        yield from stream.chunks
    finally:
        stream.close()


def album_files(study_ids: list[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(path in the ZIP, chunks) of every instance: NN_date_description/series/SOPInstanceUID.dcm."""
    for number, study_id in enumerate(study_ids, start=1):
        study = load_study(study_id)
        label = "_".join(p for p in (study.date, study.description) if p)
        folder = f"{number:02d}_{safe_filename(label, fallback=study_id)}"
        for card in study.series:
            series = safe_filename("_".join(p for p in (card.modality, card.number, card.description) if p), card.id)
            for instance in series_instances(card.id):
                uid = instance.get("MainDicomTags", {}).get("SOPInstanceUID", "")
                name = safe_filename(uid, fallback=instance["ID"])
                yield f"{folder}/{series}/{name}.dcm", _file_chunks(instance["ID"])


def album_zip(files: Iterable[tuple[str, Iterator[bytes]]], album_name: str) -> Response:
    response = Response(with_app_context(zip_stream_chunks(files)), mimetype="application/zip")
    return attachment(response, f"{safe_filename(album_name, fallback='album')}_dicom.zip")
