"""Window/level: presets, the file's own window, windows computed from the pixel data, and applying one.

Pure functions over numbers and numpy arrays; the viewer decides which window
a request asks for, Orthanc (stack images) or `apply_window` (reformatted
images) turns it into grey levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .values import Message, parse_numbers, tag_value

#: Labels for people, translated in the web layer (`_l` is the extraction keyword of `make messages`).
_l = Message


@dataclass(frozen=True, slots=True)
class Window:
    centre: float
    width: float

    @property
    def label(self) -> str:
        return f"C {self.centre:g} / W {self.width:g}"


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    label: Message
    window: Window | None = None  # None: computed from the data (`auto`, `full`) or taken from the file


#: Standard CT windows in Hounsfield units (level, width), as taught on Radiopaedia's "Windowing (CT)".
CT_PRESETS = (
    Preset("brain", _l("Brain"), Window(40, 80)),
    Preset("subdural", _l("Subdural"), Window(75, 215)),
    Preset("stroke", _l("Stroke"), Window(40, 40)),
    Preset("bone", _l("Bone"), Window(400, 1800)),
    Preset("lung", _l("Lung"), Window(-600, 1500)),
    Preset("abdomen", _l("Abdomen"), Window(50, 400)),
    Preset("liver", _l("Liver"), Window(30, 150)),
    Preset("mediastinum", _l("Mediastinum"), Window(50, 350)),
)
FILE = Preset("file", _l("From the file"))
DATA_PRESETS = (
    Preset("auto", _l("Auto (0.5–99.5 percentile of the data)")),
    Preset("full", _l("Full range of the data")),
)


def presets_for(modality: str) -> list[Preset]:
    """What the preset menu offers for a modality: the file's window, CT windows for CT, and data-derived ones."""
    return [FILE, *(CT_PRESETS if modality == "CT" else ()), *DATA_PRESETS]


def file_window(tags: dict[str, Any]) -> Window | None:
    """The first WindowCenter/WindowWidth pair of the file (they may be multi-valued), if usable."""
    centres = parse_numbers(tag_value(tags, "0028,1050"))
    widths = parse_numbers(tag_value(tags, "0028,1051"))
    if centres and widths and widths[0] > 0:
        return Window(centres[0], widths[0])
    return None


@dataclass(frozen=True, slots=True)
class Stats:
    """Grey-level statistics of (a sample of) a series, in rescaled units."""

    minimum: float
    maximum: float
    low: float  # 0.5th percentile
    high: float  # 99.5th percentile


def stats_of(values: np.ndarray) -> Stats:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Stats(0.0, 0.0, 0.0, 0.0)
    low, high = np.percentile(finite, [0.5, 99.5])
    return Stats(float(finite.min()), float(finite.max()), float(low), float(high))


def window_between(low: float, high: float) -> Window:
    """The window that maps [low, high] onto black..white (at least 1 unit wide)."""
    width = max(high - low, 1.0)
    return Window(round((low + high) / 2, 3), round(width, 3))


def data_window(preset: str, stats: Stats) -> Window:
    if preset == "auto":
        return window_between(stats.low, stats.high)
    return window_between(stats.minimum, stats.maximum)


def valid_window(centre: float, width: float) -> bool:
    return math.isfinite(centre) and math.isfinite(width) and 0 < width < 1e9 and abs(centre) < 1e9


def apply_window(values: np.ndarray, window: Window, invert: bool = False) -> np.ndarray:
    """DICOM's linear VOI function (PS3.3 C.11.2.1.2) to 8-bit grey; MONOCHROME1 is inverted."""
    centre, width = window.centre, window.width
    if width <= 1:
        scaled = np.where(values >= centre - 0.5, 255.0, 0.0)
    else:
        scaled = ((values - (centre - 0.5)) / (width - 1) + 0.5) * 255.0
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return 255 - grey if invert else grey
