"""Nothing personal is stored or forwarded: chats holding test identifiers go through the real app
(real lifespan, real SQLite file, sample KB in real Chroma; the scripted model where the engine would
be, echoing an identifier into the rewrite and the answer), then the database file's bytes (and its
WAL) are searched for them, and the handoff webhook's payload too."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.privacy.app_on_db import app_with
from tests.request_path_fixtures import ADMIN, AUTH, CONTACT, DOC_QUESTION, FAQ_EN, OUT_OF_SCOPE
from tests.service_fixtures import WebhookReceiver

pytest_plugins = ["tests.request_path_fixtures"]

EMAIL = "li.wei.7731@example.org"
PHONE = "13912347731"
RESIDENT_ID = "11010519491231002X"
CARD = "4111 1111 1111 1111"
IDENTIFIERS = [EMAIL, PHONE, "139 1234 7731", RESIDENT_ID, CARD, CARD.replace(" ", "")]


def _database_bytes(db: Path) -> bytes:
    from tests.pg import postgres_dump

    dumped = postgres_dump(f"sqlite:///{db}")  # the PostgreSQL tier (tests/pg.py): that database's dump
    if dumped is not None:
        return dumped
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the file, -wal, -shm


def _chat_with_identifiers(client, model) -> None:
    # the engine (scripted) repeats the phone number: into the rewritten follow-up and the answer
    model.script(reply=f"Call {PHONE} or mail {EMAIL} about it [1].")
    r = client.post("/api/chat", headers=AUTH, json={"message": f"{DOC_QUESTION} my phone is 139 1234 7731"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert PHONE in first["answer"]  # the reply to the user is not redacted, only what is kept
    assert "139 1234 7731" in model.calls[-1].prompt  # the LLM answers the question as typed
    r = client.post("/api/chat", headers=AUTH,
                    json={"message": f"and what about it? card {CARD}", "session_id": first["session_id"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["rewritten_query"], r.text
    with client.stream("POST", "/api/chat", headers=AUTH,
                       json={"message": f"{FAQ_EN}, ID {RESIDENT_ID}", "stream": True}) as s:  # fmt: skip
        assert s.status_code == 200 and "event: done" in s.read().decode()
    r = client.post("/v1/chat/completions", headers=AUTH,
                    json={"model": "askdesk", "messages": [{"role": "user", "content": f"{OUT_OF_SCOPE} {EMAIL}"}]})  # fmt: skip
    assert r.status_code == 200, r.text
    r = client.post("/api/feedback", headers=AUTH,
                    json={"message_id": first["message_id"], "rating": "down", "comment": f"call me: {PHONE}, {EMAIL}"})  # fmt: skip
    assert r.status_code == 201
    r = client.post("/api/handoff", headers=AUTH,
                    json={"session_id": first["session_id"], "message_id": first["message_id"]})  # fmt: skip
    assert r.status_code == 200, r.text
    r = client.post("/api/chat", headers=AUTH, json={"message": f"我想转人工，电话{PHONE}"})
    assert r.status_code == 200 and r.json()["mode"] == "handoff", r.text


def test_no_identifier_reaches_the_database_or_the_webhook(ingested_sample_kb, embedders, tmp_path):
    hook = WebhookReceiver()
    db = tmp_path / "askdesk.db"
    try:
        with app_with(ingested_sample_kb, db, embedders, handoff_webhook_url=hook.url) as (client, model):
            _chat_with_identifiers(client, model)
            log = client.get("/api/admin/log", headers=ADMIN).json()["exchanges"]
            stored = _database_bytes(db)
    finally:
        hook.close()
    assert len(log) == 5
    for ident in IDENTIFIERS:
        assert ident.encode() not in stored, ident
        assert ident not in json.dumps(hook.calls, ensure_ascii=False), ident
    assert b"[PHONE]" in stored and b"[EMAIL]" in stored and b"[ID]" in stored and b"[CARD]" in stored
    assert len(hook.calls) == 2 and "[PHONE]" in json.dumps(hook.calls)
    # the service desk's own contact, quoted in every handoff reply, is allowed through
    assert CONTACT.encode() in stored


def test_a_ticket_may_carry_what_the_user_typed(ingested_sample_kb, embedders, tmp_path):
    """ASKDESK_REDACT_TICKET_TRANSCRIPTS=false: the ticket and its webhook carry the user's words so
    a person can call back; the exchange log stays redacted."""
    hook = WebhookReceiver()
    db = tmp_path / "askdesk.db"
    try:
        with app_with(ingested_sample_kb, db, embedders, handoff_webhook_url=hook.url,
                      redact_ticket_transcripts=False) as (client, _):  # fmt: skip
            r = client.post("/api/chat", headers=AUTH, json={"message": f"我想转人工，电话{PHONE}"})
            assert r.status_code == 200 and r.json()["mode"] == "handoff"
            ref = r.json()["handoff"]["reference"]
            log = client.get("/api/admin/log", headers=ADMIN).json()["exchanges"]
            ticket = client.app.state.askdesk.conversations.get_ticket(ref)
    finally:
        hook.close()
    assert log[0]["query"] == "我想转人工，电话[PHONE]"
    assert ticket.transcript[0]["content"] == f"我想转人工，电话{PHONE}"
    assert hook.calls[0]["transcript"][0]["content"] == f"我想转人工，电话{PHONE}"


def test_redaction_off_stores_text_as_given(ingested_sample_kb, embedders, tmp_path):
    db = tmp_path / "askdesk.db"
    with app_with(ingested_sample_kb, db, embedders, redact_pii=False) as (client, _):
        r = client.post("/api/chat", headers=AUTH, json={"message": f"{FAQ_EN} {PHONE}"})
        assert r.status_code == 200
        assert client.get("/api/admin/log", headers=ADMIN).json()["exchanges"][0]["query"].endswith(PHONE)
