"""Everything the viewer page shows for one view, as plain values (the template makes no calls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from ...dicom.geometry import PLANES, plane_position
from ...dicom.windowing import presets_for
from ...imaging.stack import Stack
from ...web.vocabulary import translated
from .imaging import image_size
from .state import ViewState


@dataclass(frozen=True)
class PlaneLink:
    name: str
    url: str | None  # None: not offered for this series
    current: bool


def labels(stack: Stack, view: ViewState) -> list[str]:
    """Where each slice of the current plane lies, for the caption (JavaScript updates it while scrolling)."""
    if view.native:
        return stack.positions
    grid, layout = stack.volume.grid, stack.planes[view.plane]
    assert grid is not None
    return [plane_position(grid, layout, number) for number in range(1, view.count + 1)]


def thickness(stack: Stack, view: ViewState) -> float | None:
    return stack.volume.thickness if view.native else stack.planes[view.plane].spacing


def plane_links(stack: Stack, view: ViewState) -> list[PlaneLink]:
    if not stack.native:
        return []
    links = []
    for name in PLANES:
        offered = name == stack.native or name in stack.planes
        params = view.params(slice=None, plane=None if name == stack.native else name)
        url = url_for("viewer.view", series_id=stack.series.id, **params) if offered else None
        links.append(PlaneLink(name, url, name == view.plane))
    return links


def window_label(stack: Stack, view: ViewState) -> str:
    if stack.colour:
        return _("colour image (not windowed)")
    if view.window is None:
        return _("automatic (each slice's own range)")
    names = {p.name: translated(p.label) for p in presets_for(stack.series.modality)}
    return f"{names.get(view.preset) or _('Custom')}: {view.window.label}"


def page_context(stack: Stack, view: ViewState) -> dict[str, Any]:
    series_id = stack.series.id
    slice_labels = labels(stack, view)
    return {
        "series": stack.series,
        "volume": stack.volume,
        "view": view,
        "position": slice_labels[view.number - 1],
        "thickness": thickness(stack, view),
        "window_label": window_label(stack, view),
        "image_url": url_for("viewer.image", series_id=series_id, **view.params()),
        "image_size": image_size(stack, view),
        "planes": plane_links(stack, view),
        "presets": [] if stack.colour else presets_for(stack.series.modality),
        "file_window": stack.window,
        "downloads": {
            "png_zip": url_for("viewer.series_export", series_id=series_id, format="png", **view.params(slice=None)),
            "jpeg_zip": url_for("viewer.series_export", series_id=series_id, format="jpeg", **view.params(slice=None)),
            "dicom_zip": url_for("viewer.series_dicom", series_id=series_id),
            "mosaic": url_for("viewer.mosaic", series_id=series_id),
        },
        "_labels": slice_labels,
    }
