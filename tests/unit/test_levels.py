"""The one Level type: every name of a hierarchy level derives from it (issue 13)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from gallery import create_app
from gallery.access.permissions import resource_of
from gallery.archive.levels import MOST_SPECIFIC_FIRST, Level


@pytest.mark.parametrize(
    ("level", "plural", "orthanc_type", "parent", "arg"),
    [
        (Level.PATIENT, "patients", "Patient", None, "patient_id"),
        (Level.STUDY, "studies", "Study", Level.PATIENT, "study_id"),
        (Level.SERIES, "series", "Series", Level.STUDY, "series_id"),
        (Level.INSTANCE, "instances", "Instance", Level.SERIES, "instance_id"),
    ],
)
def test_names_of_a_level(level: Level, plural: str, orthanc_type: str, parent: Level | None, arg: str) -> None:
    assert (level.plural, level.orthanc_type, level.parent, level.arg) == (plural, orthanc_type, parent, arg)
    assert Level.from_plural(plural) is level
    assert Level.from_orthanc_type(orthanc_type) is level
    assert level.path("abc") == f"/{plural}/abc"


def test_unknown_orthanc_type_is_none() -> None:
    assert Level.from_orthanc_type("Frame") is None
    assert Level.from_orthanc_type(None) is None


def test_most_specific_level_names_the_resource() -> None:
    assert MOST_SPECIFIC_FIRST[0] is Level.INSTANCE
    assert resource_of({"study_id": "s", "series_id": "x"}) == (Level.SERIES, "x")
    assert resource_of({"patient_id": "p"}) == ("patient", "p")
    assert resource_of({"page": 2}) is None


def test_labels_follow_the_interface_language() -> None:
    app = create_app({"TESTING": True, "ORTHANC_URL": "", "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        with force_locale("ko"):
            korean = [str(level.label) for level in Level]
        with force_locale("en"):
            english = [str(level.label) for level in Level]
    assert english == ["patient", "study", "series", "instance"]
    assert all(k and k != e for k, e in zip(korean, english, strict=True))
