"""What the viewer shows, read from the query string: plane, slice and window.

The page, its images and its exports all parse the same parameters here, so
a link reopens exactly the same view and every bad value gets the same 4xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, request
from flask_babel import gettext as _

from ...dicom.geometry import PLANES
from ...dicom.windowing import Window, data_window, presets_for, valid_window
from ...imaging.stack import Stack
from ...imaging.voxels import series_stats
from ...web.params import choice_arg, echoed, float_arg, whole_arg
from ...web.vocabulary import term, translated


@dataclass(frozen=True)
class ViewState:
    plane: str  # a name from PLANES, or "" when the series' orientation is unknown
    native: bool  # the acquired slices (rendered by Orthanc) rather than a reformatted plane
    number: int  # 1-based slice number in `plane`
    count: int  # slices in `plane`
    preset: str  # "file", a preset name, or "custom" (wc/ww given)
    window: Window | None  # None: Orthanc decides (the file's window, else each slice's own range)

    def params(self, **changes: Any) -> dict[str, Any]:
        """Query parameters reopening this view (with `changes`), for links and the address bar."""
        values: dict[str, Any] = {"slice": self.number, "plane": self.plane if not self.native else None}
        if self.preset == "custom" and self.window:
            values.update(wc=f"{self.window.centre:g}", ww=f"{self.window.width:g}")
        elif self.preset != "file":
            values["preset"] = self.preset
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}


def _plane(stack: Stack) -> str:
    plane = choice_arg("plane", PLANES, stack.native)
    if plane != stack.native and plane not in stack.planes:
        why = translated(stack.volume.mpr_refusal) or _("the orientation of its slices is unknown")
        abort(
            400,
            _("This series cannot be shown in %(plane)s slices: %(why)s.", plane=term(plane, "orientation"), why=why),
        )
    return plane


def _number(stack: Stack, count: int, native: bool) -> int:
    if count == 0:
        abort(404, _("This series has no images to show."))
    instance = request.args.get("instance", "").strip()
    if instance and native and not request.args.get("slice"):
        # Only compared with the series' own slices, never sent to Orthanc.
        frame = whole_arg("frame") or 0
        for index, item in enumerate(stack.series.slices):
            if item.instance == instance and item.frame == frame:
                return index + 1
        abort(404, _("That instance and frame are not part of this series."))
    number = whole_arg("slice")
    if number is None:
        return (count + 1) // 2
    if not 1 <= number <= count:
        abort(
            404,
            _("There is no slice %(number)s: slices are numbered 1 to %(count)s.", number=echoed(number), count=count),
        )
    return number


def _window(stack: Stack, native: bool) -> tuple[str, Window | None]:
    centre, width = float_arg("wc"), float_arg("ww")
    if centre is not None or width is not None:
        if centre is None or width is None:
            abort(400, _("Give both the window centre 'wc' and the window width 'ww'."))
        if not valid_window(centre, width):
            abort(
                400,
                _(
                    "The window width must be above 0 (and both numbers below 1e9); got wc=%(wc)s, ww=%(ww)s.",
                    wc=f"{centre:g}",
                    ww=f"{width:g}",
                ),
            )
        return "custom", Window(centre, width)
    presets = {p.name: p for p in presets_for(stack.series.modality)}
    name = choice_arg("preset", tuple(presets), "file")
    if presets[name].window:
        return name, presets[name].window
    if name == "file" and (stack.window or native):
        return name, stack.window
    # Data-derived presets, and reformatted planes of files without a window of their own.
    stats = series_stats(stack.series.id, stack.digest, stack.series.slices)
    return name, data_window("full" if name == "file" else name, stats)


def parse_state(stack: Stack) -> ViewState:
    """The requested view of `stack`, validated: 400 for malformed values, 404 for slices that do not exist."""
    plane = _plane(stack)
    native = plane == stack.native
    count = stack.count if native else stack.planes[plane].count
    number = _number(stack, count, native)
    preset, window = _window(stack, native)
    return ViewState(plane=plane, native=native, number=number, count=count, preset=preset, window=window)


def default_view(stack: Stack) -> ViewState:
    """The acquired slices in the file's window: what exports of a whole study use."""
    return ViewState(stack.native, True, 1, stack.count, "file", stack.window)
