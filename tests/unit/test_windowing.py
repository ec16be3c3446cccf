"""Window presets, the file's window, windows from data, and the VOI function."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gallery.dicom.windowing import (
    CT_PRESETS,
    Stats,
    Window,
    apply_window,
    data_window,
    file_window,
    presets_for,
    stats_of,
    valid_window,
)


def tags(centre: str, width: str) -> dict:
    return {"0028,1050": {"Type": "String", "Value": centre}, "0028,1051": {"Type": "String", "Value": width}}


def test_ct_gets_the_radiology_presets_and_mr_only_data_ones():
    ct = [p.name for p in presets_for("CT")]
    assert ct == [
        "file",
        "brain",
        "subdural",
        "stroke",
        "bone",
        "lung",
        "abdomen",
        "liver",
        "mediastinum",
        "auto",
        "full",
    ]
    assert [p.name for p in presets_for("MR")] == ["file", "auto", "full"]
    by_name = {p.name: p.window for p in CT_PRESETS}
    assert by_name["brain"] == Window(40, 80) and by_name["lung"] == Window(-600, 1500)


def test_the_file_window_takes_the_first_of_several_values():
    assert file_window(tags("40\\400", "80\\2000")) == Window(40, 80)
    assert file_window(tags("600", "1200")) == Window(600, 1200)
    assert file_window(tags("40", "0")) is None  # a zero width is unusable
    assert file_window({}) is None


def test_data_windows_come_from_percentiles_or_the_full_range():
    values = np.arange(1001, dtype=np.float32)  # 0..1000
    stats = stats_of(values)
    assert (stats.minimum, stats.maximum) == (0, 1000)
    assert data_window("full", stats) == Window(500, 1000)
    auto = data_window("auto", stats)
    assert auto.centre == pytest.approx(500) and auto.width == pytest.approx(990)
    assert data_window("full", Stats(7, 7, 7, 7)).width == 1  # a flat image still gets a usable window


@pytest.mark.parametrize(
    ("centre", "width", "ok"),
    [(40, 80, True), (0, 0, False), (0, -1, False), (math.nan, 80, False), (40, math.inf, False), (1e12, 5, False)],
)
def test_valid_window(centre, width, ok):
    assert valid_window(centre, width) is ok


def test_apply_window_follows_dicom_linear_voi():
    values = np.array([-1000.0, 0.0, 39.5, 80.0, 1000.0])
    grey = apply_window(values, Window(40, 80))
    assert grey[0] == 0 and grey[-1] == 255 and grey[1] == 0 and grey[3] == 255
    assert grey[2] == 128  # the centre is mid-grey
    assert list(apply_window(values, Window(40, 80), invert=True)) == [255 - g for g in grey]
