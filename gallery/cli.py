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


COMMANDS = (init_db_command, users)
