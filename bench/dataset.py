"""A realistic synthetic archive in a real embedded Orthanc, built once per size and reused.

    .venv/bin/python -m bench.dataset --patients 10000

N patients get 3N studies (1–5 each) over 2006–2025 in a hospital's modality mix
(CR, CT, MR, US, MG, DX, NM, PT, XA), about 3.6 small images per study, names
from several scripts (Latin with accents, Nordic, Korean, Japanese, Greek). Every
250th patient has a 2 × 60-slice CT. Landmark patients, identical at every size so
pages compare, carry a study with 20 series, a series of 500 slices (64², like the
bulk: the cheapest possible render for Orthanc) and a typical MR series (100 × 256²).

Files are generated in two processes and posted by several threads, one file per
request (Orthanc stores ~300–450 a second). The storage stays in
bench/data/<N>/ (git-ignored); `manifest.json` there marks a finished build, and
later runs only start Orthanc on it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc, start_orthanc
from scripts.synthetic import (
    PatientInfo,
    StudyInfo,
    ct_volume,
    mr_volume,
    radiographs,
    random_date,
    random_patient,
    small_study,
)

DATA = Path(__file__).resolve().parent / "data"
#: Bump when the generated archive changes, so old storage folders are rebuilt.
VERSION = 1
#: Bump when the landmark patients change: they are added to an existing archive, no rebuild.
LANDMARKS_VERSION = 4
#: Orthanc settings for a throw-away benchmark archive: no fsync per stored file.
ORTHANC_CONFIG = {"SyncStorageArea": False}
#: Studies per patient, cycled in blocks of 8 patients: mean exactly 3.
STUDIES_PER_PATIENT = (1, 2, 3, 4, 5, 3, 2, 4)
UPLOAD_THREADS = 6
IN_FLIGHT = 64


@dataclass(frozen=True)
class ModalityPlan:
    weight: int
    series: tuple[int, int]  # series per study (inclusive range)
    instances: tuple[int, int]  # instances per series
    studies: tuple[str, ...]  # study descriptions
    series_names: tuple[str, ...]


PLANS = {
    "CR": ModalityPlan(
        30, (1, 2), (1, 1), ("Chest PA", "Chest PA/LAT", "Knee AP/LAT", "Hand", "Pelvis AP"), ("PA", "LAT")
    ),
    "DX": ModalityPlan(8, (1, 3), (1, 1), ("Spine LS", "Shoulder", "Foot"), ("AP", "LAT", "OBL")),
    "CT": ModalityPlan(
        18, (2, 3), (1, 3), ("CT Head", "CT Thorax", "CT Abdomen/Pelvis"), ("Topogram", "Axial 5mm", "Axial 1mm")
    ),
    "MR": ModalityPlan(14, (2, 4), (1, 3), ("MR Brain", "MR Knee", "MR Lumbar spine"), ("T1", "T2", "FLAIR", "DWI")),
    "US": ModalityPlan(15, (1, 1), (1, 5), ("US Abdomen", "US Thyroid", "US Obstetric"), ("Cine",)),
    "MG": ModalityPlan(8, (4, 4), (1, 1), ("Screening mammography",), ("R CC", "L CC", "R MLO", "L MLO")),
    "NM": ModalityPlan(3, (2, 2), (2, 4), ("Bone scan", "Thyroid scan"), ("Anterior", "Posterior")),
    "PT": ModalityPlan(2, (2, 2), (3, 6), ("PET-CT whole body",), ("PET AC", "PET NAC")),
    "XA": ModalityPlan(2, (1, 2), (2, 5), ("Coronary angiography",), ("LAO", "RAO")),
}
VOLUME_EVERY = 250  # every 250th patient also has a multi-slice CT


@dataclass(frozen=True)
class Landmarks:
    """What the benchmark opens, by Orthanc ID (identical at every size)."""

    twenty_series_study: str
    five_hundred_slice_series: str
    typical_mr_series: str = ""  # 100 slices of 256² 16-bit MR: a common real-world thumbnail source
    typical_ct_series: str = ""  # 100 slices of 512² signed 16-bit CT: the most common thumbnail source
    radiograph_series: str = ""  # 20 chest radiographs of 2048 × 2500, 12-bit: the heaviest common source
    name_query: str = "müller"  # rare: about 1.4% of patients
    common_query: str = "mar"  # María, Mary, Martin…: a full page of results at every size
    date_from: str = "2019-01-01"
    date_to: str = "2019-12-31"


TWENTY_SERIES = StudyInfo(
    PatientInfo("Lindqvist^Astrid", "BENCH-0020", "19610412", "F"),
    "polytrauma",
    "20250314",
    "031500",
    "CT Polytrauma",
    "ACC-BENCH-20",
)
VOLUME = StudyInfo(
    PatientInfo("박^서준", "BENCH-0500", "19770823", "M"),
    "volume",
    "20250902",
    "141000",
    "MR Brain 3D",
    "ACC-BENCH-500",
)
TYPICAL_MR = StudyInfo(
    PatientInfo("Sjöström^Ingrid", "BENCH-0256", "19880517", "F"),
    "mr-256",
    "20250611",
    "090000",
    "MR Brain",
    "ACC-BENCH-256",
)

TYPICAL_CT = StudyInfo(
    PatientInfo("Okafor^Chinedu", "BENCH-0512", "19590930", "M"),
    "ct-512",
    "20250720",
    "153000",
    "CT Head",
    "ACC-BENCH-512",
)

RADIOGRAPHS = StudyInfo(
    PatientInfo("Novak^Jana", "BENCH-2500", "19720214", "F"),
    "cr-2500",
    "20250805",
    "080000",
    "Chest PA",
    "ACC-BENCH-2500",
)


def patient_files(number: int) -> list[bytes]:
    """Every file of patient `number`; the same number always gives the same files."""
    rng = random.Random(f"bench-patient-{number}")
    patient = random_patient(rng, f"P{number:07d}")
    files: list[bytes] = []
    for index in range(STUDIES_PER_PATIENT[number % len(STUDIES_PER_PATIENT)]):
        modality = rng.choices(list(PLANS), weights=[p.weight for p in PLANS.values()])[0]
        plan = PLANS[modality]
        description = rng.choice(plan.studies)
        study = StudyInfo(
            patient,
            f"study-{index}",
            random_date(rng, 2006, 2025),
            f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}00",
            description,
            f"A{number:07d}{index}",
        )
        series = rng.randint(*plan.series)
        files += small_study(
            study, modality, series, rng.randint(*plan.instances), size=32, descriptions=plan.series_names
        )
    if number % VOLUME_EVERY == VOLUME_EVERY // 2:
        study = StudyInfo(patient, "ct-volume", random_date(rng, 2015, 2025), "100000", "CT Chest HR", f"V{number:07d}")
        files += small_study(study, "CT", 2, 60, size=32, descriptions=("Axial 1mm", "Coronal MPR"))
    return files


def landmark_files() -> list[bytes]:
    names = [f"Series {n + 1}" for n in range(20)]
    files = list(small_study(TWENTY_SERIES, "CT", series=20, instances=5, size=64, descriptions=names))
    files += mr_volume(VOLUME, size=64, slices=500, slice_spacing=0.5, description="T1 3D 0.5mm")
    files += mr_volume(TYPICAL_MR, size=256, slices=100, slice_spacing=1.5, description="T2 axial")
    files += ct_volume(TYPICAL_CT, size=512, slices=100)
    files += radiographs(RADIOGRAPHS)
    return files


def post_files(client: OrthancClient, batches: Iterable[list[bytes]]) -> int:
    """POST every file on its own with UPLOAD_THREADS threads; return how many were sent."""
    slots = threading.BoundedSemaphore(IN_FLIGHT)
    failures: list[Exception] = []
    sent = 0
    started = time.monotonic()

    def post(data: bytes) -> None:
        try:
            client.store_instance(data)
        except Exception as exc:  # reported by the main loop, which stops
            failures.append(exc)
        finally:
            slots.release()

    with ThreadPoolExecutor(UPLOAD_THREADS) as posters:
        for batch in batches:
            for data in batch:
                if failures:
                    raise failures[0]
                slots.acquire()
                posters.submit(post, data)
                sent += 1
                if sent % 5000 == 0:
                    print(f"  {sent} files, {sent / (time.monotonic() - started):.0f}/s", flush=True)
    if failures:
        raise failures[0]
    return sent


def upload_all(client: OrthancClient, patients: int) -> int:
    """The landmarks, then every patient, generated by two processes while threads post."""
    with multiprocessing.Pool(2) as generators:
        batches = generators.imap(patient_files, range(patients), chunksize=8)
        return post_files(client, itertools.chain([landmark_files()], batches))


def wait_until_quiet(client: OrthancClient, quiet: float) -> None:
    """Wait until Orthanc's change feed stops growing (its Stable* events come StableAge after the last upload)."""
    last, since = None, time.monotonic()
    while time.monotonic() - since < quiet:
        seq = client.get_json("/changes", {"last": ""}).get("Last")
        if seq != last:
            last, since = seq, time.monotonic()
        time.sleep(1)


