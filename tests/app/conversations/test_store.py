"""Sessions belong to the caller that created them (real SQLite on a temp dir)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine

from app import migrations
from app.conversations.store import ConversationStore


def test_another_caller_gets_a_new_session_never_the_old_one(tmp_path):
    conv = ConversationStore(f"sqlite:///{tmp_path / 'a.db'}")
    sid = conv.ensure_session("1", owner="widget:alice")
    assert sid == "1"  # a client-chosen id is kept for its creator
    conv.log_exchange(session_id=sid, question="my badge number is 4711, why is it blocked?", answer="...")
    assert conv.ensure_session("1", owner="widget:alice") == "1"
    other = conv.ensure_session("1", owner="widget:mallory")
    assert other != "1"
    assert conv.history(other, 5) == []  # nothing of alice's conversation
    assert conv.owns("1", "widget:alice") is True
    assert conv.owns("1", "widget:mallory") is False
    assert conv.owns("no-such-session", "widget:alice") is None


def test_a_database_from_before_owners_gets_the_column_and_old_sessions_stay_closed(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)  # the sessions table as the previous release created it
    db.execute("CREATE TABLE sessions (id VARCHAR(128) PRIMARY KEY, user VARCHAR(256), created_at DATETIME)")
    db.execute("INSERT INTO sessions (id, user, created_at) VALUES ('s-old', NULL, '2026-12-01 10:00:00')")
    db.commit()
    db.close()
    migrations.upgrade(create_engine(f"sqlite:///{path}"))  # `askdesk db upgrade` (the store refuses it before)
    conv = ConversationStore(f"sqlite:///{path}")
    cols = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(sessions)")}
    assert "owner" in cols
    assert conv.ensure_session("s-old", owner="key:abc") != "s-old"


def test_a_verified_user_continues_their_session_from_another_device(tmp_path):
    conv = ConversationStore(f"sqlite:///{tmp_path / 'a.db'}")
    sid = conv.ensure_session(None, user="e1024 (Li Wei)", owner="widget:laptop")
    assert conv.ensure_session(sid, user="e1024 (Li Wei)", owner="widget:phone") == sid
    assert conv.owns(sid, "widget:phone", "e1024 (Li Wei)") is True
    assert conv.ensure_session(sid, user="e2048 (Other)", owner="widget:phone") != sid
    assert conv.owns(sid, "widget:phone", None) is False


def test_sqlite_commits_do_not_wait_for_fsync_and_survive_a_reopen(tmp_path):
    """WAL with synchronous=NORMAL on every pooled connection (the session row is written on a
    question's critical path); what was committed is there after the store is reopened."""
    conv = ConversationStore(f"sqlite:///{tmp_path / 'a.db'}")
    if conv.engine.dialect.name != "sqlite":  # the PostgreSQL tier (tests/pg.py) swaps the URL
        pytest.skip("SQLite's pragmas")
    with conv.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    sid = conv.ensure_session(None, owner="k1")
    conv.engine.dispose()
    again = ConversationStore(f"sqlite:///{tmp_path / 'a.db'}")
    assert again.owns(sid, "k1") is True
