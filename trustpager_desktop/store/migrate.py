"""Apply Alembic migrations: the only way the schema is created or changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a migration has to run: importing it costs about a
# third of a second, and a window start on an up-to-date database needs none of it.
_REVISION = re.compile(r'^revision(?::[^=]*)?=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?::[^=]*)?=\s*"([^"]+)"', re.MULTILINE)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Search indexes made by hand-written migrations, invisible to the models.
UNMODELLED_PREFIXES = ("contacts_fts", "ix_contacts_search_trgm")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate/compare filter: ignore the unmodelled search indexes."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)


# Any constant works; it only has to be the same in every process sharing a database.
_PG_MIGRATION_LOCK = 727_001


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest migration's id, read from the version files' ``revision`` and
    ``down_revision`` lines (Alembic's own answer when the files say something else)."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    if len(heads) == 1:
        return str(heads.pop())
    return alembic_head_revision()


def alembic_head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads; merge them")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stored_revision(engine: Engine) -> str | None:
    """The alembic_version row read with plain SQL (None before the first migration).

    On PostgreSQL one statement outside a transaction (every start of the window pays
    for this in round trips to the server): a missing table is an error there, which
    outside a transaction spoils nothing."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) == _UNDEFINED_TABLE:
                    return None
                raise
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_UNDEFINED_TABLE = "42P01"


def known_revisions() -> set[str]:
    """Every migration id this version of the application ships."""
    found: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found.update(_REVISION.findall(script.read_text(encoding="utf-8")))
    return found


def check_revision(engine: Engine, *, read_only: bool = False) -> str | None:
    """The stored schema revision, refused (DatabaseError, one sentence) when a newer
    version of TrustPager wrote it, or, ``read_only``, when it needs an upgrade first."""
    from trustpager_desktop.store.database import DatabaseError

    stored = _stored_revision(engine)
    head = head_revision()
    if stored is not None and stored != head and stored not in known_revisions():
        raise DatabaseError(
            f"This database was upgraded by a newer version of TrustPager (schema {stored}; "
            f"this version knows up to {head}). Install the newer version, or open another "
            "database."
        )
    if read_only and stored != head:
        raise DatabaseError(
            f"The database is read-only for this user and has schema {stored or 'none'}, "
            f"older than this version's {head}: open it once with write access to upgrade it."
        )
    return stored


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema up to date. Safe when several desktops open one database at once.

    Raises DatabaseError when a newer version of the application wrote the schema."""
    if check_revision(engine) == head_revision():
        return
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent upgrades from several desktops on one server.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
