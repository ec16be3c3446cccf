"""Benchmark of the archive index at scale, without Orthanc: list pages, search and worker memory.

    .venv/bin/python -m bench.index_sim                       (what `make bench-index` runs)
    .venv/bin/python -m bench.index_sim --studies 200000 --engines sqlite

Fills the index tables directly (set-based INSERTs in large transactions; PostgreSQL through COPY)
with `--studies` studies, 0.3 patients and 3 series per study: Latin names with accents, Korean names
in all three PN groups, dates over 20 years, several modalities. Rows are made by the writer's own
rules (sort keys, search text, search terms, aggregates), and the migrations' FTS5 triggers and
pg_trgm indexes are in place, so the queries run on the real structures. The filled databases are
kept under bench/data/ (SQLite files; a PostgreSQL cluster folder) and reused by the next run.

Measured with the real app (`create_app` + test client) in subprocesses, so each starts fresh:
- warm: every page once, then `--repeats` rounds; p50/p95 per page; the worker's RSS afterwards,
  for the small archive (`--baseline`, 1,000 studies) and the large one;
- fresh: one new process per page, whose FIRST request is timed (plus its create_app time).
Targets (issue 14): p95 < 100 ms, a fresh worker's first list page < 300 ms, RSS within 30 MB.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import math
import operator
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
PAGE_SIZE = 50  # config.PAGE_SIZE
BATCH = 20_000  # studies per transaction

LATIN_FAMILY = [
    "Smith",
    "García",
    "Müller",
    "Dubois",
    "Ødegård",
    "Nguyen",
    "O'Brien",
    "Rossi",
    "Søren",
    "Łukasz",
    "Novák",
    "Johansson",
    "Fernández",
    "Brontë",
    "Lefèvre",
    "Schröder",
    "Kowalski",
    "Silva",
    "Yılmaz",
]
LATIN_GIVEN = [
    "John",
    "Ann",
    "José",
    "Åse",
    "Élodie",
    "Mary Ann",
    "François",
    "Zoë",
    "Jürgen",
    "Inês",
    "Björn",
    "Chloé",
    "Renée",
    "Noël",
    "Ágnes",
    "Mateo",
]
# family (romanised, hanja, hangul), given (romanised, hanja, hangul): PN `Kim^Minjun=金^敏俊=김^민준`
KOREAN_FAMILY = [
    ("Kim", "金", "김"),
    ("Lee", "李", "이"),
    ("Park", "朴", "박"),
    ("Choi", "崔", "최"),
    ("Jung", "鄭", "정"),
    ("Kang", "姜", "강"),
    ("Hong", "洪", "홍"),
    ("Yoon", "尹", "윤"),
]
KOREAN_GIVEN = [
    ("Minjun", "敏俊", "민준"),
    ("Seoyeon", "瑞妍", "서연"),
    ("Jiwoo", "智宇", "지우"),
    ("Gildong", "吉洞", "길동"),
    ("Hayun", "夏潤", "하윤"),
    ("Doyun", "道允", "도윤"),
    ("Jiho", "智浩", "지호"),
    ("Sua", "秀雅", "수아"),
]
# study kinds: description, the modalities of its three series
KINDS = [
    ("CT CHEST W CONTRAST", ("CT", "CT", "SR")),
    ("MR BRAIN", ("MR", "MR", "MR")),
    ("XR CHEST PA/LAT", ("CR", "CR", "CR")),
    ("US ABDOMEN", ("US", "US", "SR")),
    ("MR KNEE LEFT", ("MR", "MR", "MR")),
    ("CT HEAD", ("CT", "CT", "CT")),
    ("PET-CT WHOLE BODY", ("PT", "CT", "CT")),
    ("MAMMO SCREENING", ("MG", "MG", "MG")),
]
FIRST_DAY = datetime.date(2006, 1, 1)
DAYS = 20 * 365


def oid(kind: str, number: int) -> str:
    """An Orthanc-like ID (5 groups of 8 hex digits), distinct per kind and number, cheap to make."""
    digits = hashlib.sha1(f"{kind}|{number}".encode()).hexdigest()
    return "-".join(digits[i : i + 8] for i in range(0, 40, 8))


def patient_name(rng: random.Random) -> str:
    """A DICOM PN: Latin with accents (2/3), or Korean in its three groups (1/3); a few empty."""
    roll = rng.random()
    if roll < 0.01:
        return ""
    if roll < 0.34:
        (fr, fh, fk), (gr, gh, gk) = rng.choice(KOREAN_FAMILY), rng.choice(KOREAN_GIVEN)
        return f"{fr}^{gr}={fh}^{gh}={fk}^{gk}"
    return f"{rng.choice(LATIN_FAMILY)}^{rng.choice(LATIN_GIVEN)}"


# -- filling -------------------------------------------------------------------------------------


def generate(studies: int, first: int, last: int) -> dict[str, list[dict]]:
    """The rows of patients first..last-1 (0.3 per study) with their studies and series, as the writer makes them."""
    from gallery.archive.index import tables, writer
    from gallery.archive.index.records import SeriesRecord, aggregates
    from gallery.archive.search import name_variants
    from gallery.dicom.values import PersonName, fold, format_name, is_viewable

    patients_total = max(1, studies * 3 // 10)
    rows: dict[str, list[dict]] = {"patients": [], "studies": [], "series": [], "links": [], "terms": []}
    kinds = tables.TERM_KINDS
    for p in range(first, last):
        rng = random.Random(p)
        dicom_name = patient_name(rng)
        name = PersonName(str(format_name(dicom_name)), dicom_name)
        pid, patient = f"P{p:08d}", oid("patient", p)
        birth = (datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(90 * 365))).isoformat()
        sex = rng.choice("MF")
        variants = name_variants(name)
        # studies p*N/P .. (p+1)*N/P - 1 belong to patient p: 3.3 each on average
        numbers = range(p * studies // patients_total, (p + 1) * studies // patients_total)
        own = []
        for n in numbers:
            description, modalities = KINDS[n % len(KINDS)]
            day = FIRST_DAY + datetime.timedelta(days=rng.randrange(DAYS))
            date, clock = day.isoformat(), f"{rng.randrange(7, 20):02d}:{rng.randrange(60):02d}"
            study = oid("study", n)
            records = []
            for k, modality in enumerate(modalities):
                count = 1 if modality == "SR" else rng.choice((1, 2, 30, 120))
                series = SeriesRecord(oid("series", n * 3 + k), study, modality, count, oid("instance", n * 3 + k))
                records.append(series)
                rows["series"].append(
                    {
                        "id": series.id,
                        "study": study,
                        "modality": modality,
                        "instance_count": count,
                        "middle_instance": series.middle_instance,
                        "viewable": is_viewable(modality, count),
                        "sweep": 0,
                    }
                )
            mods, instances, thumb = aggregates(records)
            sort_key = writer.study_sort_key(date, clock)
            accession = f"A{n:09d}"
            search_text = writer._search_text(description, accession, *variants, pid)
            row = {
                "id": study,
                "patient": patient,
                "patient_name": str(name),
                "patient_name_dicom": dicom_name,
                "patient_id": pid,
                "patient_birth_date": birth,
                "patient_sex": sex,
                "date": date,
                "time": clock,
                "sort_key": sort_key,
                "description": description,
                "accession": accession,
                "modalities": "\\".join(mods),
                "series_count": 3,
                "instance_count": instances,
                "thumbnail": thumb,
                "search_text": search_text,
                "sweep": 0,
                "indexed_at": 0.0,
            }
            rows["studies"].append(row)
            own.append(row)
            rows["links"] += [{"modality": m, "sort_key": sort_key, "study": study} for m in mods]
            _terms(rows["terms"], kinds[("studies", "line")], kinds[("studies", "word")], study, search_text, sort_key)
        if not own:
            continue
        newest = max(own, key=lambda r: (r["sort_key"], r["id"]))
        search_text = writer._search_text(*variants, pid)
        patient_key = f"{fold(name)}\x1f{pid}"
        rows["patients"].append(
            {
                "id": patient,
                "name": str(name),
                "name_dicom": dicom_name,
                "patient_id": pid,
                "birth_date": birth,
                "sex": sex,
                "sort_key": patient_key,
                "study_count": len(own),
                "latest_study_date": newest["date"],
                "thumbnail": next((r["thumbnail"] for r in own if r["thumbnail"]), None),
                "search_text": search_text,
            }
        )
        _terms(
            rows["terms"], kinds[("patients", "line")], kinds[("patients", "word")], patient, search_text, patient_key
        )
    return rows


def _terms(out: list[dict], line_kind: str, word_kind: str, ref: str, search_text: str, sort_key: str) -> None:
    from gallery.archive.index.writer import search_terms

    lines, words = search_terms(search_text)
    out += [{"kind": line_kind, "term": t, "ref": ref, "sort_key": sort_key} for t in lines]
    out += [{"kind": word_kind, "term": t, "ref": ref, "sort_key": sort_key} for t in words]


TABLES = {
    "patients": "index_patients",
    "studies": "index_studies",
    "series": "index_series",
    "links": "index_study_modalities",
    "terms": "index_search_terms",
}


def _copy(connection, table: str, rows: list[dict]) -> None:
    """PostgreSQL COPY of rows (psycopg 3), the fastest bulk path; triggers and indexes stay in place."""
    if not rows:
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def fill(url: str, studies: int, log: io.TextIOBase = sys.stderr) -> float:
    """Fill the index of `url` with `studies` studies unless it holds them already; returns seconds spent."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        filled = connection.execute(text("SELECT value FROM index_state WHERE key = 'bench_studies'")).scalar()
    if filled is not None and json.loads(filled) == studies:
        _orthanc_statistics(engine)
        return 0.0
    started = time.monotonic()
    patients_total = max(1, studies * 3 // 10)
    step = max(1, BATCH * 3 // 10)
    with engine.begin() as connection:
        for table in TABLES.values():
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("DELETE FROM index_state"))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.commit()
            kept = _sqlite_bulk_start(connection)
        for first in range(0, patients_total, step):
            rows = generate(studies, first, min(patients_total, first + step))
            if sqlite:
                _sqlite_insert(connection, rows)
            else:
                for key, table in TABLES.items():
                    _copy(connection, table, rows[key])
            connection.commit()
            done = min(studies, (first + step) * studies // patients_total)
            rate = done / (time.monotonic() - started)
            print(
                f"\r  {engine.dialect.name}: {done:,} of {studies:,} studies ({rate:,.0f}/s)",
                end="",
                file=log,
                flush=True,
            )
        if sqlite:
            print(f"\n  sqlite: indexes, FTS5 and counts ({time.monotonic() - started:,.0f} s)", file=log, flush=True)
            _sqlite_bulk_end(connection, kept)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO index_state (key, value) VALUES ('bench_studies', :v)"), {"v": json.dumps(studies)}
        )
    with engine.connect() as connection:  # as autovacuum would leave it: statistics and a visibility map
        if sqlite:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        else:
            connection.connection.driver_connection.autocommit = True
            connection.exec_driver_sql("VACUUM ANALYZE")
    _orthanc_statistics(engine)
    engine.dispose()
    print(file=log)
    return time.monotonic() - started


def _sqlite_bulk_start(connection) -> list[str]:
    """Drop the filled tables' secondary indexes and triggers (FTS5, counts) for the fill; returns their SQL.

    Inserting 31 rows per study into B-trees and an FTS5 index row by row ran at ~900 studies/s; the
    same objects built once at the end, from the migrations' own SQL (sqlite_master), cost far less.
    """
    tables = tuple(TABLES.values())
    marks = ",".join("?" * len(tables))
    objects = connection.exec_driver_sql(
        f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks})",
        tables,
    ).all()
    for kind, name, _ in objects:
        connection.exec_driver_sql(f"DROP {kind.upper()} {name}")
    for pragma in ("synchronous = OFF", "cache_size = -1000000", "temp_store = MEMORY"):
        connection.exec_driver_sql(f"PRAGMA {pragma}")
    connection.commit()
    return [sql for _, _, sql in objects]


