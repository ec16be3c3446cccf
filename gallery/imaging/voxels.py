"""Pixel data as numpy arrays: whole volumes for reformatting, sampled slices for data-derived windows.

Volumes come from Orthanc's `/series/{id}/numpy` (float32, rescaled, in
`ordered-slices` order) and are kept, in the narrowest exact dtype, in an
in-process LRU bounded in bytes (gallery/imaging/lru.py). Not in Flask-Caching: a
volume is tens of megabytes, SimpleCache bounds entries by count, not bytes,
and with Redis every reformatted image would pull the whole volume over the network.
The small things derived from volumes (rendered images, statistics) do go to
Flask-Caching, so processes share them.
"""

from __future__ import annotations

import io

import numpy as np
from flask import Flask, current_app

from ..archive.cache import cache_get, cache_set
from ..archive.models import Slice
from ..dicom.geometry import spread
from ..dicom.windowing import Stats, stats_of
from ..extensions import orthanc
from .failures import CRASH, known
from .lru import LRU

STATS_VERSION = 1


def parse_npy(content: bytes) -> np.ndarray:
    """A read-only array over Orthanc's .npy bytes, without copying them (volumes reach hundreds of MB)."""
    header = io.BytesIO(content)
    version = np.lib.format.read_magic(header)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(header)
    count = int(np.prod(shape))
    array = np.frombuffer(content, dtype=dtype, count=count, offset=header.tell())
    return array.reshape(shape, order="F" if fortran else "C")


def compact(volume: np.ndarray) -> np.ndarray:
    """The same values in int16/uint16 when they are whole numbers in range (half of float32's memory)."""
    if volume.size == 0 or not np.all(np.isfinite(volume)) or not np.array_equal(volume, np.rint(volume)):
        return volume
    low, high = float(volume.min()), float(volume.max())
    for dtype in (np.uint8, np.uint16, np.int16):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return volume.astype(dtype)
    return volume


def init_app(app: Flask) -> None:
    app.extensions["volume_cache"] = LRU(app.config["MPR_CACHE_BYTES"], weigh=lambda volume: volume.nbytes)


def volume_cache() -> LRU[np.ndarray]:
    return current_app.extensions["volume_cache"]


def series_volume(series_id: str, digest: str) -> np.ndarray:
    """The series' voxels [slice, row, column] in slice order, rescaled (e.g. Hounsfield units)."""

    def load() -> np.ndarray:
        array = parse_npy(orthanc().get_binary(f"/series/{series_id}/numpy").content)
        return compact(array[..., 0] if array.ndim == 4 else array)

    return volume_cache().get(f"{series_id}:{digest}", load)


def sample(slices: list[Slice], count: int) -> list[Slice]:
    """At most `count` slices spread evenly from first to last (always the same ones for a series)."""
    return [slices[index] for index in spread(len(slices), count)]


def series_stats(series_id: str, digest: str, slices: list[Slice]) -> Stats:
    """Grey-level statistics of up to VIEWER_STATS_SAMPLES slices: a fixed number of small Orthanc calls.

    Sampled rather than the whole volume so that `auto` and `full` windows cost
    the same for 20 or 2,000 slices and do not depend on what happens to be cached.
    """
    key = f"stats{STATS_VERSION}:{series_id}:{digest}"
    cached = cache_get(key)
    if cached is not None:
        return Stats(*cached)
    arrays = []
    # Frames recorded as having made Orthanc fail are not decoded again (gallery/imaging/failures.py).
    usable = [item for item in slices if known(item.instance, item.frame) != CRASH]
    for item in sample(usable, current_app.config["VIEWER_STATS_SAMPLES"]):
        content = orthanc().get_binary(f"/instances/{item.instance}/frames/{item.frame}/numpy").content
        arrays.append(parse_npy(content).ravel())
    stats = stats_of(np.concatenate(arrays)) if arrays else Stats(0.0, 0.0, 0.0, 0.0)
    cache_set(key, (stats.minimum, stats.maximum, stats.low, stats.high), timeout=current_app.config["IMAGE_TTL"])
    return stats
