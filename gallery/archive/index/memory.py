"""A compact, in-process index of patients and studies for the list pages.

Orthanc 1.10 cannot sort or count: `/tools/find` answers in hash order with no
total. To show patients A–Z and studies newest first at any archive size, each
gallery process keeps one small row per study and per series, built with two
requests (`/studies?expand`, `/series?expand`) and then kept current from
Orthanc's `/changes` feed. `/changes` records no deletions, so every poll also
compares the counts in `/statistics` with the index and rebuilds on a mismatch.

A warm list page therefore costs at most two cheap Orthanc calls (`/changes`,
`/statistics`), and none within INDEX_POLL_SECONDS of the previous check,
whatever the number of patients.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...dicom.values import fold, format_date, format_name, format_time, is_viewable
from ...orthanc.client import OrthancClient
from ...orthanc.errors import OrthancNotFound
from ..models import PatientRow, Statistics, StudyRow
from ..search import KeyIndex, name_variants

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

CHANGES_PAGE = 1000


@dataclass(frozen=True, slots=True)
class SeriesEntry:
    study: str
    modality: str
    instance_count: int
    middle_instance: str | None

    @property
    def renderable(self) -> bool:
        return is_viewable(self.modality, self.instance_count)


def series_entry(data: dict[str, Any]) -> SeriesEntry:
    instances = data.get("Instances") or []
    return SeriesEntry(
        study=data["ParentStudy"],
        modality=(data.get("MainDicomTags", {}).get("Modality") or "").strip(),
        instance_count=len(instances),
        middle_instance=instances[len(instances) // 2] if instances else None,
    )


def representative_instance(series: Iterable[SeriesEntry]) -> str | None:
    """The middle instance of the study's largest image series (a volume beats a scout)."""
    images = [s for s in series if s.renderable]
    if not images:
        return None
    return max(images, key=lambda s: s.instance_count).middle_instance


def study_row(data: dict[str, Any], series: list[SeriesEntry]) -> StudyRow:
    tags = data.get("MainDicomTags", {})
    patient = data.get("PatientMainDicomTags", {})
    return StudyRow(
        id=data["ID"],
        patient=data["ParentPatient"],
        patient_name=format_name(patient.get("PatientName")),
        patient_id=patient.get("PatientID", ""),
        patient_birth_date=format_date(patient.get("PatientBirthDate")),
        patient_sex=(patient.get("PatientSex") or "").strip(),
        date=format_date(tags.get("StudyDate")),
        time=format_time(tags.get("StudyTime")),
        description=(tags.get("StudyDescription") or "").strip(),
        accession=(tags.get("AccessionNumber") or "").strip(),
        modalities=tuple(sorted({s.modality for s in series if s.modality})),
        series_count=len(data.get("Series") or []),
        instance_count=sum(s.instance_count for s in series),
        thumbnail=representative_instance(series),
    )


@dataclass(frozen=True, slots=True)
class Views:
    """The index sorted for reading, rebuilt after each change; keys are the folded search texts."""

    patients: list[PatientRow]  # A–Z
    studies: list[StudyRow]  # newest first, undated last
    patient_search: KeyIndex
    study_search: KeyIndex
    dates_ascending: list[str]  # dates of the dated studies, reversed: for bisection
    modalities: list[str]


def _sort_date_key(row: StudyRow) -> tuple[bool, str, str]:
    return (bool(row.date), row.date, row.time)


