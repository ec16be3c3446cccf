"""De-identification of DICOM files (gallery/dicom/deidentify.py): PS3.15 Basic Profile + Modified Dates.

Real files from pydicom's test data, patients given names in Korean (ISO 2022 IR 149 and UTF-8)
and with accents (ISO_IR 100 and UTF-8); every check of a missing value first checks that the
input carried it, so each test can fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from io import BytesIO

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from gallery.dicom.deidentify import (
    NotDicom,
    Recipe,
    burned_in,
    deidentify_dataset,
    deidentify_file,
    remap_uid,
    shift_date,
    shift_datetime,
    tag_action,
)

RECIPE = Recipe(secret=bytes(range(32)), day_shift=-400)
OTHER_LINK = Recipe(secret=bytes(range(32, 64)), day_shift=17)
SUBJECT = "Case 2"
VALID_UID = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))*")


def read(data: bytes) -> pydicom.FileDataset:
    return pydicom.dcmread(BytesIO(data))


def to_bytes(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def sample(name: str) -> bytes:
    with open(get_testdata_file(name), "rb") as f:
        return f.read()


def instance_uids(ds: Dataset) -> Iterator[str]:
    """Every UID value in the file that is not one the standard defines (classes, transfer syntaxes)."""
    for elem in [*ds.file_meta.iterall(), *ds.iterall()]:
        if elem.VR == "UI" and elem.keyword != "ImplementationClassUID":
            for uid in elem.value if elem.VM > 1 else [elem.value]:
                if uid and not uid.startswith("1.2.840.10008."):
                    yield uid


# ---- PHI scan ------------------------------------------------------------------------------------

PATIENTS = {
    # Korean hospitals write all three PN groups (tests/support/data.py KOREAN_GROUPS).
    "korean-iso2022": (
        ["", "ISO 2022 IR 149"],
        "Hong^Gildong=洪^吉洞=홍^길동",
        [*(s.encode("euc_kr") for s in ("홍", "길동", "洪", "吉洞", "서울대학교병원")), b"Hong", b"Gildong"],
    ),
    "korean-utf8": ("ISO_IR 192", "홍^길동", [s.encode() for s in ("홍", "길동", "서울대학교병원")]),
    "accented-latin1": ("ISO_IR 100", "Müller^Zoë", [s.encode("latin-1") for s in ("Müller", "Zoë")]),
    "accented-utf8": ("ISO_IR 192", "Müller^Zoë", [s.encode() for s in ("Müller", "Zoë")]),
}


def patient_file(character_set: str | list[str], name: str) -> tuple[bytes, Dataset]:
    """CT_small.dcm given the patient, identifiers in every usual place, and fresh UIDs."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    study, series, sop, frame, other = (generate_uid() for _ in range(5))
    ds.SpecificCharacterSet = character_set
    ds.PatientName = name
    ds.PatientID = "PID-4471"
    ds.PatientBirthDate = "19900305"
    ds.AccessionNumber = "ACC-7781"
    ds.InstitutionName = "서울대학교병원" if "Hong" in name or "홍" in name else "Hôpital Zoë"
    ds.ReferringPhysicianName = "Kim^Referrer"
    ds.StudyDescription = "Follow-up of Müller PID-4471"
    ds.OtherPatientIDs = "OTHER-991"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds.FrameOfReferenceUID = study, series, sop, frame
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.SourceApplicationEntityTitle = "SNUH_CT_7"  # the sending station, in the file meta
    ds.preamble = b"II*\0 PID-4471 ".ljust(128, b"\0")  # a dual-personality (TIFF) header
    ds.private_block(0x0011, "ACME HOSPITAL", create=True).add_new(0x01, "PN", name)
    referenced_study = Dataset()
    referenced_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    referenced_study.ReferencedSOPInstanceUID = study
    ds.ReferencedStudySequence = [referenced_study]
    request = Dataset()
    request.AccessionNumber = "ACC-7781"
    request.RequestedProcedureID = "RP-ACC-7781"
    ds.RequestAttributesSequence = [request]
    referenced_image = Dataset()
    referenced_image.ReferencedSOPClassUID = ds.SOPClassUID
    referenced_image.ReferencedSOPInstanceUID = other
    ds.ReferencedImageSequence = [referenced_image]
    source_patient = Dataset()  # a sequence the table keeps: its items are cleaned
    source_patient.PatientID = "PID-4471"
    source_patient.IssuerOfPatientID = "ACC-7781 registry"
    ds.SourcePatientGroupIdentificationSequence = [source_patient]
    return to_bytes(ds), ds


