"""Volume geometry of a series, and reformatting its voxels into axial, coronal and sagittal planes.

Pure functions and dataclasses: the slice positions and orientations come in
(from Orthanc, see gallery/imaging/stack.py), facts and numpy arrays go out, so every
rule here is unit-tested without a server.

Coordinates are DICOM patient coordinates (LPS: +x towards the patient's left,
+y posterior, +z head). Reformatted planes are shown the radiological way:
axial seen from the feet (patient's right on the left, anterior up), coronal
seen from the front (head up), sagittal seen from the patient's left (anterior
on the left, head up). Slice numbers in a reformatted plane grow along +x
(sagittal), +y (coronal) or +z (axial).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .values import Message, orientation_label

#: Messages for people, translated in the web layer (the names are the extraction keywords of `make messages`).
_l = _ln = Message

Vector = tuple[float, float, float]

#: Slices may be this far (mm) or this fraction of the spacing apart from perfectly even.
GAP_TOLERANCE_MM = 0.05
GAP_TOLERANCE_RATIO = 0.01
#: Orientation cosines may differ this much between slices of one volume.
ORIENTATION_TOLERANCE = 1e-3

PLANES = ("axial", "coronal", "sagittal")
#: For each plane: its normal (LPS axis), the screen's rightward and downward directions.
_SCREEN = {
    "axial": (2, (1, 0, 0), (0, 1, 0)),
    "coronal": (1, (1, 0, 0), (0, 0, -1)),
    "sagittal": (0, (0, 1, 0), (0, 0, -1)),
}
_AXIS_NAMES = "xyz"


@dataclass(frozen=True, slots=True)
class Grid:
    """The voxel grid of a regular volume, numpy order (slice k, row j, column i)."""

    shape: tuple[int, int, int]
    origin: Vector  # centre of the first voxel of the first slice
    axes: tuple[Vector, Vector, Vector]  # unit vectors along k, j, i
    spacing: tuple[float, float, float]  # mm along k, j, i


@dataclass(frozen=True)
class VolumeInfo:
    """What a person wants to know about a series as a volume, and whether it can be reformatted."""

    columns: int | None
    rows: int | None
    slices: int
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns), DICOM order
    thickness: float | None
    slice_spacing: float | None  # median distance between neighbouring slices
    gap_range: tuple[float, float] | None  # smallest and largest distance
    uneven: bool
    orientation: str
    total_bytes: int
    mpr_refusal: str  # why MPR is not offered; "" when it is
    grid: Grid | None = None

    @property
    def can_reformat(self) -> bool:
        return self.grid is not None

    @property
    def voxels(self) -> int:
        return (self.columns or 0) * (self.rows or 0) * self.slices


@dataclass(frozen=True, slots=True)
class Layout:
    """How one reformatted plane is cut out of a Grid: which numpy axes, which way round."""

    plane: str
    fixed: int  # numpy axis held constant (0 = acquired slices)
    fixed_flip: bool  # slice number 1 is the last index along `fixed`
    down: int
    down_flip: bool
    across: int
    across_flip: bool
    count: int  # slices in this plane
    spacing: float  # mm between slices of this plane
    pixel: tuple[float, float]  # mm per voxel (down, across)

    @property
    def native(self) -> bool:
        return self.fixed == 0


def _unit(v: Sequence[float]) -> Vector | None:
    length = math.sqrt(sum(c * c for c in v))
    return (v[0] / length, v[1] / length, v[2] / length) if length > 1e-9 else None


def _cross(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _main_axis(v: Sequence[float]) -> int:
    return max(range(3), key=lambda a: abs(v[a]))


def _same_orientation(orientations: Sequence[Sequence[float]]) -> bool:
    first = orientations[0]
    return all(
        all(abs(a - b) <= ORIENTATION_TOLERANCE for a, b in zip(first, other, strict=True)) for other in orientations
    )


def _gap_text(low: float, high: float) -> str:
    return f"{low:.1f} mm" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f} mm"


@dataclass(frozen=True, slots=True)
class _Spacing:
    gaps: list[float]
    sheared: bool

    @property
    def median(self) -> float | None:
        return statistics.median(self.gaps) if self.gaps else None

    @property
    def range(self) -> tuple[float, float] | None:
        return (min(self.gaps), max(self.gaps)) if self.gaps else None

    @property
    def uneven(self) -> bool:
        if not self.gaps or not self.median:
            return False
        low, high = min(self.gaps), max(self.gaps)
        return high - low > max(GAP_TOLERANCE_MM, GAP_TOLERANCE_RATIO * self.median)


def _spacing(positions: Sequence[Vector], normal: Vector) -> _Spacing:
    """Distances between neighbouring slices along the normal, and whether they also move sideways."""
    depths = [_dot(p, normal) for p in positions]
    gaps = [abs(b - a) for a, b in itertools.pairwise(depths)]
    sheared = False
    for a, b in itertools.pairwise(positions):
        step = [y - x for x, y in zip(a, b, strict=True)]
        along = _dot(step, normal)
        sideways = math.sqrt(max(_dot(step, step) - along * along, 0.0))
        sheared = sheared or sideways > max(GAP_TOLERANCE_MM, GAP_TOLERANCE_RATIO * abs(along))
    return _Spacing(gaps, sheared)


def describe(
    positions: Sequence[Sequence[float] | None],
    orientations: Sequence[Sequence[float] | None],
    *,
    rows: int | None,
    columns: int | None,
    pixel_spacing: Sequence[float],
    thickness: float | None,
    total_bytes: int,
    pixels: bool = True,
    colour: bool = False,
    min_slices: int = 5,
    max_voxels: int = 64 * 1024**2,
) -> VolumeInfo:
    """Volume facts from per-slice positions and orientations (in slice order), plus MPR eligibility.

    `orientations` holds the 6 ImageOrientationPatient cosines per slice (None if unknown).
    """
    count = len(positions)
    known_orientations = [tuple(o) for o in orientations if o is not None and len(o) == 6]
    iop = known_orientations[0] if known_orientations else None
    pixel = tuple(pixel_spacing[:2]) if len(pixel_spacing) >= 2 and min(pixel_spacing[:2]) > 0 else None
    row_dir, col_dir = (_unit(iop[:3]), _unit(iop[3:])) if iop else (None, None)
    normal = _unit(_cross(row_dir, col_dir)) if row_dir and col_dir else None
    known = [(p[0], p[1], p[2]) for p in positions if p is not None and len(p) == 3]
    spacing = _spacing(known, normal) if normal and len(known) == count else _Spacing([], False)

    checks = [
        (not pixels, _l("the series has no pixel data")),
        (colour, _l("colour images are not reformatted")),
        (
            count < min_slices,
            _ln(
                "only %(num)s slice; at least %(needed)s are needed",
                "only %(num)s slices; at least %(needed)s are needed",
                count,
                needed=min_slices,
            ),
        ),
        (not known, _l("the slices carry no position (ImagePositionPatient)")),
        (len(known) < count, _l("some slices carry no position (ImagePositionPatient)")),
        (
            not normal or len(known_orientations) < count,
            _l("the slices carry no orientation (ImageOrientationPatient)"),
        ),
        (not _same_orientation(known_orientations or [()]), _l("the slices have different orientations")),
        (not pixel, _l("the slices carry no pixel spacing, so their proportions are unknown")),
        (not rows or not columns, _l("the image size is unknown")),
        (bool(spacing.range and spacing.range[0] <= GAP_TOLERANCE_MM), _l("several slices share one position")),
        (spacing.uneven, _l("uneven spacing: %(gaps)s", gaps=_gap_text(*spacing.range)) if spacing.range else ""),
        (spacing.sheared, _l("the slices are shifted sideways (gantry tilt), which needs resampling")),
        (
            (columns or 0) * (rows or 0) * count > max_voxels,
            _l(
                "too large to reformat here (%(voxels)s million voxels, limit %(limit)s)",
                voxels=f"{(columns or 0) * (rows or 0) * count / 1e6:.0f}",
                limit=f"{max_voxels / 1e6:.0f}",
            ),
        ),
    ]
    refusal = next((reason for failed, reason in checks if failed), "")
    grid = None
    if not refusal and normal and row_dir and col_dir and pixel and spacing.median and rows and columns:
        sign = 1.0 if _dot(known[-1], normal) >= _dot(known[0], normal) else -1.0
        grid = Grid(
            shape=(count, rows, columns),
            origin=known[0],
            axes=((normal[0] * sign, normal[1] * sign, normal[2] * sign), col_dir, row_dir),
            spacing=(spacing.median, pixel[0], pixel[1]),
        )
    return VolumeInfo(
        columns=columns,
        rows=rows,
        slices=count,
        pixel_spacing=pixel,
        thickness=thickness,
        slice_spacing=spacing.median,
        gap_range=spacing.range,
        uneven=spacing.uneven,
        orientation=orientation_label(list(iop)) if iop else "",
        total_bytes=total_bytes,
        mpr_refusal=refusal,
        grid=grid,
    )


def _assignment(grid: Grid) -> tuple[int, int, int]:
    """For each numpy axis (k, j, i), the LPS axis it runs closest to, one each (best permutation)."""
    weights = [[abs(c) for c in axis] for axis in grid.axes]
    return max(itertools.permutations(range(3)), key=lambda p: sum(weights[a][p[a]] for a in range(3)))


def layouts(grid: Grid) -> dict[str, Layout]:
    """The three planes of a grid, each cut along the numpy axis closest to the plane's normal."""
    lps_of = _assignment(grid)
    numpy_axis = {lps: axis for axis, lps in enumerate(lps_of)}
    result = {}
    for plane in PLANES:
        normal, right, down = _SCREEN[plane]
        fixed = numpy_axis[normal]
        across = numpy_axis[_main_axis(right)]
        downward = numpy_axis[_main_axis(down)]
        result[plane] = Layout(
            plane=plane,
            fixed=fixed,
            fixed_flip=grid.axes[fixed][normal] < 0,
            down=downward,
            down_flip=_dot(grid.axes[downward], down) < 0,
            across=across,
            across_flip=_dot(grid.axes[across], right) < 0,
            count=grid.shape[fixed],
            spacing=grid.spacing[fixed],
            pixel=(grid.spacing[downward], grid.spacing[across]),
        )
    return result