def open_archive(patients: int, folder: Path | None = None) -> tuple[EmbeddedOrthanc, Landmarks, dict]:
    """Start Orthanc on the archive of `patients` patients (in `folder` or bench/data/<patients>), built if needed."""
    folder = folder or DATA / str(patients)
    manifest_path = folder / "manifest.json"
    orthanc = start_orthanc(folder / "orthanc", extra_config=ORTHANC_CONFIG)
    client = OrthancClient(orthanc.url, orthanc.user, orthanc.password, read_timeout=300)
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest.get("version") != VERSION:
        print(f"Building the {patients}-patient archive in {folder} (once)...", flush=True)
        started = time.monotonic()
        sent = upload_all(client, patients)
        seconds = time.monotonic() - started
        manifest = {
            "version": VERSION,
            "patients": patients,
            "files_sent": sent,
            "build_seconds": round(seconds, 1),
            "files_per_second": round(sent / seconds, 1),
        }
        print(f"Built in {seconds:.0f} s ({sent / seconds:.0f} files/s)", flush=True)
    elif manifest.get("landmarks_version") != LANDMARKS_VERSION:
        print(f"Adding the landmark patients to {folder}...", flush=True)
        post_files(client, [landmark_files()])
    else:
        return orthanc, Landmarks(**manifest["landmarks"]), manifest
    wait_until_quiet(client, quiet=12)
    statistics = client.get_json("/statistics")
    manifest.update(
        landmarks_version=LANDMARKS_VERSION,
        statistics={k: statistics[k] for k in ("CountPatients", "CountStudies", "CountSeries", "CountInstances")},
        landmarks=asdict(find_landmarks(client)),
    )
    manifest_path.write_text(json.dumps(manifest, indent=2))
    print(f"Archive: {manifest['statistics']}", flush=True)
    return orthanc, Landmarks(**manifest["landmarks"]), manifest


def find_landmarks(client: OrthancClient) -> Landmarks:
    study = next(r["ID"] for r in client.lookup(TWENTY_SERIES.uid) if r["Type"] == "Study")
    volume_study = next(r["ID"] for r in client.lookup(VOLUME.uid) if r["Type"] == "Study")
    typical_study = next(r["ID"] for r in client.lookup(TYPICAL_MR.uid) if r["Type"] == "Study")
    ct_study = next(r["ID"] for r in client.lookup(TYPICAL_CT.uid) if r["Type"] == "Study")
    cr_study = next(r["ID"] for r in client.lookup(RADIOGRAPHS.uid) if r["Type"] == "Study")
    return Landmarks(
        twenty_series_study=study,
        five_hundred_slice_series=client.get_json(f"/studies/{volume_study}/series")[0]["ID"],
        typical_mr_series=client.get_json(f"/studies/{typical_study}/series")[0]["ID"],
        typical_ct_series=client.get_json(f"/studies/{ct_study}/series")[0]["ID"],
        radiograph_series=client.get_json(f"/studies/{cr_study}/series")[0]["ID"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args()
    orthanc, landmarks, manifest = open_archive(args.patients)
    orthanc.stop()
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
