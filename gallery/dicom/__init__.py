"""Pure DICOM code: values, geometry, windowing, de-identification. Never imports Flask (tests/unit/test_layers.py)."""
