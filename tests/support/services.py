"""Real services for integration tests: Redis and PostgreSQL from Debian's packages, on
loopback in throw-away folders, and HTTP calls to gallery processes served by gunicorn.

Used by the scale-out test (and `bench.run --redis`). PostgreSQL refuses to run as
root: as root, the cluster belongs to Debian's `postgres` user and its processes
switch to that user; otherwise they run as the current user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from scripts.embedded import POSTGRESQL_INDEX_PLUGIN, free_port

from .web import ADMIN_PASSWORD, ADMIN_USER

REDIS_SERVER = Path("/usr/bin/redis-server")
POSTGRESQL_ROOT = Path("/usr/lib/postgresql")


_browser = requests.Session()
_browser.trust_env = False  # loopback: proxy settings of the environment must not apply
_browser.auth = (ADMIN_USER, ADMIN_PASSWORD)  # scripts sign in with HTTP Basic
# No idle keep-alive connections: gunicorn would wait for them when the test stops it.
_browser.headers["Connection"] = "close"


def gallery_get(url: str, json: bool = False) -> requests.Response:
    """GET a page of a gallery process (gunicorn) as the admin, with HTTP Basic credentials."""
    headers = {"Accept": "application/json"} if json else {}
    return _browser.get(url, headers=headers, timeout=20)


def postgresql_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps one per major version)."""
    versions = sorted(
        (p for p in POSTGRESQL_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name)
    )
    return versions[-1] if versions else None


def as_postgres() -> dict[str, object]:
    """subprocess arguments that run a command as Debian's `postgres` user when we are root.

    The process itself switches user (no `runuser` in between), so signals reach PostgreSQL.
    """
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


def missing_services() -> str | None:
    """Why the scale-out services cannot run here, or None when they can."""
    needed = "apt-get install -y redis-server postgresql orthanc-postgresql (scripts/setup.sh test does)"
    if not REDIS_SERVER.exists():
        return f"{REDIS_SERVER} is missing: {needed}"
    if postgresql_bin() is None:
        return f"PostgreSQL's initdb is missing under {POSTGRESQL_ROOT}: {needed}"
    if not POSTGRESQL_INDEX_PLUGIN.exists():
        return f"{POSTGRESQL_INDEX_PLUGIN} is missing: {needed}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return (
                "running as root without a 'postgres' user (Debian's postgresql package creates it) to run PostgreSQL"
            )
    return None


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Redis:
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process(self.process)


def start_redis(folder: Path) -> Redis:
    """A Redis without persistence on a free loopback port."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for_port(port, process, "redis-server")
    return Redis(port, process)


@dataclass
class PostgreSQL:
    port: int
    folder: Path
    process: subprocess.Popen = field(repr=False)
    user: str = "orthanc"
    database: str = "orthanc"

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # "fast" shutdown
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A second database on the same server (the gallery's users and share links); returns its URL."""
        client = ["-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        subprocess.run([str(postgresql_bin() / "createdb"), *client, name], check=True, capture_output=True)
        return self.url(name)


def start_postgresql() -> PostgreSQL:
    """A throw-away cluster (trust authentication on loopback only) with an `orthanc` database.

    Its folder is made with tempfile, not under pytest's tmp_path: the `postgres`
    user must be able to reach it, and pytest's folders are private to root.
    """
    bin_dir = postgresql_bin()
    assert bin_dir is not None, missing_services()
    folder = Path(tempfile.mkdtemp(prefix="gallery-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "orthanc", "--auth=trust", "-E", "UTF8"]
        + ["--no-sync", "--no-instructions"],
        check=True,
        capture_output=True,
        cwd=folder,
        **as_postgres(),
    )
    settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={folder}", "fsync=off"]
    settings += ["synchronous_commit=off", "full_page_writes=off"]
    command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port)]
    command += [arg for setting in settings for arg in ("-c", setting)]
    with open(folder / "postgres.log", "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=folder, **as_postgres()
        )
    server = PostgreSQL(port, folder, process)
    client = ["-h", "127.0.0.1", "-p", str(port), "-U", server.user]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), *client], capture_output=True).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; see {folder / 'postgres.log'}")
            time.sleep(0.1)
        subprocess.run([str(bin_dir / "createdb"), *client, server.database], check=True, capture_output=True)
    except BaseException:
        server.stop()
        raise
    return server
