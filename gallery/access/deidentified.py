"""What a de-identified share link shows and sends (issue 15).

Through a link created de-identified:
- each patient is a pseudonym numbered on first sight within the link ("Case 1", "Case 2"), kept in
  share_subjects so it never changes while the link lives;
- every date is shifted by the link's own random number of days, so intervals survive;
- every UID is remapped with the link's secret, the same way in pages and in files (dicom/deidentify.py);
- the tag table keeps only what the PS3.15 Basic Profile keeps (dates shifted, UIDs remapped);
- names, IDs, birth dates, sex, accession numbers, institutions, physicians and descriptions are not shown;
- series whose BurnedInAnnotation is YES are left out, unless the link's creator included them.

Pages and their JSON pass through `show()` in web/responses.respond, the one place every page is
rendered; DICOM downloads are rewritten by `dicom_bytes()` with pydicom, in the gallery, so Orthanc
stores nothing new and is asked only for the original files.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from flask import abort, g
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..archive import models
from ..archive.loaders import cached_json, instance_tags, load_instance, load_study, parent_series, series_instances
from ..archive.paging import Page
from ..dicom.deidentify import (
    NotDicom,
    Recipe,
    burned_in,
    deidentify_file,
    remap_uid,
    shift_date,
    shift_datetime,
    tag_action,
)
from ..dicom.values import tag_value
from ..extensions import db, orthanc
from ..orthanc.errors import OrthancError
from ..store.models import ShareLink, ShareSubject

#: What may not stand in a ZIP entry's folder name (values come from the files).
UNSAFE_NAME = re.compile(r"[^0-9A-Za-z_-]+")
#: Where BurnedInAnnotation is, in Orthanc's tag JSON.
BURNED_IN_TAG = "0028,0301"


def recipe_of(share: ShareLink) -> Recipe:
    return Recipe(
        secret=bytes.fromhex(share.secret), day_shift=share.day_shift, include_burned_in=share.include_burned_in
    )


def burned_in_series(series_id: str) -> bool:
    """Whether the series says its pixels carry burned-in text (read from its first instance, cached)."""
    instances = cached_json(f"/series/{series_id}").get("Instances") or []
    return bool(instances) and burned_in(tag_value(instance_tags(instances[0]), BURNED_IN_TAG))


@dataclass
class Lens:
    """One de-identified link, as one request sees it: pseudonyms are read (or numbered) once per patient.

    It holds plain values, not the link's row, so a ZIP still being streamed after the request can use it.
    """

    share_id: int
    recipe: Recipe
    _cases: dict[str, int] = field(default_factory=dict)
    _made: dict[int, Any] = field(default_factory=dict)  # what show() produced (kept alive, so ids stay unique)

    # -- the pieces ---------------------------------------------------------------------

    def case(self, patient: str) -> int:
        """The patient's number within the link (1, 2, ...), given on first sight and kept."""
        if patient not in self._cases:
            key = hmac.new(self.recipe.secret, patient.encode(), hashlib.sha256).hexdigest()
            self._cases[patient] = _number(self.share_id, key)
        return self._cases[patient]

    def subject(self, patient: str) -> str:
        """The pseudonym written into DICOM files: the same in every language."""
        return f"Case {self.case(patient)}"

    def label(self, patient: str) -> str:
        """The pseudonym pages show, in the visitor's language."""
        return _("Case %(number)s", number=self.case(patient))

    def date(self, value: str) -> str:
        return shift_date(value, self.recipe.day_shift)

    def original_date(self, value: str) -> str:
        """A date the visitor typed (shifted), as the archive holds it: for filters."""
        return shift_date(value, -self.recipe.day_shift) if value else ""

    def uid(self, value: str) -> str:
        return remap_uid(value, self.recipe.secret)

    def hides(self, series_id: str) -> bool:
        """Whether this link leaves the series out (burned-in text the creator did not include)."""
        return not self.recipe.include_burned_in and burned_in_series(series_id)

    def shows_image(self, instance_id: str) -> bool:
        """Whether a card may use this instance as its picture (not one of a left-out series).

        Unknown while Orthanc is unavailable: then no picture, and the list still answers from the index.
        """
        if self.recipe.include_burned_in:
            return True
        try:
            return not self.hides(parent_series(instance_id))
        except OrthancError:
            return False

    # -- domain objects -----------------------------------------------------------------

    def show(self, value: Any) -> Any:
        """`value` as the link may show it: domain objects rewritten, containers walked, the rest as is."""
        if isinstance(value, list):
            return [self.show(v) for v in value]
        if isinstance(value, Page):
            return replace(value, items=self.show(value.items))
        rewrite = REWRITES.get(type(value))
        if rewrite is None or id(value) in self._made:
            return value  # not a domain object, or rewritten already (dates must not shift twice)
        result = rewrite(self, value)
        self._made[id(result)] = result
        return result

    def patient_ref(self, ref: models.PatientRef) -> models.PatientRef:
        return models.PatientRef(id="", name=self.label(ref.id), patient_id="")

    def study_ref(self, ref: models.StudyRef) -> models.StudyRef:
        return models.StudyRef(id=ref.id, date=self.date(ref.date), description="")

    def study_row(self, row: models.StudyRow) -> models.StudyRow:
        return replace(
            row,
            patient="",
            patient_name=self.label(row.patient),
            patient_id="",
            patient_birth_date="",
            patient_sex="",
            date=self.date(row.date),
            description="",
            accession="",
            thumbnail=row.thumbnail if row.thumbnail and self.shows_image(row.thumbnail) else None,
        )

    def study(self, study: models.Study) -> models.Study:
        return replace(
            study,
            uid=self.uid(study.uid),
            date=self.date(study.date),
            description="",
            accession="",
            study_id="",
            referring_physician="",
            institution="",
            patient=self.patient_ref(study.patient),
            series=[replace(card, description="") for card in study.series if not self.hides(card.id)],
        )

    def series(self, series: models.Series) -> models.Series:
        return replace(
            series,
            uid=self.uid(series.uid),
            description="",
            date=self.date(series.date),
            protocol="",
            patient=self.patient_ref(series.patient),
            study=self.study_ref(series.study),
        )

    def instance(self, instance: models.Instance) -> models.Instance:
        return replace(
            instance,
            uid=self.uid(instance.uid),
            patient=self.patient_ref(instance.patient),
            study=self.study_ref(instance.study),
            series=replace(instance.series, description=""),
            tags=self.tags(instance.tags, instance.patient.id),
        )

    def tags(self, tags: list[models.Tag], patient: str) -> list[models.Tag]:
        """The tag table as the Basic Profile leaves it; a removed sequence takes its items with it."""
        shown: list[models.Tag] = []
        removed_depth: int | None = None
        for tag in tags:
            if removed_depth is not None and tag.depth > removed_depth:
                continue
            removed_depth = None
            action = tag_action(int(tag.tag[:4], 16), int(tag.tag[5:9], 16))
            if action == "subject":
                shown.append(replace(tag, value=self.subject(patient)))
            elif action == "uid":
                shown.append(replace(tag, value=self.uid(tag.value)))
            elif action == "date":
                shifted = (
                    self.date(tag.value) if len(tag.value) == 8 else shift_datetime(tag.value, self.recipe.day_shift)
                )
                shown.append(replace(tag, value=shifted))
            elif action == "keep":
                shown.append(tag)
            else:
                removed_depth = tag.depth
        return shown

    # -- files --------------------------------------------------------------------------

    def dicom_bytes(self, instance_id: str, patient: str) -> bytes:
        """One DICOM file from Orthanc, de-identified in the gallery with pydicom."""
        original = orthanc().get_binary(f"/instances/{instance_id}/file").content
        return deidentify_file(original, self.recipe, self.subject(patient))

    def instance_file(self, instance_id: str) -> tuple[str, bytes]:
        """(file name, de-identified file) of one instance; a file pydicom cannot read is refused, never sent."""
        instance = load_instance(instance_id)
        try:
            content = self.dicom_bytes(instance_id, instance.patient.id)
        except NotDicom:
            abort(403, _("This file cannot be de-identified (pydicom cannot read it), so this link does not offer it."))
        return f"{self.uid(instance.uid) or instance_id}.dcm", content

    def dicom_entries(self, study_ids: list[str], series_ids: list[str] | None = None) -> Iterator[tuple[str, bytes]]:
        """(path, file) of every instance the link shows: Case_N/date_study/modality_series/UID.dcm.

        `series_ids` narrows a study to some of its series (a series link).
        """
        left_out: list[str] = []
        for number, study_id in enumerate(study_ids, start=1):
            study = load_study(study_id)
            patient = study.patient.id
            folder = f"{self.subject(patient).replace(' ', '_')}/{number:02d}_{self.date(study.date) or 'study'}"
            for card in study.series:
                if (series_ids is not None and card.id not in series_ids) or self.hides(card.id):
                    continue
                series_folder = UNSAFE_NAME.sub("_", f"{card.modality}_{card.number}").strip("_") or "series"
                for entry in series_instances(card.id):
                    uid = self.uid(entry.get("MainDicomTags", {}).get("SOPInstanceUID", "")) or entry["ID"]
                    path = f"{folder}/{series_folder}/{uid}.dcm"
                    try:
                        yield path, self.dicom_bytes(entry["ID"], patient)
                    except NotDicom:
                        left_out.append(path)
        if left_out:  # said in the ZIP itself: a file that cannot be de-identified is never sent as it is
            note = "These files could not be read for de-identification and were left out:\n" + "\n".join(left_out)
            yield "LEFT-OUT.txt", note.encode()


