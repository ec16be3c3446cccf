"""User management: the rules shared by the admin pages and the `flask users` CLI."""

from __future__ import annotations

import re
import secrets
import time

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..store.clock import utcnow
from ..store.models import User
from .permissions import Principal, Role

USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_PASSWORD_LENGTH = 10
#: Compared against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not a real password")


class AccountError(ValueError):
    """A user-management request that breaks a rule; the message is shown as is."""


#: Seconds a loaded Principal is reused by this process: a role change, removal or password
#: reset made by another process applies there within this time (at once in this one).
PRINCIPAL_SECONDS = 1.0


def _principals() -> dict[int, tuple[Principal, float]]:
    return current_app.extensions.setdefault("principals", {})


def load_principal(user_id: int) -> Principal | None:
    """The account `user_id` as a Principal, or None if it no longer exists."""
    memo = _principals()
    hit = memo.get(user_id)
    if hit and hit[1] > time.monotonic():
        return hit[0]
    row = db.session.execute(
        select(User.id, User.username, User.role, User.session_version).where(User.id == user_id)
    ).first()
    principal = Principal(*row) if row else None
    if principal is None:
        memo.pop(user_id, None)
    else:
        if len(memo) > 10_000:
            memo.clear()
        memo[user_id] = (principal, time.monotonic() + PRINCIPAL_SECONDS)
    return principal


def _changed(user: User) -> None:
    db.session.commit()
    _principals().pop(user.id, None)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def authenticate(username: str, password: str) -> User | None:
    user = find_user(username) if USERNAME.fullmatch(username.strip()) else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Passwords need at least %(num)s characters.", num=MIN_PASSWORD_LENGTH))


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccountError(
            _("Unknown role '%(role)s': use %(roles)s.", role=value, roles=", ".join(r.value for r in Role))
        ) from None


def _new_user(username: str, password: str, role: str) -> User:
    """A checked, not yet added User."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError(_("Usernames are 1–64 letters, digits, and . _ @ -"))
    if find_user(username):
        raise AccountError(_("The user '%(user)s' already exists.", user=username))
    _check_password(password)
    return User(username=username, password_hash=generate_password_hash(password), role=_role(role).value)


def create_user(username: str, password: str, role: str) -> User:
    user = _new_user(username, password, role)
    db.session.add(user)
    db.session.commit()
    return user


def admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value)) or 0


def set_role(user: User, role: str) -> None:
    new = _role(role)
    if user.role == Role.ADMIN.value and new is not Role.ADMIN and admin_count() <= 1:
        raise AccountError(_("The last admin cannot lose the admin role."))
    user.role = new.value
    user.session_version += 1
    _changed(user)


def set_password(user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1  # signs out every session of this user
    _changed(user)


def remove_user(user: User) -> None:
    if user.role == Role.ADMIN.value and admin_count() <= 1:
        raise AccountError(_("The last admin cannot be removed."))
    db.session.delete(user)
    _changed(user)


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    db.session.commit()


def init_admin(app: Flask) -> None:
    """The first admin account from GALLERY_ADMIN_USER/PASSWORD.

    create_app runs it inside store.database.schema_lock() (init_database's `after_schema`),
    so processes starting together on a new database add one admin, not one each.
    """
    user = bootstrap_admin(app.config["GALLERY_ADMIN_USER"], app.config["GALLERY_ADMIN_PASSWORD"])
    if user is not None:
        app.logger.info("created the first admin account from GALLERY_ADMIN_USER")


def bootstrap_admin(username: str, password: str) -> User | None:
    """Add the first admin when none exists (GALLERY_ADMIN_USER/PASSWORD); None if one does.

    Every gallery process calls this at start, inside database.schema_lock(), whose commit
    stores the row. An admin of that name inserted meanwhile by a writer outside the lock
    (`flask users add`, an older gallery) is success, not a failed start: the insert runs
    in a savepoint, so the conflict leaves the caller's transaction (and lock) intact.
    """
    if not username or admin_count() > 0:
        return None
    user = _new_user(username, password, Role.ADMIN.value)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        if admin_count() > 0:
            return None
        raise
    return user


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))
