"""After an upload: drop the cached data it changed, and describe the studies it touched."""

from __future__ import annotations

from ...archive.index import queries, writer
from ...archive.index.records import series_record, study_record
from ...archive.loaders import forget
from ...archive.models import Outcome, StudyRow, UploadItem, UploadReport
from ...extensions import db, orthanc
from ...orthanc.errors import OrthancError, OrthancNotFound, require_id


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


def touched_studies(items: list[UploadItem]) -> list[StudyRow]:
    """The list-index row of every study a file landed in, in upload order.

    A study the index does not hold (Orthanc stopped during the upload, so it could not
    be indexed) still gets a row with its ID, so the report can link to it.
    """
    patients = {i.study: i.patient or "" for i in items if i.study}
    return [queries.study_row(study) or placeholder_row(study, patient) for study, patient in patients.items()]


def index_now(study_ids: set[str]) -> None:
    """Index the uploaded studies at once (2 Orthanc calls each), so the report and lists show them.

    Stands in for the syncer's `sync.index_studies_now` until that is merged. A study Orthanc
    cannot describe now is left to the syncer, which will find it in the change feed.
    """
    studies, series = [], []
    for study_id in sorted(study_ids):
        try:
            path = f"/studies/{require_id(study_id)}"
            data = orthanc().get_json(path)
            members = orthanc().get_json(f"{path}/series")
        except OrthancNotFound:
            continue
        except OrthancError:
            break  # Orthanc stopped answering: the upload report says so already
        studies.append(study_record(data))
        series += [series_record(s) for s in members]
    if studies:
        writer.upsert(db.session.connection(), studies, series)
        db.session.commit()


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
