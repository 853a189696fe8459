"""The database schema's history (Alembic): every table AskDesk keeps in the conversations
database (sessions, exchanges, feedback, tickets; the audit log; the console's curated entries),
on SQLite and PostgreSQL alike. `askdesk db upgrade` (`upgrade(engine)`) brings any database to the newest revision; the store
creates an empty database's schema itself and refuses one at an older revision, saying so.

A database made before migrations existed (tables created straight from the models) is upgraded
from the first revision too: each revision checks what is there before it creates or adds, so it
starts from whichever state it finds. A new schema change is a new file in versions/
(`alembic -c app/migrations/alembic.ini revision -m "..."`); tests/app/migrations checks that the
revisions and the models describe the same schema.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
_lock = threading.Lock()  # one upgrade at a time in a process (stores built side by side in tests)
PG_MIGRATION_LOCK = 0x41534B44  # "ASKD": the advisory lock one upgrade holds on PostgreSQL


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the pending revisions on this engine's database (a no-op when it is current)."""
    cfg = config()
    with _lock, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # replicas starting together on an empty shared database: one migrates, the others wait
            # here until it commits and then find the schema current (without it they all ran the
            # CREATEs and all but one crashed on duplicate tables)
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_current(engine: Engine, url_hint: str = "") -> None:
    """An empty database gets the schema (a first start needs no extra step); one with tables at an
    older revision is refused with the command that upgrades it: a schema change on a shared
    database is an operator's decision (back up first, one upgrade for all replicas), not something
    the first replica to restart should do on its own."""
    from sqlalchemy import inspect

    from app.errors import ConfigError

    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    if not tables - {"alembic_version"}:
        upgrade(engine)
        return
    now, want = current(engine), head()
    if now != want:
        raise ConfigError(
            f"the database schema is at revision {now or 'none (made before migrations)'} and this release "
            f"needs {want}: back it up (`askdesk backup`), then run `askdesk db upgrade`{url_hint}"
        )


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head()
