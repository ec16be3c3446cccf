"""A series as the viewer sees it: slices in order, their positions, the volume's geometry, its window.

Built with a fixed number of cached Orthanc calls (those of `load_series`, plus
`/series/{id}/instances`, whose expanded answer carries every instance's
ImagePositionPatient, ImageOrientationPatient, NumberOfFrames and file size on
Orthanc 1.10), so a 2,000-slice series costs what a 20-slice one does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from ..archive.cache import cache_get, cache_set
from ..archive.loaders import DERIVED_KEYS, has_pixels, instance_tags, load_series, series_instances
from ..archive.models import Series, Slice
from ..dicom.geometry import Layout, VolumeInfo, describe, layouts, native_plane
from ..dicom.values import parse_numbers, tag_value
from ..dicom.windowing import Window, file_window
from .lru import LRU

STACK_KEY = DERIVED_KEYS["series"][0]
STACKS_PER_PROCESS = 64


@dataclass(frozen=True)
class Stack:
    series: Series
    volume: VolumeInfo
    positions: list[str]  # per slice, for people: "(-30.0, -30.0, 16.0) mm", "frame 2 of 10" or ""
    window: Window | None  # the file's own window, if any
    colour: bool
    invert: bool  # MONOCHROME1: low values are white
    digest: str  # identifies the slices and their order: part of every cache key and ETag
    planes: dict[str, Layout] = field(default_factory=dict)  # empty when MPR is not offered
    native: str = ""  # the acquired plane ("axial", ...), "" when unknown

    @property
    def count(self) -> int:
        return len(self.series.slices)


def _main_tags(entry: dict[str, Any]) -> dict[str, Any]:
    return entry.get("MainDicomTags") or {}


def _point(text: Any, size: int) -> tuple[float, ...] | None:
    numbers = parse_numbers(text)
    return tuple(numbers) if len(numbers) == size else None


def position_text(position: tuple[float, ...] | None) -> str:
    return "(" + ", ".join(f"{c:.1f}" for c in position) + ") mm" if position else ""


def frame_text(item: Slice) -> str:
    return _l("frame %(frame)s of %(frames)s", frame=item.frame + 1, frames=item.frames) if item.frames > 1 else ""


def slices_digest(slices: list[Slice]) -> str:
    """Identifies the slices and their order: what a series-relative image depends on."""
    order = "\n".join(f"{s.instance}:{s.frame}" for s in slices)
    return hashlib.sha256(order.encode()).hexdigest()[:16]


def init_app(app: Flask) -> None:
    app.extensions["stacks"] = LRU(STACKS_PER_PROCESS)


def load_stack(series_id: str) -> Stack:
    """The series, its slices' positions and its volume facts: 5 Orthanc calls, 0 when cached.

    Every viewer image needs the stack, and rebuilding (or unpickling) it costs
    milliseconds for long series, so each process keeps the built objects. They
    stay valid while a small token in the shared cache lives: it expires with
    the JSON they were built from, and `hierarchy.forget()` drops it after uploads.
    Without a reachable cache no token can vouch for a kept stack: it is built afresh.
    """
    key = STACK_KEY.format(series_id)
    token = cache_get(key)
    if not token:
        token = secrets.token_hex(8)
        if not cache_set(key, token, timeout=current_app.config["HIERARCHY_TTL"]):
            return build_stack(series_id)
    stacks: LRU[Stack] = current_app.extensions["stacks"]
    return stacks.get((series_id, token), lambda: build_stack(series_id))


def build_stack(series_id: str) -> Stack:
    series = load_series(series_id)
    by_id = {entry["ID"]: entry for entry in series_instances(series_id)}
    positions: list[tuple[float, ...] | None] = []
    orientations: list[tuple[float, ...] | None] = []
    for item in series.slices:
        tags = _main_tags(by_id.get(item.instance, {}))
        # A multi-frame object carries one ImagePositionPatient for all its frames: not a per-frame position.
        positions.append(_point(tags.get("ImagePositionPatient"), 3) if item.frames == 1 else None)
        orientations.append(_point(tags.get("ImageOrientationPatient"), 6))
    middle = series.slices[len(series.slices) // 2].instance if series.slices else None
    tags = instance_tags(middle) if middle else {}
    photometric = tag_value(tags, "0028,0004")
    colour = bool(photometric) and not photometric.startswith("MONOCHROME")
    config = current_app.config
    geometry = series.geometry
    volume = describe(
        positions,
        orientations,
        rows=geometry.rows,
        columns=geometry.columns,
        pixel_spacing=geometry.pixel_spacing,
        thickness=geometry.slice_thickness,
        total_bytes=sum(int(entry.get("FileSize") or 0) for entry in by_id.values()),
        pixels=series.renderable and has_pixels(tags),
        colour=colour,
        min_slices=config["MPR_MIN_SLICES"],
        max_voxels=config["MPR_MAX_VOXELS"],
    )
    grid = volume.grid
    return Stack(
        series=series,
        volume=volume,
        positions=[position_text(p) or frame_text(s) for p, s in zip(positions, series.slices, strict=True)],
        window=file_window(tags),
        colour=colour,
        invert=photometric == "MONOCHROME1",
        digest=slices_digest(series.slices),
        planes=layouts(grid) if grid else {},
        native=native_plane(grid) if grid else (volume.orientation if volume.orientation != "oblique" else ""),
    )
