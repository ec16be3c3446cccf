"""The one syncer that keeps the index current (stub: the syncer engineer replaces this module)."""

from __future__ import annotations

from collections.abc import Iterable


def index_studies_now(study_ids: Iterable[str]) -> None:
    """Index these studies at once (uploads): fetch them from Orthanc and upsert them."""
    raise NotImplementedError
