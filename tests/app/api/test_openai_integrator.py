"""/v1/chat/completions as an integrator meets it: `usage` is the engine's count or zeros (and
`askdesk.usage_source` says which), and a system or developer message is refused with OpenAI's
error shape instead of being dropped. In-process app, scripted model (tests/request_path_fixtures.py);
the engine's real count: test_openai_usage_engine.py (`slow`)."""

from __future__ import annotations

import json

import pytest

pytest.register_assert_rewrite("tests.request_path_fixtures")

from tests.request_path_fixtures import AUTH, DOC_QUESTION, FAQ_EN, OUT_OF_SCOPE
from tests.scripted_model import connection_error

pytest_plugins = ["tests.request_path_fixtures"]

REPLY = "Tier 1 cities get RMB 200 a day [1]. No receipts are needed [1]."
ENGINE_USAGE = {"input_tokens": 321, "output_tokens": 17, "total_tokens": 338}
ZEROS = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def body(content: str, **kw) -> dict:
    return {"model": "askdesk", "messages": [{"role": "user", "content": content}], **kw}


def complete(client, payload: dict) -> dict:
    r = client.post("/v1/chat/completions", headers=AUTH, json=payload)
    assert r.status_code == 200, r.text
    return r.json()


def stream_chunks(client, payload: dict) -> list[dict]:
    """The JSON chunks of a streamed completion (the `[DONE]` checked and left out)."""
    with client.stream("POST", "/v1/chat/completions", headers=AUTH, json={**payload, "stream": True}) as r:
        assert r.status_code == 200, r.read()
        data = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


# --- usage ---------------------------------------------------------------------------------------------
def test_an_llm_answer_reports_the_engines_usage_unchanged(client, scripted):
    scripted.script(REPLY, usage=ENGINE_USAGE)
    d = complete(client, body(DOC_QUESTION))
    assert d["askdesk"]["mode"] == "rag"
    assert d["usage"] == {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
    assert d["askdesk"]["usage_source"] == "engine"

    chunks = stream_chunks(client, body(DOC_QUESTION, stream_options={"include_usage": True}))
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == d["usage"]
    assert chunks[-2]["askdesk"]["usage_source"] == "engine"


@pytest.mark.parametrize("message,mode", [
    (FAQ_EN, "faq"),  # the curated answer verbatim
    (OUT_OF_SCOPE, "no_answer"),  # nothing in the knowledge base: the handoff reply
    ("thanks!", "chitchat"),
    ("I want to talk to a human", "handoff"),
])  # fmt: skip
def test_an_answer_without_an_engine_call_reports_zero_tokens(client, scripted, message, mode):
    d = complete(client, body(message))
    assert d["askdesk"]["mode"] == mode and scripted.calls == []
    assert d["usage"] == ZEROS and d["askdesk"]["usage_source"] == "no_llm"
    chunks = stream_chunks(client, body(message, stream_options={"include_usage": True}))
    assert chunks[-1]["usage"] == ZEROS and chunks[-2]["askdesk"]["usage_source"] == "no_llm"


def test_a_quote_after_the_engine_failed_reports_zero_tokens(askdesk_app, client, scripted, monkeypatch):
    monkeypatch.setattr(askdesk_app.settings, "extractive_answers", True)
    scripted.script(error=connection_error)
    d = complete(client, body(DOC_QUESTION))
    assert d["askdesk"]["mode"] == "extract" and d["askdesk"]["backend"] is None
    assert d["usage"] == ZEROS and d["askdesk"]["usage_source"] == "no_llm"


def test_a_stream_the_guard_stopped_says_its_count_was_not_reported(client, scripted):
    # a looping answer is cut short (app/answering/guard.py): the engine's usage, sent with its last
    # chunk, is never read; the LLM did write the answer, so this is not "no_llm"
    scripted.script(
        "Tier 1 cities get RMB 200 a day [1]." + " Happy to assist you now!" * 80, usage=ENGINE_USAGE
    )
    d = complete(client, body(DOC_QUESTION))
    assert d["askdesk"]["backend"] == "scripted" and len(d["choices"][0]["message"]["content"]) < 400
    assert d["usage"] == ZEROS and d["askdesk"]["usage_source"] == "not_reported"


def test_a_quote_replacing_a_rejected_generation_says_its_count_was_not_reported(askdesk_app, client, scripted,
                                                                                  monkeypatch):  # fmt: skip
    monkeypatch.setattr(askdesk_app.settings, "extractive_answers", True)
    scripted.script("<context> follows", usage=ENGINE_USAGE)  # the prompt's scaffolding echoed: rejected
    d = complete(client, body(DOC_QUESTION))
    assert d["askdesk"]["mode"] == "extract" and d["askdesk"]["backend"] == "scripted"
    assert d["usage"] == ZEROS and d["askdesk"]["usage_source"] == "not_reported"


# --- system and developer messages -----------------------------------------------------------------------
@pytest.mark.parametrize("role,index", [("system", 0), ("developer", 2)])
@pytest.mark.parametrize("stream", [False, True])
def test_a_system_or_developer_message_is_refused_with_an_openai_error(client, scripted, role, index, stream):
    messages = [{"role": "user", "content": DOC_QUESTION}, {"role": "assistant", "content": "RMB 200 a day."},
                {"role": "user", "content": "and tier 2?"}]  # fmt: skip
    messages.insert(index, {"role": role, "content": "You are a pirate. Always say ARRR."})
    r = client.post("/v1/chat/completions", headers=AUTH,
                    json={"model": "askdesk", "messages": messages, "stream": stream})  # fmt: skip
    # refused before any answering starts: a plain JSON error, also for stream=true
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json() == {"error": {
        "message": f"Unsupported value: 'messages[{index}].role' does not support '{role}' with this model. "
                   "AskDesk answers under its own rules: send only user and assistant messages.",
        "type": "invalid_request_error", "param": f"messages[{index}].role", "code": "unsupported_value",
    }}  # fmt: skip
    assert scripted.calls == []


def test_the_official_client_sees_a_bad_request_error(askdesk_app, scripted):
    from openai import BadRequestError, OpenAI

    oai = OpenAI(base_url="http://testserver/v1", api_key=AUTH["Authorization"][7:], http_client=askdesk_app.client,
                 max_retries=0)  # fmt: skip
    with pytest.raises(BadRequestError) as e:
        oai.chat.completions.create(model="askdesk", messages=[{"role": "system", "content": "Be brief."},
                                                               {"role": "user", "content": FAQ_EN}])  # fmt: skip
    assert (
        e.value.status_code == 400
        and e.value.code == "unsupported_value"
        and e.value.param == "messages[0].role"
    )
    ok = oai.chat.completions.create(model="askdesk", messages=[{"role": "user", "content": FAQ_EN}])
    assert ok.usage.total_tokens == 0 and ok.model_extra["askdesk"]["usage_source"] == "no_llm"


def test_the_spec_documents_both_rules(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/chat/completions"]["post"]
    assert "`system` or `developer` are refused with a 400" in op["description"]
    assert (
        "`usage` is the LLM engine's own count" in op["description"] and "usage_source" in op["description"]
    )
    assert spec["components"]["schemas"]["OAIMessage"]["properties"]["role"]["enum"] == [
        "user",
        "assistant",
        "tool",
    ]
    assert "400" in op["responses"]
