"""After an upload: drop the cached data it changed, and describe the studies it touched."""

from __future__ import annotations

from contextlib import suppress

from flask import get_template_attribute

from ...archive.index import queries
from ...archive.index.fetch import index_studies_now
from ...archive.loaders import forget
from ...archive.models import Outcome, StudyRow, UploadItem, UploadReport
from ...orthanc.errors import OrthancError


def make_report(files_sent: int, items: list[UploadItem], interrupted: bool) -> UploadReport:
    """Invalidate what the upload changed, so lists and pages show it at once, and build the report."""
    stored = [i for i in items if i.outcome is Outcome.STORED]
    forget(
        patients={i.patient for i in stored if i.patient},
        studies={i.study for i in stored if i.study},
        series={i.series for i in stored if i.series},
    )
    if stored:
        index_now({i.study for i in stored if i.study})
    return UploadReport(
        files_sent=files_sent,
        archives=len({i.file_index for i in items if i.entry}),
        items=items,
        studies=touched_studies(items),
        interrupted=interrupted,
    )


def rendered_report(report: UploadReport, selectable: bool = False) -> dict[str, object]:
    """The report's rows and study cards as the report page renders them, for the upload page's script.

    The script inserts this HTML as it is, so the report it builds batch by batch reads as the report
    page does, in every language (localised dates, names and sizes), and no template lives in JavaScript.
    `rows[i]` holds the rows of the request's file `i` (one per ZIP entry, none if it went unreported).
    `selectable`: each card carries a ticked checkbox for the upload page's "add to album" form.
    """
    file_row = get_template_attribute("upload/macros.html", "file_row")
    study_card = get_template_attribute("macros/cards.html", "study_card")
    rows = [""] * report.files_sent
    for item in report.items:
        rows[item.file_index] += file_row(item)
    form = "album-add" if selectable else None
    cards = [{"id": s.id, "html": str(study_card(s, select_form=form, selected=True))} for s in report.studies]
    return {"rows": rows, "studies": cards}


def touched_studies(items: list[UploadItem]) -> list[StudyRow]:
    """The list-index row of every study a file landed in, in upload order.

    A study the index does not hold (Orthanc stopped during the upload, so it could not
    be indexed) still gets a row with its ID, so the report can link to it.
    """
    patients = {i.study: i.patient or "" for i in items if i.study}
    return [queries.study_row(study) or placeholder_row(study, patient) for study, patient in patients.items()]


def index_now(study_ids: set[str]) -> None:
    """Index the uploaded studies at once (2 Orthanc calls each), so the report and lists show them.

    If Orthanc stops answering meanwhile (the report says so already), the syncer indexes them
    when it finds them in the change feed.
    """
    with suppress(OrthancError):
        index_studies_now(study_ids)


def placeholder_row(study: str, patient: str) -> StudyRow:
    return StudyRow(
        id=study,
        patient=patient,
        patient_name="",
        patient_id="",
        patient_birth_date="",
        patient_sex="",
        date="",
        time="",
        description="",
        accession="",
        modalities=(),
        series_count=0,
        instance_count=None,
        thumbnail=None,
    )