def _sqlite_insert(connection, rows: dict[str, list[dict]]) -> None:
    """One executemany per table through the driver, rows in primary-key order (appends to the B-trees)."""
    cursor = connection.connection.driver_connection.cursor()
    for key, table in TABLES.items():
        if not rows[key]:
            continue
        columns = list(rows[key][0])
        keys = [c.name for c in getattr(_tables(), _TABLE_OBJECTS[key]).primary_key.columns]
        primary = [columns.index(name) for name in keys]
        values = sorted(map(operator.itemgetter(*columns), rows[key]), key=operator.itemgetter(*primary))
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
        )


def _tables():
    from gallery.archive.index import tables

    return tables


def _sqlite_bulk_end(connection, kept: list[str]) -> None:
    """Recreate the dropped indexes and triggers, build the FTS5 tables from their content, recount."""
    for sql in kept:
        connection.exec_driver_sql(sql)
    for table in ("index_patients", "index_studies"):
        connection.exec_driver_sql(f"INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')")
    for table in ("index_patients", "index_studies", "index_series"):
        count = f"(SELECT count(*) FROM {table})"
        connection.exec_driver_sql(f"UPDATE index_counts SET rows = {count} WHERE name = '{table}'")
    connection.commit()


def _orthanc_statistics(engine) -> None:
    """Orthanc's instance count and disk size as the syncer stores them from `/statistics` (the home page
    reads them; without them it would sum every series' instances, as on a fresh install)."""
    from sqlalchemy import text

    with engine.begin() as connection:
        if connection.execute(text("SELECT 1 FROM index_state WHERE key = 'orthanc_statistics'")).first():
            return
        instances = connection.execute(text("SELECT coalesce(sum(instance_count), 0) FROM index_series")).scalar()
        value = json.dumps({"CountInstances": int(instances), "TotalDiskSize": 0})
        connection.execute(text("INSERT INTO index_state (key, value) VALUES ('orthanc_statistics', :v)"), {"v": value})


