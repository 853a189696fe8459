"""The leak test against the real service: `askdesk serve` (its own process) over the audience
test KB, answering through a real llama.cpp engine behind a capturing proxy, so the rag context is
read where it arrives, at the engine's door. Three identities (none, HR, finance) on /api/search,
/api/chat (JSON and SSE: sources, suggestions, answer), /v1/chat/completions (its `askdesk` extra)
and the context the engine got: zero leaks, and each reader's own restricted passage does reach the
engine. A forged, expired or wrong-audience token: 401."""

from __future__ import annotations

import json

import httpx
import pytest

from tests import audience_kb as kb
from tests.service_fixtures import parse_sse

pytest_plugins = ["tests.engine_fixtures", "tests.audience_service"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]


def widget(svc, name: str) -> dict:
    return {"X-AskDesk-Widget-Key": "pk_demo_local", "Origin": svc.url, "X-AskDesk-Visitor": f"v-{name}-0000000000"}


@pytest.mark.parametrize("name", ["none", "hr", "finance"])
def test_zero_leaks_at_the_engine_and_every_surface(audience_service, name):
    svc = audience_service
    tok = {"user_token": svc.token(name)} if name != "none" else {}
    got: list = []
    first = len(svc.proxy.bodies)
    with httpx.Client(base_url=svc.url, timeout=300) as c:
        for q in (kb.Q_HR_DOC, kb.Q_FIN_DOC, kb.Q_VAGUE):
            r = c.post("/api/search", headers=svc.bearer(name), json={"query": q, "k": 10})
            assert r.status_code == 200, r.text
            got.append(r.text)
        for q in (kb.Q_HR_DOC, kb.Q_FIN_DOC):
            r = c.post("/api/chat", headers=widget(svc, name), json={"message": q, **tok})
            assert r.status_code == 200, r.text
            got.append(r.text)
        with c.stream("POST", "/api/chat", headers=widget(svc, name),
                      json={"message": kb.Q_VAGUE, "stream": True, **tok}) as r:  # fmt: skip
            assert r.status_code == 200
            got.append(parse_sse(r.iter_lines()))
        r = c.post("/v1/chat/completions", headers=svc.bearer(name),
                   json={"model": "askdesk", "messages": [{"role": "user", "content": kb.Q_HR_DOC}]})  # fmt: skip
        assert r.status_code == 200, r.text
        got.append(r.text)
    sent = svc.proxy.bodies[first:]  # what the engine process received for this identity
    chats = [b for b in sent if "messages" in b]
    assert chats, "no request reached the engine: the rag context was not exercised"
    assert kb.leaks(got, name) == []
    assert kb.leaks(sent, name) == []
    context = json.dumps(sent, ensure_ascii=False)
    if name == "hr":
        assert "HR-D2208" in context  # the HR reader's own passage went to the engine
    if name == "finance":
        assert "FIN-P9915" in context


@pytest.mark.parametrize("kind", ["forged", "expired", "wrong_audience"])
def test_bad_tokens_are_refused_by_the_service(audience_service, kind):
    svc = audience_service
    tok = svc.bad_tokens()[kind]
    for stream in (False, True):
        r = httpx.post(svc.url + "/api/chat", headers=widget(svc, "x"), timeout=60,
                       json={"message": kb.Q_HR_FAQ, "user_token": tok, "stream": stream})  # fmt: skip
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_identity_token", r.text
        assert kb.leaks(r.text, "none") == []
