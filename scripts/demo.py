"""Demo data: pydicom's real test files plus a generated MR volume and a few named patients.

A new user sees several patients and modalities, multi-frame objects, objects
without pixels (SR, RT plans) and a real volume at once.

`python -m scripts.demo` loads them into the Orthanc the gallery is configured for (ORTHANC_URL...),
then renders each image once (warm_images), so images that crash that Orthanc are recorded now.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gallery.extensions import orthanc as orthanc_client
from gallery.orthanc.client import OrthancClient
from gallery.orthanc.errors import OrthancError, OrthancUnavailable

from .synthetic import PatientInfo, StudyInfo, mr_volume, small_study

Source = Callable[[], bytes]

NAMED_PATIENTS = [
    (PatientInfo("Müller^Jürgen", "DEMO-0001", "19620314", "M"), "CT", "CT Thorax", "20240611"),
    (PatientInfo("Hong^Gildong=洪^吉洞=홍^길동", "DEMO-0002", "19851102", "M"), "CR", "Chest PA", "20250120"),
    (PatientInfo("García^José", "DEMO-0003", "19790905", "M"), "US", "Abdomen US", "20231005"),
    (PatientInfo("Ødegård^Åse", "DEMO-0004", "19920217", "F"), "MR", "MR Knee", "20260402"),
]


#: Test files left out because Orthanc itself cannot survive them (found by tests/integration/test_demo.py).
#: Files that crash only some versions stay in (1.12.7 aborts on pydicom-data's US1_J2KR.dcm):
#: warm_images() meets the crash at load time and the gallery records it.
ORTHANC_KILLERS = {
    # Orthanc 1.10.1 + GDCM plugin: rendering it fails an assertion on NumberOfFrames and aborts Orthanc.
    "rtdose_1frame.dcm",
}


def pydicom_test_files() -> list[Path]:
    """pydicom's bundled test files and, when installed, those of `pydicom-data`, sorted by path.

    Several share their UIDs (one image in many transfer syntaxes): Orthanc keeps the
    first it receives, so upload them in this order, one at a time, to get the same
    archive every time.
    """
    from pydicom.data import get_testdata_files

    return sorted(Path(p) for p in get_testdata_files() if os.path.isfile(p) and Path(p).name not in ORTHANC_KILLERS)


def demo_sources(volume_slices: int = 96) -> Iterator[tuple[str, Source]]:
    """(name, reader) pairs; readers produce bytes lazily so memory stays small."""
    volunteer = PatientInfo("Volunteer^Brain", "DEMO-MR-VOLUME", "19880101", "O")
    study = StudyInfo(volunteer, "brain-mr", "20261120", "093000", "MR Brain without contrast", "ACC-MR-0001")
    for index, data in enumerate(mr_volume(study, slices=volume_slices)):
        yield f"generated/mr-volume/slice-{index + 1:03d}.dcm", (lambda d=data: d)
    for patient, modality, description, date in NAMED_PATIENTS:
        info = StudyInfo(patient, description, date, "101500", description, f"ACC-{patient.patient_id}")
        for index, data in enumerate(small_study(info, modality, series=2, instances=3, size=128)):
            yield f"generated/{patient.patient_id}/{index}.dcm", (lambda d=data: d)
    for path in pydicom_test_files():
        yield f"pydicom/{path.name}", path.read_bytes


def upload(client: OrthancClient, sources: Iterable[tuple[str, Source]], workers: int = 4) -> Counter[str]:
    """POST each file on its own; count outcomes (Success, AlreadyStored, rejected)."""

    def send(item: tuple[str, Source]) -> str:
        _, read = item
        try:
            return client.store_instance(read()).get("Status", "Success")
        except OrthancUnavailable:
            raise
        except OrthancError:
            return "rejected"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Counter(pool.map(send, sources))


def warm_images() -> Counter[str]:
    """Render every instance's thumbnail once, in order (in an app context).

    Images that crash Orthanc (see ORTHANC_KILLERS; which ones depends on the Orthanc version)
    do so now, one at a time, and are recorded by gallery/imaging/failures.py before anyone
    browses. Needs a supervised Orthanc (EmbeddedOrthanc.supervise) to come back after each.
    """
    from flask import current_app

    from gallery.imaging.failures import known
    from gallery.imaging.render import Rendering, render

    config = current_app.config
    outcomes: Counter[str] = Counter()
    for instance in orthanc_client().get_json("/instances"):
        spec = Rendering(instance, 0, box=config["THUMBNAIL_SIZE"], quality=config["THUMBNAIL_QUALITY"])
        try:
            image = render(spec)
        except OrthancError:
            outcomes["failed"] += 1
            continue
        outcomes[known(instance) or ("placeholder" if image.placeholder else "rendered")] += 1
    return outcomes


def load_demo_data(client: OrthancClient) -> Counter[str]:
    """One file at a time, in order (see pydicom_test_files): about 2 s for the ~380 files."""
    return upload(client, demo_sources(), workers=1)


def main() -> None:
    """Load the demo data into the configured Orthanc, configured as the app is (config.py, environment)."""
    from gallery import create_app

    with create_app().app_context():
        counts = load_demo_data(orthanc_client())
        print(f"Rendered each image once: {dict(warm_images())}")
    print(
        f"Demo data: {counts['Success']} stored, {counts['AlreadyStored']} already stored, "
        f"{counts['rejected']} rejected by Orthanc (pydicom ships some deliberately broken files)."
    )


if __name__ == "__main__":
    main()