_TABLE_OBJECTS = {
    "patients": "patients",
    "studies": "studies",
    "series": "series",
    "links": "study_modalities",
    "terms": "terms",
}


VIEWER = "bench-viewer"


def migrate(url: str) -> None:
    """Create (or upgrade) the schema as every gallery process does at start, and a viewer account."""
    from gallery.access.users import create_user, find_user

    app = make_app(url)
    with app.app_context():
        if find_user(VIEWER) is None:
            create_user(VIEWER, "bench-password-1", "viewer")


def make_app(url: str):
    from gallery import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": False,
            "SECRET_KEY": "bench",
            "ORTHANC_URL": "",
            "CACHE_TYPE": "SimpleCache",
            "GALLERY_ADMIN_USER": "",
            "INDEX_SYNC": "off",
            "PAGE_SIZE": PAGE_SIZE,
        }
    )


# -- PostgreSQL kept under bench/data/ -----------------------------------------------------------


class KeptPostgreSQL:
    """A PostgreSQL cluster whose folder stays in bench/data/ between runs (tests/services.py's settings)."""

    def __init__(self, folder: Path) -> None:
        from tests.support.services import as_postgres, free_port, postgresql_bin

        self.folder, self.port, self.bin = folder, free_port(), postgresql_bin()
        data = folder / "data"
        if not data.exists():
            folder.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres", "postgres")
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "orthanc",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                cwd=folder,
                **as_postgres(),
            )
        settings = [
            "listen_addresses=127.0.0.1",
            f"unix_socket_directories={folder}",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "maintenance_work_mem=512MB",
            "shared_buffers=512MB",
            "max_wal_size=4GB",
        ]
        command = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port)]
        command += [a for s in settings for a in ("-c", s)]
        with open(folder / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=folder, **as_postgres()
            )
        client = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "orthanc"]
        deadline = time.monotonic() + 30
        while subprocess.run([str(self.bin / "pg_isready"), *client], capture_output=True).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {folder / 'postgres.log'}")
            time.sleep(0.1)
        self.client = client

    def database(self, name: str) -> str:
        subprocess.run([str(self.bin / "createdb"), *self.client, name], capture_output=True)  # exists: fine
        return f"postgresql+psycopg://orthanc@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        from tests.support.services import stop_process

        stop_process(self.process, 2)  # SIGINT: fast shutdown, the folder stays


