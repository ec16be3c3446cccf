"""Pure DICOM code: values, geometry, windowing. Never imports Flask (tests/test_layers.py)."""
