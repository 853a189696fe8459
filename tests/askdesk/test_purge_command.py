"""`askdesk purge` as users run it (a fresh process over a real SQLite file): aged rows go, recent
ones stay, the purge is in the audit log; bad input is one error line and a non-zero exit."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.conversations.models import ChatSession, Exchange
from app.conversations.store import ConversationStore
from tests.conftest import run_askdesk


@pytest.fixture
def env(tmp_path) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    return {**base, "ASKDESK_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "120"}


def _store(env: dict) -> ConversationStore:
    return ConversationStore(f"sqlite:///{env['ASKDESK_DATA_DIR']}/askdesk.db")


def test_purge_deletes_aged_rows(env):
    store = _store(env)
    old = store.ensure_session(None, owner="k")
    store.log_exchange(session_id=old, question="old", answer="a")
    new = store.ensure_session(None, owner="k")
    store.log_exchange(session_id=new, question="new", answer="a")
    at = datetime.now(UTC) - timedelta(days=100)
    with store.engine.begin() as conn:
        conn.execute(update(ChatSession).where(ChatSession.id == old).values(created_at=at))
        conn.execute(update(Exchange).where(Exchange.session_id == old).values(created_at=at))
    store.dispose()

    r = run_askdesk("purge", "--days", "90", env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (
        r.stdout.strip() == "purged data older than 90 days: 0 feedback, 1 exchanges, 0 tickets, 1 sessions"
    )
    store = _store(env)
    assert store.owns(old, "k") is None and [t.question for t in store.history(new, 5)] == ["new"]
    event = store.audit.export()[-1]
    assert event["action"] == "retention.purge" and event["actor"].startswith("cli:")
    store.dispose()
    # the configured period is the default
    r = run_askdesk("purge", env={**env, "ASKDESK_RETENTION_DAYS": "30"}, timeout=120)
    assert r.returncode == 0 and "older than 30 days" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--days", "abc"), "error: --days must be a whole number of days, got 'abc'"),
        (("--days", "0"), "error: --days must be between 1 and 36500, got 0"),
        (("--days", "-5"), "error: --days must be between 1 and 36500, got -5"),
        (("--days", "99999999999"), "error: --days must be between 1 and 36500, got 99999999999"),
        ((), "error: no retention configured (ASKDESK_RETENTION_DAYS=0 keeps everything): pass --days N"),
    ],
)
def test_bad_input_is_one_error_line(env, args, message):
    r = run_askdesk("purge", *args, env=env, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip() == message and r.stdout == ""


def test_a_database_that_cannot_be_opened_is_one_error_line(env):
    r = run_askdesk("purge", "--days", "30", env={**env, "ASKDESK_DATABASE_URL": "sqlite:////proc/none/askdesk.db"})
    assert r.returncode == 1
    assert r.stderr.startswith("error: cannot purge the database at sqlite:////proc/none/askdesk.db: ")
    assert len(r.stderr.strip().splitlines()) == 1
