"""The four levels of Orthanc's hierarchy, in one place: how each is named in URLs, in Orthanc and to people.

Patient > study > series > instance. A level's plural is both the gallery's URL segment and
Orthanc's REST collection (`/studies/{id}`); its view argument (`study_id`) is what views and
the access checks use to tell which resource a request is about.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


class Level(StrEnum):
    PATIENT = "patient"
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"

    @property
    def plural(self) -> str:
        """URL segment of the gallery and Orthanc's REST collection: `patients`, `studies`, `series`, `instances`."""
        return _PLURALS[self]

    @property
    def orthanc_type(self) -> str:
        """Orthanc's resource type (`/tools/lookup`, `RemainingAncestor`): `Patient`, `Study`, ..."""
        return self.value.capitalize()

    @property
    def parent(self) -> Level | None:
        index = list(Level).index(self)
        return list(Level)[index - 1] if index else None

    @property
    def arg(self) -> str:
        """The view argument naming a resource of this level: `study_id`."""
        return f"{self.value}_id"

    @property
    def label(self) -> LazyString:
        """The level's name in the interface language."""
        return _LABELS[self]

    def path(self, resource_id: str) -> str:
        """Orthanc's REST path of one resource (`resource_id` validated by the caller)."""
        return f"/{self.plural}/{resource_id}"

    @classmethod
    def from_plural(cls, plural: str) -> Level:
        return next(level for level in cls if level.plural == plural)

    @classmethod
    def from_orthanc_type(cls, orthanc_type: str | None) -> Level | None:
        return next((level for level in cls if level.orthanc_type == orthanc_type), None)


_PLURALS = {Level.PATIENT: "patients", Level.STUDY: "studies", Level.SERIES: "series", Level.INSTANCE: "instances"}
_LABELS = {
    Level.PATIENT: _l("patient"),
    Level.STUDY: _l("study"),
    Level.SERIES: _l("series"),
    Level.INSTANCE: _l("instance"),
}
#: Most specific first: the order in which a request's view arguments are read.
MOST_SPECIFIC_FIRST = tuple(reversed(Level))
