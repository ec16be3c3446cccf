"""Load one patient, study, series or instance as a plain domain object.

Each loader makes a fixed number of Orthanc calls whatever the size of the
resource (docs/architecture.md lists them), and caches Orthanc's JSON briefly in
Flask-Caching, so several gallery processes sharing Redis share the work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import current_app

from ..dicom.values import (
    format_date,
    format_name,
    format_time,
    is_viewable,
    orientation_label,
    parse_numbers,
    tag_int,
    tag_value,
)
from ..extensions import orthanc
from ..orthanc.errors import OrthancBadRequest, require_id
from .cache import cache_delete_many, cache_get, cache_set
from .index.records import SeriesRecord, aggregates, series_record, study_record
from .levels import Level
from .models import (
    Geometry,
    Instance,
    Patient,
    PatientRef,
    Series,
    SeriesCard,
    SeriesRef,
    Slice,
    Study,
    StudyRef,
    StudyRow,
    Tag,
)

PIXEL_DATA_TAGS = ("7fe0,0010", "7fe0,0008", "7fe0,0009")

#: Cached paths per resource, so an upload or delete can drop exactly these.
CACHED_PATHS = {
    level: tuple(f"/{level.plural}/{{}}{below}" for below in paths)
    for level, paths in (
        (Level.PATIENT, ("", "/studies", "/series")),
        (Level.STUDY, ("", "/series")),
        (Level.SERIES, ("", "/ordered-slices", "/instances")),
    )
}
#: Objects built from that JSON and cached as well (gallery/imaging/stack.py), dropped along with it.
DERIVED_KEYS = {Level.PATIENT: (), Level.STUDY: (), Level.SERIES: ("stack:{}",)}


def cached_json(path: str, params: dict[str, Any] | None = None, ttl: int | None = None) -> Any:
    """Orthanc JSON for `path`, from the cache when fresh."""
    key = "json:" + path + ("?" + urlencode(params) if params else "")
    value = cache_get(key)
    if value is None:
        value = orthanc().get_json(path, params)
        cache_set(key, value, timeout=ttl if ttl is not None else current_app.config["HIERARCHY_TTL"])
    return value


def forget(patients: Iterable[str] = (), studies: Iterable[str] = (), series: Iterable[str] = ()) -> None:
    """Drop cached hierarchy JSON of resources an upload or delete changed."""
    keys = [
        template.format(resource_id)
        for level, ids in ((Level.PATIENT, patients), (Level.STUDY, studies), (Level.SERIES, series))
        for resource_id in ids
        for template in (*("json:" + path for path in CACHED_PATHS[level]), *DERIVED_KEYS[level])
    ]
    if keys:
        cache_delete_many(*keys)


def _tags(data: dict[str, Any]) -> dict[str, str]:
    return {k: (v or "").strip() if isinstance(v, str) else v for k, v in data.get("MainDicomTags", {}).items()}


def patient_ref(patient_id: str, tags: dict[str, Any]) -> PatientRef:
    return PatientRef(
        id=patient_id,
        name=format_name(tags.get("PatientName")),
        patient_id=(tags.get("PatientID") or "").strip(),
        birth_date=format_date(tags.get("PatientBirthDate")),
        sex=(tags.get("PatientSex") or "").strip(),
    )


def study_ref(study_id: str, tags: dict[str, Any]) -> StudyRef:
    return StudyRef(
        id=study_id,
        date=format_date(tags.get("StudyDate")),
        description=(tags.get("StudyDescription") or "").strip(),
    )


def _series_sort_key(card: SeriesCard) -> tuple[float, str]:
    numbers = parse_numbers(card.number)
    return (numbers[0] if numbers else float("inf"), card.description)


def _study_row(data: dict[str, Any], series: list[SeriesRecord]) -> StudyRow:
    """A study card from Orthanc's JSON, with the index's rules (records.py) for what it shows."""
    record = study_record(data)
    modalities, instance_count, thumbnail = aggregates(series)
    return StudyRow(
        id=record.id,
        patient=record.patient,
        patient_name=format_name(record.patient_name),
        patient_id=record.patient_id,
        patient_birth_date=record.patient_birth_date,
        patient_sex=record.patient_sex,
        date=record.date,
        time=record.time,
        description=record.description,
        accession=record.accession,
        modalities=modalities,
        series_count=record.series_count,
        instance_count=instance_count,
        thumbnail=thumbnail,
    )


def load_patient(patient_id: str) -> Patient:
    """Demographics and study cards: 3 Orthanc calls."""
    require_id(patient_id)
    data = cached_json(f"/patients/{patient_id}")
    studies = cached_json(f"/patients/{patient_id}/studies")
    series = [series_record(s) for s in cached_json(f"/patients/{patient_id}/series")]
    rows = [_study_row(s, [e for e in series if e.study == s["ID"]]) for s in studies]
    rows.sort(key=lambda r: (bool(r.date), r.date, r.time), reverse=True)
    tags = _tags(data)
    return Patient(
        ref=patient_ref(patient_id, tags),
        studies=rows,
        other_ids=tags.get("OtherPatientIDs", ""),
        comments=tags.get("PatientComments", ""),
    )


def load_study(study_id: str) -> Study:
    """Study details and its series: 2 Orthanc calls."""
    require_id(study_id)
    data = cached_json(f"/studies/{study_id}")
    tags = _tags(data)
    cards = []
    for s in cached_json(f"/studies/{study_id}/series"):
        series_tags = _tags(s)
        modality = series_tags.get("Modality", "")
        instance_count = len(s.get("Instances") or [])
        cards.append(
            SeriesCard(
                id=s["ID"],
                number=series_tags.get("SeriesNumber", ""),
                modality=modality,
                description=series_tags.get("SeriesDescription", "") or series_tags.get("ProtocolName", ""),
                instance_count=instance_count,
                renderable=is_viewable(modality, instance_count),
            )
        )
    cards.sort(key=_series_sort_key)
    return Study(
        id=study_id,
        uid=tags.get("StudyInstanceUID", ""),
        date=format_date(tags.get("StudyDate")),
        time=format_time(tags.get("StudyTime")),
        description=tags.get("StudyDescription", ""),
        accession=tags.get("AccessionNumber", ""),
        study_id=tags.get("StudyID", ""),
        referring_physician=format_name(tags.get("ReferringPhysicianName")),
        institution=tags.get("InstitutionName", ""),
        patient=patient_ref(data["ParentPatient"], data.get("PatientMainDicomTags", {})),
        series=cards,
    )


def ordered_slices(series_id: str, instances: list[str]) -> tuple[list[Slice], str]:
    """Slices in the order Orthanc derives from the geometry, and how it ordered them.

    Falls back to upload order if Orthanc cannot order the series.
    """
    try:
        data = cached_json(f"/series/{series_id}/ordered-slices")
    except OrthancBadRequest:
        return [Slice(i, 0, 1) for i in instances], "upload order"
    slices = [
        Slice(instance=iid, frame=frame, frames=count)
        for iid, first, count in data.get("SlicesShort", [])
        for frame in range(first, first + count)
    ]
    kind = "position in the volume" if data.get("Type") == "Volume" else "instance number"
    return slices, kind


def parent_series(instance_id: str) -> str:
    """The series holding an instance (immutable, so cached for long)."""
    require_id(instance_id)
    return cached_json(f"/instances/{instance_id}", ttl=current_app.config["IMAGE_TTL"])["ParentSeries"]


def parent_study(series_id: str) -> str:
    require_id(series_id)
    return cached_json(f"/series/{series_id}")["ParentStudy"]


def series_slices(series_id: str) -> list[Slice]:
    """The images of a series in slice order: 2 Orthanc calls."""
    require_id(series_id)
    data = cached_json(f"/series/{series_id}")
    slices, _ = ordered_slices(series_id, data.get("Instances") or [])
    return slices


def middle_slice(series_id: str) -> Slice | None:
    """The middle image of a series in slice order (its representative thumbnail)."""
    slices = series_slices(series_id)
    return slices[len(slices) // 2] if slices else None


def series_instances(series_id: str) -> list[dict[str, Any]]:
    """Orthanc's expanded instance list: per-instance position, orientation, frames and file size."""
    return cached_json(f"/series/{series_id}/instances")