class Catalog:
    """Patients and studies, sorted and searchable, refreshed from Orthanc's change feed."""

    def __init__(
        self,
        client: OrthancClient,
        *,
        poll_seconds: float = 1.0,
        incremental_limit: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.incremental_limit = incremental_limit
        self.clock = clock
        self._lock = threading.Lock()
        self._built = False
        self._last_seq = 0
        self._last_poll = float("-inf")
        self._studies: dict[str, StudyRow] = {}
        self._series: dict[str, SeriesEntry] = {}
        self._statistics = Statistics(0, 0, 0, 0, 0)
        self._stale_studies: set[str] = set()  # rows to refetch: a series of theirs was deleted here
        self._views: Views | None = None
        self._folded: dict[str, str] = {}
        self.rebuilds = 0

    # -- keeping current ---------------------------------------------------

    def invalidate(self) -> None:
        """Force a check of the change feed on the next read (after an upload or delete)."""
        self._last_poll = float("-inf")

    def refresh(self) -> None:
        """Bring the index up to date, at most once per poll interval."""
        if self.clock() - self._last_poll < self.poll_seconds:
            return
        with self._lock:
            if self.clock() - self._last_poll < self.poll_seconds:
                return
            if not self._built or not self._apply_changes() or not self._counts_match():
                self._rebuild()
            self._last_poll = self.clock()

    def build_in_background(self) -> threading.Thread:
        """Build the index in a thread (gunicorn's post_worker_init), so no visitor waits for it.

        A failure (Orthanc down) is only logged: the next request tries again and
        reports 503 as usual, and requests arriving meanwhile wait for the lock.
        """

        def build() -> None:
            try:
                self.refresh()
            except Exception as exc:  # a background thread has no one else to tell
                log.warning("list index warm-up failed: %s", exc)

        thread = threading.Thread(target=build, name="list-index-warm-up", daemon=True)
        thread.start()
        return thread

    def _rebuild(self) -> None:
        started = time.perf_counter()
        last_seq = self.client.get_json("/changes", {"last": ""}).get("Last", 0)
        series = {s["ID"]: series_entry(s) for s in self.client.get_json("/series", {"expand": ""})}
        by_study: dict[str, list[SeriesEntry]] = defaultdict(list)
        for entry in series.values():
            by_study[entry.study].append(entry)
        studies = {
            s["ID"]: study_row(s, by_study.get(s["ID"], [])) for s in self.client.get_json("/studies", {"expand": ""})
        }
        self._studies, self._series, self._last_seq = studies, series, last_seq
        self._built, self._views = True, None
        self._read_statistics()
        self.rebuilds += 1
        log.info(
            "list index rebuilt: %d studies, %d series in %.0f ms",
            len(studies),
            len(series),
            (time.perf_counter() - started) * 1000,
        )

    def _apply_changes(self) -> bool:
        """Fetch what the change feed lists since the last poll; False when a rebuild is cheaper."""
        new_studies: set[str] = set(self._stale_studies)
        new_series: set[str] = set()
        seq = self._last_seq
        while True:
            page = self.client.get_json("/changes", {"since": seq, "limit": CHANGES_PAGE})
            for change in page.get("Changes", []):
                kind = change.get("ChangeType")
                # Stable* arrive StableAge seconds after the last instance: refetching
                # then corrects instance counts of series that grew after they appeared.
                if kind in ("NewStudy", "StableStudy"):
                    new_studies.add(change["ID"])
                elif kind in ("NewSeries", "StableSeries"):
                    new_series.add(change["ID"])
            seq = page.get("Last", seq)
            if len(new_studies) + len(new_series) > self.incremental_limit:
                return False
            if page.get("Done", True):
                break
        for series_id in new_series:
            try:
                entry = series_entry(self.client.get_json(f"/series/{series_id}"))
            except OrthancNotFound:
                continue
            self._series[series_id] = entry
            new_studies.add(entry.study)
        for study_id in new_studies:
            try:
                data = self.client.get_json(f"/studies/{study_id}")
            except OrthancNotFound:
                self._studies.pop(study_id, None)
                continue
            members = [self._series[s] for s in data.get("Series", []) if s in self._series]
            self._studies[study_id] = study_row(data, members)
        self._last_seq = seq
        self._stale_studies.clear()
        if new_studies or new_series:
            self._views = None
        return True

    def _read_statistics(self) -> None:
        data = self.client.get_json("/statistics")
        self._statistics = Statistics(
            patients=int(data.get("CountPatients", 0)),
            studies=int(data.get("CountStudies", 0)),
            series=int(data.get("CountSeries", 0)),
            instances=int(data.get("CountInstances", 0)),
            disk_size=int(data.get("TotalDiskSize", 0)),
        )

    def _counts_match(self) -> bool:
        """Detect deletions, which the change feed does not record.

        Read after the feed: the index may lag Orthanc (new uploads arrive between
        the two calls, the next poll adds them) but can only lead it by deleted rows.
        """
        self._read_statistics()
        stats = self._statistics
        return len(self._studies) <= stats.studies and len(self._series) <= stats.series

    # -- reading (call refresh() first; extensions.catalog() does, once per request) --

    def _sorted_views(self) -> Views:
        views = self._views
        if views is not None:
            return views
        with self._lock:
            # Folding is most of the work: texts folded for the previous views are reused,
            # so re-sorting after a few new studies stays cheap at any archive size.
            previous, folded = self._folded, {}

            def fold_once(text: str) -> str:
                value = previous.get(text)
                folded[text] = value = fold(text) if value is None else value
                return value

            studies = sorted(self._studies.values(), key=_sort_date_key, reverse=True)
            by_patient: dict[str, list[StudyRow]] = defaultdict(list)
            for row in studies:
                by_patient[row.patient].append(row)
            patients = sorted(
                (self._patient_row(rows) for rows in by_patient.values()),
                key=lambda p: (fold_once(p.name), p.patient_id),
            )
            self._views = views = Views(
                patients=patients,
                studies=studies,
                patient_search=KeyIndex(
                    [fold_once("\n".join((*name_variants(p.name), p.patient_id))) for p in patients]
                ),
                study_search=KeyIndex(
                    [
                        fold_once("\n".join((s.description, s.accession, *name_variants(s.patient_name), s.patient_id)))
                        for s in studies
                    ]
                ),
                dates_ascending=[s.date for s in reversed(studies) if s.date],
                modalities=sorted({m for s in studies for m in s.modalities}),
            )
            self._folded = folded
            return views

    @staticmethod
    def _patient_row(studies: list[StudyRow]) -> PatientRow:
        newest = studies[0]
        return PatientRow(
            id=newest.patient,
            name=newest.patient_name,
            patient_id=newest.patient_id,
            birth_date=newest.patient_birth_date,
            sex=newest.patient_sex,
            study_count=len(studies),
            latest_study_date=newest.date,
            thumbnail=next((s.thumbnail for s in studies if s.thumbnail), None),
        )

    def statistics(self) -> Statistics:
        return self._statistics

    def study(self, study_id: str) -> StudyRow | None:
        """One study's row, if the index holds it (the upload report's study cards)."""
        return self._studies.get(study_id)

    def patients(self, query: str = "") -> list[PatientRow]:
        """All patients A–Z by name, optionally filtered by name or patient ID."""
        views = self._sorted_views()
        if not query.strip():
            return views.patients
        return [views.patients[i] for i in views.patient_search.matching(query)]

    def studies(self, query: str = "", modality: str = "", date_from: str = "", date_to: str = "") -> list[StudyRow]:
        """Studies newest first, filtered by text, modality and an ISO date range.

        The date range is found by bisection in the date-sorted list and the text
        by the search index, so neither looks at every study.
        """
        views = self._sorted_views()
        start, stop = 0, len(views.studies)
        if date_from or date_to:
            dates, dated = views.dates_ascending, len(views.dates_ascending)
            start = dated - (bisect_right(dates, date_to) if date_to else dated)
            stop = dated - (bisect_left(dates, date_from) if date_from else 0)
        if query.strip():
            rows = [views.studies[i] for i in views.study_search.matching(query) if start <= i < stop]
        elif (start, stop) == (0, len(views.studies)):
            rows = views.studies
        else:
            rows = views.studies[start:stop]
        return [row for row in rows if modality in row.modalities] if modality else rows

    def modalities(self) -> list[str]:
        return self._sorted_views().modalities

    def forget(self, *, studies: Iterable[str] = (), series: Iterable[str] = ()) -> None:
        """Drop deleted resources at once, so this process needs no rebuild after its own deletes."""
        with self._lock:
            for series_id in series:
                entry = self._series.pop(series_id, None)
                if entry is not None:
                    self._stale_studies.add(entry.study)
            for study_id in studies:
                self._studies.pop(study_id, None)
                for series_id in [k for k, v in self._series.items() if v.study == study_id]:
                    del self._series[series_id]
            self._views = None
        self.invalidate()


def init_catalog(app: Flask) -> None:
    """One list index per app, over the app's Orthanc client (none without ORTHANC_URL)."""
    client = app.extensions.get("orthanc")
    app.extensions["catalog"] = (
        Catalog(
            client,
            poll_seconds=app.config["INDEX_POLL_SECONDS"],
            incremental_limit=app.config["INDEX_INCREMENTAL_LIMIT"],
            clock=time.monotonic,
        )
        if client
        else None
    )
