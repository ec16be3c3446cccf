"""Upload DICOM files, folders and ZIP archives into Orthanc, with a report on every file."""

from __future__ import annotations

from flask import Response, abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...access.albums import changeable_albums
from ...access.audit import record
from ...access.permissions import Permission, requires
from ...extensions import orthanc
from ...web.params import choice_arg
from ...web.responses import respond, wants_json
from . import bp
from .forms import UploadForm
from .ingest import store_all
from .limits import ZipLimits
from .messages import script_messages
from .report import make_report, rendered_report

NOTHING_CHOSEN = _l("Choose at least one file, folder or ZIP archive to upload.")


@bp.route("/upload", methods=["GET", "POST"])
@requires(Permission.UPLOAD)
def form() -> Response:
    """GET: the form. POST (the form, the page's script, or curl): store the files, answer with the report."""
    upload_form = UploadForm()
    limit = current_app.config["MAX_CONTENT_LENGTH"]

    def form_page(status: int = 200, **extra: object) -> Response:
        return respond(
            "upload/form.html",
            status,
            max_bytes=limit,
            _form=upload_form,
            _messages=script_messages(),
            _albums=changeable_albums(current_user),
            **extra,
        )

    if request.method == "GET":
        return form_page(fields=["files", "folder"])
    # ?include=html: the JSON answer carries the report's markup too (the page's script asks; scripts need not).
    with_html = choice_arg("include", ("html",), "") == "html" and wants_json()
    uploads = upload_form.uploads()
    if not uploads:
        if wants_json():
            abort(400, NOTHING_CHOSEN)
        return form_page(400, error=NOTHING_CHOSEN)
    config = current_app.config
    items, interrupted = store_all(uploads, orthanc(), config["UPLOAD_WORKERS"], ZipLimits.from_config(config))
    report = make_report(len(uploads), items, interrupted)
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in report.counts.items() if n)
    record("upload", detail=f"{report.files_sent} files: {counts}")
    for study in report.studies:
        record("upload", "study", study.id)
    albums = changeable_albums(current_user)
    rendered = {"html": rendered_report(report, selectable=bool(albums))} if with_html else {}
    return respond("upload/report.html", report=report, _albums=albums, **rendered)
