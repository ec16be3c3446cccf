"""Deleting a patient, study or series: what will go, then do it and clean the caches."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from ...archive.index import writer
from ...archive.levels import Level
from ...archive.loaders import forget, load_patient, load_series, load_study
from ...extensions import db, orthanc
from ...orthanc.errors import is_orthanc_id, require_id
from ...web.formatting import dicom_date, person_name
from ...web.redirects import page_url


@dataclass
class DeleteTarget:
    level: str
    id: str
    title: str
    counts: str
    patient: str
    studies: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)


def _studies(n: int) -> str:
    return ngettext("%(num)s study", "%(num)s studies", n)


def _series(n: int) -> str:
    return ngettext("%(num)s series", "%(num)s series", n)


def _images(n: int) -> str:
    return ngettext("%(num)s image", "%(num)s images", n)


def describe(level: str, resource_id: str) -> DeleteTarget:
    """Load what a deletion would remove, for the confirmation page."""
    if level == "patient":
        patient = load_patient(resource_id)
        images = sum(s.instance_count or 0 for s in patient.studies)
        series = sum(s.series_count for s in patient.studies)
        counts = ", ".join(
            (
                _studies(len(patient.studies)),
                _series(series),
                _images(images),
            )
        )
        return DeleteTarget(
            level,
            resource_id,
            person_name(patient.ref.name) or patient.ref.patient_id,
            counts,
            resource_id,
            studies=[s.id for s in patient.studies],
        )
    if level == "study":
        study = load_study(resource_id)
        counts = f"{_series(len(study.series))}, {_images(study.instance_count)}"
        title = " · ".join(
            p for p in (person_name(study.patient.name), study.description or _("study"), dicom_date(study.date)) if p
        )
        return DeleteTarget(
            level,
            resource_id,
            title,
            counts,
            study.patient.id,
            studies=[resource_id],
            series=[s.id for s in study.series],
        )
    series = load_series(resource_id)
    title = " · ".join(
        p for p in (person_name(series.patient.name), series.description or series.modality or _("series")) if p
    )
    return DeleteTarget(
        level,
        resource_id,
        title,
        _images(series.instance_count),
        series.patient.id,
        studies=[series.study.id],
        series=[resource_id],
    )


def delete_resource(target: DeleteTarget) -> str:
    """Delete in Orthanc, drop every cached trace, and return the page to go back to."""
    answer = orthanc().delete(Level(target.level).path(require_id(target.id))) or {}
    forget(patients=[target.patient], studies=target.studies, series=target.series)
    ancestor = answer.get("RemainingAncestor") or {}
    level = Level.from_orthanc_type(ancestor.get("Type"))
    connection = db.session.connection()  # the lists stop showing it at once, whatever the syncer does
    if target.level == "series":
        writer.delete_series(connection, target.series)
    if target.level != "series" or level is not Level.STUDY:  # Orthanc removed the emptied study too
        writer.delete_studies(connection, target.studies)
    db.session.commit()
    if level is not None and is_orthanc_id(ancestor.get("ID") or ""):
        return page_url(level, ancestor["ID"])
    return url_for("browse.patients")
