"""Retention and a user's rights (app/privacy/retention.py, ConversationStore's purge and user
data): rows aged by updating their timestamps are deleted by a purge and by the service's own
schedule; a signed-in user's data exported and deleted through the admin API, nobody else's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text, update

from app.conversations.models import ChatSession, Exchange, Feedback, Ticket
from app.conversations.store import ConversationStore
from app.errors import BadRequest
from app.privacy import retention
from tests.app.privacy.app_on_db import app_with
from tests.request_path_fixtures import ADMIN, AUTH, FAQ_EN, OUT_OF_SCOPE

pytest_plugins = ["tests.request_path_fixtures"]
SECRET = "identity-test-secret-at-least-32-bytes"


def _age(store: ConversationStore, session_id: str, days: float) -> None:
    """Move a session and everything in it `days` into the past."""
    at = datetime.now(UTC) - timedelta(days=days)
    with store.engine.begin() as conn:
        conn.execute(update(ChatSession).where(ChatSession.id == session_id).values(created_at=at))
        conn.execute(update(Exchange).where(Exchange.session_id == session_id).values(created_at=at))
        conn.execute(update(Ticket).where(Ticket.session_id == session_id).values(created_at=at))
        eids = select_ids(conn, session_id)
        conn.execute(update(Feedback).where(Feedback.exchange_id.in_(eids)).values(created_at=at))


def select_ids(conn, session_id: str) -> list[str]:
    return [
        r[0] for r in conn.execute(text("SELECT id FROM exchanges WHERE session_id = :s"), {"s": session_id})
    ]


def _count(store: ConversationStore, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _conversation(store: ConversationStore, user: str | None = None) -> str:
    sid = store.ensure_session(None, user=user, owner="key:x")
    eid = store.log_exchange(session_id=sid, question="q", answer="a", mode="faq", user=user)
    store.add_feedback(eid, "down", "meh")
    store.create_ticket(session_id=sid, reason="user_request", user=user, sources=[])
    return sid


def test_purge_deletes_what_is_older_than_the_period_and_nothing_else(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 'askdesk.db'}")
    old, recent = _conversation(store), _conversation(store)
    _age(store, old, 40)
    _age(store, recent, 10)
    counts = retention.purge(store, 30, "test")
    assert counts == {"feedback": 1, "exchanges": 1, "tickets": 1, "sessions": 1}
    assert store.history(old, 5) == [] and store.owns(old, "key:x") is None
    assert len(store.history(recent, 5)) == 1 and _count(store, "tickets") == 1
    assert store.audit.export()[-1]["action"] == "retention.purge"
    # a session begun long ago but still in use keeps its row and its recent turns
    store.log_exchange(session_id=recent, question="q2", answer="a2", mode="faq")
    _age(store, recent, 40)
    store.log_exchange(session_id=recent, question="q3", answer="a3", mode="faq")
    retention.purge(store, 30, "test")
    assert [t.question for t in store.history(recent, 5)] == ["q3"] and store.owns(recent, "key:x")
    with pytest.raises(BadRequest):
        retention.purge(store, 0, "test")
    store.dispose()


def test_the_service_purges_on_its_schedule(ingested_sample_kb, embedders, tmp_path):
    with app_with(ingested_sample_kb, tmp_path / "askdesk.db", embedders, retention_days=30,
                  retention_interval_s=0.2) as (client, _):  # fmt: skip
        store = client.app.state.askdesk.conversations
        old = client.post("/api/chat", headers=AUTH, json={"message": FAQ_EN}).json()["session_id"]
        new = client.post("/api/chat", headers=AUTH, json={"message": OUT_OF_SCOPE}).json()["session_id"]
        _age(store, old, 31)
        deadline = time.monotonic() + 10
        while store.owns(old, None) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.owns(old, None) is None and len(store.history(new, 5)) == 1
        purges = [e for e in store.audit.export() if e["action"] == "retention.purge"]
        assert purges and purges[-1]["actor"] == "system:retention" and purges[-1]["detail"]["exchanges"] == 1


def _token(sub: str, **claims) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, SECRET, algorithm="HS256")


def test_a_users_data_is_exported_and_deleted_and_nobody_elses(ingested_sample_kb, embedders, tmp_path):
    with app_with(ingested_sample_kb, tmp_path / "askdesk.db", embedders, widget_identity_secret=SECRET) as (
        c,
        _,
    ):
        me, other = _token("e1024", name="Li Wei"), _token("e2048")
        first = c.post("/api/chat", headers=AUTH, json={"message": FAQ_EN, "user_token": me}).json()
        c.post("/api/chat", headers=AUTH,
               json={"message": OUT_OF_SCOPE, "user_token": me, "session_id": first["session_id"]})  # fmt: skip
        assert c.post("/api/feedback", headers=AUTH,
                      json={"message_id": first["message_id"], "rating": "up", "comment": "thanks"}).status_code == 201  # fmt: skip
        assert c.post("/api/handoff", headers=AUTH,
                      json={"session_id": first["session_id"], "user_token": me}).status_code == 200  # fmt: skip
        theirs = c.post("/api/chat", headers=AUTH, json={"message": FAQ_EN, "user_token": other}).json()

        export = c.get("/api/admin/users/e1024/export", headers=ADMIN)
        assert export.status_code == 200
        data = export.json()
        assert data["user_id"] == "e1024" and [s["id"] for s in data["sessions"]] == [first["session_id"]]
        assert [x["question"] for x in data["exchanges"]] == [FAQ_EN, OUT_OF_SCOPE]
        assert data["feedback"][0]["comment"] == "thanks" and len(data["tickets"]) == 1
        assert data["tickets"][0]["transcript"][0]["content"] == FAQ_EN

        r = c.delete("/api/admin/users/e1024", headers=ADMIN)
        assert r.json()["deleted"] == {"feedback": 1, "tickets": 1, "exchanges": 2, "sessions": 1}
        again = c.get("/api/admin/users/e1024/export", headers=ADMIN).json()
        assert not any(again[k] for k in ("sessions", "exchanges", "feedback", "tickets"))
        kept = c.get("/api/admin/users/e2048/export", headers=ADMIN).json()
        assert [x["id"] for x in kept["exchanges"]] == [theirs["message_id"]]
        # a user id that is a prefix, or holds LIKE wildcards, matches nobody else
        assert c.get("/api/admin/users/e20%25/export", headers=ADMIN).json()["exchanges"] == []
        actions = [
            (e["action"], e["target"]) for e in c.get("/api/admin/audit", headers=ADMIN).json()["events"]
        ]
        assert ("user.export", "e1024") in actions and ("user.delete", "e1024") in actions


def test_purge_route(client):
    r = client.post("/api/admin/purge", headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"]["param"] == "days"  # retention_days = 0: say how
    r = client.post("/api/admin/purge", headers=ADMIN, params={"days": 3650})
    assert r.status_code == 200 and set(r.json()["deleted"]) == {
        "feedback",
        "exchanges",
        "tickets",
        "sessions",
    }