# -- measuring (in subprocesses) -----------------------------------------------------------------


def pages(studies: int) -> dict[str, str]:
    """What is measured: label → path."""
    last = max(1, math.ceil(max(1, studies * 3 // 10) / PAGE_SIZE))
    return {
        "/patients p1": "/patients",
        "/patients middle": f"/patients?page={max(1, last // 2)}",
        "/patients last": f"/patients?page={last}",
        "/studies p1": "/studies",
        "/studies MR 2015": "/studies?modality=MR&from=2015-01-01&to=2015-12-31",
        "search prefix gar*": "/patients?q=gar*",
        "search contains arci": "/patients?q=arci",
        "search Korean 민준": "/patients?q=%EB%AF%BC%EC%A4%80",
        "studies search 서연": "/studies?q=%EC%84%9C%EC%97%B0",
        "home (counts)": "/",
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve(url: str, studies: int, mode: str, label: str, repeats: int) -> dict:
    """Run inside a fresh subprocess: time the first request of `label`, or every page warm."""
    started = time.perf_counter()
    app = make_app(url)
    client = app.test_client()
    with app.app_context():
        from gallery.access.users import find_user

        user_id = find_user(VIEWER).get_id()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    startup = time.perf_counter() - started
    paths = pages(studies)

    def get(path: str) -> float:
        t = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - t
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        return elapsed * 1000

    if mode == "fresh":
        return {"startup_ms": startup * 1000, "first_ms": get(paths[label]), "rss_mb": rss_mb()}
    rss_start = rss_mb()
    for path in paths.values():
        get(path)
    times: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(repeats):
        for label, path in paths.items():
            times[label].append(get(path))
    return {
        "rss_start_mb": rss_start,
        "rss_mb": rss_mb(),
        "pages": {label: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)} for label, v in times.items()},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def in_subprocess(url: str, studies: int, mode: str, label: str = "", repeats: int = 20) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.index_sim",
        "--serve",
        url,
        "--studies",
        str(studies),
        "--mode",
        mode,
        "--label",
        label,
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------


def engine_urls(engine: str, sizes: list[int], server: KeptPostgreSQL | None) -> Iterator[tuple[int, str]]:
    for size in sizes:
        if engine == "sqlite":
            yield size, f"sqlite:///{DATA / f'index-sim-{size}.db'}"
        else:
            yield size, server.database(f"index_sim_{size}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="the small archive RSS is compared with")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--fresh-pages", default="/patients p1,/studies p1,/studies MR 2015,search contains arci")
    parser.add_argument("--fill-only", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="warm", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        print(json.dumps(serve(args.serve, args.studies, args.mode, args.label, args.repeats)))
        return 0

    DATA.mkdir(exist_ok=True)
    results: dict = {
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "cores": os.cpu_count(),
        "studies": args.studies,
        "baseline": args.baseline,
        "engines": {},
    }
    server = None
    try:
        for engine in args.engines.split(","):
            if engine == "postgresql":
                server = KeptPostgreSQL(DATA / "pg-index-sim")
            result: dict = {}
            for size, url in engine_urls(engine, [args.baseline, args.studies], server):
                migrate(url)
                seconds = fill(url, size)
                result[f"fill_s_{size}"] = round(seconds, 1)
                if args.fill_only:
                    continue
                warm = in_subprocess(url, size, "warm", repeats=args.repeats)
                result[f"warm_{size}"] = warm
                print(f"{engine} {size:,}: RSS {warm['rss_mb']:.0f} MB", file=sys.stderr)
                if size == args.studies:
                    fresh = {}
                    for label in args.fresh_pages.split(","):
                        fresh[label] = in_subprocess(url, size, "fresh", label)
                    result["fresh"] = fresh
            results["engines"][engine] = result
            if server is not None:
                server.stop()
                server = None
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(results, indent=1, ensure_ascii=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"index-sim-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=1))
    print(render(results))
    return 0


def render(results: dict) -> str:
    """A Markdown table: one row per page, p50/p95 per engine, then fresh and RSS lines."""
    n, base = results["studies"], results["baseline"]
    engines = list(results["engines"])
    lines = ["| page | " + " | ".join(f"{e} p50 / p95 ms" for e in engines) + " |", "|---|" + "---|" * len(engines)]
    first = results["engines"][engines[0]].get(f"warm_{n}", {}).get("pages", {})
    for label in first:
        cells = []
        for e in engines:
            page = results["engines"][e].get(f"warm_{n}", {}).get("pages", {}).get(label)
            cells.append(f"{page['p50']:.1f} / {page['p95']:.1f}" if page else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label in results["engines"][engines[0]].get("fresh", {}):
        cells = []
        for e in engines:
            f = results["engines"][e].get("fresh", {}).get(label)
            cells.append(f"first {f['first_ms']:.0f} (start {f['startup_ms']:.0f})" if f else "–")
        lines.append(f"| fresh process: {label} | " + " | ".join(cells) + " |")
    cells = []
    for e in engines:
        r = results["engines"][e]
        small, large = r.get(f"warm_{base}", {}).get("rss_mb"), r.get(f"warm_{n}", {}).get("rss_mb")
        cells.append(f"{small:.0f} → {large:.0f} MB" if small and large else "–")
    lines.append(f"| worker RSS {base:,} → {n:,} studies | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
