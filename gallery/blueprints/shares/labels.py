"""What a share link names (patient, description, study date), stored so every visitor reads it in their language.

A link's label is kept in its row, so the list of links needs no Orthanc call and
still names a study deleted since. It is stored as locale-free parts (the DICOM
name, the description, the ISO date) and formatted per request by the same
filters as every other page ("Brain Volunteer", "2026. 11. 20."). Labels stored
before as finished text have no separator and are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...archive.models import PatientRef, Series, SeriesRef, Study, StudyRef
from ...dicom.values import PersonName, format_name

#: Cannot occur in DICOM PN, LO or DA values (control characters), so it safely splits the parts.
SEPARATOR = "\x1f"
STORED_LENGTH = 200  # the column's size


@dataclass(frozen=True, slots=True)
class ShareLabel:
    name: PersonName
    description: str  # "" when the study or series has none: the template words it per locale
    date: str  # the study date as the models keep it (ISO when valid)


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """The study or series a link is being made for, as its share pages show it (label, breadcrumbs)."""

    level: str
    label: ShareLabel
    patient: PatientRef
    study: StudyRef
    series: SeriesRef | None = None


def study_target(study: Study) -> ShareTarget:
    ref = StudyRef(study.id, study.date, study.description)
    return ShareTarget("study", ShareLabel(study.patient.name, study.description, study.date), study.patient, ref)


def series_target(series: Series) -> ShareTarget:
    label = ShareLabel(series.patient.name, series.description, series.study.date)
    ref = SeriesRef(series.id, series.number, series.modality, series.description)
    return ShareTarget("series", label, series.patient, series.study, ref)


def encode_label(label: ShareLabel) -> str:
    """The label as stored; the name gives way first when the parts exceed the column."""
    description, date = label.description[:64], label.date[:16]
    room = STORED_LENGTH - len(description) - len(date) - 2 * len(SEPARATOR)
    raw = getattr(label.name, "dicom", str(label.name))
    return SEPARATOR.join((raw[:room], description, date))


def decode_label(stored: str) -> ShareLabel | None:
    """The parts of a stored label, or None for a label stored as finished text."""
    parts = stored.split(SEPARATOR)
    if len(parts) != 3:
        return None
    return ShareLabel(format_name(parts[0]), parts[1], parts[2])
