"""Album pages: list, create, rename, delete, add and remove studies, the album's grid and its DICOM ZIP."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...access.albums import (
    add_studies,
    album_study_ids,
    album_thumbnails,
    all_albums,
    create_album,
    delete_album,
    find_album,
    indexed_studies,
    may_change,
    remove_studies,
    rename_album,
    studies_of_patients,
    summary,
)
from ...access.audit import record
from ...access.deidentified import lens as deidentified_lens
from ...access.permissions import Permission, requires
from ...archive.index import queries
from ...archive.index.status import current_status
from ...imaging.mosaic import contact_sheet as sheet_image
from ...store.models import Album
from ...web.downloads import safe_filename, zip_response
from ...web.forms import ConfirmForm
from ...web.params import choice_arg, date_arg, int_arg, modality_arg, page_arg, text_arg
from ...web.redirects import safe_next
from ...web.responses import image_response, not_modified, respond
from . import bp
from .archive import IMAGE_FORMATS, album_files, album_images, album_images_zip, album_sheet, album_zip
from .forms import AlbumForm, album_field, selected_ids

#: The sheet's URL does not change with the album; its ETag does, so browsers revalidate.
SHEET_MAX_AGE = 0


def _album(album_id: int) -> Album:
    album = find_album(album_id)
    if album is None:
        abort(404, _("There is no album %(id)s. It may have been deleted.", id=album_id))
    return album


def _changeable(album_id: int) -> Album:
    album = _album(album_id)
    if not may_change(current_user, album):
        abort(403, _("Only an admin or the person who created an album can change it."))
    return album


@bp.get("/albums")
@requires(Permission.VIEW)
def index() -> Response:
    return respond("albums/index.html", albums=all_albums())


@bp.route("/albums/new", methods=["GET", "POST"])
@requires(Permission.UPLOAD)
def new() -> Response | tuple[str, int]:
    form = AlbumForm()
    if form.validate_on_submit():
        album = create_album(form.name.data, form.description.data or "", current_user)
        record("album_create", "album", str(album.id), detail=album.name)
        return redirect(url_for("albums.album", album_id=album.id))
    status = 400 if request.method == "POST" else 200
    return render_template("albums/edit.html", form=form, album=None), status


@bp.get("/albums/<int:album_id>")
@requires(Permission.VIEW)
def album(album_id: int) -> Response:
    shown = _album(album_id)
    filters = {"q": text_arg("q"), "modality": modality_arg(), "from": date_arg("from"), "to": date_arg("to")}
    if filters["from"] and filters["to"] and filters["from"] > filters["to"]:
        abort(400, _("The 'from' date is after the 'to' date."))
    start, end = filters["from"], filters["to"]
    lens = deidentified_lens()
    if lens:  # the visitor sees shifted dates and no names: filter by what they see, never by what is hidden
        if filters["q"]:
            abort(400, _("Text search is not offered through a de-identified link: it would search what is hidden."))
        start, end = lens.original_date(start), lens.original_date(end)
    page = queries.study_page(
        filters["q"], filters["modality"], start, end, page_arg(), current_app.config["PAGE_SIZE"], album=album_id
    )
    return respond(
        "albums/album.html",
        album=summary(shown),
        filters=filters,
        studies=page,
        modalities=queries.modalities(),
        index=current_status(),
        _form=ConfirmForm(),
        _may_change=current_user.is_authenticated and may_change(current_user, shown),
    )


@bp.route("/albums/<int:album_id>/edit", methods=["GET", "POST"])
@requires(Permission.UPLOAD)
def edit(album_id: int) -> Response | tuple[str, int]:
    album = _changeable(album_id)
    form = AlbumForm(obj=album)
    if form.validate_on_submit():
        old = album.name
        rename_album(album, form.name.data, form.description.data or "")
        record("album_rename", "album", str(album.id), detail=f"{old} -> {album.name}")
        return redirect(url_for("albums.album", album_id=album.id))
    status = 400 if request.method == "POST" else 200
    return render_template("albums/edit.html", form=form, album=album, delete_form=ConfirmForm()), status


@bp.post("/albums/<int:album_id>/delete")
@requires(Permission.UPLOAD)
def delete(album_id: int) -> Response:
    album = _changeable(album_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, _("The form expired. Go back, reload the page and try again."))
    name = album.name
    delete_album(album)
    record("album_delete", "album", str(album_id), detail=name)
    return redirect(url_for("albums.index"))


@bp.post("/albums/add")
@requires(Permission.UPLOAD)
def add() -> Response:
    """Add the ticked studies (or every study of the ticked patients) to the chosen album."""
    album = _changeable(album_field())
    wanted = selected_ids("study") + studies_of_patients(selected_ids("patient"))
    if not wanted:
        abort(400, _("Select at least one study or patient to add."))
    found = indexed_studies(wanted)
    if len(found) < len(dict.fromkeys(wanted)):
        abort(400, _("Some of the selected studies are not in the archive (any more)."))
    added = add_studies(album, found, current_user)
    for study_id in added:
        record("album_add", "study", study_id, detail=f"album {album.id}")
    return redirect(safe_next(request.form.get("next")) if request.form.get("next") else _album_url(album))


@bp.post("/albums/<int:album_id>/remove")
@requires(Permission.UPLOAD)
def remove(album_id: int) -> Response:
    album = _changeable(album_id)
    wanted = selected_ids("study")
    if not wanted:
        abort(400, _("Select at least one study to remove."))
    for study_id in remove_studies(album, wanted):
        record("album_remove", "study", study_id, detail=f"album {album.id}")
    return redirect(safe_next(request.form.get("next")) if request.form.get("next") else _album_url(album))


def _album_url(album: Album) -> str:
    return url_for("albums.album", album_id=album.id)


@bp.get("/albums/<int:album_id>/dicom.zip")
@requires(Permission.DOWNLOAD)
def dicom_zip(album_id: int) -> Response:
    """The album's original DICOM files, one folder per study, streamed file by file."""
    album = _album(album_id)
    study_ids = album_study_ids(album_id)
    if not study_ids:
        abort(404, _("This album has no studies to download."))
    lens = deidentified_lens()
    if lens:
        return zip_response(lens.dicom_entries(study_ids), f"{safe_filename(album.name, fallback='album')}_dicom.zip")
    files: Iterator[tuple[str, Iterator[bytes]]] = album_files(study_ids)
    return album_zip(files, album.name)


