"""The gallery's tables: users, share links, the audit log, albums, and images Orthanc failed to render."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .clock import utcnow


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # a Role (access/permissions.py)
    #: Changes with the password and role, so sessions issued before end at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ShareLink(db.Model):
    """A revocable, expiring, read-only grant on one study, series or album. Only the token's hash is kept."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    level: Mapped[str] = mapped_column(String(8))  # "study", "series" or "album"
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
    #: De-identified links (access/deidentified.py): pseudonyms, dates shifted by `day_shift` days,
    #: UIDs remapped with `secret` (hex), series with burned-in text left out unless included.
    deidentified: Mapped[bool] = mapped_column(Boolean, default=False)
    day_shift: Mapped[int] = mapped_column(Integer, default=0)
    secret: Mapped[str] = mapped_column(String(64), default="")
    include_burned_in: Mapped[bool] = mapped_column(Boolean, default=False)


class ShareSubject(db.Model):
    """The pseudonym ("Case 2") of one patient within one de-identified link, numbered on first sight."""

    __tablename__ = "share_subjects"
    __table_args__ = (UniqueConstraint("share_id", "subject_key"), UniqueConstraint("share_id", "number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    subject_key: Mapped[str] = mapped_column(String(64))  # HMAC of the Orthanc patient ID with the link's secret
    number: Mapped[int] = mapped_column(Integer)


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


class RenderFailure(db.Model):
    """An image Orthanc could not render (or died rendering); the logic is in imaging/failures.py."""

    __tablename__ = "render_failures"
    __table_args__ = (UniqueConstraint("instance", "frame"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(44), index=True)
    frame: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(16))
    # Context as it was when recorded (for the admin list; Orthanc is not asked again to show it).
    patient: Mapped[str] = mapped_column(String(44), default="")
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_code: Mapped[str] = mapped_column(String(64), default="")  # the DICOM PatientID
    study: Mapped[str] = mapped_column(String(44), default="")
    study_description: Mapped[str] = mapped_column(String(200), default="")
    series: Mapped[str] = mapped_column(String(44), default="")
    series_description: Mapped[str] = mapped_column(String(200), default="")
    modality: Mapped[str] = mapped_column(String(16), default="")
    first_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)


class Album(db.Model):
    """A named, curated set of studies; its studies are read through the archive index (archive/index)."""

    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_by: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AlbumStudy(db.Model):
    """One study in one album, by Orthanc ID; kept when Orthanc deletes the study (it comes back on re-upload)."""

    __tablename__ = "album_studies"

    album_id: Mapped[int] = mapped_column(Integer, ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[str] = mapped_column(String(44), primary_key=True, index=True)
    added_by: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
