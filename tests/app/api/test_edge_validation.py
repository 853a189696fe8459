"""Bad input is a 400 with the OpenAI error body, never a 500 or a stream cut short: blank
questions, non-string content parts, lone UTF-16 surrogates, and flags that are not JSON booleans.
In-process over the real app (tests/request_path_fixtures.py, the scripted model)."""

from __future__ import annotations

import json

import pytest

pytest.register_assert_rewrite("tests.request_path_fixtures")

from tests.request_path_fixtures import ADMIN, AUTH, FAQ_EN

pytest_plugins = ["tests.request_path_fixtures"]


def post(client, path: str, body: dict, headers=AUTH):
    """`body` as JSON text with ASCII escapes: a lone surrogate goes out as the six characters
    `\\ud800`, as a JavaScript client's JSON.stringify sends it."""
    headers = {**headers, "content-type": "application/json"}
    return client.post(path, headers=headers, content=json.dumps(body))


def assert_400(r, param: str | None, *words: str) -> None:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers  # not an event stream
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param, err
    for w in words:
        assert w in err["message"], err


def oai(content, **kw) -> dict:
    return {"model": "askdesk", "messages": [{"role": "user", "content": content}], **kw}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("message", ["   ", "\u3000", "\n\t\u00a0"], ids=["spaces", "ideographic", "mixed"])
def test_whitespace_only_chat_message_is_a_400_on_message(client, scripted, message, stream):
    assert_400(post(client, "/api/chat", {"message": message, "stream": stream}), "message", "whitespace")
    assert scripted.calls == []


def test_whitespace_only_search_query_is_a_400_on_query(client):
    assert_400(post(client, "/api/search", {"query": " \u3000 "}), "query", "whitespace")


@pytest.mark.parametrize("part", [
    {"type": "text", "text": 5}, {"type": "text", "text": None}, {"type": "text"},
    {"type": "text", "text": ["a"]}, {"text": "no type"}, "just a string",
])  # fmt: skip
@pytest.mark.parametrize("stream", [False, True])
def test_openai_content_part_without_a_string_text_is_a_400(client, scripted, part, stream):
    r = post(client, "/v1/chat/completions", oai([part], stream=stream))
    assert_400(r, "messages.0.content", "part 0")
    assert scripted.calls == []


def test_openai_content_parts_with_text_still_work(client, scripted):
    parts = [{"type": "text", "text": FAQ_EN}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    r = post(client, "/v1/chat/completions", oai(parts))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("text", ["\ud800", "leave \udfff", "\udc00\ud800"], ids=["high", "low", "reversed"])
def test_lone_surrogate_is_a_400_before_anything_runs(client, scripted, text, stream):
    """Each of these was a 500 (or, streamed, a 200 stream that died without [DONE]): the string
    reached SQLite / the JSON encoder and failed there."""
    stats = client.get("/api/admin/stats", headers=ADMIN).json()
    v1 = "/v1/chat/completions"
    assert_400(post(client, v1, oai(text, stream=stream)), "messages.0.content", "surrogate")
    parts = [{"type": "text", "text": text}]
    assert_400(post(client, v1, oai(parts, stream=stream)), "messages.0.content.0.text", "surrogate")
    assert_400(post(client, "/api/chat", {"message": text, "stream": stream}), "message", "surrogate")
    assert_400(post(client, "/api/chat", {"message": FAQ_EN, "session_id": text}), "session_id")
    assert scripted.calls == []
    # nothing was logged (the exchange log is where a lone surrogate used to fail, in SQLite)
    assert client.get("/api/admin/stats", headers=ADMIN).json()["exchanges"] == stats["exchanges"]


@pytest.mark.parametrize("text", ["\ud800", "what is \udbff"])
def test_lone_surrogate_in_debug_prompt_is_a_400(client, text):
    assert_400(post(client, "/api/debug/prompt", {"message": text}, headers=ADMIN), "message", "surrogate")


def test_surrogate_pairs_are_text_not_errors(client):
    """An escaped pair is one character (an emoji): it is valid and answered."""
    r = post(client, "/api/search", {"query": "vpn \U0001f600"})  # sent as the escapes \ud83d\ude00
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("flag", ["stream", "enable_thinking", "return_reasoning"])
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "false"])
def test_chat_flags_must_be_json_booleans(client, scripted, flag, value):
    assert_400(post(client, "/api/chat", {"message": FAQ_EN, flag: value}), flag, "boolean")
    assert_400(post(client, "/v1/chat/completions", oai(FAQ_EN, **{flag: value})), flag, "boolean")
    assert scripted.calls == []


@pytest.mark.parametrize("field,flag", [("chat_template_kwargs", "enable_thinking"),
                                        ("stream_options", "include_usage")])  # fmt: skip
def test_openai_option_flags_must_be_json_booleans(client, field, flag):
    r = post(client, "/v1/chat/completions", oai(FAQ_EN, stream=True, **{field: {flag: "false"}}))
    assert_400(r, field, flag)


def test_real_booleans_are_still_accepted(client):
    flags = {"stream": False, "enable_thinking": False, "return_reasoning": True}
    r = post(client, "/api/chat", {"message": FAQ_EN, **flags})
    assert r.status_code == 200, r.text
    body = oai(FAQ_EN, stream=False, enable_thinking=None, chat_template_kwargs={"enable_thinking": False})
    r = post(client, "/v1/chat/completions", body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path,body,param", [
    ("/api/search", {"query": "vpn", "k": True}, "k"),
    ("/api/search", {"query": "vpn", "k": "3"}, "k"),
    ("/v1/chat/completions", {"model": "askdesk", "messages": [{"role": "user", "content": "vpn"}], "max_tokens": True}, "max_tokens"),
    ("/v1/chat/completions", {"model": "askdesk", "messages": [{"role": "user", "content": "vpn"}], "temperature": "0.5"}, "temperature"),
])  # fmt: skip
def test_number_fields_take_json_numbers_only(client, scripted, path, body, param):
    r = post(client, path, body)
    assert r.status_code == 400, r.text  # lax parsing made `true` a 1 and "3" a 3
    assert r.json()["error"]["param"].startswith(param)
    assert post(client, path, {**body, param: 1}).status_code == 200  # an integer is still a number
    assert post(client, path, {**body, param: 1.0}).status_code == 200  # and so is 1.0, in JSON
