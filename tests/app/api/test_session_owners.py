"""A session belongs to the caller that created it: another caller who sends its id (guessed, like
"1", or leaked) gets a new session, never the old history, and cannot hand it off to a person."""

from __future__ import annotations

from app.answering.service import Ask
from tests.request_path_fixtures import AUTH, FAQ_EN

pytest_plugins = ["tests.request_path_fixtures"]

PRIVATE = "my manager Li Wei rejected my leave, employee id 88123, what now?"


def _alice_session(askdesk_app) -> str:
    service = askdesk_app.state.answers
    a = askdesk_app.run(service.answer, Ask(message=PRIVATE, session_id="1", owner="widget:alice"))
    assert a.session_id == "1"
    return a.session_id


def test_another_callers_session_id_starts_a_new_session(askdesk_app, client):
    sid = _alice_session(askdesk_app)
    r = client.post("/api/chat", headers=AUTH, json={"message": "and what about that?", "session_id": sid})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] != sid
    assert "88123" not in r.text and "Li Wei" not in r.text  # nothing of alice's turn comes back
    again = client.post("/api/chat", headers=AUTH, json={"message": FAQ_EN, "session_id": body["session_id"]})
    assert again.json()["session_id"] == body["session_id"]  # the new one is this caller's to continue


def test_another_callers_session_cannot_be_handed_off(askdesk_app, client):
    sid = _alice_session(askdesk_app)
    r = client.post("/api/handoff", headers=AUTH, json={"session_id": sid})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "88123" not in r.text
    own = client.post("/api/chat", headers=AUTH, json={"message": FAQ_EN}).json()["session_id"]
    ok = client.post("/api/handoff", headers=AUTH, json={"session_id": own})
    assert ok.status_code == 200 and ok.json()["reference"].startswith("AD-")
