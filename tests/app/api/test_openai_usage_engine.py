"""/v1/chat/completions `usage` against the real engine: the real `askdesk serve` process answering
through a real llama.cpp engine process (SmolLM2-135M, tests/service_fixtures.py). The prompt_tokens
AskDesk reports are the engine's own count for the exact messages AskDesk sent it (the admin's
/api/debug/prompt shows them for a first question): the engine asked directly with those messages
counts the same, and so does its tokenizer (/apply-template, then /tokenize)."""

from __future__ import annotations

import httpx
import pytest

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"  # rag: the engine writes the answer
FAQ_EN = "how many days of annual leave do I get"  # a curated answer: no engine call
TRIES = 3


def complete(svc, message: str) -> dict:
    body = {"model": "askdesk", "messages": [{"role": "user", "content": message}]}
    r = httpx.post(f"{svc.url}/v1/chat/completions", headers=svc.headers(), json=body, timeout=180)
    assert r.status_code == 200, r.text
    return r.json()


def engine_answer(svc) -> dict:
    """A completion the engine wrote and counted. At temperature 0.2 a 135M model now and then loops or
    echoes and the answer guard stops the stream before the engine's count arrives (usage_source
    "not_reported", zeros): that answer is asked again, up to TRIES times."""
    for _ in range(TRIES):
        d = complete(svc, DOC_QUESTION)
        assert d["askdesk"]["backend"] == "llamacpp", d["askdesk"]
        if d["askdesk"]["usage_source"] == "engine":
            return d
        assert d["askdesk"]["usage_source"] == "not_reported" and d["usage"]["total_tokens"] == 0
    pytest.fail(f"the guard stopped the engine's answer {TRIES} times")


def sent_messages(svc) -> list[dict]:
    """The messages AskDesk sends the engine for DOC_QUESTION asked first (the admin's debug route)."""
    shown = httpx.post(f"{svc.url}/api/debug/prompt", headers={"X-Admin-Key": svc.admin_key},
                       json={"message": DOC_QUESTION}, timeout=60).json()  # fmt: skip
    assert shown["mode"] == "rag" and [m["role"] for m in shown["messages"]] == ["system", "user"]
    return shown["messages"]


def engines_own_count(svc, messages: list[dict]) -> int:
    """The engine's prompt_tokens for these messages, asked directly (with the chat template options
    the router sends)."""
    direct = httpx.post(f"{svc.engine_url}/chat/completions", timeout=120, json={
        "model": svc.engine_model, "messages": messages, "max_tokens": 1,
        "chat_template_kwargs": {"enable_thinking": False},
    }).json()  # fmt: skip
    return direct["usage"]["prompt_tokens"]


def test_prompt_tokens_are_the_engines_count_for_the_messages_askdesk_sent(askdesk_service):
    svc = askdesk_service
    usage = engine_answer(svc)["usage"]
    assert usage["prompt_tokens"] > 100 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    messages = sent_messages(svc)
    assert usage["prompt_tokens"] == engines_own_count(svc, messages)
    # and the engine's tokenizer on its own rendering of them
    root = svc.engine_url.removesuffix("/v1")
    rendered = httpx.post(f"{root}/apply-template", json={"messages": messages}, timeout=60).json()
    tokens = httpx.post(f"{root}/tokenize", json={"content": rendered["prompt"]}, timeout=60).json()["tokens"]
    assert usage["prompt_tokens"] == len(tokens)


def test_a_streamed_answer_reports_the_same_usage_as_its_last_chunk(askdesk_service):
    from openai import OpenAI

    client = OpenAI(base_url=f"{askdesk_service.url}/v1", api_key=askdesk_service.api_key, timeout=180)
    for _ in range(TRIES):
        chunks = list(client.chat.completions.create(
            model="askdesk", messages=[{"role": "user", "content": DOC_QUESTION}], stream=True,
            stream_options={"include_usage": True},
        ))  # fmt: skip
        source = chunks[-2].model_extra["askdesk"]["usage_source"]
        if source == "engine":
            break
        assert source == "not_reported"
    else:
        pytest.fail(f"the guard stopped the engine's answer {TRIES} times")
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.prompt_tokens > 100 and usage.completion_tokens > 0
    assert usage.prompt_tokens == engines_own_count(askdesk_service, sent_messages(askdesk_service))


def test_a_curated_answer_reports_no_engine_tokens(askdesk_service):
    d = complete(askdesk_service, FAQ_EN)
    assert d["askdesk"]["mode"] == "faq" and d["askdesk"]["backend"] is None
    assert d["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert d["askdesk"]["usage_source"] == "no_llm"


def test_a_system_message_is_refused_by_the_real_service(askdesk_service):
    from openai import BadRequestError, OpenAI

    client = OpenAI(base_url=f"{askdesk_service.url}/v1", api_key=askdesk_service.api_key)
    with pytest.raises(BadRequestError) as e:
        client.chat.completions.create(model="askdesk", messages=[
            {"role": "system", "content": "Answer like a pirate."}, {"role": "user", "content": FAQ_EN},
        ])  # fmt: skip
    assert e.value.body == {
        "message": "Unsupported value: 'messages[0].role' does not support 'system' with this model. "
                   "AskDesk answers under its own rules: send only user and assistant messages.",
        "type": "invalid_request_error", "param": "messages[0].role", "code": "unsupported_value",
    }  # fmt: skip
