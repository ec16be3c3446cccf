"""The list index follows Orthanc: incremental on uploads, rebuilt on deletions."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

from gallery.archive.index import Catalog
from gallery.archive.search import KeyIndex, name_variants, wildcard_matcher
from gallery.dicom.values import fold
from gallery.orthanc.client import OrthancClient
from scripts.embedded import remove_storage, start_orthanc
from scripts.synthetic import PatientInfo, StudyInfo, small_study


def client_for(server) -> OrthancClient:
    return OrthancClient(server.url, server.user, server.password)


def study(name: str, date: str, key: str = "s") -> StudyInfo:
    return StudyInfo(PatientInfo(name, name.upper()[:8]), key, date, "", f"Study of {name}")


def upload(client: OrthancClient, info: StudyInfo, **kwargs) -> dict:
    answers = [client.store_instance(data) for data in small_study(info, size=16, **kwargs)]
    return answers[-1]


def test_new_studies_arrive_without_a_rebuild_and_deletions_force_one(fresh_orthanc):
    client = client_for(fresh_orthanc)
    upload(client, study("Zed^Zoe", "20200101"))
    upload(client, study("Able^Amy", "20230101"))
    index = Catalog(client, poll_seconds=0)
    index.refresh()
    assert [p.name for p in index.patients()] == ["Able, Amy", "Zed, Zoe"]
    assert index.rebuilds == 1

    added = upload(client, study("Moss^Max", "20250101"), modality="MR", series=2)
    index.refresh()
    assert index.rebuilds == 1  # from the change feed only
    assert [s.date for s in index.studies()] == ["2025-01-01", "2023-01-01", "2020-01-01"]
    newest = index.studies()[0]
    assert newest.modalities == ("MR",) and newest.series_count == 2 and newest.thumbnail
    assert index.statistics().studies == 3

    client.delete(f"/studies/{added['ParentStudy']}")
    index.refresh()
    assert index.rebuilds == 2  # /changes has no deletions: the counts gave it away
    assert [p.name for p in index.patients()] == ["Able, Amy", "Zed, Zoe"]


def test_polling_is_throttled(fresh_orthanc):
    now = [100.0]
    calls = []
    client = OrthancClient(
        fresh_orthanc.url,
        fresh_orthanc.user,
        fresh_orthanc.password,
        observer=lambda method, path, seconds: calls.append(path),
    )
    index = Catalog(client, poll_seconds=5, clock=lambda: now[0])
    index.refresh()
    built = len(calls)
    index.refresh()
    assert len(calls) == built  # within the interval: no call at all
    now[0] += 6
    index.refresh()
    assert calls[built:] == ["/changes", "/statistics"]
    index.invalidate()
    index.refresh()
    assert len(calls) == built + 4


def test_instance_counts_catch_up_when_a_series_becomes_stable(tmp_path: Path):
    server = start_orthanc(tmp_path / "orthanc", extra_config={"StableAge": 1})
    try:
        client = client_for(server)
        info = study("Grow^Gary", "20240101")
        files = list(small_study(info, size=16, instances=3))
        client.store_instance(files[0])
        index = Catalog(client, poll_seconds=0)
        index.refresh()
        assert index.studies()[0].instance_count == 1
        for data in files[1:]:
            client.store_instance(data)
        deadline = time.monotonic() + 15
        while index.studies()[0].instance_count != 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            index.refresh()
        assert index.studies()[0].instance_count == 3
        assert index.rebuilds == 1
    finally:
        remove_storage(server)


def test_wildcards_follow_dicom_rules():
    assert wildcard_matcher("smi")("john smith")
    assert wildcard_matcher("smi*")("smith^john")
    assert not wildcard_matcher("mith*")("smith^john")
    assert wildcard_matcher("j?hn*")("john smith")
    assert wildcard_matcher("ÉLODIE")("elodie")
    assert name_variants("Smith, John") == ("Smith, John", "Smith^John", "John Smith")


def test_warm_up_builds_the_index_in_the_background(orthanc_server, archive):
    index = Catalog(client_for(orthanc_server), poll_seconds=60)
    index.build_in_background().join(timeout=60)
    assert index.rebuilds == 1 and len(index.patients()) >= archive.filler_patients


def test_warm_up_with_orthanc_down_only_logs(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    index = Catalog(OrthancClient(f"http://127.0.0.1:{closed}/", retries=0), poll_seconds=60)
    with caplog.at_level(logging.WARNING, logger="gallery.archive.index"):
        index.build_in_background().join(timeout=10)
    assert index.rebuilds == 0 and "warm-up failed" in caplog.text


def test_date_ranges_match_a_plain_scan_at_every_boundary(orthanc_server, archive):
    index = Catalog(client_for(orthanc_server), poll_seconds=60)
    index.refresh()
    everything = index.studies()
    dates = sorted({s.date for s in everything if s.date})
    assert len(dates) > 10
    for date_from, date_to in [
        (dates[0], dates[-1]),
        (dates[3], dates[3]),
        (dates[2], dates[7]),
        (dates[5], ""),
        ("", dates[5]),
        ("1800-01-01", "1800-12-31"),
        ("2019-02-30", "2019-06-01"),  # bounds need not be real dates or stored ones
    ]:
        expected = [
            s
            for s in everything
            if s.date and (not date_from or s.date >= date_from) and (not date_to or s.date <= date_to)
        ]
        assert index.studies(date_from=date_from, date_to=date_to) == expected, (date_from, date_to)
    cr_2019 = index.studies(modality="CR", date_from="2019-01-01", date_to="2019-12-31")
    assert cr_2019 and all(s.date.startswith("2019") and "CR" in s.modalities for s in cr_2019)


def test_the_search_index_finds_exactly_what_a_scan_of_every_key_finds():
    names = ["Smith, John", "Smithson, Ann", "García, José", "Ødegård, Åse", "Kim, 민준 (김 민준)", "O'Brien, Mary Ann"]
    keys = [fold("\n".join((*name_variants(n), f"P{i:03d}", "a.b(c"))) for i, n in enumerate(names)]
    keys.append(fold("smith"))  # a row whose key is a single part
    queries = ["smi", "smi*", "*son", "j?hn*", "s*h", "jose", "GARCIA", "ødegård", "민준", "p00", "p005", "*", "?"]
    queries += ["a.b(c", "a?b(c", "nobody", "h\nj", "", "smith\nsmith", "c\np0", "n smith"]
    index = KeyIndex(keys)
    for query in queries:
        expected = (
            [i for i, key in enumerate(keys) if wildcard_matcher(query)(key)] if query else list(range(len(keys)))
        )
        assert index.matching(query) == expected, query
    assert index.matching("smith") == [0, 1, 6]  # each row once, however often it matches
