"""`make run`: serve the gallery, starting an embedded Orthanc when ORTHANC_URL is unset.

    python -m scripts.launch [--host 127.0.0.1] [--port 5000] [--dev]

With ORTHANC_URL unset, Orthanc runs from instance/orthanc (storage, index and
generated credentials live there) and demo data is loaded on its first start.
The gallery itself runs under gunicorn (or Flask's dev server with --dev).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def ensure_secret_key(env: dict[str, str]) -> None:
    """A stable SECRET_KEY kept in instance/secret_key, unless one is given."""
    if env.get("SECRET_KEY"):
        return
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    env["SECRET_KEY"] = path.read_text().strip()


def start_embedded(env: dict[str, str]):  # -> EmbeddedOrthanc
    from gallery.orthanc.client import OrthancClient

    from .demo import load_demo_data
    from .embedded import EmbeddedOrthancError, start_orthanc

    folder = INSTANCE / "orthanc"
    try:
        orthanc = start_orthanc(folder)
    except EmbeddedOrthancError as exc:
        sys.exit(f"Cannot start the embedded Orthanc: {exc}")
    print(f"Embedded Orthanc running on 127.0.0.1:{orthanc.port} (storage in {folder})", flush=True)
    env.update(ORTHANC_URL=orthanc.url, ORTHANC_USER=orthanc.user, ORTHANC_PASSWORD=orthanc.password)
    marker = folder / "demo-data-loaded"
    if not marker.exists():
        print("First start: loading demo data (pydicom test files and a generated MR volume)...", flush=True)
        counts = load_demo_data(OrthancClient(orthanc.url, orthanc.user, orthanc.password))
        marker.write_text(str(dict(counts)))
        print(f"Demo data: {counts['Success']} files stored.", flush=True)
    return orthanc


def ensure_admin(env: dict[str, str]) -> None:
    """Create the database and, on first start, an admin account whose password is printed once."""
    os.environ.update(env)
    from gallery import create_app
    from gallery.access.users import admin_count, create_user, generate_password

    app = create_app()  # creates the schema, and the admin named in GALLERY_ADMIN_USER if given
    with app.app_context():
        if admin_count():
            return
        password = generate_password()
        create_user("admin", password, "admin")
    line = "=" * 64
    print(
        f"{line}\nFirst start: created the account 'admin' with the password\n\n    {password}\n\n"
        f"It is shown only this once. Add people under Users once signed in,\n"
        f"or with: .venv/bin/flask --app wsgi users add NAME --role viewer\n{line}",
        flush=True,
    )


def warm_demo_images() -> None:
    """Render the demo once, so images that crash this Orthanc do it now and are recorded."""
    from gallery import create_app

    from .demo import warm_images

    print("Rendering each demo image once (Orthanc may restart on files it cannot survive)...", flush=True)
    with create_app().app_context():
        counts = warm_images()
    print(f"Demo images: {dict(counts)}", flush=True)


def server_command(host: str, port: int, dev: bool) -> list[str]:
    if dev:
        return [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", str(port)]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"{host}:{port}",
        "wsgi:app",
    ]


#: For loopback checks: proxy settings of the environment must not apply.
_local = requests.Session()
_local.trust_env = False


@dataclass
class GalleryServer:
    """A gallery served by gunicorn in a child process (benchmarks and integration tests)."""

    url: str
    process: subprocess.Popen = field(repr=False)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        """Quick shutdown (SIGQUIT): nothing is in flight when tests and benchmarks stop a server.

        A gthread worker can hang while its interpreter exits after SIGQUIT, and gunicorn's
        master would wait `graceful_timeout` for it: whatever is left after 5 s is killed,
        workers included, so none outlives the test.
        """
        if self.process.poll() is not None:
            return
        workers = {pid: _cmdline(pid) for pid in self.worker_pids()}
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid, cmdline in workers.items():
            if cmdline and _cmdline(pid) == cmdline:  # still that worker, not a reused PID
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def start_gunicorn(env: Mapping[str, str], port: int, *, log: Path | None = None, timeout: float = 30) -> GalleryServer:
    """Serve the gallery with gunicorn.conf.py on 127.0.0.1:`port`; return once it answers HTTP."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        server_command("127.0.0.1", port, dev=False),
        cwd=ROOT,
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    if log:
        output.close()
    server = GalleryServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}" + (f"; see {log}" if log else ""))
        try:
            if _local.get(server.url + "/static/favicon.svg", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GALLERY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GALLERY_PORT", "5000")))
    parser.add_argument("--dev", action="store_true", help="Flask's reloading dev server instead of gunicorn")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    ensure_secret_key(env)
    first_start = not (INSTANCE / "orthanc" / "demo-data-loaded").exists()
    orthanc = None if env.get("ORTHANC_URL") else start_embedded(env)
    supervisor = orthanc.supervise() if orthanc is not None else None
    ensure_admin(env)
    if orthanc is not None and first_start:
        warm_demo_images()
    server = subprocess.Popen(server_command(args.host, args.port, args.dev), cwd=ROOT, env=env)
    print(f"Orthanc Gallery on http://{args.host}:{args.port}/  (Ctrl-C to stop)", flush=True)

    def forward(signum: int, _frame: object) -> None:
        server.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        code = server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGINT)
        code = server.wait()
    finally:
        if orthanc is not None:
            supervisor.set()
            print("Stopping the embedded Orthanc...", flush=True)
            orthanc.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