def instance_tags(instance_id: str) -> dict[str, Any]:
    """Full DICOM tags of an instance; immutable, so cached for long."""
    return cached_json(f"/instances/{instance_id}/tags", ttl=current_app.config["IMAGE_TTL"])


def frames_in(tags: dict[str, Any]) -> int:
    """NumberOfFrames, at least 1: Orthanc renders frame 0 of any image, tagged or not."""
    return max(tag_int(tags, "0028,0008") or 1, 1)


def frame_count(instance_id: str) -> int:
    """How many frames an instance has, from its cached tags: what a requested frame is checked against."""
    require_id(instance_id)
    return frames_in(instance_tags(instance_id))


def geometry(tags: dict[str, Any]) -> Geometry:
    thickness = parse_numbers(tag_value(tags, "0018,0050"))
    return Geometry(
        rows=tag_int(tags, "0028,0010"),
        columns=tag_int(tags, "0028,0011"),
        pixel_spacing=tuple(parse_numbers(tag_value(tags, "0028,0030"))),
        slice_thickness=thickness[0] if thickness else None,
        orientation=orientation_label(parse_numbers(tag_value(tags, "0020,0037"))),
    )


def load_series(series_id: str) -> Series:
    """Series details, geometry and slices in order: 4 Orthanc calls."""
    require_id(series_id)
    data = cached_json(f"/series/{series_id}")
    tags = _tags(data)
    study = cached_json(f"/studies/{data['ParentStudy']}")
    instances = data.get("Instances") or []
    slices, ordered_by = ordered_slices(series_id, instances)
    middle = slices[len(slices) // 2].instance if slices else None
    middle_tags = instance_tags(middle) if middle else {}
    modality = tags.get("Modality", "")
    return Series(
        id=series_id,
        uid=tags.get("SeriesInstanceUID", ""),
        number=tags.get("SeriesNumber", ""),
        modality=modality,
        description=tags.get("SeriesDescription", "") or tags.get("ProtocolName", ""),
        date=format_date(tags.get("SeriesDate")),
        body_part=tags.get("BodyPartExamined", ""),
        protocol=tags.get("ProtocolName", ""),
        patient=patient_ref(study["ParentPatient"], study.get("PatientMainDicomTags", {})),
        study=study_ref(study["ID"], _tags(study)),
        geometry=geometry(middle_tags),
        slices=slices,
        instance_count=len(instances),
        renderable=is_viewable(modality, len(instances)),  # as its study judges it: dicom.values.is_viewable
        ordered_by=ordered_by,
    )


def has_pixels(tags: dict[str, Any]) -> bool:
    """Whether a file carries pixel data: decides what its volume offers (MPR), not whether it is viewable."""
    return any(key in tags for key in PIXEL_DATA_TAGS)


def flatten_tags(tags: dict[str, Any], depth: int = 0) -> list[Tag]:
    """The nested tag tree as table rows; sequence items are indented by `depth`."""
    rows = []
    for key in sorted(tags):
        entry = tags[key]
        kind, value = entry.get("Type"), entry.get("Value")
        if kind == "Sequence":
            rows.append(Tag(key, entry.get("Name", ""), f"{len(value or [])} item(s)", depth))
            for item in value or []:
                rows.extend(flatten_tags(item, depth + 1))
        elif kind == "String":
            rows.append(Tag(key, entry.get("Name", ""), str(value), depth))
        else:
            rows.append(Tag(key, entry.get("Name", ""), f"({(kind or 'binary').lower()})", depth))
    return rows


def load_instance(instance_id: str) -> Instance:
    """Instance details and its tag table: 4 Orthanc calls."""
    require_id(instance_id)
    data = cached_json(f"/instances/{instance_id}", ttl=current_app.config["IMAGE_TTL"])
    tags = instance_tags(instance_id)
    series = cached_json(f"/series/{data['ParentSeries']}")
    study = cached_json(f"/studies/{series['ParentStudy']}")
    series_tags = _tags(series)
    modality = series_tags.get("Modality", "")
    return Instance(
        id=instance_id,
        uid=tag_value(tags, "0008,0018"),
        number=tag_value(tags, "0020,0013"),
        sop_class=tag_value(tags, "0008,0016"),
        patient=patient_ref(study["ParentPatient"], study.get("PatientMainDicomTags", {})),
        study=study_ref(study["ID"], _tags(study)),
        series=SeriesRef(
            id=series["ID"],
            number=series_tags.get("SeriesNumber", ""),
            modality=modality,
            description=series_tags.get("SeriesDescription", ""),
        ),
        frames=frames_in(tags),
        rows=tag_int(tags, "0028,0010"),
        columns=tag_int(tags, "0028,0011"),
        file_size=int(data.get("FileSize", 0)),
        renderable=is_viewable(modality, 1),  # as its series judges it: dicom.values.is_viewable
        tags=flatten_tags(tags),
    )
