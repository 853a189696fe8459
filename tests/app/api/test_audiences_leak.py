"""The leak test, fast tier: restricted HR and finance entries, three identities (none, HR,
finance), every request surface in-process (the real app, lifespan and retrieval over real Chroma;
the scripted chat model in the engine's place records the exact rag context the chain sends):
/api/search, /api/chat (JSON and SSE: sources, suggestions, answer), the rag context, /v1 chat
completions (its `askdesk` extra, streamed and not). Zero leaks; each identity still sees its own
entries (else "no leak" would prove nothing). A forged, expired or wrong-audience identity token is
refused with a 401. The real-engine and browser halves: tests/app/api/test_audiences_engine.py,
tests/browser/test_widget_audiences.py."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from app.settings import APIKeySpec, LLMBackend, Settings
from tests import audience_kb as kb
from tests.scripted_model import ScriptedChatModel
from tests.service_fixtures import parse_sse

SECRET = "audience-test-secret-of-32-bytes-or-more"
ORIGIN = "http://intranet.example"
WIDGET_KEY = "pk_aud_test"
KEYS = {"none": "sk-aud-none", "hr": "sk-aud-hr", "finance": "sk-aud-fin"}
ADMIN_KEY = "adm-aud"


def token(name: str, **claims) -> str:
    body = {"sub": f"u-{name}", "name": name, "exp": int(time.time()) + 300, "audiences": list(kb.IDENTITIES[name])}
    return jwt.encode({**body, **claims}, SECRET, "HS256")


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "u-x", "exp": now + 300, "audiences": ["hr", "finance"]}
    return {
        "forged": jwt.encode(claims, "not-the-secret-but-32-bytes-long-too", "HS256"),
        "expired": jwt.encode({**claims, "exp": now - 3600, "iat": now - 3900}, SECRET, "HS256"),
        "wrong_audience": jwt.encode({**claims, "aud": "another-app"}, SECRET, "HS256"),
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedders):
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring

    base = tmp_path_factory.mktemp("aud-leak")
    s0, _ = kb.ingest_kb(kb.write_kb(base / "kb"), base / "data", embedders)
    model = ScriptedChatModel()
    specs = [APIKeySpec(key=KEYS[n], name=f"key-{n}", audiences=list(kb.IDENTITIES[n])) for n in KEYS]
    s = Settings(
        _env_file=None, data_dir=s0.data_dir, database_url=f"sqlite:///{base / 'askdesk.db'}",
        llm_backends=[LLMBackend(name="scripted", base_url="http://127.0.0.1:9/v1", model="scripted", timeout_s=5)],
        api_key_specs=specs, rate_limit_exempt_keys=list(KEYS.values()), admin_key=ADMIN_KEY,
        widget_keys=[WIDGET_KEY], widget_origins=[ORIGIN], widget_identity_secret=SECRET,
        llm_breaker_failures=1_000_000, extractive_answers=False, retrieval_refresh_s=0.0,
    )  # fmt: skip

    def build_state(settings: Settings):
        store = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        return wiring.build_state(settings, chat_models={"scripted": model}, store=store)

    with TestClient(create_app(s, build_state)) as client:
        client.model = model
        yield client


def widget(name: str) -> dict:
    return {"X-AskDesk-Widget-Key": WIDGET_KEY, "Origin": ORIGIN, "X-AskDesk-Visitor": f"visitor-{name}-0000000000"}


def bearer(name: str) -> dict:
    return {"Authorization": f"Bearer {KEYS[name]}"}


class Seen:
    """Everything one identity got back (and the rag context sent for it), to grep for markers."""

    def __init__(self, client) -> None:
        self.client, self.parts = client, []

    def chat(self, headers: dict, body: dict, *, stream: bool) -> dict:
        n = len(self.client.model.calls)
        if stream:
            with self.client.stream("POST", "/api/chat", headers=headers, json={**body, "stream": True}) as r:
                assert r.status_code == 200, r.read()
                events = parse_sse(r.iter_lines())
            self.parts.append(events)
            done = next(d for k, d in events if k == "done")
        else:
            r = self.client.post("/api/chat", headers=headers, json=body)
            assert r.status_code == 200, r.text
            self.parts.append(r.text)
            done = r.json()
        self.parts += [c.prompt for c in self.client.model.calls[n:]]  # the rag context, as sent
        return done

    def post(self, path: str, headers: dict, body: dict) -> str:
        r = self.client.post(path, headers=headers, json=body)
        assert r.status_code == 200, r.text
        self.parts.append(r.text)
        return r.text


@pytest.mark.parametrize("name", ["none", "hr", "finance"])
def test_zero_leaks_on_every_surface(app, name):
    app.model.script(reply="From the passages [1].")
    seen = Seen(app)
    tok = {"user_token": token(name)} if name != "none" else {}
    dones = []
    for q in kb.QUESTIONS:
        seen.post("/api/search", bearer(name), {"query": q, "k": 10})
        dones.append(seen.chat(widget(name), {"message": q, **tok}, stream=False))
        dones.append(seen.chat(widget(name), {"message": q, **tok}, stream=True))
        # an API key without audiences, relaying a signed-in user: the user's audiences decide
        dones.append(seen.chat(bearer("none"), {"message": q, **tok}, stream=False))
        oai = {"model": "askdesk", "messages": [{"role": "user", "content": q}]}
        seen.post("/v1/chat/completions", bearer(name), oai)
        seen.post("/v1/chat/completions", bearer(name), {**oai, "stream": True})
    assert kb.leaks(seen.parts, name) == []
    assert any(d["suggestions"] for d in dones)  # the suggestions surface was exercised
    mine = {"none": (), "hr": ("HR-K7731", "HR-D2208"), "finance": ("FIN-Q4420", "FIN-P9915")}[name]
    text = json.dumps(seen.parts, ensure_ascii=False)
    assert all(m in text for m in mine)  # a reader does get their own entries


def test_rag_context_holds_the_readers_own_restricted_passage(app):
    app.model.script(reply="See [1].")
    n = len(app.model.calls)
    done = Seen(app).chat(widget("hr"), {"message": kb.Q_HR_DOC, "user_token": token("hr")}, stream=False)
    assert done["mode"] == "rag" and done["sources"][0]["id"].startswith(kb.HR_DOC)
    assert "HR-D2208" in app.model.calls[n].prompt
    anon = Seen(app).chat(widget("none"), {"message": kb.Q_HR_DOC}, stream=False)
    assert kb.leaks(anon, "none") == []


def test_admin_key_does_not_widen_a_chat_but_sees_all_on_admin_routes(app):
    headers = {**bearer("none"), "X-Admin-Key": ADMIN_KEY}
    app.model.script(reply="See [1].")
    seen = Seen(app)
    seen.chat(headers, {"message": kb.Q_HR_FAQ}, stream=False)
    seen.post("/api/search", headers, {"query": kb.Q_HR_FAQ})
    assert kb.leaks(seen.parts, "none") == []
    r = app.post("/api/debug/prompt", headers={"X-Admin-Key": ADMIN_KEY}, json={"message": kb.Q_HR_DOC})
    assert r.status_code == 200 and "HR-D2208" in r.text  # the operator's prompt preview: every entry


@pytest.mark.parametrize("kind", ["forged", "expired", "wrong_audience"])
@pytest.mark.parametrize("stream", [False, True])
def test_bad_identity_tokens_are_refused(app, kind, stream):
    body = {"message": kb.Q_HR_FAQ, "user_token": bad_tokens()[kind], "stream": stream}
    for headers in (widget("x"), bearer("none")):
        r = app.post("/api/chat", headers=headers, json=body)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "invalid_identity_token"
        assert kb.leaks(r.text, "none") == []


def test_a_signed_in_users_audiences_decide_over_the_relaying_key(app):
    # the HR key relays a user whose token grants nothing: the user reads untagged entries only
    app.model.script(reply="See [1].")
    seen = Seen(app)
    plain_user = token("none")
    for q in (kb.Q_HR_FAQ, kb.Q_HR_DOC, kb.Q_VAGUE):
        seen.chat(bearer("hr"), {"message": q, "user_token": plain_user}, stream=False)
    assert kb.leaks(seen.parts, "none") == []
    # without a user token the key's own audiences apply
    done = Seen(app).chat(bearer("hr"), {"message": kb.Q_HR_FAQ}, stream=False)
    assert done["sources"][0]["id"] == kb.HR_FAQ


def test_token_audiences_are_case_folded_like_the_tags(app):
    done = Seen(app).chat(widget("hr"), {"message": kb.Q_HR_FAQ, "user_token": token("hr", audiences=["HR"])},
                          stream=False)  # fmt: skip
    assert done["sources"][0]["id"] == kb.HR_FAQ
