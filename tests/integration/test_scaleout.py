"""Scale-out on real engines: two Orthanc nodes over one PostgreSQL index and shared storage,
two gallery processes under gunicorn sharing one Redis cache.

    Orthanc A ─┐                       ┌─ gallery 1 (gunicorn, ORTHANC_URL=A,B)
               ├─ PostgreSQL index ─┐  │
    Orthanc B ─┘  shared storage    └──┴─ gallery 2 (gunicorn, ORTHANC_URL=B)   both on one Redis
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from gallery.orthanc.client import OrthancClient
from scripts.embedded import EmbeddedOrthanc, free_port, postgresql_index_config, start_orthanc
from scripts.launch import GalleryServer, start_gunicorn
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.services import gallery_get, missing_services, start_postgresql, start_redis
from ..support.web import ADMIN_PASSWORD, ADMIN_USER, orthanc_calls

pytestmark = pytest.mark.services

if reason := missing_services():
    pytest.skip(f"scale-out services unavailable: {reason}", allow_module_level=True)


@dataclass
class Cluster:
    node_a: EmbeddedOrthanc
    node_b: EmbeddedOrthanc
    gallery_1: GalleryServer
    gallery_2: GalleryServer

    def upload(self, study: StudyInfo, **kwargs) -> dict:
        client = OrthancClient(self.node_a.url, self.node_a.user, self.node_a.password)
        return [client.store_instance(data) for data in small_study(study, size=32, **kwargs)][-1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("scaleout")
    stoppers = []
    try:
        postgresql = start_postgresql()
        stoppers.append(postgresql.stop)
        redis = start_redis(folder / "redis")
        stoppers.append(redis.stop)
        shared = postgresql_index_config("127.0.0.1", postgresql.port, postgresql.database, postgresql.user)
        shared["StorageDirectory"] = str(folder / "shared-storage")
        node_a = start_orthanc(folder / "node-a", extra_config=shared)
        stoppers.append(lambda: node_a.stop(fast=True))
        (folder / "node-b").mkdir()
        shutil.copy(folder / "node-a" / "credentials.json", folder / "node-b")  # one account on every node
        node_b = start_orthanc(folder / "node-b", extra_config=shared)
        stoppers.append(lambda: node_b.stop(fast=True))
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": postgresql.create_database("gallery"),  # users and share links, shared
            "GALLERY_ADMIN_USER": ADMIN_USER,
            "GALLERY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "RATELIMIT_STORAGE_URI": redis.url,
            "ORTHANC_USER": node_a.user,
            "ORTHANC_PASSWORD": node_a.password,
            "SECRET_KEY": "scale-out-test",
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": redis.url,
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "4",
        }
        gallery_1 = start_gunicorn(
            {**env, "ORTHANC_URL": f"{node_a.url},{node_b.url}"}, free_port(), log=folder / "gallery-1.log"
        )
        stoppers.append(gallery_1.stop)
        gallery_2 = start_gunicorn({**env, "ORTHANC_URL": node_b.url}, free_port(), log=folder / "gallery-2.log")
        stoppers.append(gallery_2.stop)
        yield Cluster(node_a, node_b, gallery_1, gallery_2)
    finally:
        for stop in reversed(stoppers):
            stop()


def test_an_upload_to_one_node_is_listed_at_once_by_the_gallery_on_the_other(cluster: Cluster):
    listed = gallery_get(cluster.gallery_2.url + "/patients", json=True)
    assert listed.status_code == 200
    asked = time.monotonic()
    patient = PatientInfo("Ødegård^Sigríður", "SCALE-0001", "19700101", "F")
    cluster.upload(StudyInfo(patient, "scale", "20260101", "101010", "MR Knee", "ACC-SCALE-1"), modality="MR")
    while True:  # the syncer reads Orthanc's change feed every second: listed within 5 s
        found = gallery_get(cluster.gallery_2.url + "/patients?q=ødegård", json=True).json()["patients"]["items"]
        if found or time.monotonic() - asked > 5:
            break
        time.sleep(0.1)
    assert [p["patient_id"] for p in found] == ["SCALE-0001"]
    page = gallery_get(cluster.gallery_2.url + f"/patients/{found[0]['id']}")
    assert page.status_code == 200 and "MR Knee" in page.text


def test_a_cache_entry_written_by_one_gallery_is_served_by_the_other(cluster: Cluster):
    stored = cluster.upload(StudyInfo(PatientInfo("Kim^Minjun", "SCALE-0002"), "cache", "20260202"), series=2)
    study, instance = stored["ParentStudy"], stored["ID"]

    first = gallery_get(cluster.gallery_1.url + f"/instances/{instance}/thumbnail")
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    assert orthanc_calls(first) == 1  # rendered by Orthanc, stored in Redis
    second = gallery_get(cluster.gallery_2.url + f"/instances/{instance}/thumbnail")
    assert second.status_code == 200 and second.content == first.content
    assert "Server-Timing" not in second.headers  # no Orthanc call at all
    assert second.headers["ETag"] == first.headers["ETag"]

    page_1 = gallery_get(cluster.gallery_1.url + f"/studies/{study}", json=True)
    assert orthanc_calls(page_1) == 2
    page_2 = gallery_get(cluster.gallery_2.url + f"/studies/{study}", json=True)
    assert orthanc_calls(page_2) == 0 and page_2.json() == page_1.json()


def test_orthanc_nodes_share_one_index(cluster: Cluster):
    statistics = [
        OrthancClient(node.url, node.user, node.password).get_json("/statistics")["CountInstances"]
        for node in (cluster.node_a, cluster.node_b)
    ]
    assert statistics[0] == statistics[1] > 0
    assert not (Path(cluster.node_b.folder) / "storage" / "index").exists()  # no SQLite index of its own


def test_a_share_link_revoked_through_one_gallery_is_refused_by_the_other(cluster: Cluster):
    stored = cluster.upload(StudyInfo(PatientInfo("Share^Sam", "SCALE-0003"), "share", "20260303"))
    study = stored["ParentStudy"]
    admin = requests.Session()
    admin.trust_env, admin.auth = False, (ADMIN_USER, ADMIN_PASSWORD)
    created = admin.post(cluster.gallery_1.url + f"/studies/{study}/share", data={"expires_in": 3600}, timeout=20)
    assert created.status_code == 201
    token_path = re.search(r'value="https?://[^/"]+(/s/[^"]+)"', created.text).group(1)

    visitor = requests.Session()
    visitor.trust_env = False
    landing = visitor.get(cluster.gallery_2.url + token_path, timeout=20)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', landing.text).group(1)
    opened = visitor.post(cluster.gallery_2.url + token_path, data={"csrf_token": csrf}, timeout=20)
    assert opened.status_code == 200 and opened.url.endswith(f"/studies/{study}")

    listing = admin.get(cluster.gallery_1.url + "/shares", timeout=20).text
    share_id = re.search(r'action="/shares/(\d+)/revoke"', listing).group(1)
    assert admin.post(cluster.gallery_1.url + f"/shares/{share_id}/revoke", timeout=20).status_code == 200

    refused = visitor.get(cluster.gallery_2.url + f"/studies/{study}", timeout=20)
    assert refused.status_code == 410 and "revoked" in refused.text
