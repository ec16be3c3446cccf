"""De-identification of DICOM files for de-identified share links (issue 15).

DICOM PS3.15 Annex E: the Basic Application Level Confidentiality Profile with the Retain
Longitudinal Temporal Information with Modified Dates Option, done in the gallery with pydicom so
that UIDs are remapped per link (Orthanc's `/anonymize` keeps no per-link mapping). Table E.1-1
comes as data from the `dicom-anonymizer` package (only its tables; its anonymize functions keep
a process-wide UID map, wrong for per-link remapping). Pure: no Flask, no Orthanc.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from io import BytesIO

import pydicom
from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .values import parse_dicom_date

#: The edition of PS3.15 Table E.1-1 in dicom-anonymizer that the actions follow.
TABLE_EDITION = "dicomfields_2026c"

KEEP, REMOVE, UID, DATE, SUBJECT = "keep", "remove", "uid", "date", "subject"

#: Patient's Name and Patient ID carry the link's pseudonym ("Case 2") instead.
SUBJECT_TAGS = frozenset({(0x0010, 0x0010), (0x0010, 0x0020)})
#: Birth date and time are removed, not shifted: with the shifted study dates they would give the age,
#: which only the Retain Patient Characteristics Option keeps.
BIRTH_TAGS = frozenset({(0x0010, 0x0030), (0x0010, 0x0032)})
#: Root of the UIDs the standard itself defines (classes, transfer syntaxes, well-known frames of reference).
STANDARD_UID_ROOT = "1.2.840.10008."
TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})
#: DeidentificationMethodCodeSequence entries (CID 7050), scheme DCM.
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)

_DA = re.compile(r"\d{4}(-?)\d{2}\1\d{2}")
_DT_REST = re.compile(r"(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?([+-]\d{4})?")


#: What pydicom raises on bytes it cannot parse (at reading, or later for lazily read sequences).
_UNREADABLE = (InvalidDicomError, EOFError, OSError, ValueError, KeyError, NotImplementedError, struct.error)


class NotDicom(ValueError):
    """The bytes are not a DICOM file pydicom can read (no preamble and DICM prefix, or broken)."""


@dataclass(frozen=True)
class Recipe:
    """How one share link de-identifies: the same recipe gives the same output."""

    secret: bytes  # per-link key (32 random bytes): UIDs are remapped through HMAC with it
    day_shift: int  # days added to every date and datetime (negative = earlier); intervals survive
    include_burned_in: bool = False  # informational here; callers decide what to exclude


def remap_uid(uid: str, secret: bytes) -> str:
    """`2.25.<decimal of 128 bits of HMAC-SHA256(secret, uid)>`: stable within a link, unlinkable across links.

    A UUID-derived UID (PS3.5 B.2): at most 44 characters, no leading zeros in a component.
    """
    uid = (uid or "").strip(" \0")
    if not uid:
        return ""
    digest = hmac.new(secret, uid.encode("ascii", "replace"), hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def shift_date(value: str, days: int) -> str:
    """A DA `YYYYMMDD` (or ISO `YYYY-MM-DD`, as pages show it) moved by `days`, in the format given; else ""."""
    text = (value or "").strip(" \0")
    parsed = parse_dicom_date(text) if _DA.fullmatch(text) else None
    if parsed is None:
        return ""
    try:
        moved = parsed + timedelta(days=days)
    except OverflowError:
        return ""
    sep = "-" if "-" in text else ""
    return f"{moved.year:04d}{sep}{moved.month:02d}{sep}{moved.day:02d}"


def shift_datetime(value: str, days: int) -> str:
    """A DT moved by `days`: its date part shifts, its time and UTC offset stay; "" if invalid.

    A DT with less than a full date (`YYYY`, `YYYYMM`) cannot move by days faithfully and gives "".
    """
    text = (value or "").strip(" \0")
    if not _DT_REST.fullmatch(text[8:]):
        return ""
    day = shift_date(text[:8], days)
    return day + text[8:] if day else ""


def burned_in(value: object) -> bool:
    """Whether a BurnedInAnnotation (0028,0301) value says YES (text burned into the pixels)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, list | tuple | MultiValue):
        return any(burned_in(item) for item in value)
    return isinstance(value, str) and value.replace("\0", "").strip().upper() == "YES"


