"""Orthanc calls per page, counted, at two archive sizes: do they grow with the archive?

    .venv/bin/python -m bench.calls [--sizes 10,500]

Loads a fresh embedded Orthanc with N small patients (plus one MR volume to open),
then asks every kind of page of a gallery app twice: cold (its cache emptied and the
list index's once-a-second poll due) and warm (again at once), and reads the count
of Orthanc calls from each answer's Server-Timing header, where the gallery's Orthanc
client reports every call it made. Building the list index (2 calls, once per
process) is reported on its own. Orthanc's StableAge is set long so that no
"stable" notices arrive mid-measure.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from pathlib import Path

from gallery import create_app
from gallery.extensions import cache
from gallery.orthanc.client import OrthancClient
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, mr_volume, small_study

from .measure import SERVER_TIMING
from .processes import BENCH_PASSWORD, BENCH_USER

HEADERS = {
    "Authorization": "Basic " + base64.b64encode(f"{BENCH_USER}:{BENCH_PASSWORD}".encode()).decode(),
    "Accept": "text/html",
}
VOLUME = StudyInfo(PatientInfo("Calls^Volume", "CALLS-VOL"), "volume", "20250101", "", "MR Brain")


def calls(response) -> int:
    match = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
    return int(match.group(2)) if match else 0


def load_patients(client: OrthancClient, start: int, stop: int) -> None:
    for n in range(start, stop):
        study = StudyInfo(PatientInfo(f"Patient^{n:04d}", f"CALLS-{n:04d}"), "s", f"2024{1 + n % 12:02d}15", "", "CT")
        for data in small_study(study, "CT", series=2, instances=2, size=16):
            client.store_instance(data)


def pages(client: OrthancClient) -> dict[str, str]:
    study = next(r["ID"] for r in client.lookup(VOLUME.uid) if r["Type"] == "Study")
    data = client.get_json(f"/studies/{study}")
    series = data["Series"][0]
    instance = client.get_json(f"/series/{series}")["Instances"][0]
    return {
        "/": "/",
        "/patients": "/patients",
        "/patients?q=": "/patients?q=patient^00*",
        "/studies?from=&to=": "/studies?from=2024-03-01&to=2024-06-30",
        "/patients/<id>": f"/patients/{data['ParentPatient']}",
        "/studies/<id>": f"/studies/{study}",
        "/series/<id>": f"/series/{series}",
        "/instances/<id>": f"/instances/{instance}",
        "/instances/<id>/thumbnail": f"/instances/{instance}/thumbnail",
        "/series/<id>/thumbnail": f"/series/{series}/thumbnail",
        "/series/<id>/view": f"/series/{series}/view",
        "/upload": "/upload",
    }


def measure(server, database: Path) -> dict[str, tuple[int, int]]:
    client = OrthancClient(server.url, server.user, server.password)
    config = {
        "ORTHANC_URL": server.url,
        "ORTHANC_USER": server.user,
        "ORTHANC_PASSWORD": server.password,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "GALLERY_ADMIN_USER": BENCH_USER,
        "GALLERY_ADMIN_PASSWORD": BENCH_PASSWORD,
        "SECRET_KEY": "calls",
        "CACHE_TYPE": "SimpleCache",
        "INDEX_POLL_SECONDS": 1.0,
    }
    app = create_app(config)
    browser = app.test_client()
    counts = {"list index build (once per process)": (calls(browser.get("/", headers=HEADERS)) - 2, 0)}
    for name, url in pages(client).items():
        with app.app_context():
            cache.clear()
        time.sleep(1.05)  # the list index's poll is due
        counts[name] = (calls(browser.get(url, headers=HEADERS)), calls(browser.get(url, headers=HEADERS)))
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,500", help="patient counts, ascending, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    server = start_orthanc(folder / "orthanc", extra_config={"StableAge": 3600})
    try:
        client = OrthancClient(server.url, server.user, server.password)
        for data in mr_volume(VOLUME, size=64, slices=20):
            client.store_instance(data)
        loaded, results = 0, {}
        for size in sizes:
            load_patients(client, loaded, size)
            loaded = size
            results[size] = measure(server, folder / f"gallery-{size}.db")
    finally:
        remove_storage(server)
    header = "| page | " + " | ".join(f"{n} patients: cold / warm" for n in sizes) + " |"
    print(header)
    print("|---|" + "---|" * len(sizes))
    for name in results[sizes[0]]:
        cells = [" / ".join(str(c) for c in results[n][name]) for n in sizes]
        print(f"| `{name}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
