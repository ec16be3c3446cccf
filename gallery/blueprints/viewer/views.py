"""The series viewer: scroll, window and reformat a series; contact sheets; image and DICOM exports.

Every URL is series- or study-relative (never an instance's), so the whole
viewer of a series lies under /series/<id>/ and a link scoped to one series
(share links) covers it. View and images need VIEW; every download needs DOWNLOAD.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, abort
from flask_babel import gettext as _

from ...access.deidentified import lens as deidentified_lens
from ...access.deidentified import shown
from ...access.permissions import Permission, requires
from ...archive.loaders import cached_json, load_study, series_slices
from ...archive.models import Series
from ...imaging.mosaic import contact_sheet, plan
from ...imaging.stack import Stack, load_stack, slices_digest
from ...web.downloads import orthanc_download, safe_filename, zip_response
from ...web.params import choice_arg, int_arg
from ...web.responses import image_response, not_modified, respond
from . import bp
from .imaging import FORMATS, image_etag, slice_image
from .page import page_context
from .state import ViewState, default_view, parse_state

#: Series-relative images may change when a series grows: browsers keep them a minute, then revalidate (304).
SERIES_IMAGE_MAX_AGE = 60
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/svg+xml": "svg"}


def viewable_stack(series_id: str) -> Stack:
    stack = load_stack(series_id)
    if not stack.series.renderable or not stack.count:
        abort(404, _("This series holds no images that can be shown (it may be a report or other non-image object)."))
    return stack


@bp.get("/series/<oid:series_id>/view")
@requires(Permission.VIEW)
def view(series_id: str) -> Response:
    """One large image at a time; `?slice=N&plane=&preset=` or `&wc=&ww=` reopen the same view."""
    stack = viewable_stack(series_id)
    return respond("viewer/view.html", **page_context(stack, parse_state(stack)))


@bp.get("/series/<oid:series_id>/image")
@requires(Permission.VIEW)
def image(series_id: str) -> Response:
    """The image of the view named by the same query string as the page (plus `format=jpeg|png`)."""
    stack = viewable_stack(series_id)
    state = parse_state(stack)
    fmt = choice_arg("format", FORMATS, "jpeg")
    cached = not_modified(image_etag(stack, state, state.number, fmt))
    return cached or image_response(slice_image(stack, state, state.number, fmt), SERIES_IMAGE_MAX_AGE)


@bp.get("/series/<oid:series_id>/mosaic")
@requires(Permission.VIEW)
def mosaic(series_id: str) -> Response:
    """A contact sheet: `cols` × `rows` evenly spread slices (1–12 each, default 6×6), tiles of `size` px."""
    slices = series_slices(series_id)
    if not slices:
        abort(404, _("This series has no images."))
    sheet = plan(
        series_id,
        slices_digest(slices),
        len(slices),
        columns=int_arg("cols", 6, minimum=1, maximum=12),
        rows=int_arg("rows", 6, minimum=1, maximum=12),
        tile=int_arg("size", 128, minimum=32, maximum=256),
    )
    return not_modified(sheet.etag) or image_response(contact_sheet(sheet, slices), SERIES_IMAGE_MAX_AGE)


def series_folder(series: Series, view: ViewState) -> str:
    series = shown(series)  # a de-identified link: no description in file names
    name = "_".join(p for p in (series.modality, series.number, series.description) if p)
    return safe_filename(name + ("" if view.native else f"_{view.plane}"), fallback=series.id)


def images_of(stack: Stack, view: ViewState, fmt: str, folder: str) -> Iterator[tuple[str, bytes]]:
    """ZIP entries for every slice of the view's plane, rendered one at a time as the ZIP is sent."""
    for number in range(1, view.count + 1):
        picture = slice_image(stack, view, number, fmt, store=False)
        yield f"{folder}/{number:04d}.{EXTENSIONS.get(picture.content_type, 'bin')}", picture.content


@bp.get("/series/<oid:series_id>/export.zip")
@requires(Permission.DOWNLOAD)
def series_export(series_id: str) -> Response:
    """Every slice of the current plane as PNG (`format=png`, default) or JPEG, in the current window."""
    stack = viewable_stack(series_id)
    view = parse_state(stack)
    fmt = choice_arg("format", FORMATS, "png")
    folder = series_folder(stack.series, view)
    return zip_response(images_of(stack, view, fmt, folder), f"{folder}.zip")


@bp.get("/studies/<oid:study_id>/export.zip")
@requires(Permission.DOWNLOAD)
def study_export(study_id: str) -> Response:
    """Every image of every series, one folder per series, each in its file's own window."""
    study = shown(load_study(study_id))  # a de-identified link leaves burned-in series out
    fmt = choice_arg("format", FORMATS, "png")
    series_ids = [card.id for card in study.series if card.renderable]
    if not series_ids:
        abort(404, _("This study has no images to export."))

    def entries() -> Iterator[tuple[str, bytes]]:
        for series_id in series_ids:
            stack = load_stack(series_id)
            if stack.series.renderable:
                view = default_view(stack)
                yield from images_of(stack, view, fmt, series_folder(stack.series, view))

    return zip_response(entries(), f"{study_name(study_id)}_images.zip")


def study_name(study_id: str) -> str:
    lens = deidentified_lens()
    if lens:
        study = load_study(study_id)  # named as its files are: "Case 2" (in every language) and the shifted date
        return safe_filename(f"{lens.subject(study.patient.id)}_{lens.date(study.date)}", fallback=study_id)
    tags = cached_json(f"/studies/{study_id}").get("MainDicomTags", {})
    name = "_".join(p for p in (tags.get("StudyDate"), tags.get("StudyDescription")) if p)
    return safe_filename(name, fallback=study_id)


@bp.get("/series/<oid:series_id>/dicom.zip")
@requires(Permission.DOWNLOAD)
def series_dicom(series_id: str) -> Response:
    """The original DICOM files: Orthanc's archive, streamed through without buffering (de-identified: rewritten)."""
    lens = deidentified_lens()
    if lens:
        study_id = cached_json(f"/series/{series_id}")["ParentStudy"]
        return zip_response(lens.dicom_entries([study_id], [series_id]), f"{study_name(study_id)}_dicom.zip")
    tags = cached_json(f"/series/{series_id}").get("MainDicomTags", {})
    name = "_".join(p for p in (tags.get("Modality"), tags.get("SeriesNumber"), tags.get("SeriesDescription")) if p)
    filename = safe_filename(name, fallback=series_id) + "_dicom.zip"
    return orthanc_download(f"/series/{series_id}/archive", filename, "application/zip")


@bp.get("/studies/<oid:study_id>/dicom.zip")
@requires(Permission.DOWNLOAD)
def study_dicom(study_id: str) -> Response:
    lens = deidentified_lens()
    if lens:
        return zip_response(lens.dicom_entries([study_id]), f"{study_name(study_id)}_dicom.zip")
    return orthanc_download(f"/studies/{study_id}/archive", f"{study_name(study_id)}_dicom.zip", "application/zip")
