"""Alembic's environment: runs on the connection `upgrade()` passes in (never a URL of its own),
and knows every model's metadata for `alembic revision --autogenerate` and the drift test."""

from __future__ import annotations

from alembic import context

from app.console.models import ConsoleBase
from app.conversations.models import Base
from app.privacy.audit import AuditBase

target_metadata = [Base.metadata, AuditBase.metadata, ConsoleBase.metadata]


def run() -> None:
    conn = context.config.attributes.get("connection")
    if conn is None:  # the alembic CLI: a URL from ASKDESK_DATABASE_URL / the settings
        from sqlalchemy import create_engine

        from app.settings import Settings

        with create_engine(Settings().db_url).begin() as conn:
            _migrate(conn)
        return
    _migrate(conn)


def _migrate(conn) -> None:
    # render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that for us
    context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
