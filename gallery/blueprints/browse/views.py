"""Browse pages: home, patient and study lists, and one page per resource."""

from __future__ import annotations

import re

from flask import Response, abort, current_app, redirect
from flask_babel import gettext as _
from flask_login import current_user

from ...access.albums import albums_of_study, changeable_albums
from ...access.deidentified import lens as deidentified_lens
from ...access.deidentified import shown
from ...access.permissions import Permission, requires
from ...archive.index import queries
from ...archive.index.status import current_status
from ...archive.levels import Level
from ...archive.loaders import cached_json, load_instance, load_patient, load_series, load_study
from ...archive.paging import paginate
from ...extensions import orthanc
from ...web.downloads import attachment, orthanc_download
from ...web.params import date_arg, frame_arg, modality_arg, page_arg, text_arg
from ...web.redirects import page_url
from ...web.responses import respond
from . import bp

RECENT_STUDIES = 12


@bp.get("/")
@requires(Permission.VIEW)
def home() -> Response:
    return respond(
        "browse/home.html",
        statistics=queries.statistics(),
        recent_studies=queries.recent_studies(RECENT_STUDIES),
        modalities=queries.modalities(),
        index=current_status().for_lists(),
    )


@bp.get("/patients")
@requires(Permission.VIEW)
def patients() -> Response:
    query = text_arg("q")
    page = queries.patient_page(query, page_arg(), current_app.config["PAGE_SIZE"])
    albums = changeable_albums(current_user)
    return respond(
        "browse/patients.html", query=query, patients=page, index=current_status().for_lists(), _albums=albums
    )


@bp.get("/studies")
@requires(Permission.VIEW)
def studies() -> Response:
    filters = {
        "q": text_arg("q"),
        "modality": modality_arg(),
        "from": date_arg("from"),
        "to": date_arg("to"),
    }
    if filters["from"] and filters["to"] and filters["from"] > filters["to"]:
        abort(400, _("The 'from' date is after the 'to' date."))
    page = queries.study_page(
        filters["q"], filters["modality"], filters["from"], filters["to"], page_arg(), current_app.config["PAGE_SIZE"]
    )
    return respond(
        "browse/studies.html",
        filters=filters,
        studies=page,
        modalities=queries.modalities(),
        index=current_status().for_lists(),
        _albums=changeable_albums(current_user),
    )


@bp.get("/patients/<oid:patient_id>")
@requires(Permission.VIEW)
def patient(patient_id: str) -> Response:
    return respond("browse/patient.html", patient=load_patient(patient_id))


@bp.get("/studies/<oid:study_id>")
@requires(Permission.VIEW)
def study(study_id: str) -> Response:
    signed_in = current_user.is_authenticated  # share visitors see no album names
    return respond(
        "browse/study.html",
        study=load_study(study_id),
        _albums=changeable_albums(current_user),
        _in_albums=albums_of_study(study_id) if signed_in else [],
    )


@bp.get("/series/<oid:series_id>")
@requires(Permission.VIEW)
def series(series_id: str) -> Response:
    loaded = load_series(series_id)
    page = paginate(loaded.slices, page_arg(), current_app.config["SERIES_PAGE_SIZE"])
    return respond("browse/series.html", series=loaded, slices=page)


@bp.get("/instances/<oid:instance_id>")
@requires(Permission.VIEW)
def instance(instance_id: str) -> Response:
    loaded = load_instance(instance_id)
    frame = frame_arg(lambda: loaded.frames)
    tag_filter = text_arg("tag")
    tags = shown(loaded).tags  # through a de-identified link, only the tags the profile keeps
    if tag_filter:
        needle = tag_filter.casefold()
        tags = [t for t in tags if needle in f"{t.tag} {t.name} {t.value}".casefold()]
    return respond("browse/instance.html", instance=loaded, frame=frame, tag_filter=tag_filter, tags=tags)


DICOM_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")


@bp.get("/<any(studies, series, instances):level>/uid/<uid>")
@requires(Permission.VIEW)
def by_uid(level: str, uid: str) -> Response:
    """Permalinks by DICOM UID: they work on any Orthanc holding the same data."""
    resource = Level.from_plural(level)
    if len(uid) > 64 or not DICOM_UID.fullmatch(uid):
        abort(404, _("'%(uid)s' is not a DICOM UID (digits and dots, at most 64 characters).", uid=uid[:70]))
    matches = [m for m in orthanc().lookup(uid) if m.get("Type") == resource.orthanc_type]
    if not matches:
        abort(404, _("No %(level)s with this UID is stored in Orthanc.", level=resource.label))
    return redirect(page_url(resource, matches[0]["ID"]))


@bp.get("/instances/<oid:instance_id>/file")
@requires(Permission.DOWNLOAD)
def instance_file(instance_id: str) -> Response:
    """The original DICOM file, streamed from Orthanc without buffering (de-identified: rewritten in the gallery)."""
    lens = deidentified_lens()
    if lens:
        name, content = lens.instance_file(instance_id)
        return attachment(Response(content, mimetype="application/dicom"), name)
    info = cached_json(f"/instances/{instance_id}", ttl=current_app.config["IMAGE_TTL"])
    uid = info.get("MainDicomTags", {}).get("SOPInstanceUID") or instance_id
    path = f"/instances/{instance_id}/file"
    return orthanc_download(path, f"{uid}.dcm", "application/dicom", length=info.get("FileSize"))
