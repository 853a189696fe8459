"""The audit log (app/privacy/audit.py): append-only in the database itself, exportable, and every
admin request through the real app is in it (let in or refused)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.conversations.store import ConversationStore
from tests.request_path_fixtures import ADMIN, ADMIN_KEY

pytest_plugins = ["tests.request_path_fixtures"]


@pytest.fixture
def store(tmp_path):
    s = ConversationStore(f"sqlite:///{tmp_path / 'askdesk.db'}")
    yield s
    s.dispose()


def test_record_and_export(store):
    store.audit.record("admin-key@10.0.0.7", "source.upload", "faq.csv", {"entries": 12})
    store.audit.record("console:li", "entry.edit", "hr-leave-001")
    events = store.audit.export()
    assert [(e["actor"], e["action"], e["target"]) for e in events] == [
        ("admin-key@10.0.0.7", "source.upload", "faq.csv"),
        ("console:li", "entry.edit", "hr-leave-001"),
    ]
    assert events[0]["detail"] == {"entries": 12} and events[0]["at"].endswith("+00:00")


def test_the_database_refuses_to_change_or_delete_an_event(store):
    store.audit.record("admin-key@x", "user.delete", "e1024")
    for sql in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert store.audit.export()[0]["actor"] == "admin-key@x"
    # the triggers survive a restart (created once, kept by the database)
    again = ConversationStore(str(store.engine.url))
    with pytest.raises(DatabaseError, match="append-only"), again.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    again.dispose()


def test_every_admin_request_is_recorded_and_the_log_exports_as_csv(client):
    assert client.get("/api/admin/stats", headers=ADMIN).status_code == 200
    assert client.get("/api/admin/stats", headers={"X-Admin-Key": ADMIN_KEY + "-wrong"}).status_code == 401
    events = client.get("/api/admin/audit", headers=ADMIN).json()["events"]
    tail = [(e["actor"].split("@")[0], e["action"], e["target"]) for e in events[-3:]]
    assert tail == [
        ("admin-key", "admin.request", "GET /api/admin/stats"),
        ("admin-key?", "admin.denied", "GET /api/admin/stats"),
        ("admin-key", "admin.request", "GET /api/admin/audit"),
    ]
    r = client.get("/api/admin/audit", headers=ADMIN, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[-1]["action"] == "admin.request" and rows[-2]["action"] == "audit.export"
    assert rows[-2]["detail"].startswith("{")


def test_a_source_deletion_is_recorded_with_what_it_did(client):
    r = client.delete("/api/admin/sources/no-such-file.csv", headers=ADMIN)
    events = client.get("/api/admin/audit", headers=ADMIN).json()["events"]
    deletes = [e for e in events if e["action"] == "source.delete"]
    if r.status_code == 200:
        assert deletes[-1]["target"] == "no-such-file.csv"
    else:  # refused (not found): the request itself is still on record
        assert r.status_code == 404
        assert any(e["target"] == "DELETE /api/admin/sources/{source:path}" for e in events)