@cache
def _table() -> tuple[dict[tuple[int, int], str], tuple[tuple[int, int, int, int, str], ...]]:
    """Table E.1-1 as {(group, element): action code} plus the masked group ranges (50xx, 60xx).

    Codes are the category names without `_TAGS` ("X", "X_Z_D", "X_Z_U_STAR"...). Loaded on first use.
    """
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    exact: dict[tuple[int, int], str] = {}
    ranges: list[tuple[int, int, int, int, str]] = []
    for category, tags in dicom_anonymization_database_selector(TABLE_EDITION).items():
        if category == "ALL_TAGS":
            continue
        code = category.removesuffix("_TAGS")
        for tag in tags:
            if len(tag) == 2:
                exact[(tag[0], tag[1])] = code
            else:  # (group, element, group mask, element mask): e.g. (60xx,3000) Overlay Data
                ranges.append((tag[0], tag[1], tag[2], tag[3], code))
    return exact, tuple(ranges)


def _table_code(group: int, element: int) -> str | None:
    exact, ranges = _table()
    if (group, element) in exact:
        return exact[(group, element)]
    for g, e, group_mask, element_mask, code in ranges:
        if group & group_mask == g & group_mask and element & element_mask == e & element_mask:
            return code
    return None


def _dictionary_vr(group: int, element: int) -> str:
    try:
        return dictionary_VR((group << 16) | element)
    except KeyError:
        return ""


@cache
def tag_action(group: int, element: int) -> str:
    """What the profile does to a tag: "keep", "remove", "uid", "date" or "subject".

    - private tags, group lengths and every table action of X, Z, D (alone or combined) → "remove";
    - U and X/Z/U* → "uid" (UIDs remapped; a sequence is kept and its items cleaned);
    - dates and times the table lists, and any other DA/DT attribute → "date" (the Modified Dates
      Option: shifted; TM kept, since the shift is whole days);
    - Patient's Name and ID → "subject"; Patient's Birth Date and Time and any other person name → "remove";
    - anything else → "keep".
    """
    if group % 2 or (element == 0 and group > 0x0002):
        return REMOVE
    if (group, element) in SUBJECT_TAGS:
        return SUBJECT
    if (group, element) in BIRTH_TAGS:
        return REMOVE
    code = _table_code(group, element)
    vr = _dictionary_vr(group, element)
    if code is None:
        if vr == "PN":  # a person's name the table does not list yet (DICONDE reviewers): still a name
            return REMOVE
        return DATE if vr in ("DA", "DT") else KEEP
    if "U" in code.split("_"):
        return UID
    return DATE if vr in ("DA", "DT", "TM") else REMOVE


def _uid_value(value: object, secret: bytes) -> object:
    """Instance UIDs remapped; the standard's own UIDs (1.2.840.10008.*) left as they are."""
    if isinstance(value, list | MultiValue):
        return [_uid_value(item, secret) for item in value]
    text = str(value or "")
    return text if text.startswith(STANDARD_UID_ROOT) else remap_uid(text, secret)


def _date_value(value: object, vr: str, days: int) -> object:
    if isinstance(value, list | MultiValue):
        return [_date_value(item, vr, days) for item in value]
    text = "" if value is None else str(value)
    return shift_date(text, days) if vr == "DA" else shift_datetime(text, days)


def _clean(ds: Dataset, recipe: Recipe, subject: str) -> None:
    """Apply tag_action to every element of `ds` and, recursively, of its sequence items."""
    for tag in list(ds.keys()):
        action = tag_action(tag.group, tag.element)
        if action == REMOVE:  # before reading the value: a removed sequence is never parsed
            del ds[tag]
            continue
        elem = ds[tag]  # converts a raw element with the character set it was read with
        if action == SUBJECT:
            del ds[tag]
            ds.add(DataElement(tag, _dictionary_vr(tag.group, tag.element), subject))
        elif elem.VR == "SQ" and action in (KEEP, UID):
            for item in elem.value:
                _clean(item, recipe, subject)
        elif action == UID and elem.VR == "UI":
            elem.value = _uid_value(elem.value, recipe.secret)
        elif action == DATE and elem.VR in ("DA", "DT"):
            elem.value = _date_value(elem.value, elem.VR, recipe.day_shift)
        elif action == KEEP or (action == DATE and elem.VR == "TM"):
            continue
        else:  # a "uid" or "date" tag written with an unexpected VR (UN bytes): nothing safe to keep
            del ds[tag]