@pytest.mark.parametrize("case", PATIENTS)
def test_no_phi_survives_and_the_image_does(case):
    character_set, name, encoded_name = PATIENTS[case]
    original, ds = patient_file(character_set, name)
    needles = [*encoded_name, b"PID-4471", b"19900305", b"ACC-7781", b"OTHER-991", b"Referrer", b"SNUH_CT_7"]
    uids = set(instance_uids(read(original)))  # study, series, SOP, frame of reference, referenced, creator
    assert len(uids) == 6
    needles += [uid.encode() for uid in uids]
    for needle in needles:
        assert needle in original, needle  # the input carries it: the scan can fail

    out = deidentify_file(original, RECIPE, SUBJECT)

    assert [needle for needle in needles if needle in out] == []
    result = read(out)
    assert result.PatientName == SUBJECT and result.PatientID == SUBJECT
    assert result.preamble == bytes(128) and "SourceApplicationEntityTitle" not in result.file_meta
    assert np.array_equal(result.pixel_array, ds.pixel_array)
    assert result.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    for keyword in ("PatientBirthDate", "AccessionNumber", "InstitutionName", "ReferringPhysicianName"):
        assert keyword not in result
    for keyword in ("StudyDescription", "OtherPatientIDs", "ReferencedStudySequence", "RequestAttributesSequence"):
        assert keyword not in result
    assert result.SourcePatientGroupIdentificationSequence[0].PatientID == SUBJECT
    assert "IssuerOfPatientID" not in result.SourcePatientGroupIdentificationSequence[0]
    assert not any(elem.tag.is_private for elem in result.iterall())
    assert [e.keyword for e in result.iterall() if tag_action(e.tag.group, e.tag.element) == "remove"] == []
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation", "RescaleSlope"):
        assert result[keyword].value == ds[keyword].value
    for keyword in ("PixelSpacing", "ImagePositionPatient", "ImageOrientationPatient", "SliceThickness"):
        assert result[keyword].value == ds[keyword].value
    assert result.PatientIdentityRemoved == "YES"
    assert [c.CodeValue for c in result.DeidentificationMethodCodeSequence] == ["113100", "113107"]
    assert {c.CodingSchemeDesignator for c in result.DeidentificationMethodCodeSequence} == {"DCM"}
    assert "Basic Application Confidentiality Profile" in result.DeidentificationMethod
    assert result.LongitudinalTemporalInformationModified == "MODIFIED"


def test_a_multiframe_ultrasound_keeps_its_frames_regions_and_transfer_syntax():
    original = sample("OBXXXX1A_2frame.dcm")
    before = read(original)
    assert any(e.tag.is_private and e.VR == "SQ" for e in before) and "InstitutionName" in before

    after = read(deidentify_file(original, RECIPE, SUBJECT))

    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert after.NumberOfFrames == before.NumberOfFrames == 2
    assert np.array_equal(after.pixel_array, before.pixel_array)
    assert after.SequenceOfUltrasoundRegions[0].PhysicalDeltaX == before.SequenceOfUltrasoundRegions[0].PhysicalDeltaX
    assert not any(elem.tag.is_private for elem in after.iterall())
    assert "InstitutionName" not in after and "StationName" not in after
    assert before.PatientID.encode() not in deidentify_file(original, RECIPE, SUBJECT)