REWRITES = {
    models.PatientRef: Lens.patient_ref,
    models.StudyRef: Lens.study_ref,
    models.StudyRow: Lens.study_row,
    models.Study: Lens.study,
    models.Series: Lens.series,
    models.Instance: Lens.instance,
    models.SeriesRef: lambda lens, ref: replace(ref, description=""),
    models.SeriesCard: lambda lens, card: replace(card, description=""),
    models.Patient: lambda lens, patient: models.Patient(lens.patient_ref(patient.ref), lens.show(patient.studies)),
}


def _number(share_id: int, key: str) -> int:
    """The subject's number in the link, numbering it next if new (two requests at once: one wins, both agree)."""
    where = (ShareSubject.share_id == share_id, ShareSubject.subject_key == key)
    for _attempt in range(5):
        known = db.session.scalar(select(ShareSubject.number).where(*where))
        if known is not None:
            return known
        latest = db.session.scalar(select(func.max(ShareSubject.number)).where(ShareSubject.share_id == share_id))
        db.session.add(ShareSubject(share_id=share_id, subject_key=key, number=(latest or 0) + 1))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not number a share subject")  # five lost races in a row


def lens() -> Lens | None:
    """The de-identified link this request is served through, if any (kept in `g`; see web/downloads.py)."""
    if "lens" not in g:
        share = g.get("share")
        g.lens = Lens(share.id, recipe_of(share)) if share is not None and share.deidentified else None
    return g.lens


def shown(value: Any) -> Any:
    """`value` as this request may show it: rewritten through a de-identified link, unchanged otherwise."""
    current = lens()
    return current.show(value) if current else value
