"""The HTTP surface in-process (FastAPI TestClient, the real lifespan and wiring: real Chroma with
the sample KB, real embedders) with the scripted chat model in place of the engine
(tests/request_path_fixtures.py): /api/chat (JSON and SSE), /api/handoff, /api/feedback,
/v1/chat/completions (plain and streamed), /v1/models, /api/search, admin, health, auth.
The same surface against a real engine process: test_service_e2e.py (`slow`)."""

from __future__ import annotations

import json

import pytest

# ruff: noqa: E402
# the fixture modules' helpers are imported below: register them before that import (tests/conftest.py)
pytest.register_assert_rewrite("tests.request_path_fixtures")

from tests.request_path_fixtures import (
    ADMIN,
    AUTH,
    BACKEND,
    CONTACT,
    DOC_PASSAGE,
    DOC_QUESTION,
    FAQ_EN,
    OUT_OF_SCOPE,
    faq_answer,
)  # fmt: skip
from tests.scripted_model import connection_error, server_error
from tests.service_fixtures import parse_sse

pytest_plugins = ["tests.request_path_fixtures"]

REPLY = "Tier 1 cities get RMB 200 a day [1]. No receipts are needed [1]."
PER_DIEM = "docs/travel-policy.md#Per-diem rates"


@pytest.fixture
def model(scripted):
    return scripted.script(REPLY)


