"""The album ZIPs: each study's original DICOM files (or its images as PNG/JPEG) in a folder of its own,
streamed file by file.

Each file is read from Orthanc's /instances/{id}/file in chunks and written to the ZIP as it arrives,
so neither the archive nor any one file is held in memory. (Orthanc's per-study /archive is a ZIP
itself; nesting ZIPs would make recipients unpack twice.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from flask import Response

from ...access.deidentified import shown
from ...archive.loaders import load_study, series_instances, series_slices
from ...archive.models import SeriesCard, Slice, Study
from ...extensions import orthanc
from ...imaging.mosaic import Sheet, plan
from ...imaging.render import Rendering, render
from ...web.downloads import attachment, safe_filename, with_app_context, zip_response, zip_stream_chunks

#: Image formats of the image ZIP, and their file extensions.
IMAGE_FORMATS = {"png": "png", "jpeg": "jpg"}


def _file_chunks(instance_id: str) -> Iterator[bytes]:
    stream = orthanc().stream(f"/instances/{instance_id}/file")
    try:
        yield from stream.chunks
    finally:
        stream.close()


def _study_folder(number: int, study: Study) -> str:
    label = "_".join(p for p in (study.date, study.description) if p)
    return f"{number:02d}_{safe_filename(label, fallback=study.id)}"


def _series_folder(card: SeriesCard) -> str:
    return safe_filename("_".join(p for p in (card.modality, card.number, card.description) if p), card.id)


def album_files(study_ids: list[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(path in the ZIP, chunks) of every instance: NN_date_description/series/SOPInstanceUID.dcm."""
    for number, study_id in enumerate(study_ids, start=1):
        study = load_study(study_id)
        folder = _study_folder(number, study)
        for card in study.series:
            series = _series_folder(card)
            for instance in series_instances(card.id):
                uid = instance.get("MainDicomTags", {}).get("SOPInstanceUID", "")
                name = safe_filename(uid, fallback=instance["ID"])
                yield f"{folder}/{series}/{name}.dcm", _file_chunks(instance["ID"])


def album_zip(files: Iterable[tuple[str, Iterator[bytes]]], album_name: str) -> Response:
    response = Response(with_app_context(zip_stream_chunks(files)), mimetype="application/zip")
    return attachment(response, f"{safe_filename(album_name, fallback='album')}_dicom.zip")


def album_images(study_ids: list[str], fmt: str) -> Iterator[tuple[str, bytes]]:
    """(path, image) of every image of every viewable series, in slice order, each in its file's own window.

    Images Orthanc cannot render (placeholders) are left out rather than exported as grey squares.
    """
    extension = IMAGE_FORMATS[fmt]
    for number, study_id in enumerate(study_ids, start=1):
        study = shown(load_study(study_id))  # a de-identified link: shifted date, no description, no burned-in series
        folder = _study_folder(number, study)
        for card in study.series:
            if not card.renderable:
                continue
            for position, item in enumerate(series_slices(card.id), start=1):
                image = render(Rendering(item.instance, item.frame, fmt=fmt), store=False)
                if not image.placeholder:
                    yield f"{folder}/{_series_folder(card)}/{position:04d}.{extension}", image.content


def album_images_zip(images: Iterator[tuple[str, bytes]], album_name: str, fmt: str) -> Response:
    return zip_response(images, f"{safe_filename(album_name, fallback='album')}_{fmt}.zip")


#: Tiles on an album's contact sheet, at most (the newest studies first).
SHEET_TILES = 120
SHEET_TILE = 128


def album_sheet(album_id: int, thumbnails: list[str], columns: int) -> tuple[Sheet, list[Slice]]:
    """The layout of the studies' representative images; its key names them, so it changes with the album."""
    shown = thumbnails[:SHEET_TILES]
    digest = hashlib.sha256("|".join(shown).encode()).hexdigest()[:16]
    rows = -(-len(shown) // columns)
    sheet = plan(f"album-{album_id}", digest, len(shown), columns=columns, rows=rows, tile=SHEET_TILE)
    return sheet, [Slice(instance, 0, 1) for instance in shown]
