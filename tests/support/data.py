"""The test archive: real pydicom test files plus generated patients with known properties.

Loaded once per session into a real Orthanc; `Archive` records the Orthanc IDs
the tests need, taken from Orthanc's own answers.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import OrthancError
from scripts.demo import pydicom_test_files
from scripts.synthetic import PatientInfo, StudyInfo, mr_volume, small_study

KOREAN = PatientInfo("홍^길동", "KR-0001", "19850101", "M")
# All three PN groups, as Korean hospitals write them: alphabetic = ideographic (Hanja) = phonetic (Hangul).
KOREAN_GROUPS = PatientInfo("Hong^Gildong=洪^吉洞=홍^길동", "KR-0002", "19900305", "F")
ODD_DATES = PatientInfo("Odd^Dates", "ODD-0001", "abcd", "F")  # a birth date that is not a date
ACCENTED = PatientInfo("García^José", "ES-0001", "19790905", "M")
HTML_NAME = PatientInfo('<script>alert("x")</script>^<b>Bold</b>', "XSS-0001", "20000101", "F")
VOLUME_PATIENT = PatientInfo("Volume^Test", "VOL-0001", "19700101", "O")
TWO_SERIES_PATIENT = PatientInfo("Series^Two", "TWO-0001", "19800101", "F")
FILLER_COUNT = 60
VOLUME_SLICES = 40
VOLUME_SIZE = 64
VOLUME_PIXEL_SPACING = 0.9375
VOLUME_SLICE_SPACING = 2.0


@dataclass
class Stored:
    instance: str
    series: str
    study: str
    patient: str


@dataclass
class Archive:
    volume: list[Stored] = field(default_factory=list)  # in slice order (instance number 1..N)
    korean: Stored | None = None
    korean_groups: Stored | None = None
    odd_dates: Stored | None = None  # study date "2024130", time "2599": shown as they are
    accented: Stored | None = None
    html: Stored | None = None
    multiframe: Stored | None = None  # a 10-frame MR from pydicom
    structured_report: Stored | None = None
    two_series: list[Stored] = field(default_factory=list)  # one study: 2 CT series × 3 small images
    files: dict[str, Stored] = field(default_factory=dict)  # pydicom file name -> where it landed
    originals: dict[str, str] = field(default_factory=dict)  # instance ID -> sha256 of the uploaded bytes
    filler_patients: int = FILLER_COUNT

    @property
    def volume_series(self) -> str:
        return self.volume[0].series


def store(client: OrthancClient, data: bytes, archive: Archive) -> Stored:
    answer = client.store_instance(data)
    stored = Stored(answer["ID"], answer["ParentSeries"], answer["ParentStudy"], answer["ParentPatient"])
    archive.originals.setdefault(stored.instance, hashlib.sha256(data).hexdigest())
    return stored


def named_study(patient: PatientInfo, description: str, date: str, modality: str = "CT") -> StudyInfo:
    return StudyInfo(patient, description, date, "120000", description, f"ACC-{patient.patient_id}")


def load_archive(client: OrthancClient) -> Archive:
    archive = Archive()
    # The volume goes in shuffled, so upload order differs from slice order.
    volume_study = named_study(VOLUME_PATIENT, "Volume study", "20240301", "MR")
    slices = list(
        mr_volume(
            volume_study,
            size=VOLUME_SIZE,
            slices=VOLUME_SLICES,
            pixel_spacing=VOLUME_PIXEL_SPACING,
            slice_spacing=VOLUME_SLICE_SPACING,
        )
    )
    order = list(range(len(slices)))
    random.Random(4).shuffle(order)
    by_index = {i: store(client, slices[i], archive) for i in order}
    archive.volume = [by_index[i] for i in range(len(slices))]

    archive.korean = store(client, next(small_study(named_study(KOREAN, "Chest CT", "20230115"))), archive)
    archive.korean_groups = store(
        client, next(small_study(named_study(KOREAN_GROUPS, "Brain MR", "20240305"))), archive
    )
    odd = StudyInfo(ODD_DATES, "odd dates", "2024130", "2599", "Odd dates", "ACC-ODD-0001")
    archive.odd_dates = store(client, next(small_study(odd)), archive)
    archive.accented = store(client, next(small_study(named_study(ACCENTED, "Abdomen CT", "20220610"))), archive)
    archive.html = store(client, next(small_study(named_study(HTML_NAME, "<i>Italic</i> study", "20210101"))), archive)
    two_series_study = named_study(TWO_SERIES_PATIENT, "Two series", "20180505")
    archive.two_series = [store(client, data, archive) for data in small_study(two_series_study, series=2, instances=3)]
    for n in range(FILLER_COUNT):
        filler = PatientInfo(f"Filler^Patient{n:03d}", f"FILL-{n:03d}", "19900101", "F")
        date = f"2019{1 + n % 12:02d}{1 + n % 28:02d}"
        store(client, next(small_study(named_study(filler, f"Filler study {n}", date, "CR"), "CR", size=32)), archive)

    for path in pydicom_test_files():
        try:
            archive.files[path.name] = store(client, path.read_bytes(), archive)
        except OrthancError:
            continue  # pydicom ships some deliberately broken files
    archive.multiframe = archive.files["emri_small.dcm"]
    archive.structured_report = archive.files["test-SR.dcm"]
    wait_until_stable(client)
    return archive


def wait_until_stable(client: OrthancClient, timeout: float = 60.0) -> None:
    """Let Orthanc declare every study and series stable (StableAge after its last file) before tests run.

    Otherwise its StableStudy/StableSeries changes arrive in the middle of the
    tests, and the list index fetches those resources while a test counts calls.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resources = client.get_json("/studies", {"expand": ""}) + client.get_json("/series", {"expand": ""})
        if all(resource.get("IsStable") for resource in resources):
            return
        time.sleep(0.25)
    raise TimeoutError("Orthanc did not declare the test archive stable")


def pydicom_file(name: str) -> Path:
    return next(p for p in pydicom_test_files() if p.name == name)
