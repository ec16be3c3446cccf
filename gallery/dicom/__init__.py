"""Pure DICOM code: values, geometry, windowing. Never imports Flask (tests/unit/test_layers.py)."""
