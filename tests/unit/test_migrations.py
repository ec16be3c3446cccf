"""Schema migrations: an existing database upgrades at start with nothing lost, and no model change goes
without its migration (an `alembic check` that fails the suite), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
)

from gallery.access.users import find_user
from gallery.archive.index import queries
from gallery.extensions import db
from gallery.store.schema import alembic_config, include_object, target_metadata

from ..support.databases import app_without_orthanc

# The tables as the gallery before migrations (main, issue 12) created them with create_all: frozen here.
OLD = MetaData()
Table(
    "users",
    OLD,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), unique=True, index=True, nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("session_version", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime, nullable=True),
)
Table(
    "share_links",
    OLD,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), unique=True, index=True, nullable=False),
    Column("level", String(8), nullable=False),
    Column("resource_id", String(44), index=True, nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_by", Integer, index=True, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("allow_download", Boolean, nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    Column("last_used_at", DateTime, nullable=True),
    Column("use_count", Integer, nullable=False),
)
Table(
    "audit_events",
    OLD,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, index=True, nullable=False),
    Column("actor", String(80), index=True, nullable=False),
    Column("action", String(32), index=True, nullable=False),
    Column("level", String(16), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("address", String(64), nullable=False),
)
# Issue 12 added render_failures with create_all, a week before migrations: some databases have it.
RENDER_FAILURES = Table(
    "render_failures",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("instance", String(44), index=True, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("reason", String(16), nullable=False),
    *(Column(name, String(200), nullable=False, default="") for name in ("patient", "patient_name", "patient_code")),
    *(Column(name, String(200), nullable=False, default="") for name in ("study", "study_description", "series")),
    *(Column(name, String(200), nullable=False, default="") for name in ("series_description", "modality")),
    Column("first_at", DateTime, nullable=False),
    Column("last_at", DateTime, nullable=False),
    Column("count", Integer, nullable=False),
)

OLD_HASH = "pbkdf2:sha256:600000$abc$" + "0" * 64
WHEN = datetime(2026, 1, 2, 3, 4, 5)


def make_old_database(url: str, render_failures: bool) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    OLD.create_all(engine)
    if render_failures:
        RENDER_FAILURES.create(engine)
    with engine.begin() as connection:
        connection.execute(
            OLD.tables["users"].insert(),
            [
                {
                    "username": "olduser",
                    "password_hash": OLD_HASH,
                    "role": "admin",
                    "session_version": 3,
                    "created_at": WHEN,
                },
                {
                    "username": "viewer1",
                    "password_hash": OLD_HASH,
                    "role": "viewer",
                    "session_version": 1,
                    "created_at": WHEN,
                },
            ],
        )
        connection.execute(
            OLD.tables["share_links"].insert(),
            {
                "token_hash": "f" * 64,
                "level": "study",
                "resource_id": "1" * 8 + "-2222222-33333333-44444444-55555555",
                "label": "for Dr. Kim",
                "created_by": 1,
                "created_at": WHEN,
                "expires_at": WHEN,
                "allow_download": True,
                "use_count": 4,
            },
        )
        connection.execute(
            OLD.tables["audit_events"].insert(),
            [
                {"at": WHEN, "actor": "olduser", "action": "view", "level": "study", "resource_id": "x", "detail": ""}
                | {"address": "127.0.0.1"}
                for _ in range(3)
            ],
        )
        if render_failures:
            row = {"instance": "i", "frame": 2, "reason": "crash", "count": 1, "first_at": WHEN, "last_at": WHEN}
            connection.execute(RENDER_FAILURES.insert(), row)
    engine.dispose()


def head() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


@pytest.mark.parametrize("render_failures", [False, True], ids=["before-issue-12", "issue-12"])
def test_a_database_from_before_migrations_upgrades_at_start_with_nothing_lost(
    engine_url,  # noqa: F811
    render_failures: bool,
):
    make_old_database(engine_url, render_failures)
    app = app_without_orthanc(engine_url)
    with app.app_context():
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head()
        user = find_user("olduser")
        assert user.role == "admin" and user.session_version == 3 and user.password_hash == OLD_HASH
        assert find_user("viewer1") is not None
        share = db.session.execute(text("SELECT label, use_count, allow_download FROM share_links")).one()
        assert tuple(share) == ("for Dr. Kim", 4, True)
        assert db.session.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 3
        frames = db.session.execute(text("SELECT frame FROM render_failures")).scalars().all()
        assert frames == ([2] if render_failures else [])  # kept, or created empty
        assert queries.patient_page("", 1, 50).total == 0  # the index tables exist, empty
    restarted = app_without_orthanc(engine_url)  # a second start finds nothing to do
    with restarted.app_context():
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar_one() == 2


def test_a_new_database_is_built_by_the_migrations(engine_url):  # noqa: F811
    app = app_without_orthanc(engine_url)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "share_links", "audit_events", "index_studies", "alembic_version"} <= tables
        version = db.session.execute(select(text("version_num")).select_from(text("alembic_version"))).scalar_one()
        assert version == head()


def differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True, "target_metadata": None}
        )
        return compare_metadata(context, target_metadata())


def test_the_migrations_build_exactly_the_models(engine_url):  # noqa: F811
    """`alembic check`: a model changed without a migration fails here."""
    app = app_without_orthanc(engine_url)
    assert differences(app) == []
    forgotten = Table("index_forgotten", target_metadata(), Column("id", Integer, primary_key=True))
    try:
        assert [d[0] for d in differences(app)] == ["add_table"]  # the check can fail
    finally:
        target_metadata().remove(forgotten)


def test_search_terms_get_their_rows_sort_keys_when_upgrading_to_0006(engine_url):  # noqa: F811
    """0006 copies each row's sort key into its search terms (searches count and page from them alone)
    and drops terms whose row is gone (`flask index reset` left them); downgrading and upgrading again
    keeps every search answer."""
    from gallery.archive.index import tables, writer
    from gallery.archive.index.records import StudyRecord

    names = ["Kim^Minjun=金^敏俊=김^민준", "Smith^Ann", "Smithson^Jo", "García^José"]
    studies = [
        StudyRecord(
            f"{n:08x}-0000000{n}-00000000-00000000-00000000",
            f"patient-{n}",
            name,
            f"P{n}",
            "",
            "F",
            f"202{n}-01-0{n + 1}",
            "10:00",
            "MR BRAIN",
            f"A{n}",
            1,
        )  # fmt: skip
        for n, name in enumerate(names)
    ]
    searches = ["ki", "smi*", "민준", "garc", "*son^jo", "brain"]

    def answers() -> list:
        found = [[p.id for p in queries.patient_page(q, 1, 50).items] for q in searches]
        return found + [[s.id for s in queries.study_page(q, size=50).items] for q in searches]

    app = app_without_orthanc(engine_url)
    with app.app_context():
        writer.upsert(db.session.connection(), studies, [])
        db.session.commit()
        before = answers()
        db.session.commit()  # ends the reading transaction, whose locks would hold the downgrade up
        assert all(before[:5]) and all(before[6:])  # patients have no description ("brain")
        with db.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0005")
            connection.execute(text("INSERT INTO index_search_terms (kind, term, ref) VALUES ('pw', 'kim', 'gone')"))
    upgraded = app_without_orthanc(engine_url)
    with upgraded.app_context():
        t = tables.terms.c
        assert db.session.execute(select(t.ref).where(t.ref == "gone")).all() == []
        for table in (tables.patients, tables.studies):
            keys = dict(db.session.execute(select(table.c.id, table.c.sort_key)).all())
            terms = db.session.execute(select(t.ref, t.sort_key).where(t.ref.in_(list(keys)))).all()
            assert terms and all(sort_key == keys[ref] for ref, sort_key in terms)
        assert answers() == before
