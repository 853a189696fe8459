"""The schema's migrations: an empty database and one from before migrations both reach the head
revision; the revisions describe exactly what the models do (no drift); and the same on a real
PostgreSQL server (a throw-away cluster started here from the installed binaries)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.exc import DatabaseError

from app import migrations
from app.console.models import ConsoleBase
from app.conversations.models import Base
from app.conversations.store import ConversationStore
from app.errors import ConfigError
from app.privacy.audit import AuditBase
from tests.conftest import free_port, run_askdesk

PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"))


def _all_metadata() -> MetaData:
    md = MetaData()
    for base in (Base, AuditBase, ConsoleBase):
        for t in base.metadata.tables.values():
            t.to_metadata(md)
    return md


def _drift(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, _all_metadata()) if not _is_alembic_table(d)]


def _is_alembic_table(diff) -> bool:
    return diff[0] == "remove_table" and diff[1].name == "alembic_version"


def test_empty_database_reaches_head_and_matches_the_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    ConversationStore(f"sqlite:///{tmp_path / 'a.db'}").dispose()  # a first start creates the schema
    assert migrations.current(engine) == migrations.head()
    assert _drift(engine) == []  # a model change without a revision fails here
    migrations.upgrade(engine)  # a second run is a no-op
    assert migrations.current(engine) == migrations.head()


def test_a_database_from_before_migrations_is_upgraded_in_place(tmp_path):
    """The schema the releases before migrations created (no owner, no ticket status), with rows:
    the store refuses it until `askdesk db upgrade` has run; then rows kept, new columns defaulted."""
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE sessions (id VARCHAR(128) NOT NULL PRIMARY KEY, user VARCHAR(256), created_at DATETIME NOT NULL)"))
        c.execute(text(
            "CREATE TABLE exchanges (id VARCHAR(64) NOT NULL PRIMARY KEY, session_id VARCHAR(128) NOT NULL REFERENCES sessions(id), "
            "created_at DATETIME NOT NULL, question TEXT NOT NULL, rewritten TEXT, answer TEXT NOT NULL, mode VARCHAR(16) NOT NULL, "
            "lang VARCHAR(8) NOT NULL, confidence FLOAT NOT NULL, sources JSON NOT NULL, backend VARCHAR(64), surface VARCHAR(16) NOT NULL, "
            "ttft_ms FLOAT, total_ms FLOAT NOT NULL, error TEXT, user VARCHAR(256))"
        ))  # fmt: skip
        c.execute(text("CREATE INDEX ix_exchanges_session_id ON exchanges (session_id)"))
        c.execute(text("CREATE INDEX ix_exchanges_created_at ON exchanges (created_at)"))
        c.execute(text(
            "CREATE TABLE feedback (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, exchange_id VARCHAR(64) NOT NULL REFERENCES exchanges(id), "
            "rating VARCHAR(8) NOT NULL, comment TEXT, created_at DATETIME NOT NULL)"
        ))  # fmt: skip
        c.execute(text("CREATE INDEX ix_feedback_exchange_id ON feedback (exchange_id)"))
        c.execute(text(
            "CREATE TABLE tickets (reference VARCHAR(32) NOT NULL PRIMARY KEY, session_id VARCHAR(128) NOT NULL REFERENCES sessions(id), "
            "reason VARCHAR(32) NOT NULL, user VARCHAR(256), transcript JSON NOT NULL, sources JSON NOT NULL, "
            "webhook_status VARCHAR(64), created_at DATETIME NOT NULL)"
        ))  # fmt: skip
        c.execute(text("CREATE INDEX ix_tickets_session_id ON tickets (session_id)"))
        c.execute(text("INSERT INTO sessions VALUES ('s1', 'ana', '2026-11-01 10:00:00')"))
        c.execute(text(
            "INSERT INTO exchanges VALUES ('e1', 's1', '2026-11-01 10:00:01', 'VPN?', NULL, 'Use the client.', 'faq', 'en', "
            "0.9, '[]', NULL, 'chat', NULL, 12.0, NULL, 'ana')"
        ))  # fmt: skip
        c.execute(text("INSERT INTO tickets VALUES ('T-1', 's1', 'no_answer', 'ana', '[]', '[]', NULL, '2026-11-01 10:00:02')"))
    assert migrations.current(engine) is None
    url = f"sqlite:///{path}"
    # the service refuses an outdated schema and says what to run
    with pytest.raises(ConfigError, match=r"made before migrations\).*run `askdesk db upgrade`"):
        ConversationStore(url)
    env = {**os.environ, "ASKDESK_DATABASE_URL": url, "ASKDESK_DATA_DIR": str(tmp_path / "d")}
    r = run_askdesk("db", "current", env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"database none; this release needs {migrations.head()}"
    r = run_askdesk("db", "upgrade", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"schema at {migrations.head()} (was none)"
    r = run_askdesk("db", "upgrade", env=env, timeout=60)
    assert r.stdout.strip() == f"schema at {migrations.head()} (already current)"
    store = ConversationStore(url)
    assert migrations.current(engine) == migrations.head()
    assert _drift(engine) == []
    assert [r["query"] for r in store.export_log()] == ["VPN?"]
    assert store.get_ticket("T-1").status == "open"
    assert store.owns("s1", owner="someone") is False  # pre-owner sessions open to nobody
    store.dispose()


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    bin_dir = next((d for d in PG_BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="askdesk-pg-"))
    os.chmod(root, 0o777)  # the cluster's owner (postgres) must reach it
    port, data = free_port(), root / "data"
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "askdesk", "--no-sync"]), **run)
    subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]), **run)  # fmt: skip
    try:
        createdb = shutil.which("createdb") or str(bin_dir / "createdb")
        subprocess.run([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "askdesk", "askdesk"], **run)
        yield f"postgresql+psycopg://askdesk@127.0.0.1:{port}/askdesk"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_postgresql_for_real(pg_url):
    """The whole store on a real PostgreSQL: migrated from empty, no drift, every write and read
    path, the audit log's append-only rules, and two stores (replicas) sharing the database."""
    store = ConversationStore(pg_url)
    engine = store.engine
    assert engine.dialect.name == "postgresql" and migrations.current(engine) == migrations.head()
    assert _drift(engine) == []
    other = ConversationStore(pg_url)  # a second replica starting on a migrated database: a no-op
    sid = store.ensure_session(None, user="ana", owner="key-1")
    assert other.owns(sid, owner="key-1") is True and other.owns(sid, owner="key-2") is False
    ex = store.log_exchange(session_id=sid, question="How do I reset my VPN password?", answer="Open the portal.",
                            mode="faq", lang="en", confidence=0.93, sources=[{"id": "it-vpn-001"}], total_ms=12.0)  # fmt: skip
    assert other.add_feedback(ex, "down", "not what I asked") is True
    assert [f.comment for f in store.feedback_for(ex)] == ["not what I asked"]
    assert store.history(sid, 3)[0].question == "How do I reset my VPN password?"
    t = store.create_ticket(session_id=sid, reason="no_answer", user="ana", sources=[])
    got = other.get_ticket(t.reference)
    assert got.status == "open" and got.transcript  # the session's exchange is in it
    stats = other.stats()
    assert stats["exchanges"] >= 1
    store.audit.record("admin-key@127.0.0.1", "source.upload", "faq.csv", {"bytes": 10})
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        # refused with an error, as on SQLite (migration 0003's trigger)
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as c:
            c.execute(text(sql))
    assert [e["actor"] for e in store.audit.export(10)] == ["admin-key@127.0.0.1"]
    assert "alembic_version" in inspect(engine).get_table_names()
    other.dispose()
    store.dispose()