def test_a_compressed_file_keeps_its_pixel_bytes_and_loses_its_referenced_study():
    original = sample("JPGLosslessP14SV1_1s_1f_8b.dcm")  # JPEG Lossless, with request/reference sequences
    before = read(original)
    assert "ReferencedStudySequence" in before and "ReferencedPerformedProcedureStepSequence" in before

    after = read(deidentify_file(original, RECIPE, SUBJECT))

    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert after.PixelData == before.PixelData
    assert "ReferencedStudySequence" not in after and "ReferencedPerformedProcedureStepSequence" not in after
    assert "PerformedProcedureStepID" not in after  # "20190124.113933": a date in an identifier
    assert after.ProcedureCodeSequence[0].CodeMeaning == "ECHOCARDIOGRAM"  # kept: not in the table
    assert after.BurnedInAnnotation == "NO"


def test_the_character_set_fits_what_remains():
    def file_with(character_set, manufacturer: str, subject: str = SUBJECT) -> pydicom.FileDataset:
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.SpecificCharacterSet = character_set
        ds.PatientName = "홍^길동" if "2022" in str(character_set) or "192" in character_set else "Zoë"
        ds.Manufacturer = manufacturer  # kept by the profile
        return read(deidentify_file(to_bytes(ds), RECIPE, subject))

    korean = file_with(["", "ISO 2022 IR 149"], "삼성메디슨")  # kept Hangul: ISO 2022 switching is not redone
    assert korean.SpecificCharacterSet == "ISO_IR 192" and korean.Manufacturer == "삼성메디슨"
    ascii_only = file_with(["", "ISO 2022 IR 149"], "Samsung")  # the Hangul was all PHI: nothing to change
    assert ascii_only.SpecificCharacterSet == ["", "ISO 2022 IR 149"]
    latin = file_with("ISO_IR 100", "Société Générale")  # Latin-1 still encodes what is left
    assert latin.SpecificCharacterSet == "ISO_IR 100" and latin.Manufacturer == "Société Générale"
    korean_subject = file_with("ISO_IR 100", "GE", subject="사례 1")
    assert korean_subject.SpecificCharacterSet == "ISO_IR 192" and korean_subject.PatientName == "사례 1"


# ---- UIDs ----------------------------------------------------------------------------------------


def test_uids_are_stable_within_a_link_and_differ_between_links():
    uids = [generate_uid() for _ in range(200)] + ["1.2.3", "1.2.3.0.0", "1.2.840.113619.2.55.3.1"]
    mapped = [remap_uid(uid, RECIPE.secret) for uid in uids]
    assert mapped == [remap_uid(uid, RECIPE.secret) for uid in uids]
    assert len(set(mapped)) == len(uids)
    assert not set(mapped) & {remap_uid(uid, OTHER_LINK.secret) for uid in uids}
    for new in mapped:
        assert new.startswith("2.25.") and len(new) <= 64 and VALID_UID.fullmatch(new), new
    assert remap_uid("", RECIPE.secret) == ""
    assert remap_uid("1.2.3\0", RECIPE.secret) == remap_uid("1.2.3", RECIPE.secret)  # DICOM's padding


def test_a_series_still_hangs_together_and_references_still_match():
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    files = []
    for number in (1, 2):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = number
        files.append(ds)
    reference = Dataset()
    reference.ReferencedSOPClassUID = files[0].SOPClassUID
    reference.ReferencedSOPInstanceUID = files[0].SOPInstanceUID
    files[1].ReferencedImageSequence = [reference]

    first, second = (read(deidentify_file(to_bytes(ds), RECIPE, SUBJECT)) for ds in files)

    assert first.SeriesInstanceUID == second.SeriesInstanceUID == remap_uid(series, RECIPE.secret)
    assert first.StudyInstanceUID == second.StudyInstanceUID != study
    assert first.FrameOfReferenceUID == second.FrameOfReferenceUID != frame
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.ReferencedImageSequence[0].ReferencedSOPClassUID == files[0].SOPClassUID  # a class: kept
    for ds in (first, second):
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    other = read(deidentify_file(to_bytes(files[0]), OTHER_LINK, SUBJECT))
    assert other.SeriesInstanceUID != first.SeriesInstanceUID


