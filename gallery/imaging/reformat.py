"""Reformatted (MPR) images: one plane of a series' volume, with physical proportions, windowed, encoded.

The volume is fetched once (gallery/imaging/voxels.py); each image is cut out with
numpy, resampled with Pillow so a pixel is square in millimetres, windowed and
encoded, then cached in Flask-Caching under a key that names everything it
depends on, which doubles as a strong ETag.
"""

from __future__ import annotations

import io

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from PIL import Image as PILImage
from werkzeug.exceptions import Conflict

from ..archive.cache import cache_get, cache_set
from ..dicom.geometry import display_size, reformat
from ..dicom.windowing import Window, apply_window
from ..orthanc.errors import OrthancBadRequest
from .etag import REFORMAT_VERSION, etag_of
from .render import Image
from .stack import Stack
from .voxels import series_volume

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


def plane_key(stack: Stack, plane: str, number: int, window: Window, fmt: str, quality: int) -> str:
    limit = current_app.config["VIEWER_MAX_SIZE"]
    return (
        f"mpr{REFORMAT_VERSION}:{stack.series.id}:{stack.digest}:{plane}:{number}:"
        f"{window.centre:g},{window.width:g}:{fmt}:{quality}:{limit}"
    )


def plane_pixels(stack: Stack, plane: str, number: int) -> np.ndarray:
    """Slice `number` of `plane`, resampled to square millimetre pixels (float32, rescaled units)."""
    grid = stack.volume.grid
    assert grid is not None, "render_plane needs a reformattable stack"
    try:
        volume = series_volume(stack.series.id, stack.digest)
    except OrthancBadRequest as exc:
        raise Conflict(
            _("This series cannot be reformatted: Orthanc could not build its volume (%(reason)s).", reason=exc.message)
        ) from exc
    if volume.shape != grid.shape:
        raise Conflict(_("This series cannot be reformatted: its slices do not all have the same size."))
    layout = stack.planes[plane]
    pixels = reformat(volume, layout, number).astype(np.float32)
    width, height = display_size(layout, pixels.shape, current_app.config["VIEWER_MAX_SIZE"])
    if (height, width) == pixels.shape:
        return pixels
    resized = PILImage.fromarray(np.ascontiguousarray(pixels), mode="F").resize((width, height), PILImage.BILINEAR)
    return np.asarray(resized)


def encode(grey: np.ndarray, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    picture = PILImage.fromarray(grey, mode="L")
    if fmt == "jpeg":
        picture.save(buffer, "JPEG", quality=quality)
    else:
        picture.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


def render_plane(
    stack: Stack, plane: str, number: int, window: Window, fmt: str = "jpeg", quality: int = 90, store: bool = True
) -> Image:
    """The image of slice `number` (1-based) of a reformatted plane, from the cache or the volume."""
    key = plane_key(stack, plane, number, window, fmt, quality)
    cached = cache_get(key)
    if cached is not None:
        return Image(cached, CONTENT_TYPES[fmt], etag_of(key))
    grey = apply_window(plane_pixels(stack, plane, number), window, stack.invert)
    content = encode(grey, fmt, quality)
    if store:
        cache_set(key, content, timeout=current_app.config["IMAGE_TTL"])
    return Image(content, CONTENT_TYPES[fmt], etag_of(key))
