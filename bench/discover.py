"""The URLs the load test browses, found the way a script would: sign in, then follow the JSON twins.

Nothing is built from Orthanc IDs by hand: every patient, study, series, instance,
thumbnail and viewer URL is one the gallery itself links to (`url`, `thumbnail_url`,
`image_url`, `planes`), so a URL the load test requests is one a user can click.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

#: Relative frequency of each kind of request in the mixed run: a browser fetches a page's
#: thumbnails with it (a study page shows a thumbnail per series, a series page one per slice),
#: so images outnumber pages about 3 to 1.
WEIGHTS: dict[str, int] = {
    "list": 8,  # /, /patients?page=, /studies?page=
    "search": 4,  # /patients?q=, /studies?q=, ?modality=, ?from=&to=
    "patient": 5,
    "study": 6,
    "series": 6,  # with ?page= for long series
    "instance": 2,
    "thumbnail": 45,  # /instances/<id>/thumbnail (lists, patient, study and series pages)
    "series_thumbnail": 15,  # /series/<id>/thumbnail (study pages)
    "viewer": 4,  # /series/<id>/view?slice=, other planes
    "viewer_image": 5,  # /series/<id>/image?slice= (the viewer's one large image)
}
#: The per-kind runs (load.py): each group alone, for latencies by kind.
GROUPS: dict[str, tuple[str, ...]] = {
    "lists and searches": ("list", "search"),
    "detail pages": ("patient", "study", "series", "instance"),
    "thumbnails": ("thumbnail", "series_thumbnail"),
    "viewer": ("viewer", "viewer_image"),
}
#: What Firefox sends: pages prefer HTML, images accept any image.
ACCEPT = {
    "page": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "image": "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
}
IMAGE_KINDS = frozenset({"thumbnail", "series_thumbnail", "viewer_image"})
JSON = {"Accept": "application/json"}
#: Slices of a series whose instance page and viewer position are used (first, middle, last).
SPREAD = (0.0, 0.5, 1.0)


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy from the environment
    session.headers["User-Agent"] = "bench.load"
    return session


def sign_in(url: str, username: str, password: str) -> requests.Session:
    """Sign in through the /login form (with its CSRF token) as a browser does; the session cookie is kept."""
    session = new_session()
    page = session.get(url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on /login")
    answer = session.post(
        url + "/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or not session.cookies:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return session


@dataclass
class Plan:
    """URLs by kind (sets: each URL once), written as the plan file bench/load.lua reads."""

    urls: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in WEIGHTS})

    def add(self, kind: str, *paths: str | None) -> None:
        self.urls[kind].update(p for p in paths if p)

    def counts(self) -> dict[str, int]:
        return {kind: len(paths) for kind, paths in self.urls.items()}

    def summary(self) -> str:
        return "  URLs: " + ", ".join(f"{kind} {n}" for kind, n in self.counts().items())

    def write(self, path: Path, session: requests.Session) -> Path:
        """The plan file, with the session's cookies sent on every request."""
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        lines = [f"H\tCookie\t{cookie}", "H\tUser-Agent\tbench.load (wrk)"]
        for kind, weight in WEIGHTS.items():
            lines.append(f"K\t{kind}\t{weight}")
            lines.append(f"A\t{kind}\t{ACCEPT['image' if kind in IMAGE_KINDS else 'page']}")
            lines += [f"U\t{kind}\t{p}" for p in sorted(self.urls[kind])]
        path.write_text("\n".join(lines) + "\n")
        return path


class Explorer:
    """GETs JSON twins with a signed-in session, several at a time (the gallery serves 16 threads)."""

    def __init__(self, session: requests.Session, url: str, workers: int = 8) -> None:
        self.session, self.url, self.workers = session, url, workers

    def get(self, path: str) -> dict:
        answer = self.session.get(self.url + path, headers=JSON, timeout=120, allow_redirects=False)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
        return answer.json()

    def each(self, paths: Iterable[str], handle: Callable[[str, dict], None]) -> None:
        paths = sorted(set(paths))
        with ThreadPoolExecutor(self.workers) as pool:
            for path, data in zip(paths, pool.map(self.get, paths), strict=True):
                handle(path, data)


