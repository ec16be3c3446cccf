"""Flask CLI commands (`flask --app wsgi <command>`): database, users. (Demo data: `python -m scripts.demo`.)"""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from .access.users import (
    AccountError,
    all_users,
    create_user,
    find_user,
    generate_password,
    remove_user,
    set_password,
    set_role,
)
from .archive.index import sync as index_sync
from .archive.index import worker as index_worker
from .archive.index.lease import LeaseLost
from .archive.index.state import error_text
from .archive.index.status import index_status
from .extensions import db
from .imaging.failures import forget, listing
from .orthanc.errors import OrthancError, is_orthanc_id
from .store.database import init_db

ROLES = click.Choice(["viewer", "uploader", "admin"])


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Bring the database to the newest schema migration (the app also does it at start)."""
    init_db()
    click.echo("Database ready.")


users = AppGroup("users", help="Manage gallery accounts.")


def _user(username: str):
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No user named '{username}'.")
    return user


def _run(action, *args) -> None:
    try:
        action(*args)
    except AccountError as error:
        raise click.ClickException(str(error)) from None


@users.command("list")
def list_users() -> None:
    """List accounts with their role and last sign-in."""
    for user in all_users():
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.username:24} {user.role:9} last sign-in {last}")


@users.command("add")
@click.argument("username")
@click.option("--role", type=ROLES, default="viewer", show_default=True)
@click.option("--password", help="Omit to generate one (printed once).")
def add_user(username: str, role: str, password: str | None) -> None:
    """Create an account."""
    password = password or generate_password()
    _run(create_user, username, password, role)
    click.echo(f"Created {username.lower()} ({role}) with password: {password}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
def change_role(username: str, role: str) -> None:
    """Change an account's role (its sessions end)."""
    _run(set_role, _user(username), role)
    click.echo(f"{username.lower()} is now {role}.")


@users.command("reset-password")
@click.argument("username")
@click.option("--password", help="Omit to generate one (printed once).")
def reset_password(username: str, password: str | None) -> None:
    """Set a new password (the user's sessions end)."""
    password = password or generate_password()
    _run(set_password, _user(username), password)
    click.echo(f"New password for {username.lower()}: {password}")


@users.command("remove")
@click.argument("username")
def delete_user(username: str) -> None:
    """Delete an account (the last admin cannot be removed)."""
    _run(remove_user, _user(username))
    click.echo(f"Removed {username.lower()}.")


images = AppGroup("images", help="Images Orthanc failed on (see /admin/images).")


@images.command("list")
def list_failures() -> None:
    """List recorded failures: reason, instance, frame, times, last time, series."""
    for f in listing():
        click.echo(f"{f.reason:11} {f.instance} frame {f.frame:<4} x{f.count:<3} {f.last_at:%Y-%m-%d %H:%M} {f.series}")


@images.command("clear")
@click.argument("instance")
@click.option("--frame", type=int, default=0, show_default=True)
def clear_failure(instance: str, frame: int) -> None:
    """Forget a failure, so Orthanc is asked for the image again."""
    if not is_orthanc_id(instance) or not forget(instance, frame):
        raise click.ClickException(f"No failure recorded for {instance[:60]} frame {frame}.")
    click.echo(f"Cleared {instance} frame {frame}.")


index = AppGroup("index", help="The archive index in the database: sync, status, reset.")


def _bar(checkpoint: dict, total: int, width: int = 30) -> str:
    """One terminal line: the initial sync's phase and a bar over Orthanc's study count."""
    phase = checkpoint.get("phase", "start")
    done = checkpoint.get("studies", 0) if phase != "series" else 0
    filled = int(width * min(1.0, done / total)) if total else width
    if phase == "series":
        return f"\rseries   {checkpoint.get('series', 0):>10,} read" + " " * 20
    return f"\rstudies  [{'#' * filled}{'.' * (width - filled)}] {done:,} of {total:,}"


def _studies_in_orthanc() -> int:
    with db.engine.connect() as connection:
        return index_status(connection).studies_in_orthanc


@index.command("sync")
@click.option("--once", is_flag=True, help="Return once the index is current instead of following changes.")
def sync_command(once: bool) -> None:
    """Keep the index current in the foreground (the app can then run with INDEX_SYNC=off).

    Waits for the lease while another process syncs, shows a progress bar during the initial
    sync, then follows Orthanc's changes until Ctrl-C (or, with --once, returns).
    """
    from flask import current_app

    syncer = index_worker.make_syncer(current_app._get_current_object())
    runner = index_worker.SyncThread(syncer)
    runner.threads[0].start()  # the heartbeat only: this command steps in the foreground
    waited = False
    try:
        while not runner.held.wait(1.0):
            if not waited:
                click.echo("Waiting for the syncer lease (another process is syncing)…", err=True)
                waited = True
        while True:
            try:
                more = syncer.step()
            except LeaseLost:
                raise click.ClickException("Another process took the syncer lease.") from None
            except OrthancError as error:
                syncer.record_error(error)
                click.echo(f"\nOrthanc: {error_text(error)}", err=True)
                if once:
                    raise click.ClickException("Orthanc did not answer.") from None
                runner.stopped.wait(max(1.0, syncer.settings.poll_seconds))
                continue
            checkpoint = syncer.checkpoint() or {}
            if more and checkpoint.get("phase") != "current":
                click.echo(_bar(checkpoint, _studies_in_orthanc()), nl=False, err=True)
            elif not more:
                if once:
                    break
                runner.stopped.wait(syncer.settings.poll_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    calls = sum(syncer.calls.values())
    click.echo(f"\nIndex current. {syncer.pages} pages, {calls} Orthanc calls ({dict(syncer.calls)}).")


@index.command("status")
def status_command() -> None:
    """Print the index's phase, counts, rate and lag."""
    with db.engine.connect() as connection:
        status = index_status(connection)
    for key, value in status.as_dict().items():
        click.echo(f"{key:20} {value}")


@index.command("reset")
@click.confirmation_option(prompt="Forget the whole index and sync it again from Orthanc?")
def reset_command() -> None:
    """Forget the index and its checkpoint: the syncer indexes the archive again from the start."""
    index_sync.reset(db.engine)
    click.echo("Index reset; the syncer starts over.")


COMMANDS = (init_db_command, users, images, index)
