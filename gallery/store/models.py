"""Users, share links and the audit log, stored through SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..access.permissions import Permission
from ..extensions import db
from .clock import utcnow


class Role(StrEnum):
    VIEWER = "viewer"
    UPLOADER = "uploader"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW, Permission.DOWNLOAD}),
    Role.UPLOADER: frozenset({Permission.VIEW, Permission.DOWNLOAD, Permission.UPLOAD, Permission.SHARE}),
    Role.ADMIN: frozenset(Permission) - {Permission.PUBLIC},
}


def role_allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal(UserMixin):
    """The signed-in user as requests see it: a plain, immutable snapshot of the account row.

    Loading it is one small query (and memoised for a second), where the ORM object
    cost half a millisecond per request — noticeable on pages of 100 thumbnails.
    """

    id: int
    username: str
    role: str
    session_version: int

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def can(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    #: Changes with the password and role, so sessions issued before end at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def can(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)


class ShareLink(db.Model):
    """A revocable, expiring, read-only grant on one study or series. Only the token's hash is kept."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    level: Mapped[str] = mapped_column(String(8))  # "study" or "series"
    resource_id: Mapped[str] = mapped_column(String(44), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    use_count: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)  # a username, "share:<id>" or "anonymous"
    action: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(16), default="")
    resource_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
