"""One verdict on whether a series has images to show, the same on every page that judges it.

The study page, its JSON and the list index can only see each series' JSON
(modality, instances); the series page also reads its middle file's tags. Before
dicom.is_viewable they judged differently, and a series of CT files stripped of
their pixel data (pydicom's DICOMDIR test set) got a thumbnail and an image export
on its study page but a 404 from the viewer its series page hid.
"""

from __future__ import annotations

import pytest

from gallery.dicom.values import NON_IMAGE_MODALITIES, is_viewable


@pytest.mark.parametrize("modality", sorted(NON_IMAGE_MODALITIES))
def test_non_image_modalities_are_not_viewable(modality):
    assert not is_viewable(modality, 3)
    assert not is_viewable(f" {modality.lower()} ", 3)  # as some files write it


def test_image_series_are_viewable_when_they_hold_instances():
    assert is_viewable("CT", 1) and is_viewable("", 5) and is_viewable(None, 1)
    assert not is_viewable("CT", 0)
