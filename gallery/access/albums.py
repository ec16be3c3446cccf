"""Albums: named sets of studies that uploaders curate and every signed-in user can see.

Membership is kept by Orthanc study ID and always read joined with the archive index, so a
study Orthanc no longer holds drops out of every album at once (and comes back if re-uploaded,
its ID being stable). Who may change an album: its creator or an admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from ..archive.index import tables
from ..extensions import db
from ..store.clock import utcnow
from ..store.models import Album, AlbumStudy, ShareLink, User
from .permissions import Role

NAME_LENGTH = 200
DESCRIPTION_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class AlbumSummary:
    """An album as lists and pages show it: plain values, its live study count and its creator's name."""

    id: int
    name: str
    description: str
    study_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime


def _live_members():
    """album_studies rows whose study the index still holds."""
    m = AlbumStudy.__table__.c
    return select(m.album_id, m.study_id).join(tables.studies, tables.studies.c.id == m.study_id)


def _summaries(albums: Iterable[Album]) -> list[AlbumSummary]:
    albums = list(albums)
    if not albums:
        return []
    ids = [a.id for a in albums]
    live = _live_members().where(AlbumStudy.album_id.in_(ids)).subquery()
    counts = dict(db.session.execute(select(live.c.album_id, func.count()).group_by(live.c.album_id)).all())
    creators = {a.created_by for a in albums}
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(creators))).all())
    return [
        AlbumSummary(
            a.id, a.name, a.description, counts.get(a.id, 0), names.get(a.created_by, "—"), a.created_at, a.updated_at
        )
        for a in albums
    ]


def all_albums() -> list[AlbumSummary]:
    """Every album, A–Z (everyone signed in sees them all)."""
    return _summaries(db.session.scalars(select(Album).order_by(func.lower(Album.name), Album.id)))


def find_album(album_id: int) -> Album | None:
    return db.session.get(Album, album_id)


def summary(album: Album) -> AlbumSummary:
    return _summaries([album])[0]


def may_change(user: User, album: Album) -> bool:
    """Creator or admin: albums are someone's curation, like share links."""
    return user.role == Role.ADMIN.value or album.created_by == user.id


def create_album(name: str, description: str, creator: User) -> Album:
    album = Album(
        name=name.strip()[:NAME_LENGTH],
        description=description.strip()[:DESCRIPTION_LENGTH],
        created_by=creator.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(album)
    db.session.commit()
    return album


def rename_album(album: Album, name: str, description: str) -> None:
    album.name, album.description = name.strip()[:NAME_LENGTH], description.strip()[:DESCRIPTION_LENGTH]
    album.updated_at = utcnow()
    db.session.commit()


def delete_album(album: Album) -> None:
    """Delete the album and revoke its share links (a later album may get the same ID on SQLite)."""
    links = (ShareLink.level == "album") & (ShareLink.resource_id == str(album.id)) & ShareLink.revoked_at.is_(None)
    db.session.execute(update(ShareLink).where(links).values(revoked_at=utcnow()))
    db.session.execute(delete(AlbumStudy).where(AlbumStudy.album_id == album.id))
    db.session.delete(album)
    db.session.commit()


def indexed_studies(study_ids: Iterable[str]) -> list[str]:
    """Those of `study_ids` the archive index holds, in the given order."""
    wanted = list(dict.fromkeys(study_ids))
    if not wanted:
        return []
    found = set(db.session.scalars(select(tables.studies.c.id).where(tables.studies.c.id.in_(wanted))))
    return [s for s in wanted if s in found]


def studies_of_patients(patient_ids: Iterable[str]) -> list[str]:
    """Every indexed study of these patients (adding patients from the patient list)."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return []
    s = tables.studies.c
    return list(db.session.scalars(select(s.id).where(s.patient.in_(ids)).order_by(s.patient, s.sort_key)))


def add_studies(album: Album, study_ids: Iterable[str], user: User) -> list[str]:
    """Add the studies (already validated as indexed); returns those that were not in the album yet."""
    wanted = list(dict.fromkeys(study_ids))
    present = set(
        db.session.scalars(
            select(AlbumStudy.study_id).where(AlbumStudy.album_id == album.id, AlbumStudy.study_id.in_(wanted))
        )
    )
    added = [s for s in wanted if s not in present]
    db.session.add_all(AlbumStudy(album_id=album.id, study_id=s, added_by=user.id, added_at=utcnow()) for s in added)
    if added:
        album.updated_at = utcnow()
    db.session.commit()
    return added


def remove_studies(album: Album, study_ids: Iterable[str]) -> list[str]:
    """Remove the studies; returns those that were in the album."""
    wanted = list(dict.fromkeys(study_ids))
    rows = db.session.scalars(
        select(AlbumStudy).where(AlbumStudy.album_id == album.id, AlbumStudy.study_id.in_(wanted))
    ).all()
    removed = [r.study_id for r in rows]
    for row in rows:
        db.session.delete(row)
    if removed:
        album.updated_at = utcnow()
    db.session.commit()
    return removed


def holds(album_id: int, study_id: str) -> bool:
    """Whether the album holds this study now (and Orthanc still does): the share-link scope check."""
    statement = _live_members().where(AlbumStudy.album_id == album_id, AlbumStudy.study_id == study_id)
    return db.session.execute(statement.limit(1)).first() is not None


def album_study_ids(album_id: int) -> list[str]:
    """The album's live studies, newest first (the ZIP)."""
    s = tables.studies.c
    statement = _live_members().where(AlbumStudy.album_id == album_id).order_by(s.sort_key.desc(), s.id)
    return [row.study_id for row in db.session.execute(statement)]


def albums_of_study(study_id: str) -> list[AlbumSummary]:
    """The albums holding a study (its page lists them)."""
    query = select(Album).join(AlbumStudy, AlbumStudy.album_id == Album.id).where(AlbumStudy.study_id == study_id)
    return _summaries(db.session.scalars(query.order_by(func.lower(Album.name))))


def changeable_albums(user: User | None) -> list[AlbumSummary]:
    """The albums this user may add studies to (the "add to album" forms); none for visitors and viewers."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role == Role.VIEWER.value:
        return []
    query = select(Album).order_by(func.lower(Album.name), Album.id)
    if user.role != Role.ADMIN.value:
        query = query.where(Album.created_by == user.id)
    return _summaries(db.session.scalars(query))


def album_thumbnails(album_id: int) -> list[str]:
    """The representative image (the list card's thumbnail instance) of each live study, newest first."""
    s = tables.studies.c
    statement = (
        _live_members()
        .add_columns(s.thumbnail)
        .where(AlbumStudy.album_id == album_id, s.thumbnail.is_not(None))
        .order_by(s.sort_key.desc(), s.id)
    )
    return [row.thumbnail for row in db.session.execute(statement)]
