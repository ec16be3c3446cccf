"""One viewer image: an acquired slice rendered by Orthanc, or a reformatted one cut from the volume."""

from __future__ import annotations

from flask import current_app

from ...dicom.geometry import display_size, plane_shape
from ...imaging.etag import etag_of
from ...imaging.reformat import plane_key, render_plane
from ...imaging.render import Image, Rendering, render
from ...imaging.stack import Stack
from .state import ViewState

FORMATS = ("jpeg", "png")


def stack_box(stack: Stack) -> int | None:
    """Native size, clamped to VIEWER_MAX_SIZE: the larger side of the series' images, when known."""
    geometry = stack.series.geometry
    limit = current_app.config["VIEWER_MAX_SIZE"]
    if geometry.rows and geometry.columns:
        return min(max(geometry.rows, geometry.columns), limit)
    return None


def image_size(stack: Stack, view: ViewState) -> tuple[int, int] | None:
    """(width, height) of the images of this view, for <img> attributes (no layout shift)."""
    limit = current_app.config["VIEWER_MAX_SIZE"]
    if not view.native:
        grid, layout = stack.volume.grid, stack.planes[view.plane]
        assert grid is not None
        return display_size(layout, plane_shape(grid, layout), limit)
    geometry = stack.series.geometry
    box = stack_box(stack)
    if not (box and geometry.rows and geometry.columns):
        return None
    scale = box / max(geometry.rows, geometry.columns)
    return round(geometry.columns * scale), round(geometry.rows * scale)


def _quality(fmt: str) -> int:
    return current_app.config["VIEWER_QUALITY"] if fmt == "jpeg" else 0


def _rendering(stack: Stack, view: ViewState, number: int, fmt: str) -> Rendering:
    item = stack.series.slices[number - 1]
    window = (view.window.centre, view.window.width) if view.window else None
    return Rendering(item.instance, item.frame, box=stack_box(stack), fmt=fmt, quality=_quality(fmt), window=window)


def image_etag(stack: Stack, view: ViewState, number: int, fmt: str) -> str:
    """The ETag of an image, known before anything is rendered (so a 304 costs nothing)."""
    if view.native:
        return _rendering(stack, view, number, fmt).etag
    assert view.window is not None
    return etag_of(plane_key(stack, view.plane, number, view.window, fmt, _quality(fmt)))


def slice_image(stack: Stack, view: ViewState, number: int, fmt: str = "jpeg", store: bool = True) -> Image:
    if view.native:
        return render(_rendering(stack, view, number, fmt), store=store)
    assert view.window is not None
    return render_plane(stack, view.plane, number, view.window, fmt, _quality(fmt), store=store)
