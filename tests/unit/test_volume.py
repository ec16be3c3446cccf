"""Volume geometry and reformatting as pure functions, against volumes of known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from gallery.dicom.geometry import describe, display_size, layouts, native_plane, plane_position, reformat, spread
from scripts.synthetic import phantom_volume

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)


def stack(count=40, spacing=2.0, iop=AXIAL, start=(-30.0, -30.0, -40.0), **overrides):
    normal = np.cross(iop[:3], iop[3:])
    positions = [tuple(np.add(start, normal * spacing * k)) for k in range(count)]
    arguments = dict(rows=64, columns=64, pixel_spacing=[0.9375, 0.9375], thickness=spacing, total_bytes=1000)
    arguments.update(overrides)
    return positions, [iop] * count, arguments


def test_a_regular_axial_volume_is_described_and_can_be_reformatted():
    positions, orientations, arguments = stack()
    info = describe(positions, orientations, **arguments)
    assert (info.columns, info.rows, info.slices) == (64, 64, 40)
    assert info.slice_spacing == pytest.approx(2.0) and info.gap_range == pytest.approx((2.0, 2.0))
    assert not info.uneven and info.orientation == "axial" and info.total_bytes == 1000
    assert info.mpr_refusal == "" and info.can_reformat
    assert info.grid.shape == (40, 64, 64) and info.grid.spacing == pytest.approx((2.0, 0.9375, 0.9375))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p, o, a: (p[:1], o[:1], a), "only 1 slice; at least 5 are needed"),
        (lambda p, o, a: ([None] * len(p), o, a), "the slices carry no position (ImagePositionPatient)"),
        (lambda p, o, a: (p[:-1] + [None], o, a), "some slices carry no position"),
        (lambda p, o, a: (p, o[:-1] + [CORONAL], a), "the slices have different orientations"),
        (lambda p, o, a: (p, [None] * len(o), a), "the slices carry no orientation"),
        (lambda p, o, a: (p, o, {**a, "pixel_spacing": []}), "the slices carry no pixel spacing"),
        (lambda p, o, a: ([p[0]] * len(p), o, a), "several slices share one position"),
        (lambda p, o, a: (p, o, {**a, "colour": True}), "colour images are not reformatted"),
        (lambda p, o, a: (p, o, {**a, "pixels": False}), "the series has no pixel data"),
        (lambda p, o, a: (p, o, {**a, "max_voxels": 1000}), "too large to reformat here"),
    ],
)
def test_irregular_series_say_why_they_cannot_be_reformatted(change, reason):
    positions, orientations, arguments = change(*stack())
    info = describe(positions, orientations, **arguments)
    assert info.mpr_refusal.startswith(reason) and not info.can_reformat


def test_uneven_gaps_are_flagged_with_their_range():
    positions, orientations, arguments = stack(count=10)
    positions = positions[:5] + [(x, y, z + 3.0) for x, y, z in positions[5:]]  # one 5 mm gap among 2 mm ones
    info = describe(positions, orientations, **arguments)
    assert info.uneven and info.gap_range == pytest.approx((2.0, 5.0))
    assert info.mpr_refusal == "uneven spacing: 2.0–5.0 mm"


def test_gantry_tilt_is_refused():
    positions, orientations, arguments = stack(count=10)
    positions = [(x, y + 0.5 * k, z) for k, (x, y, z) in enumerate(positions)]
    assert "gantry tilt" in describe(positions, orientations, **arguments).mpr_refusal


def test_reformatted_planes_match_the_voxels_the_radiological_way():
    volume = phantom_volume(32, 12)  # [z, y, x], slices ascending along +z
    positions, orientations, arguments = stack(count=12, rows=32, columns=32)
    grid = describe(positions, orientations, **arguments).grid
    planes = layouts(grid)
    assert native_plane(grid) == "axial"
    sagittal = reformat(volume, planes["sagittal"], 5)
    assert sagittal.shape == (12, 32)  # z down the screen, y across
    assert np.array_equal(sagittal, volume[::-1, :, 4])  # head up, anterior on the left, number 5 = x index 4
    coronal = reformat(volume, planes["coronal"], 7)
    assert np.array_equal(coronal, volume[::-1, 6, :])
    assert np.array_equal(reformat(volume, planes["axial"], 3), volume[2])
    assert planes["sagittal"].count == 32 and planes["axial"].count == 12
    assert plane_position(grid, planes["sagittal"], 1) == "x = -30.0 mm"
    assert plane_position(grid, planes["axial"], 12) == f"z = {-40.0 + 11 * 2.0:.1f} mm"


def test_a_sagittal_acquisition_gets_its_axial_plane_from_the_rows():
    positions, orientations, arguments = stack(count=8, iop=SAGITTAL, rows=16, columns=20)
    grid = describe(positions, orientations, **arguments).grid
    planes = layouts(grid)
    assert native_plane(grid) == "sagittal"
    assert planes["axial"].count == 16  # one axial slice per image row (rows run from head to feet)
    assert planes["axial"].fixed_flip  # rows run towards the feet, axial numbers grow towards the head


def test_display_size_gives_square_millimetres_and_respects_the_limit():
    positions, orientations, arguments = stack()
    sagittal = layouts(describe(positions, orientations, **arguments).grid)["sagittal"]
    width, height = display_size(sagittal, (40, 64), limit=1024)
    assert (width, height) == (64, 85)  # 60 mm across, 80 mm down, at 0.9375 mm per pixel
    assert max(display_size(sagittal, (40, 64), limit=50)) == 50


def test_spread_keeps_both_ends_and_the_order():
    assert spread(40, 6) == [0, 8, 16, 23, 31, 39]
    assert spread(3, 10) == [0, 1, 2]
    assert spread(10, 1) == [5]
