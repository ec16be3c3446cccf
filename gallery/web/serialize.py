"""The JSON twin: domain objects as JSON, with the gallery URLs a script needs.

Only gallery URLs are added; Orthanc's address never appears.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import url_for
from flask_babel.speaklater import LazyString

from ..archive import models
from ..archive.paging import Page
from ..dicom.values import Message
from .vocabulary import translated


def _thumb(instance_id: str | None) -> str | None:
    return url_for("previews.thumbnail", instance_id=instance_id) if instance_id else None


LINKS: dict[type, Callable[[Any], dict[str, Any]]] = {
    # A de-identified link shows patients without their Orthanc ID (the SHA-1 of the patient's ID): no URL.
    models.PatientRef: lambda o: {"url": url_for("browse.patient", patient_id=o.id) if o.id else None},
    models.StudyRef: lambda o: {"url": url_for("browse.study", study_id=o.id)},
    models.SeriesRef: lambda o: {"url": url_for("browse.series", series_id=o.id)},
    models.PatientRow: lambda o: {
        "url": url_for("browse.patient", patient_id=o.id),
        "thumbnail_url": _thumb(o.thumbnail),
    },
    models.StudyRow: lambda o: {
        "url": url_for("browse.study", study_id=o.id),
        "patient_url": url_for("browse.patient", patient_id=o.patient) if o.patient else None,
        "thumbnail_url": _thumb(o.thumbnail),
    },
    models.SeriesCard: lambda o: {
        "url": url_for("browse.series", series_id=o.id),
        "thumbnail_url": url_for("previews.series_thumbnail", series_id=o.id) if o.renderable else None,
    },
    models.Slice: lambda o: {
        "url": url_for("browse.instance", instance_id=o.instance, frame=o.frame or None),
        "thumbnail_url": url_for("previews.thumbnail", instance_id=o.instance, frame=o.frame or None),
        "preview_url": url_for("previews.preview", instance_id=o.instance, frame=o.frame or None),
    },
    models.Study: lambda o: {
        "url": url_for("browse.study", study_id=o.id),
        "instance_count": o.instance_count,
        "modalities": o.modalities,
    },
    models.Series: lambda o: {"url": url_for("browse.series", series_id=o.id)},
    models.Instance: lambda o: {
        "url": url_for("browse.instance", instance_id=o.id),
        "preview_url": url_for("previews.preview", instance_id=o.id) if o.renderable else None,
        "file_url": url_for("browse.instance_file", instance_id=o.id),
    },
    models.UploadItem: lambda o: {
        "patient_url": url_for("browse.patient", patient_id=o.patient) if o.patient else None,
        "study_url": url_for("browse.study", study_id=o.study) if o.study else None,
        "series_url": url_for("browse.series", series_id=o.series) if o.series else None,
        "instance_url": url_for("browse.instance", instance_id=o.instance) if o.instance else None,
    },
    models.UploadReport: lambda o: {"total": len(o.items), "counts": o.counts},
}


#: Fields left out of the JSON twin (a series' full slice list is paged separately).
EXCLUDE: dict[type, frozenset[str]] = {models.Series: frozenset({"slices"})}


def to_json(value: Any) -> Any:
    """Recursively convert dataclasses, pages and containers to JSON-ready values."""
    if isinstance(value, LazyString | Message):
        return str(translated(value))
    if isinstance(value, Page):
        return {
            "items": to_json(value.items),
            "page": value.number,
            "pages": value.pages,
            "page_size": value.size,
            "total": value.total,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        skip = EXCLUDE.get(type(value), frozenset())
        data = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in skip}
        links = LINKS.get(type(value))
        if links:
            data.update(links(value))
        return data
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