def test_the_standards_own_uids_stay():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.FrameOfReferenceUID = "1.2.840.10008.1.4.1.1"  # a well-known frame of reference (Talairach)
    sop_class = ds.SOPClassUID
    deidentify_dataset(ds, RECIPE, SUBJECT)
    assert ds.FrameOfReferenceUID == "1.2.840.10008.1.4.1.1" and ds.SOPClassUID == sop_class
    assert ds.file_meta.MediaStorageSOPClassUID == sop_class


def test_references_deep_in_a_segmentation_are_remapped_the_same_way():
    original = sample("liver.dcm")  # SEG: references in referenced-series and per-frame sequences
    before = read(original)
    refs = [e.value for e in before.iterall() if e.keyword == "ReferencedSOPInstanceUID"]
    assert len(refs) == 6

    after = read(deidentify_file(original, RECIPE, SUBJECT))

    assert [e.value for e in after.iterall() if e.keyword == "ReferencedSOPInstanceUID"] == [
        remap_uid(uid, RECIPE.secret) for uid in refs
    ]
    assert len(after.PerFrameFunctionalGroupsSequence) == len(before.PerFrameFunctionalGroupsSequence)
    assert [s.SegmentLabel for s in after.SegmentSequence] == [s.SegmentLabel for s in before.SegmentSequence]
    assert np.array_equal(after.pixel_array, before.pixel_array)
    assert [uid for uid in instance_uids(before) if uid.encode() in deidentify_file(original, RECIPE, "x")] == []


# ---- Dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20240228", 1, "20240229"),  # leap year
        ("20240228", 2, "20240301"),
        ("20230228", 1, "20230301"),  # not a leap year
        ("20000229", 365, "20010228"),  # 2000 was a leap year
        ("19000228", 1, "19000301"),  # 1900 was not
        ("20240301", -1, "20240229"),
        ("2024-02-28", 1, "2024-02-29"),  # the ISO form pages show comes back in that form
        ("20240115 ", -400, "20221211"),  # DICOM's space padding
        ("20241301", 1, ""),
        ("20230229", 0, ""),
        ("abcd", 5, ""),
        ("2024-0228", 1, ""),
        ("", 5, ""),
        ("99991231", 1, ""),
    ],
)
def test_shift_date(value, days, expected):
    assert shift_date(value, days) == expected


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20240228235959.123456+0900", 1, "20240229235959.123456+0900"),
        ("20190124114254", -400, "20171220114254"),
        ("20240228", 1, "20240229"),
        ("202402281230-0500", 1, "202402291230-0500"),
        ("2024", 1, ""),  # a year alone cannot move by days
        ("20240228T1230", 1, ""),
        ("20241301120000", 1, ""),
        ("", 1, ""),
    ],
)
def test_shift_datetime(value, days, expected):
    assert shift_datetime(value, days) == expected


def test_dates_move_together_so_intervals_survive():
    studies = []
    for study_date in ("20230115", "20240305"):  # 2024 is a leap year between them
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.StudyDate = ds.SeriesDate = study_date
        ds.AcquisitionDateTime = f"{study_date}101500.25+0900"
        ds.PatientBirthDate = "19900305"
        studies.append(deidentify_dataset(ds, RECIPE, SUBJECT))
    old, new = (date.fromisoformat(ds.StudyDate) for ds in studies)

    assert (new - old).days == (date(2024, 3, 5) - date(2023, 1, 15)).days
    assert studies[0].StudyDate == "20211211" and studies[1].SeriesDate == "20230130"  # -400 days
    assert studies[1].AcquisitionDateTime == "20230130101500.25+0900"
    assert studies[1].StudyTime == "072730"  # times stay: the shift is whole days
    assert all("PatientBirthDate" not in ds for ds in studies)
    other = deidentify_dataset(pydicom.dcmread(get_testdata_file("CT_small.dcm")), OTHER_LINK, SUBJECT)
    assert other.StudyDate == "20040205"  # 20040119 + 17 days


def test_an_invalid_date_is_emptied():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyDate, ds.ContentDate = "2024130", "20240305"
    deidentify_dataset(ds, RECIPE, SUBJECT)
    assert ds.StudyDate == "" and ds.ContentDate == "20230130"