def native_plane(grid: Grid) -> str:
    return next(name for name, layout in layouts(grid).items() if layout.native)


def reformat(volume: np.ndarray, layout: Layout, number: int) -> np.ndarray:
    """Slice `number` (1-based) of `layout` as a 2-D array (rows down the screen), voxels unchanged."""
    index = layout.count - number if layout.fixed_flip else number - 1
    image = np.moveaxis(volume, (layout.fixed, layout.down, layout.across), (0, 1, 2))[index]
    if layout.down_flip:
        image = image[::-1, :]
    if layout.across_flip:
        image = image[:, ::-1]
    return image


def display_size(layout: Layout, shape: tuple[int, int], limit: int) -> tuple[int, int]:
    """(width, height) giving square pixels at the finer spacing, never larger than `limit`."""
    height, width = shape
    finest = min(layout.pixel)
    out_w, out_h = width * layout.pixel[1] / finest, height * layout.pixel[0] / finest
    scale = min(1.0, limit / max(out_w, out_h))
    return max(1, round(out_w * scale)), max(1, round(out_h * scale))


def plane_shape(grid: Grid, layout: Layout) -> tuple[int, int]:
    """(rows, columns) of an un-resampled reformatted image."""
    return grid.shape[layout.down], grid.shape[layout.across]


def plane_position(grid: Grid, layout: Layout, number: int) -> str:
    """Where slice `number` of a plane lies, e.g. "x = 12.5 mm"."""
    index = layout.count - number if layout.fixed_flip else number - 1
    axis = grid.axes[layout.fixed]
    point = [o + index * grid.spacing[layout.fixed] * a for o, a in zip(grid.origin, axis, strict=True)]
    normal = _SCREEN[layout.plane][0]
    return f"{_AXIS_NAMES[normal]} = {point[normal]:.1f} mm"


def spread(total: int, count: int) -> list[int]:
    """At most `count` indices from 0 to total-1, evenly spread and always including both ends."""
    if total <= count:
        return list(range(total))
    if count == 1:
        return [total // 2]
    step = (total - 1) / (count - 1)
    return [round(i * step) for i in range(count)]
