"""What the syncer writes into the index: one record per study and per series, from Orthanc's JSON.

Study aggregates (modalities, instance count, representative thumbnail) are not in Orthanc's study
JSON; the writer computes them from the study's series rows, so studies and series can arrive in
any order and in separate pages (initial sync streams them separately).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column

from ...dicom.values import format_date, format_name, format_time, is_viewable
from . import tables


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


def _fit(value: str, column: Column[Any]) -> str:
    """A value cut to its column's length: PostgreSQL refuses longer ones, and one malformed tag
    (a 30-character "date") must not stop the syncer's whole batch."""
    return value[: column.type.length]  # type: ignore[attr-defined]


def series_record(data: dict[str, Any]) -> SeriesRecord:
    """From `/series/{id}` or an entry of `/series?expand` / `/studies/{id}/series`."""
    instances = data.get("Instances") or []
    return SeriesRecord(
        id=data["ID"],
        study=data["ParentStudy"],
        modality=_fit((data.get("MainDicomTags", {}).get("Modality") or "").strip(), tables.series.c.modality),
        instance_count=len(instances),
        middle_instance=instances[len(instances) // 2] if instances else None,
    )


def study_record(data: dict[str, Any]) -> StudyRecord:
    """From `/studies/{id}` or an entry of `/studies?expand`."""
    tags = data.get("MainDicomTags", {})
    patient = data.get("PatientMainDicomTags", {})
    c = tables.studies.c
    return StudyRecord(
        id=data["ID"],
        patient=data["ParentPatient"],
        patient_name=_fit((patient.get("PatientName") or "").strip(), c.patient_name),
        patient_id=_fit((patient.get("PatientID") or "").strip(), c.patient_id),
        patient_birth_date=_fit(format_date(patient.get("PatientBirthDate")), c.patient_birth_date),
        patient_sex=_fit((patient.get("PatientSex") or "").strip(), c.patient_sex),
        date=_fit(format_date(tags.get("StudyDate")), c.date),
        time=_fit(format_time(tags.get("StudyTime")), c.time),
        description=_fit((tags.get("StudyDescription") or "").strip(), c.description),
        accession=_fit((tags.get("AccessionNumber") or "").strip(), c.accession),
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
    return _fit(str(format_name(record.patient_name)), tables.studies.c.patient_name)
