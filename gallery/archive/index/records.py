"""What the syncer writes into the index: one record per study and per series, from Orthanc's JSON.

Study aggregates (modalities, instance count, representative thumbnail) are not in Orthanc's study
JSON; the writer computes them from the study's series rows, so studies and series can arrive in
any order and in separate pages (initial sync streams them separately).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ...dicom.values import format_date, format_name, format_time, is_viewable


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    id: str
    study: str
    modality: str
    instance_count: int
    middle_instance: str | None  # the thumbnail of a series: its middle instance in Orthanc's order

    @property
    def viewable(self) -> bool:
        return is_viewable(self.modality, self.instance_count)


@dataclass(frozen=True, slots=True)
class StudyRecord:
    id: str
    patient: str
    patient_name: str  # the PN as stored; shown through format_name / PersonName
    patient_id: str
    patient_birth_date: str  # ISO when a date
    patient_sex: str
    date: str  # ISO when a date, else as stored ("2024130") or ""
    time: str  # HH:MM when a time
    description: str
    accession: str
    series_count: int


def series_record(data: dict[str, Any]) -> SeriesRecord:
    """From `/series/{id}` or an entry of `/series?expand` / `/studies/{id}/series`."""
    instances = data.get("Instances") or []
    return SeriesRecord(
        id=data["ID"],
        study=data["ParentStudy"],
        modality=(data.get("MainDicomTags", {}).get("Modality") or "").strip(),
        instance_count=len(instances),
        middle_instance=instances[len(instances) // 2] if instances else None,
    )


def study_record(data: dict[str, Any]) -> StudyRecord:
    """From `/studies/{id}` or an entry of `/studies?expand`."""
    tags = data.get("MainDicomTags", {})
    patient = data.get("PatientMainDicomTags", {})
    return StudyRecord(
        id=data["ID"],
        patient=data["ParentPatient"],
        patient_name=(patient.get("PatientName") or "").strip(),
        patient_id=(patient.get("PatientID") or "").strip(),
        patient_birth_date=format_date(patient.get("PatientBirthDate")),
        patient_sex=(patient.get("PatientSex") or "").strip(),
        date=format_date(tags.get("StudyDate")),
        time=format_time(tags.get("StudyTime")),
        description=(tags.get("StudyDescription") or "").strip(),
        accession=(tags.get("AccessionNumber") or "").strip(),
        series_count=len(data.get("Series") or []),
    )


class SeriesLike(Protocol):
    modality: str
    instance_count: int
    middle_instance: str | None
    viewable: bool


def aggregates(series: Iterable[SeriesLike]) -> tuple[tuple[str, ...], int, str | None]:
    """A study's modalities (sorted), instance count and thumbnail, from its series.

    The thumbnail is the middle instance of the largest viewable series (a volume beats a scout).
    One rule for the index (writer.refresh_studies) and the patient page (loaders.load_patient).
    """
    rows = list(series)
    viewable = [r for r in rows if r.viewable and r.middle_instance]
    thumbnail = max(viewable, key=lambda r: r.instance_count).middle_instance if viewable else None
    modalities = tuple(sorted({r.modality for r in rows if r.modality}))
    return modalities, sum(r.instance_count for r in rows), thumbnail


def display_name(record: StudyRecord) -> str:
    """The neutral reading form kept in `name`/`patient_name` columns ("Smith, John")."""
    return str(format_name(record.patient_name))
