"""The archive index's read side on SQLite and PostgreSQL: search, filters, paging and totals.

The tables are filled through the writer with generated records (no Orthanc). Every answer of
queries.py is compared with a plain scan of the same rows in Python, so the indexes (FTS5 or
pg_trgm, the term table, the modality table, sort_key ranges, reading the last pages backwards)
must find exactly what reading every row would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re

import pytest
from sqlalchemy import func, select

from gallery.archive.index import queries, tables, writer
from gallery.archive.index.records import SeriesRecord, StudyRecord
from gallery.archive.index.sync import reset
from gallery.archive.paging import PageOutOfRange
from gallery.dicom.values import fold
from gallery.extensions import db
from gallery.store.models import Album, AlbumStudy

from ..support.databases import app_without_orthanc

FAMILIES = ["Smith", "Smithson", "García", "Ødegård", "O'Brien", "Dubois", "Müller", "Lee", "Park", "Nguyen"]
GIVEN = ["John", "Ann", "José", "Åse", "Mary Ann", "Élodie", "Jiwoo", "Seo-yeon"]
KOREAN = ["Kim^Minjun=金^敏俊=김^민준", "Hong^Gildong=洪^吉洞=홍^길동", "Choi^Jiwoo=崔^智宇=최^지우"]
ODD_IDS = ["AB_12", "ABX12", "X[1]", "P%5", "a.b(c"]
MODALITIES = ["CT", "MR", "CR", "US", "SR"]


def oid(*parts: object) -> str:
    digest = hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


def generate(seed: int = 7, patients: int = 90) -> tuple[list[StudyRecord], list[SeriesRecord]]:
    rng = random.Random(seed)
    studies, series = [], []
    for p in range(patients):
        if p < len(KOREAN):
            name = KOREAN[p]
        elif p % 17 == 0:
            name = ""  # anonymous
        else:
            name = f"{rng.choice(FAMILIES)}^{rng.choice(GIVEN)}"
        patient_id = ODD_IDS[p] if p < len(ODD_IDS) else f"P{p:03d}"
        for s in range(rng.randint(1, 4)):
            study = oid("study", p, s)
            dated = rng.random() > 0.1
            date = f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if dated else ""
            studies.append(
                StudyRecord(
                    id=study,
                    patient=oid("patient", p),
                    patient_name=name,
                    patient_id=patient_id,
                    patient_birth_date="1970-01-01",
                    patient_sex=rng.choice("FMO"),
                    date=date,
                    time=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}" if dated else "",
                    description=rng.choice(["Brain MRI", "Chest X-ray", "CT abdomen 50%", "Volume study", ""]),
                    accession=f"ACC{p:03d}{s}",
                    series_count=0,
                )
            )
            for n in range(rng.randint(1, 3)):
                count = rng.randint(1, 40)
                series.append(
                    SeriesRecord(
                        id=oid("series", p, s, n),
                        study=study,
                        modality=rng.choice(MODALITIES),
                        instance_count=count,
                        middle_instance=oid("instance", p, s, n),
                    )
                )
    return studies, series


@pytest.fixture
def index(engine_url):  # noqa: F811 - the fixture imported above
    """An app whose index holds the generated archive, written in two pages as the initial sync does."""
    app = app_without_orthanc(engine_url)
    studies, series = generate()
    with app.app_context():
        connection = db.session.connection()
        writer.upsert(connection, [], series[: len(series) // 2])  # series may come before their study
        writer.upsert(connection, studies, series[len(series) // 2 :])
        db.session.commit()
    with app.app_context():
        yield app


def reference_match(search_text: str, query: str) -> bool:
    """The documented search rules, by reading the row's search text."""
    folded = fold(query.strip())
    if not folded:
        return True
    lines = search_text.split("\n")
    if "*" in folded or "?" in folded:
        pattern = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in folded), re.S)
        return any(pattern.fullmatch(line) for line in lines)
    if len(folded) >= 3:
        return folded in search_text
    return any(word.startswith(folded) for line in lines for word in re.split(r"[\W_]+", line) if word)