@bp.get("/albums/<int:album_id>/export.zip")
@requires(Permission.DOWNLOAD)
def images_zip(album_id: int) -> Response:
    """Every image of the album's studies as PNG or JPEG, one folder per study, built while it is sent."""
    album = _album(album_id)
    fmt = choice_arg("format", tuple(IMAGE_FORMATS), "png")
    study_ids = album_study_ids(album_id)
    if not study_ids:
        abort(404, _("This album has no studies to download."))
    return album_images_zip(album_images(study_ids, fmt), album.name, fmt)


@bp.get("/albums/<int:album_id>/contact-sheet.jpg")
@requires(Permission.VIEW)
def contact_sheet(album_id: int) -> Response:
    """The representative image of each study (newest first, numbered), `cols` wide (1–12), at most 120 tiles."""
    _album(album_id)
    thumbnails = album_thumbnails(album_id)
    lens = deidentified_lens()
    if lens:
        thumbnails = [instance for instance in thumbnails if lens.shows_image(instance)]
    if not thumbnails:
        abort(404, _("This album has no images."))
    sheet, slices = album_sheet(album_id, thumbnails, int_arg("cols", 6, minimum=1, maximum=12))
    return not_modified(sheet.etag) or image_response(sheet_image(sheet, slices), SHEET_MAX_AGE)
