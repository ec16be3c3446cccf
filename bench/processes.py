"""The gallery under gunicorn for the benchmarks: start, wait until idle, and what it uses."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from unittest import mock

import redis

from scripts.embedded import EmbeddedOrthanc, free_port
from scripts.launch import GalleryServer, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
#: The gallery account the benchmarks browse with (created at start as the first admin),
#: sent as HTTP Basic credentials with each request, as scripts do.
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-1"
GALLERY_HEADERS: dict[str, str] = {
    "Authorization": "Basic " + base64.b64encode(f"{BENCH_USER}:{BENCH_PASSWORD}".encode()).decode()
}


def gallery_env(orthanc: EmbeddedOrthanc, database: Path, **settings: str) -> dict[str, str]:
    """The environment of a benchmarked gallery process: this Orthanc, its own account database."""
    return {
        **os.environ,
        "ORTHANC_URL": orthanc.url,
        "ORTHANC_USER": orthanc.user,
        "ORTHANC_PASSWORD": orthanc.password,
        "SECRET_KEY": "benchmark",
        "DATABASE_URL": f"sqlite:///{database}",
        "GALLERY_ADMIN_USER": BENCH_USER,
        "GALLERY_ADMIN_PASSWORD": BENCH_PASSWORD,
        "GUNICORN_LOGLEVEL": "warning",
        **settings,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (from /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Gallery:
    """Starts gunicorn processes of the gallery against one Orthanc."""

    def __init__(self, orthanc: EmbeddedOrthanc, log: Path, redis_url: str = "", cache_prefix: str = "") -> None:
        self.database = log.with_suffix(".db")  # one per archive size: it holds that archive's index
        self.env = gallery_env(
            orthanc,
            self.database,
            **cache_settings(redis_url),
            CACHE_KEY_PREFIX=cache_prefix or "gallery:",
        )
        self.log = log
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.workers = int(gunicorn_settings(self.env)["workers"])

    def start(self) -> GalleryServer:
        """A fresh gallery process, with an empty cache (Redis is emptied too), once all its workers are idle.

        Waiting keeps the workers' start-up (imports, migrations) out of what is measured next.
        """
        if self.redis is not None:
            self.redis.flushdb()
        env = dict(self.env)
        server = start_gunicorn(env, free_port(), log=self.log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pids = server.worker_pids()
            if len(pids) >= self.workers:
                before = cpu_seconds(pids)
                time.sleep(0.25)
                if cpu_seconds(pids) - before < 0.01:
                    break
            else:
                time.sleep(0.05)
        return server

    def redis_memory(self) -> dict[str, float]:
        if self.redis is None:
            return {}
        return {
            "redis_used_mb": round(self.redis.info("memory")["used_memory"] / 1024**2, 1),
            "redis_keys": self.redis.dbsize(),
        }


def cache_settings(redis_url: str) -> dict[str, str]:
    return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url} if redis_url else {"CACHE_TYPE": "SimpleCache"}


def gunicorn_settings(env: dict[str, str]) -> dict[str, object]:
    """The worker/thread counts gunicorn.conf.py chooses with this environment."""
    namespace: dict[str, object] = {}
    with mock.patch.dict(os.environ, env):
        exec((ROOT / "gunicorn.conf.py").read_text(), namespace)
    return {key: namespace[key] for key in ("workers", "threads", "worker_class")}