def all_pages(fetch, size: int) -> list:
    first = fetch(1, size)
    items = list(first.items)
    for number in range(2, first.pages + 1):
        page = fetch(number, size)
        assert page.total == first.total
        items += page.items
    return items


QUERIES = [
    "smi", "smi*", "*son", "j?hn*", "s*h", "jose", "GARCIA", "ødegård", "민준", "김", "홍", "길동", "p00",
    "*", "?", "a.b(c", "nobody", "", "b_1", "ab_12", "x[1*", "x[1]", "p%5", "o'b", "mary ann", "kim, m*",
    "ki", "s", "*민*", "?im*", "0", "ct abdomen 50%", "50%", "acc0", "h\nj", '"ann"', "mith*", "élodie",
]  # fmt: skip


def test_patient_search_and_paging_match_a_scan(index):
    rows = db.session.execute(select(tables.patients.c.id, tables.patients.c.sort_key, tables.patients.c.search_text))
    rows = sorted(rows, key=lambda r: (r.sort_key, r.id))
    assert len(rows) == 90
    for query in QUERIES:
        expected = [r.id for r in rows if reference_match(r.search_text, query)]
        found = all_pages(lambda number, size, q=query: queries.patient_page(q, number, size), 7)
        assert [p.id for p in found] == expected, query
        assert queries.patient_page(query, 1, 7).total == len(expected), query


def test_search_finds_what_people_type(index):
    def names(query: str) -> set[str]:
        return {str(p.name) for p in queries.patient_page(query, 1, 100).items}

    def ids(query: str) -> set[str]:
        return {p.patient_id for p in queries.patient_page(query, 1, 100).items}

    assert ids("민준") == ids("kim minjun") == ids("Minjun Kim") == ids("김민준") == ids("김") == {"AB_12"}
    assert ids("홍") == ids("길동") == ids("hong^gildong") == {"ABX12"}
    assert names("smi") and all(n.startswith("Smith") for n in names("smi"))
    assert names("smithson") < names("smi") or not names("smithson")
    assert ids("b_1") == {"AB_12"}  # `_` and `%` are literal, not SQL wildcards
    assert ids("p%5") == {"P%5"} and ids("x[1]") == ids("x[1*") == {"X[1]"}
    assert not ids("olume*") and not ids("mith*")  # wildcards match a whole line
    garcia = ids("garcía")
    assert garcia == ids("GARCIA") and all(fold(str(n)).startswith("garcia") for n in names("garcia"))


def test_study_filters_and_search_match_a_scan(index):
    s = tables.studies.c
    rows = db.session.execute(select(s.id, s.sort_key, s.search_text, s.date, s.modalities))
    rows = sorted(rows, key=lambda r: (r.sort_key, r.id), reverse=True)
    dates = sorted({r.date for r in rows if r.date})
    ranges = [("", ""), (dates[0], dates[-1]), (dates[3], dates[3]), (dates[2], dates[40]), (dates[5], "")]
    ranges += [("", dates[5]), ("1800-01-01", "1800-12-31"), ("2019-02-30", "2019-06-01")]
    for modality in ["", "CT", "SR", "XA"]:
        for date_from, date_to in ranges:
            for query in ["", "brain", "smi*", "50%", "민준", "ki", "*"]:
                expected = [
                    r.id
                    for r in rows
                    if (not modality or modality in r.modalities.split("\\"))
                    and (not date_from or (r.date and r.date >= date_from))
                    and (not date_to or (r.date and r.date <= date_to))
                    and reference_match(r.search_text, query)
                ]

                def fetch(number, size, q=query, m=modality, f=date_from, t=date_to):
                    return queries.study_page(q, m, f, t, number, size)

                found = all_pages(fetch, 9)
                assert [x.id for x in found] == expected, (modality, date_from, date_to, query)


