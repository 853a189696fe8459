"""The app in-process (FastAPI TestClient runs the real lifespan: real Chroma with the sample KB, real
embedders), with an LLM backend that is down: faq and no_answer keep working, a rag question is
answered with a quote of its passages (extractive answers), and without those it fails cleanly."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.settings import LLMBackend, Settings
from tests.conftest import free_port

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = pytest.mark.slow

DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"


@pytest.fixture(scope="module")
def client(ingested_sample_kb):
    from askdesk.wiring import service

    dead = LLMBackend(name="down", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout_s=3)
    s = Settings(_env_file=None, data_dir=ingested_sample_kb, llm_backends=[dead], rate_limit="5/minute",
                 rate_limit_exempt_keys=["sk-exempt"], api_keys=["sk-a"], admin_key="adm",
                 widget_keys=["pk_demo_local"])  # fmt: skip
    with TestClient(service(s)) as c:
        yield c


def H(key="sk-a"):
    return {"Authorization": f"Bearer {key}"}


def test_llm_down_faq_and_no_answer_still_work(client):
    faq = client.post("/api/chat", headers=H("sk-exempt"), json={"message": "how many days of annual leave do I get"})
    assert faq.status_code == 200 and faq.json()["mode"] == "faq"
    no = client.post("/api/chat", headers=H("sk-exempt"), json={"message": "do we have a sabbatical program?"})
    assert no.status_code == 200 and no.json()["mode"] == "no_answer"
    ready = client.get("/ready", headers=H()).json()  # details need a key on a keyed deployment
    assert ready["status"] == "degraded" and not ready["llm"][0]["healthy"]


def test_llm_adaptation_of_faq_answers_falls_back_to_the_curated_text(client):
    chain = client.app.state.askdesk.answers.chain
    original = chain.s
    chain.s = original.model_copy(update={"faq_adapt_with_llm": True})
    try:
        r = client.post("/api/chat", headers=H("sk-exempt"), json={"message": "how many days of annual leave do I get"})
    finally:
        chain.s = original
    d = r.json()
    assert r.status_code == 200 and d["mode"] == "faq" and d["backend"] is None and "12 days" in d["answer"]


def test_llm_down_rag_is_answered_with_a_quote_of_the_passages(client):
    # extractive answers (on by default): the engine is down, the passages are still there
    r = client.post("/v1/chat/completions", headers=H("sk-exempt"),
                    json={"model": "askdesk", "messages": [{"role": "user", "content": DOC_QUESTION}]})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["askdesk"]["mode"] == "extract" and body["askdesk"]["usage_source"] == "no_llm"
    answer = body["choices"][0]["message"]["content"]
    assert answer.startswith("From the Travel Policy") and "RMB 200" in answer and "[1]" in answer
    assert body["sources"][0]["id"] == "docs/travel-policy.md#Per-diem rates"


@pytest.fixture
def no_extracts(client):
    """The engine-down paths as they are without extractive answers."""
    chain = client.app.state.askdesk.answers.chain
    original = chain.s
    chain.s = original.model_copy(update={"extractive_answers": False})
    try:
        yield
    finally:
        chain.s = original


def test_llm_down_rag_is_a_503_with_the_handoff_text(client, no_extracts):
    r = client.post("/v1/chat/completions", headers=H("sk-exempt"),
                    json={"model": "askdesk", "messages": [{"role": "user", "content": DOC_QUESTION}]})  # fmt: skip
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "llm_unavailable" and "contact" in r.json()["error"]["message"]


def test_llm_down_stream_sends_an_error_event_then_ends_cleanly(client, no_extracts):
    with client.stream("POST", "/v1/chat/completions", headers=H("sk-exempt"),
                       json={"model": "askdesk", "stream": True, "messages": [{"role": "user", "content": DOC_QUESTION}]}) as r:  # fmt: skip
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    err = json.loads(lines[-2][6:])
    assert err["error"]["code"] == "llm_unavailable" and err["handoff"]["contact"]
    with client.stream("POST", "/api/chat", headers=H("sk-exempt"), json={"message": DOC_QUESTION, "stream": True}) as r:
        events = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert events[0] == "sources" and events[-1] == "error"
    # the failed exchange is logged, not lost
    log = client.get("/api/admin/log", headers={"X-Admin-Key": "adm"}).json()["exchanges"]
    assert any(x["query"] == DOC_QUESTION and x["error"].startswith("llm_unavailable") for x in log)


def test_rate_limit_per_client_and_exempt_key(client):
    codes = [client.post("/api/search", headers=H(), json={"query": "vpn"}).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    r = client.post("/api/search", headers=H(), json={"query": "vpn"})
    assert r.json()["error"]["code"] == "rate_limit_exceeded" and r.headers["retry-after"]
    assert all(client.post("/api/search", headers=H("sk-exempt"), json={"query": "vpn"}).status_code == 200 for _ in range(8))


def test_widget_requests_need_key_and_allowed_origin(client):
    ok = {"X-AskDesk-Widget-Key": "pk_demo_local", "Origin": "http://127.0.0.1:8000", "X-AskDesk-Visitor": "v1"}
    ask = {"message": "how many days of annual leave do I get"}
    assert client.post("/api/chat", headers=ok, json=ask).status_code == 200
    bad_origin = client.post("/api/chat", headers={**ok, "Origin": "https://evil.example"}, json=ask)
    assert bad_origin.status_code == 403 and bad_origin.json()["error"]["code"] == "origin_not_allowed"
    bad_key = client.post("/api/chat", headers={**ok, "X-AskDesk-Widget-Key": "pk_nope"}, json=ask)
    assert bad_key.status_code == 401
    assert client.post("/api/search", headers=ok, json={"query": "vpn"}).status_code == 403  # widget routes only
    pre = client.options("/api/chat", headers={"Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "x-askdesk-widget-key,content-type"})  # fmt: skip
    assert pre.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    assert client.post("/api/search", json={"query": "vpn"}).status_code == 401  # keys configured: enforced