# ---- The table -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ((0x0010, 0x0010), "subject"),  # Patient's Name
        ((0x0010, 0x0020), "subject"),  # Patient ID
        ((0x0010, 0x0030), "remove"),  # Patient's Birth Date: Z, and not a date we keep shifted
        ((0x0010, 0x0040), "remove"),  # Patient's Sex: Z
        ((0x0010, 0x1010), "remove"),  # Patient's Age: X
        ((0x0010, 0x1000), "remove"),  # Other Patient IDs: X
        ((0x0008, 0x0050), "remove"),  # Accession Number: Z
        ((0x0008, 0x0080), "remove"),  # Institution Name: X/Z/D
        ((0x0008, 0x0090), "remove"),  # Referring Physician's Name: Z
        ((0x0008, 0x1030), "remove"),  # Study Description: X
        ((0x0008, 0x1110), "remove"),  # Referenced Study Sequence: X/Z
        ((0x0020, 0x000D), "uid"),  # Study Instance UID: U
        ((0x0008, 0x1155), "uid"),  # Referenced SOP Instance UID: U
        ((0x0002, 0x0003), "uid"),  # Media Storage SOP Instance UID: U
        ((0x0008, 0x1140), "uid"),  # Referenced Image Sequence: X/Z/U*
        ((0x0008, 0x0020), "date"),  # Study Date: Z, kept shifted under the option
        ((0x0008, 0x002A), "date"),  # Acquisition DateTime: X/Z/D
        ((0x0008, 0x0030), "date"),  # Study Time: Z, kept as it is
        ((0x0008, 0x041F), "date"),  # Study Update DateTime: not in the table, still a date
        ((0x0008, 0x0060), "keep"),  # Modality
        ((0x0028, 0x0010), "keep"),  # Rows
        ((0x0028, 0x1050), "keep"),  # Window Center
        ((0x0008, 0x0016), "keep"),  # SOP Class UID: a class, not an instance
        ((0x0028, 0x0301), "keep"),  # Burned In Annotation
        ((0x0009, 0x0010), "remove"),  # a private creator
        ((0x0029, 0x1010), "remove"),  # a private tag
        ((0x5000, 0x3000), "remove"),  # Curve Data: the table removes all of (50xx,xxxx)
        ((0x50FE, 0x0005), "remove"),
        ((0x6000, 0x3000), "remove"),  # Overlay Data (60xx,3000): X
        ((0x6002, 0x4000), "remove"),  # Overlay Comments (60xx,4000): X
        ((0x6000, 0x0010), "keep"),  # Overlay Rows: the table lists only the overlay's data and comments
        ((0x0014, 0x2006), "remove"),  # Evaluator Name: a person's name the table does not list
        ((0x0008, 0x0000), "remove"),  # a group length, wrong once elements go
    ],
)
def test_tag_action_follows_table_e1_1(tag, expected):
    assert tag_action(*tag) == expected


# ---- Burned-in text and bad input ----------------------------------------------------------------


def test_burned_in():
    for yes in ("YES", " yes ", "Yes\0", b"YES", ["YES"]):
        assert burned_in(yes), yes
    for no in ("NO", "", None, "YESS", "Y", 1, b"NO", []):
        assert not burned_in(no), no


CT_SMALL = sample("CT_small.dcm")
ECHO = sample("JPGLosslessP14SV1_1s_1f_8b.dcm")  # its kept Procedure Code Sequence's item starts at byte 776


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, not DICOM",
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        bytes(128) + b"DICX" + bytes(64),
        CT_SMALL[:200],  # the file meta, cut before any UID
        ECHO[:788] + b"QQ" + ECHO[790:],  # a bad VR in a sequence, which pydicom parses only when cleaning it
    ],
    ids=["empty", "text", "png", "no-dicm", "cut-in-meta", "bad-vr-in-sequence"],
)
def test_bytes_that_are_not_dicom_raise_not_dicom(data):
    with pytest.raises(NotDicom, match="DICOM"):
        deidentify_file(data, RECIPE, SUBJECT)
    assert issubclass(NotDicom, ValueError)