def test_an_album_restricts_studies_like_a_scan(index):
    """study_page(album=...) keeps exactly the album's studies the index holds, with every other filter."""
    s = tables.studies.c
    rows = sorted(
        db.session.execute(select(s.id, s.sort_key, s.search_text, s.modalities)),
        key=lambda r: (r.sort_key, r.id),
        reverse=True,
    )
    members = {r.id for r in rows[::3]} | {oid("study", "not indexed")}  # a member Orthanc no longer holds
    other = {r.id for r in rows[1::3]}
    db.session.add(Album(id=1, name="one", description="", created_by=1))
    db.session.add(Album(id=2, name="two", description="", created_by=1))
    db.session.flush()
    db.session.add_all(AlbumStudy(album_id=1, study_id=m, added_by=1) for m in members)
    db.session.add_all(AlbumStudy(album_id=2, study_id=m, added_by=1) for m in other)
    db.session.commit()
    for modality in ["", "CT"]:
        for query in ["", "brain", "ki"]:
            expected = [
                r.id
                for r in rows
                if r.id in members
                and (not modality or modality in r.modalities.split("\\"))
                and reference_match(r.search_text, query)
            ]
            found = all_pages(
                lambda number, size, q=query, m=modality: queries.study_page(q, m, number=number, size=size, album=1), 4
            )
            assert [x.id for x in found] == expected, (modality, query)
    assert queries.study_page(album=1, size=1000).total == len(members) - 1
    assert queries.study_page(album=3).total == 0