def _texts(ds: Dataset) -> Iterator[str]:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _texts(item)
        elif elem.VR in TEXT_VRS and elem.value is not None:
            values = elem.value if isinstance(elem.value, list | MultiValue) else [elem.value]
            yield from (str(value) for value in values)


def _encodes(texts: list[str], character_set: object) -> bool:
    """Whether one single-byte or UTF-8 character set (no ISO 2022 switching) encodes every text."""
    terms = [character_set] if isinstance(character_set, str) else list(character_set or [])
    if len(terms) != 1 or not terms[0] or "2022" in terms[0]:
        return False
    codec = convert_encodings(terms)[0]
    try:
        for text in texts:
            text.encode(codec)
    except (UnicodeError, LookupError):
        return False
    return True


def _fit_character_set(ds: Dataset) -> None:
    """Keep SpecificCharacterSet when it encodes every remaining text, else switch to ISO_IR 192 (UTF-8)."""
    texts = [text for text in _texts(ds) if not text.isascii()]
    if texts and not _encodes(texts, ds.get("SpecificCharacterSet")):
        ds.SpecificCharacterSet = "ISO_IR 192"


def _mark(ds: Dataset, recipe: Recipe) -> None:
    """The attributes PS3.15 E.1.1 asks for, naming the profile and option applied."""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = [meaning for _, meaning in METHOD_CODES]
    codes = []
    for value, meaning in METHOD_CODES:
        code = Dataset()
        code.CodeValue = value
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = meaning
        codes.append(code)
    ds.DeidentificationMethodCodeSequence = Sequence(codes)
    ds.LongitudinalTemporalInformationModified = "MODIFIED" if recipe.day_shift else "UNMODIFIED"


def _clean_file_meta(ds: Dataset, secret: bytes) -> None:
    """Rebuild the file meta with only what a reader needs (no source AE titles, addresses or private info)."""
    old = getattr(ds, "file_meta", None)
    if old is None:
        return
    meta = FileMetaDataset()
    for keyword in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID"):
        if keyword in old:
            setattr(meta, keyword, old[keyword].value)
    if "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = _uid_value(meta.MediaStorageSOPInstanceUID, secret)
    ds.file_meta = meta


def deidentify_dataset(ds: Dataset, recipe: Recipe, subject: str) -> Dataset:
    """De-identify `ds` in place (and return it): Table E.1-1 actions, UIDs remapped, dates shifted.

    Pixel data and image attributes are kept, so the file still renders; burned-in text is not removed.
    """
    _clean(ds, recipe, subject)
    for keyword in ("PatientName", "PatientID"):
        setattr(ds, keyword, subject)
    _mark(ds, recipe)
    _fit_character_set(ds)
    _clean_file_meta(ds, recipe.secret)
    if isinstance(ds, FileDataset) and ds.preamble is not None:
        ds.preamble = bytes(128)  # a preamble can carry another format's header (TIFF), with its own tags
    return ds


def deidentify_file(data: bytes, recipe: Recipe, subject: str) -> bytes:
    """A DICOM Part 10 file, de-identified, in its original transfer syntax; NotDicom for anything else.

    pydicom parses sequences lazily, so a damaged one fails only while it is being cleaned: that is
    NotDicom too, never a half-written file.
    """
    try:
        ds = pydicom.dcmread(BytesIO(data), force=False)
    except _UNREADABLE as exc:
        raise NotDicom(f"not a DICOM file: {exc}") from exc
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise NotDicom("not a DICOM instance: no SOP Class UID or SOP Instance UID")
    out = BytesIO()
    try:
        deidentify_dataset(ds, recipe, subject)
        ds.save_as(out, enforce_file_format=True)
    except _UNREADABLE as exc:
        raise NotDicom(f"a damaged DICOM file: {exc}") from exc
    return out.getvalue()