def chat(client, message: str, **kw) -> dict:
    r = client.post("/api/chat", headers=AUTH, json={"message": message, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def chat_events(client, message: str, **kw) -> list[tuple[str, dict]]:
    with client.stream("POST", "/api/chat", headers=AUTH, json={"message": message, "stream": True, **kw}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        return parse_sse(r.iter_lines())


def oai_body(content: str, **kw) -> dict:
    return {"model": "askdesk", "messages": [{"role": "user", "content": content}], **kw}


def oai_stream(client, body: dict) -> list[str]:
    """The `data: ...` payloads of a streamed /v1/chat/completions, in order."""
    with client.stream("POST", "/v1/chat/completions", headers=AUTH, json={**body, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        return [line[6:] for line in r.iter_lines() if line.startswith("data: ")]


# --- health ----------------------------------------------------------------------------------------
def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "healthy"}
    # keys are configured: without one, /ready says its verdict and nothing internal
    assert client.get("/ready").json() == {"status": "degraded"}
    r = client.get("/ready", headers=AUTH)
    ready = r.json()
    # nothing listens at the backend's URL: the health check calls it down, so the service is
    # degraded (faq / no_answer still work, and the router still tries it: its circuit is closed)
    assert r.status_code == 200 and ready["status"] == "degraded"
    assert ready["chroma"]["ok"] and ready["chroma"]["records"] > 500 and ready["database"] == {"ok": True}
    (llm,) = ready["llm"]
    assert llm["name"] == BACKEND and llm["healthy"] is False and llm["circuit"] == "closed"


# --- /api/chat ---------------------------------------------------------------------------------------
def test_faq_question_is_answered_verbatim_from_the_curated_entry(client, model):
    d = chat(client, FAQ_EN)
    assert d["mode"] == "faq" and d["answer"] == faq_answer("hr-leave-001") and d["lang"] == "en"
    assert d["sources"][0]["id"] == "hr-leave-001" and d["sources"][0]["kind"] == "faq" and d["sources"][0]["snippet"]
    assert d["backend"] is None and d["handoff"] is None and d["rewritten_query"] is None
    assert model.calls == []


def test_document_question_is_answered_by_the_llm_with_citations(client, model):
    d = chat(client, DOC_QUESTION)
    assert d["mode"] == "rag" and d["answer"] == REPLY and d["backend"] == BACKEND and d["handoff"] is None
    assert d["sources"][0]["id"] == PER_DIEM and d["sources"][0]["n"] == 1
    assert {s["source"] for s in d["sources"]} == {"docs/travel-policy.md"}
    (call,) = model.calls
    assert DOC_PASSAGE in call.user and f"<question>\n{DOC_QUESTION}\n</question>" in call.user


def test_out_of_scope_question_gets_no_answer_and_a_handoff(client, model):
    d = chat(client, OUT_OF_SCOPE)
    assert d["mode"] == "no_answer" and CONTACT in d["answer"] and "service desk" in d["answer"]
    assert d["handoff"]["reason"] == "no_answer" and CONTACT in d["handoff"]["contact"]
    assert model.calls == []


def test_explicit_handoff_request_returns_a_ticket_reference(client, model):
    d = chat(client, DOC_QUESTION)
    r = client.post("/api/handoff", headers=AUTH, json={"session_id": d["session_id"], "message_id": d["message_id"]})
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["reason"] == "user_request" and h["reference"].startswith("AD-") and h["reference"] in h["ticket_url"]
    assert CONTACT in h["contact"]
    ticket = client.app.state.askdesk.conversations.get_ticket(h["reference"])
    assert ticket.transcript[0]["content"] == DOC_QUESTION and ticket.transcript[1]["content"] == REPLY
    assert ticket.sources[0]["id"] == PER_DIEM


def test_handoff_needs_a_session(client):
    r = client.post("/api/handoff", headers=AUTH, json={})
    assert r.status_code == 400 and r.json()["error"]["param"] == "session_id"


def test_feedback_on_an_answer(client, model):
    d = chat(client, FAQ_EN)
    ok = client.post("/api/feedback", headers=AUTH, json={"message_id": d["message_id"], "rating": "down", "comment": "x"})
    assert ok.status_code == 201 and ok.json() == {"status": "recorded"}
    missing = client.post("/api/feedback", headers=AUTH, json={"message_id": "nope", "rating": "up"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_chat_stream_is_typed_events_that_add_up_to_the_answer(client, model):
    model.script(REPLY, reasoning="Passage 1 has the table.")
    events = chat_events(client, DOC_QUESTION, return_reasoning=True)
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and kinds.count("token") == 2 and "reasoning" in kinds
    sources, done = events[0][1], events[-1][1]
    assert sources["mode"] == "rag" and sources["sources"][0]["id"] == PER_DIEM and sources["session_id"]
    assert done["answer"] == REPLY == "".join(d["text"] for k, d in events if k == "token")
    assert done["reasoning"] == "Passage 1 has the table." and done["backend"] == BACKEND
    assert (done["session_id"], done["message_id"]) == (sources["session_id"], sources["message_id"])


def test_llm_down_before_the_first_token_is_a_503_with_the_handoff_text(client, model):
    model.script(error=connection_error)
    r = client.post("/api/chat", headers=AUTH, json={"message": DOC_QUESTION})
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "llm_unavailable" and err["type"] == "llm_unavailable" and CONTACT in err["message"]
    model.script(error=server_error)
    r = client.post("/v1/chat/completions", headers=AUTH, json=oai_body(DOC_QUESTION))
    assert r.status_code == 503 and r.json()["error"]["code"] == "llm_unavailable"


def test_llm_down_stream_is_an_error_event_then_the_stream_ends(client, model):
    model.script(error=connection_error)
    events = chat_events(client, DOC_QUESTION)
    assert [k for k, _ in events] == ["sources", "error"]
    err = events[-1][1]
    assert err["code"] == "llm_unavailable" and err["handoff"]["reason"] == "llm_unavailable"
    assert CONTACT in err["message"] and err["session_id"] == events[0][1]["session_id"]
    # the failed exchange is in the admin log, with its error
    log = client.get("/api/admin/log", headers=ADMIN).json()["exchanges"]
    assert any(x["id"] == err["message_id"] and x["error"].startswith("llm_unavailable") for x in log)


def test_llm_failing_mid_stream_is_an_error_event_after_the_shown_text(client, model):
    model.script(REPLY, error=RuntimeError("engine died"), fail_after_chunks=9)
    events = chat_events(client, DOC_QUESTION)
    assert [k for k, _ in events] == ["sources", "token", "error"]
    assert events[1][1]["text"] == "Tier 1 cities get RMB 200 a day [1]."
    assert events[-1][1]["code"] == "llm_unavailable"


# --- /v1 (OpenAI-compatible) --------------------------------------------------------------------------
def test_openai_models(client):
    r = client.get("/v1/models", headers=AUTH)
    assert r.json()["object"] == "list" and {"askdesk", "Qwen-0.6B", "Qwen/Qwen3-0.6B"} <= {m["id"] for m in r.json()["data"]}


def test_openai_completion_shape(client, model):
    r = client.post("/v1/chat/completions", headers=AUTH, json=oai_body(DOC_QUESTION))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["object"] == "chat.completion" and d["model"] == "askdesk" and d["id"].startswith("chatcmpl-")
    (choice,) = d["choices"]
    assert choice == {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
    u = d["usage"]
    assert u["completion_tokens"] > 0 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    assert d["sources"][0]["id"] == PER_DIEM
    assert d["askdesk"]["mode"] == "rag" and d["askdesk"]["backend"] == BACKEND
    assert d["id"] == f"chatcmpl-{d['askdesk']['message_id']}"


def test_openai_faq_completion(client, model):
    d = client.post("/v1/chat/completions", headers=AUTH, json=oai_body(FAQ_EN)).json()
    assert d["choices"][0]["message"]["content"] == faq_answer("hr-leave-001") and d["askdesk"]["mode"] == "faq"
    assert model.calls == []


def test_openai_usage_is_the_engines_count(client, model):
    model.script(REPLY, usage={"input_tokens": 321, "output_tokens": 17, "total_tokens": 338})
    d = client.post("/v1/chat/completions", headers=AUTH, json=oai_body(DOC_QUESTION)).json()
    assert d["usage"] == {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}


def test_openai_stream_shape(client, model):
    payloads = oai_stream(client, oai_body(DOC_QUESTION, stream_options={"include_usage": True}))
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "askdesk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == 2 and "".join(c["choices"][0]["delta"]["content"] for c in content) == REPLY
    final = chunks[-2]
    assert final["choices"][0]["finish_reason"] == "stop" and final["choices"][0]["delta"] == {}
    assert final["sources"][0]["id"] == PER_DIEM and final["askdesk"]["mode"] == "rag"
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])


def test_openai_stream_with_llm_down_sends_an_error_chunk_then_done(client, model):
    model.script(error=connection_error)
    payloads = oai_stream(client, oai_body(DOC_QUESTION))
    assert payloads[-1] == "[DONE]" and len(payloads) == 3
    assert json.loads(payloads[0])["choices"][0]["delta"]["role"] == "assistant"
    err = json.loads(payloads[1])
    assert err["error"]["code"] == "llm_unavailable" and CONTACT in err["error"]["message"]
    assert err["handoff"]["reason"] == "llm_unavailable"


def test_openai_stream_failing_mid_answer_keeps_the_shown_text_then_errors(client, model):
    model.script(REPLY, error=connection_error, fail_after_chunks=9)
    payloads = oai_stream(client, oai_body(DOC_QUESTION))
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert chunks[1]["choices"][0]["delta"] == {"content": "Tier 1 cities get RMB 200 a day [1]."}
    assert chunks[-1]["error"]["code"] == "llm_unavailable" and len(chunks) == 3


def test_openai_history_is_the_callers(client, model):
    # (a system message is refused: tests/app/api/test_openai_integrator.py)
    standalone = "What is the per-diem rate for tier 2 cities?"
    model.script(lambda msgs: standalone if msgs[0].content.startswith("Rewrite") else REPLY)
    follow_up = "and what about tier 2 cities?"
    body = {"model": "askdesk", "messages": [
        {"role": "user", "content": DOC_QUESTION},
        {"role": "assistant", "content": "RMB 200 a day."},
        {"role": "user", "content": follow_up},
    ]}  # fmt: skip
    d = client.post("/v1/chat/completions", headers=AUTH, json=body).json()
    assert d["choices"][0]["message"]["content"] == REPLY and d["askdesk"]["rewritten_query"] == standalone
    rewrite = model.calls[0]
    assert [m.content for m in rewrite.messages[1:]] == [DOC_QUESTION, "RMB 200 a day.", follow_up]


def test_openai_history_is_not_used_for_a_message_that_stands_alone(client, model):
    body = {"model": "askdesk", "messages": [
        {"role": "user", "content": DOC_QUESTION}, {"role": "assistant", "content": "RMB 200 a day."},
        {"role": "user", "content": FAQ_EN},
    ]}  # fmt: skip
    d = client.post("/v1/chat/completions", headers=AUTH, json=body).json()
    assert d["askdesk"]["mode"] == "faq" and d["askdesk"]["rewritten_query"] is None
    assert model.calls == []  # no rewrite, no answer by the model: a curated answer as in a fresh session


def test_openai_unknown_model_is_a_404(client, model):
    r = client.post("/v1/chat/completions", headers=AUTH, json={**oai_body(FAQ_EN), "model": "gpt-4"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found" and model.calls == []


# --- search, admin, auth --------------------------------------------------------------------------------
def test_search_hits(client):
    r = client.post("/api/search", headers=AUTH, json={"query": "How do I connect to the VPN from home?", "k": 3})
    d = r.json()
    assert r.status_code == 200 and d["lang"] == "en" and d["predicted_answerable"] and len(d["hits"]) == 3
    assert d["hits"][0]["id"] == "it-vpn-001" and d["hits"][0]["kind"] == "faq" and d["hits"][0]["source"] == "faq.csv"
    assert d["confidence"] == pytest.approx(d["hits"][0]["confidence"], abs=1e-3)
    doc = client.post("/api/search", headers=AUTH, json={"query": DOC_QUESTION}).json()
    assert doc["hits"][0]["id"] == PER_DIEM and doc["hits"][0]["section"] == "Per-diem rates"
    zh = client.post("/api/search", headers=AUTH, json={"query": "VPN 连不上怎么办"}).json()
    assert zh["lang"] == "zh-Hans" and zh["hits"][0]["id"].startswith("it-vpn-")
    none = client.post("/api/search", headers=AUTH, json={"query": OUT_OF_SCOPE}).json()
    assert not none["predicted_answerable"]


def test_admin_prompt_shows_what_the_llm_would_get(client, model):
    assert client.post("/api/debug/prompt", json={"message": DOC_QUESTION}).status_code == 401
    d = client.post("/api/debug/prompt", headers=ADMIN, json={"message": DOC_QUESTION}).json()
    assert d["mode"] == "rag" and d["lang"] == "en" and d["backend"]["name"] == BACKEND
    assert [m["role"] for m in d["messages"]] == ["system", "user"] and DOC_PASSAGE in d["messages"][1]["content"]
    assert model.calls == []  # shown, not sent


def test_admin_stats_count_the_answers(client, model):
    before = client.get("/api/admin/stats", headers=ADMIN).json()
    chat(client, OUT_OF_SCOPE)
    after = client.get("/api/admin/stats", headers=ADMIN).json()
    assert after["exchanges"] == before["exchanges"] + 1
    assert after["by_mode"]["no_answer"] == before["by_mode"].get("no_answer", 0) + 1
    assert client.get("/api/admin/stats").status_code == 401


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/chat", {"message": FAQ_EN}),
    ("POST", "/v1/chat/completions", oai_body(FAQ_EN)),
    ("POST", "/api/search", {"query": "vpn"}),
    ("POST", "/api/handoff", {"session_id": "s1"}),
    ("GET", "/v1/models", None),
])  # fmt: skip
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-wrong"}], ids=["no-key", "wrong-key"])
def test_requests_without_a_valid_key_are_refused_openai_style(client, model, method, path, body, headers):
    r = client.request(method, path, headers=headers, json=body)
    assert r.status_code == 401
    assert r.json() == {"error": {"message": "invalid or missing API key (Authorization: Bearer <key>)",
                                  "type": "authentication_error", "param": None, "code": "invalid_api_key"}}  # fmt: skip
    assert model.calls == []