def test_last_pages_read_backwards_equal_forward_slices(index):
    everything = queries.study_page(number=1, size=1000).items
    assert len(everything) > 100
    size = 13
    pages = -(-len(everything) // size)
    for number in (1, 2, pages // 2, pages // 2 + 1, pages - 1, pages):
        page = queries.study_page(number=number, size=size)
        assert page.items == everything[(number - 1) * size : number * size], number
        assert page.total == len(everything) and page.pages == pages
    with pytest.raises(PageOutOfRange) as error:
        queries.study_page(number=pages + 1, size=size)
    assert error.value.last == pages
    assert queries.patient_page("nobody", 1, 50).items == [] and queries.patient_page("nobody", 1, 50).pages == 1


def test_rows_carry_names_aggregates_and_newest_first(index):
    studies, series = generate()
    recent = queries.recent_studies(5)
    newest = sorted((r for r in studies if r.date), key=lambda r: (r.date, r.time, r.id), reverse=True)[:5]
    assert [r.id for r in recent] == [r.id for r in newest]
    row = queries.study_row(recent[0].id)
    members = [s for s in series if s.study == row.id]
    assert row.modalities == tuple(sorted({s.modality for s in members}))
    assert row.instance_count == sum(s.instance_count for s in members) and row.series_count == len(members)
    viewable = [s for s in members if s.viewable]
    assert row.thumbnail == (max(viewable, key=lambda s: s.instance_count).middle_instance if viewable else None)
    korean = queries.patient_page("민준", 1, 10).items[0]
    assert korean.name.startswith("Kim, Minjun") and korean.name.dicom == KOREAN[0]  # a PersonName
    assert queries.study_row(oid("no such study")) is None
    assert queries.modalities() == sorted({s.modality for s in series})


def test_statistics_count_the_index_and_report_orthanc_figures(index):
    studies, series = generate()
    stats = queries.statistics()
    assert (stats.patients, stats.studies, stats.series) == (90, len(studies), len(series))
    assert stats.instances == sum(s.instance_count for s in series) and stats.disk_size == 0
    figures = {"CountInstances": 12345, "TotalDiskSize": 678}
    db.session.execute(tables.state.insert().values(key="orthanc_statistics", value=json.dumps(figures)))
    db.session.commit()
    stats = queries.statistics()
    assert (stats.instances, stats.disk_size) == (12345, 678)


def test_changes_and_deletions_reach_every_search_structure(index):
    studies, _ = generate()
    target = next(s for s in studies if s.patient_id == "P040" and s.description)
    renamed = dataclasses.replace(target, description="Zebrafish scan", patient_name="Quux^Zed")
    connection = db.session.connection()
    writer.upsert(connection, [renamed], [])
    db.session.commit()
    assert [s.id for s in queries.study_page("zebrafish", size=10).items] == [target.id]
    assert [s.id for s in queries.study_page("scan*", size=10).items] == []  # "zebrafish scan" is the line
    assert [s.id for s in queries.study_page("zebraf*", size=10).items] == [target.id]
    assert target.id in [s.id for s in queries.study_page("*fish scan", size=10).items]
    assert target.id in [s.id for s in queries.study_page("ze", size=50).items]
    assert target.id not in [s.id for s in queries.study_page(target.description, size=500).items]
    writer.delete_studies(db.session.connection(), [target.id])
    db.session.commit()
    for query in ("zebrafish", "zebraf*", "*fish scan", "ze", "quux"):
        assert target.id not in [s.id for s in queries.study_page(query, size=500).items], query
    others = [s for s in studies if s.patient == target.patient and s.id != target.id]
    patients = queries.patient_page("p040", 1, 10).items
    assert [p.study_count for p in patients] == ([len(others)] if others else [])


def counted(table) -> int:
    return db.session.execute(select(func.count()).select_from(table)).scalar_one()


def test_totals_come_from_trigger_kept_counts_that_stay_exact_through_every_write(index):
    """Unfiltered totals and statistics read index_counts (count(*) costs ~160 ms at a million rows);
    the triggers must keep it equal to the rows through upserts that update, deletions and reset."""
    studies, series = generate()
    everything = (tables.patients, tables.studies, tables.series)

    def check() -> None:
        rows = [counted(t) for t in everything]
        kept = dict(db.session.execute(select(tables.counts.c.name, tables.counts.c.rows)).all())
        assert [kept[t.name] for t in everything] == rows
        stats = queries.statistics()
        assert [stats.patients, stats.studies, stats.series] == rows
        assert queries.patient_page("", 1, 5).total == rows[0]
        assert queries.study_page(size=5).total == rows[1]

    check()
    connection = db.session.connection()
    writer.upsert(connection, studies[:10], series[:10])  # every row exists: the update path, no new rows
    writer.delete_studies(connection, [s.id for s in studies[:7]])
    writer.delete_series(connection, [s.id for s in series[-5:]])
    db.session.commit()
    check()
    assert counted(tables.studies) == len(studies) - 7
    # the count is the trigger's, not a count(*): a stale value shows through the totals
    db.session.execute(tables.counts.update().where(tables.counts.c.name == "index_studies").values(rows=12345))
    db.session.commit()
    assert queries.statistics().studies == queries.study_page(size=5).total == 12345
    assert queries.study_page(modality="MR", size=5).total < 12345  # filtered totals still count rows
    db.session.execute(
        tables.counts.update().where(tables.counts.c.name == "index_studies").values(rows=counted(tables.studies))
    )
    db.session.commit()
    reset(db.engine)
    check()
    assert [counted(t) for t in everything] == [0, 0, 0]


@pytest.mark.parametrize("query", ["\x00ab", "ab\x00cd", "'; drop table x", "\\\\\\", "%%%", "___", "[[[", "***"])
def test_odd_queries_are_plain_text(index, query):
    expected = [r.id for r in db.session.execute(select(tables.patients)) if reference_match(r.search_text, query)]
    assert sorted(p.id for p in queries.patient_page(query, 1, 500).items) == sorted(expected)
    assert queries.study_page(query, size=10).total >= 0


def test_dates_that_are_not_iso_filter_like_a_scan(index):
    """A date range is a sort_key range only while every date is ISO-shaped; a stored DICOM value that is
    not a date ("2019", "20191301") must still be checked against the range itself, as a scan does."""
    studies, _ = generate()
    odd = [
        dataclasses.replace(studies[i], date=date, time="10:00")
        for i, date in ((0, "2019"), (1, "20191301"), (2, "2019-06-1X"), (3, "2020"))
    ]
    writer.upsert(db.session.connection(), odd, [])
    db.session.commit()
    s = tables.studies.c
    rows = sorted(
        db.session.execute(select(s.id, s.sort_key, s.date, s.modalities)),
        key=lambda r: (r.sort_key, r.id),
        reverse=True,
    )
    ranges = [("2019-01-01", "2019-12-31"), ("2019-06-15", "2019-06-15"), ("2019-01-01", ""), ("", "2019-12-31")]
    for date_from, date_to in ranges:
        for modality in ("", "CT"):
            expected = [
                r.id
                for r in rows
                if r.date  # the date and its place in the sort order must both be in the range
                and (not date_from or (r.date >= date_from and r.sort_key >= f"1{date_from}"))
                and (not date_to or (r.date <= date_to and r.sort_key < f"1{date_to}}}"))
                and (not modality or modality in r.modalities.split("\\"))
            ]

            def fetch(number, size, f=date_from, t=date_to, m=modality):
                return queries.study_page("", m, f, t, number, size)

            assert [x.id for x in all_pages(fetch, 9)] == expected, (date_from, date_to, modality)
    in_2019 = {x.id for x in queries.study_page(date_from="2019-01-01", date_to="2019-12-31", size=500).items}
    assert odd[2].id in in_2019 and odd[0].id not in in_2019 and odd[1].id not in in_2019  # "2019", "20191301"


def test_search_terms_carry_their_rows_sort_keys_through_every_write(index):
    """Searches count and page from index_search_terms alone, so its copy of each row's sort key must
    follow the row through renames, new dates and deletions, and `reset` must leave no term behind."""
    studies, _ = generate()
    t, p, s = tables.terms.c, tables.patients.c, tables.studies.c

    def stale() -> list:
        found = []
        for level, table in (("patients", tables.patients), ("studies", tables.studies)):
            kinds = (tables.TERM_KINDS[(level, "line")], tables.TERM_KINDS[(level, "word")])
            joined = select(t.ref, t.sort_key, table.c.sort_key.label("row_key")).join_from(
                tables.terms, table, table.c.id == t.ref, isouter=True
            )
            found += [r for r in db.session.execute(joined.where(t.kind.in_(kinds))) if r.sort_key != r.row_key]
        return found

    assert stale() == [] and counted(tables.terms) > 0
    moved = dataclasses.replace(studies[5], date="2031-01-02", time="08:00", patient_name="Aaron^Zed")
    writer.upsert(db.session.connection(), [moved], [])
    writer.delete_studies(db.session.connection(), [studies[9].id])
    db.session.commit()
    assert stale() == []
    assert queries.study_page("aaron", size=5).items[0].id == moved.id
    assert queries.patient_page("aa", 1, 5).items[0].name.startswith("Aaron")
    assert db.session.execute(select(p.sort_key).where(p.id == moved.patient)).scalar().startswith("aaron")
    assert db.session.execute(select(s.sort_key).where(s.id == moved.id)).scalar() == "12031-01-02|08:00"
    reset(db.engine)
    assert counted(tables.terms) == 0
    assert queries.patient_page("smi*", 1, 5).total == queries.study_page("ki", size=5).total == 0


def test_overlong_tag_values_are_cut_to_their_columns_not_refused(index):
    """PostgreSQL refuses a value longer than its column: one malformed file (a 30-character "date", a
    100-character accession) must not stop the syncer's whole batch. Orthanc's JSON for such a study."""
    from gallery.archive.index.records import series_record, study_record

    study_id, patient_id, series_id = oid("long", 1), oid("long", 2), oid("long", 3)
    study = {
        "ID": study_id,
        "ParentPatient": patient_id,
        "Series": [series_id],
        "MainDicomTags": {
            "StudyDate": "2024-01-01T12:00:00 and more junk",
            "StudyTime": "12:00:00.000000 plus junk",
            "StudyDescription": "D" * 900,
            "AccessionNumber": "A" * 100,
        },
        "PatientMainDicomTags": {
            "PatientName": "Longname^" + "ß" * 600,  # casefolds to twice as many letters for the sort key
            "PatientID": "I" * 100,
            "PatientBirthDate": "1970-01-01 or thereabouts",
            "PatientSex": "SEX VALUE THAT IS FAR TOO LONG",
        },
    }
    series = {"ID": series_id, "ParentStudy": study_id, "Instances": ["x"], "MainDicomTags": {"Modality": "M" * 40}}
    connection = db.session.connection()
    writer.upsert(connection, [study_record(study)], [series_record(series)])
    db.session.commit()
    [row] = queries.study_page("longname", "", "", "", 1, 10).items
    assert row.id == study_id and row.accession == "A" * 64 and row.modalities == ("M" * 16,)
    [patient] = queries.patient_page("longname", 1, 10).items
    assert patient.id == patient_id and patient.patient_id == "I" * 64
