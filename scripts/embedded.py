"""Start and stop a private Orthanc (Debian's /usr/sbin/Orthanc) on loopback.

Used by `make run` when ORTHANC_URL is unset, by the test fixtures and by the
benchmarks, so all three run the same real server the same way: a config file
written here, a free port, storage under a given folder, remote access and the
DICOM listener off, HTTP authentication on, gzip off.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

log = logging.getLogger(__name__)

ORTHANC_BINARY = os.environ.get("ORTHANC_BINARY", "/usr/sbin/Orthanc")
PLUGIN_DIR = Path("/usr/share/orthanc/plugins")
GDCM_PLUGIN = PLUGIN_DIR / "libOrthancGdcm.so"
#: Debian's orthanc-postgresql: the index (not the files) in PostgreSQL, shared by several Orthanc nodes.
POSTGRESQL_INDEX_PLUGIN = PLUGIN_DIR / "libOrthancPostgreSQLIndex.so"


class EmbeddedOrthancError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def orthanc_installed() -> bool:
    return Path(ORTHANC_BINARY).exists()


@dataclass
class EmbeddedOrthanc:
    """A running Orthanc process and how to reach it."""

    folder: Path
    port: int
    user: str
    password: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def supervise(self, interval: float = 1.0) -> threading.Event:
        """Restart Orthanc whenever it exits on its own; set the returned event to stop watching.

        Orthanc can die on a file it cannot handle (1.10.1 with GDCM aborts on some RT
        doses): the gallery's own embedded server comes back within `interval` seconds,
        as a service manager would restart an installed one.
        """
        stopped = threading.Event()

        def watch() -> None:
            while not stopped.wait(interval):
                if self.process is not None and self.process.poll() is not None and not stopped.is_set():
                    log.warning("embedded Orthanc exited with code %s; restarting it", self.process.returncode)
                    try:
                        self.start()
                    except EmbeddedOrthancError as error:
                        log.error("could not restart the embedded Orthanc: %s", error)

        threading.Thread(target=watch, name="orthanc-supervisor", daemon=True).start()
        return stopped

    def stop(self, fast: bool = False) -> None:
        """Stop the process: SIGTERM (clean, ~4 s) or, with `fast`, SIGKILL."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL if fast else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def start(self, timeout: float = 30.0) -> None:
        """(Re)start Orthanc on the same port and storage; return once it answers."""
        if self.running:
            return
        config = self.folder / "orthanc.json"
        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [ORTHANC_BINARY, str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedOrthancError(
                    f"Orthanc exited with code {self.process.returncode}; see {self.folder / 'orthanc.log'}"
                )
            try:
                answer = requests.get(self.url + "system", auth=(self.user, self.password), timeout=1)
                if answer.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop(fast=True)
        raise EmbeddedOrthancError(f"Orthanc did not answer within {timeout:.0f} s")


def default_plugins() -> list[str]:
    return [str(GDCM_PLUGIN)] if GDCM_PLUGIN.exists() else []


def postgresql_index_config(host: str, port: int, database: str, user: str, password: str = "") -> dict:
    """`extra_config` for an Orthanc node whose index lives in PostgreSQL.

    Several nodes with this config and the same StorageDirectory (a shared
    filesystem) serve one archive: "Lock": false lets them share the database,
    and jobs are not saved in it (they belong to one node).
    """
    return {
        "Plugins": [*default_plugins(), str(POSTGRESQL_INDEX_PLUGIN)],
        "PostgreSQL": {
            "EnableIndex": True,
            "EnableStorage": False,
            "Host": host,
            "Port": port,
            "Database": database,
            "Username": user,
            "Password": password,
            "Lock": False,
        },
        "SaveJobs": False,
    }


def write_config(folder: Path, port: int, user: str, password: str, extra: dict | None = None) -> Path:
    """Write Orthanc's JSON config for a private, loopback-only instance."""
    config = {
        "Name": "OrthancGallery",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": port,
        "RemoteAccessAllowed": False,
        "DicomServerEnabled": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {user: password},
        "HttpCompressionEnabled": False,
        "Plugins": default_plugins(),
        "StableAge": 5,
        "ConcurrentJobs": 2,
        "HttpThreadsCount": 50,
        "LimitFindResults": 0,
        "LimitFindInstances": 0,
    }
    config.update(extra or {})
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def start_orthanc(folder: Path | str, *, port: int | None = None, extra_config: dict | None = None) -> EmbeddedOrthanc:
    """Start Orthanc with storage under `folder`, reusing its credentials if it ran there before.

    Credentials are generated once and kept in `folder/credentials.json` (mode 600).
    """
    if not orthanc_installed():
        raise EmbeddedOrthancError(
            f"{ORTHANC_BINARY} not found: install it with `sudo apt-get install -y orthanc orthanc-gdcm`"
        )
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    credentials = folder / "credentials.json"
    if credentials.exists():
        saved = json.loads(credentials.read_text())
        user, password = saved["user"], saved["password"]
    else:
        user, password = "gallery", secrets.token_urlsafe(24)
        credentials.touch(mode=0o600)
        credentials.write_text(json.dumps({"user": user, "password": password}))
    port = port or free_port()
    write_config(folder, port, user, password, extra_config)
    orthanc = EmbeddedOrthanc(folder=folder, port=port, user=user, password=password)
    orthanc.start()
    return orthanc


def remove_storage(orthanc: EmbeddedOrthanc) -> None:
    """Stop fast and delete everything under the instance's folder (tests, benchmarks)."""
    orthanc.stop(fast=True)
    shutil.rmtree(orthanc.folder, ignore_errors=True)
