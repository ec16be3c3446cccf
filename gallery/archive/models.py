"""Plain domain objects, built once per request from Orthanc's JSON.

Templates and the JSON twin read these; nothing here performs I/O, so a template
can never trigger a hidden HTTP call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PatientRef:
    id: str
    name: str
    patient_id: str
    birth_date: str = ""
    sex: str = ""


@dataclass(frozen=True, slots=True)
class StudyRef:
    id: str
    date: str
    description: str


@dataclass(frozen=True, slots=True)
class SeriesRef:
    id: str
    number: str
    modality: str
    description: str


@dataclass(frozen=True, slots=True)
class PatientRow:
    """One line of the patient list."""

    id: str
    name: str
    patient_id: str
    birth_date: str
    sex: str
    study_count: int
    latest_study_date: str
    thumbnail: str | None  # instance ID whose thumbnail represents the patient


@dataclass(frozen=True, slots=True)
class StudyRow:
    """One study card or line: the study list, home page and patient page."""

    id: str
    patient: str  # Orthanc ID of the patient
    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    date: str
    time: str
    description: str
    accession: str
    modalities: tuple[str, ...]
    series_count: int
    instance_count: int | None  # None where the list index does not track it
    thumbnail: str | None


@dataclass(frozen=True, slots=True)
class SeriesCard:
    id: str
    number: str
    modality: str
    description: str
    instance_count: int
    renderable: bool


@dataclass(frozen=True, slots=True)
class Slice:
    """One image of a series in slice order: an instance, and a frame for multi-frame objects."""

    instance: str
    frame: int
    frames: int  # frames in that instance


@dataclass(frozen=True, slots=True)
class Geometry:
    rows: int | None
    columns: int | None
    pixel_spacing: tuple[float, ...]
    slice_thickness: float | None
    orientation: str


@dataclass(frozen=True, slots=True)
class Tag:
    """One row of the DICOM tag table; `depth` > 0 inside sequences."""

    tag: str
    name: str
    value: str
    depth: int = 0


@dataclass(frozen=True)
class Patient:
    ref: PatientRef
    studies: list[StudyRow]
    other_ids: str = ""
    comments: str = ""


@dataclass(frozen=True)
class Study:
    id: str
    uid: str
    date: str
    time: str
    description: str
    accession: str
    study_id: str
    referring_physician: str
    institution: str
    patient: PatientRef
    series: list[SeriesCard]

    @property
    def instance_count(self) -> int:
        return sum(s.instance_count for s in self.series)

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.series if s.modality})


@dataclass(frozen=True)
class Series:
    id: str
    uid: str
    number: str
    modality: str
    description: str
    date: str
    body_part: str
    protocol: str
    patient: PatientRef
    study: StudyRef
    geometry: Geometry
    slices: list[Slice]
    instance_count: int
    renderable: bool
    ordered_by: str  # how Orthanc sorted the slices (geometry, instance number, upload)


@dataclass(frozen=True)
class Instance:
    id: str
    uid: str
    number: str
    sop_class: str
    patient: PatientRef
    study: StudyRef
    series: SeriesRef
    frames: int
    rows: int | None
    columns: int | None
    file_size: int
    renderable: bool
    tags: list[Tag] = field(default_factory=list)


@dataclass(frozen=True)
class Statistics:
    patients: int
    studies: int
    series: int
    instances: int
    disk_size: int


class Outcome(StrEnum):
    """What happened to one uploaded file."""

    STORED = "stored"
    ALREADY_STORED = "already_stored"  # Orthanc had an instance with the same UIDs and kept it
    REJECTED = "rejected"  # meant as DICOM but not stored: the reason says why
    SKIPPED = "skipped"  # not DICOM and not meant to be (system files, DICOMDIR, README.txt in a folder)


@dataclass(frozen=True, slots=True)
class UploadItem:
    """One line of the upload report: a file sent on its own, or one file inside a ZIP."""

    file: str  # the name of the file as sent (with its folder path for folder uploads)
    file_index: int  # position of that file in the request, from 0 (a ZIP's entries share it)
    entry: str  # path inside the ZIP, "" for a file that is not a ZIP entry
    size: int | None
    outcome: Outcome
    reason: str = ""
    instance: str | None = None
    series: str | None = None
    study: str | None = None
    patient: str | None = None


@dataclass(frozen=True)
class UploadReport:
    """Everything one upload request did; `items` accounts for every file sent."""

    files_sent: int  # files in the request, each ZIP counted once
    archives: int  # how many of those were ZIP archives (each becomes one item per entry)
    items: list[UploadItem]
    studies: list[StudyRow]  # every study that a stored or already stored file is in
    interrupted: bool  # Orthanc stopped answering: files after that point were not sent

    @property
    def counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for item in self.items:
            counts[item.outcome.value] += 1
        return counts