def spread(count: int) -> list[int]:
    """1-based positions at the start, middle and end of `count` slices."""
    return sorted({1 + round(f * (count - 1)) for f in SPREAD}) if count else []


def list_urls(explorer: Explorer, plan: Plan, rng: random.Random, sample: int) -> list[str]:
    """Every page of both lists, searches, and `sample` patients picked from random list pages."""
    home = explorer.get("/")
    plan.add("list", "/")
    plan.add("thumbnail", *(s["thumbnail_url"] for s in home["recent_studies"]))
    plan.add("study", *(s["url"] for s in home["recent_studies"]))
    patients_pages = explorer.get("/patients")["patients"]["pages"]
    studies = explorer.get("/studies")
    plan.add("list", *(f"/patients?page={n}" for n in range(1, patients_pages + 1)))
    plan.add("list", *(f"/studies?page={n}" for n in range(1, studies["studies"]["pages"] + 1)))
    plan.add("search", *(f"/studies?modality={quote(m)}" for m in home["modalities"]))
    plan.add("search", *(f"/studies?from={y}-01-01&to={y}-12-31" for y in range(2006, 2027)))
    picked: list[str] = []
    pages = list(range(1, patients_pages + 1))
    rng.shuffle(pages)
    for number in pages:
        if len(picked) >= sample:
            break
        items = explorer.get(f"/patients?page={number}")["patients"]["items"]
        plan.add("thumbnail", *(p["thumbnail_url"] for p in items))
        for row in items[:: max(1, len(items) // 10)]:  # ~10 a page: patients spread over the alphabet
            picked.append(row["url"])
            family = row["name"].split(",")[0].strip()
            if family:
                plan.add("search", f"/patients?q={quote(family[:3].casefold())}", f"/patients?q={quote(family)}")
            plan.add("search", f"/patients?q={quote(row['patient_id'])}")
    return picked[:sample]


def discover(session: requests.Session, url: str, demo_patients: list[str], sample: int, seed: int = 7) -> Plan:
    """Follow the gallery's own links: lists → patients → studies → series → instances and viewer."""
    explorer = Explorer(session, url)
    plan = Plan()
    rng = random.Random(seed)
    patients = list_urls(explorer, plan, rng, sample) + [f"/patients/{pid}" for pid in demo_patients]
    studies: list[str] = []
    series: list[str] = []
    viewers: list[str] = []

    def on_patient(path: str, data: dict) -> None:
        plan.add("patient", path)
        for study in data["patient"]["studies"]:
            studies.append(study["url"])
            plan.add("thumbnail", study["thumbnail_url"])
            words = study["description"].split()
            if words:
                plan.add("search", f"/studies?q={quote(words[0].casefold())}")

    def on_study(path: str, data: dict) -> None:
        plan.add("study", path)
        for card in data["study"]["series"]:
            series.append(card["url"])
            plan.add("series_thumbnail", card["thumbnail_url"])

    def on_series(path: str, data: dict) -> None:
        plan.add("series", path, *(f"{path}?page={n}" for n in range(2, data["slices"]["pages"] + 1)))
        slices = data["slices"]["items"]
        plan.add("thumbnail", *(s["thumbnail_url"] for s in slices))
        plan.add("instance", *(slices[n - 1]["url"] for n in spread(len(slices))))
        if data["series"]["renderable"] and slices:  # the series page's "Open viewer" link
            viewers.append(path + "/view")

    def on_viewer(path: str, data: dict) -> None:
        count = data["view"]["count"]
        plan.add("viewer", *(f"{path}?slice={n}" for n in spread(count)))
        plan.add("viewer", *(p["url"] for p in data["planes"] if p["url"] and not p["current"]))
        base = data["image_url"].split("?")[0]
        plan.add("viewer_image", *(f"{base}?slice={n}" for n in range(1, count + 1, max(1, count // 12))))

    explorer.each(patients, on_patient)
    explorer.each(studies, on_study)
    explorer.each(series, on_series)
    explorer.each(viewers, on_viewer)
    return plan
