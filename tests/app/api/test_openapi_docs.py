"""The served OpenAPI spec documents what the API really does (app/api/openapi_docs.py): security,
every error status with the OpenAI error body, event streams, links. In-process, no lifespan; the
running service is checked against the same spec by tests/app/api/test_schemathesis.py."""

from __future__ import annotations

import re
import sys

import pytest
from fastapi.testclient import TestClient

from app.api import openapi_docs
from app.api.main import create_app
from app.settings import Settings

ERROR = {"$ref": "#/components/schemas/OAIError"}
ADMIN_OPS = {
    ("get", "/api/admin/stats"),
    ("get", "/api/admin/log"),
    ("get", "/api/admin/sources"),
    ("post", "/api/admin/sources"),
    ("delete", "/api/admin/sources/{source}"),
    ("post", "/api/debug/prompt"),
    ("get", "/api/admin/users/{user_id}/export"),
    ("delete", "/api/admin/users/{user_id}"),
    ("post", "/api/admin/purge"),
    ("get", "/api/admin/audit"),
}
CALLER_OPS = {("post", "/api/chat"), ("post", "/api/feedback"), ("post", "/api/handoff"),
              ("post", "/api/search"), ("get", "/v1/models"), ("post", "/v1/chat/completions")}  # fmt: skip


def no_state(settings):
    raise AssertionError("build_state must not run")


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("d"), api_keys=["sk-a"],
                    model_names=["askdesk", "other-name"])  # fmt: skip


@pytest.fixture(scope="module")
def spec(settings):
    return TestClient(create_app(settings, no_state)).get("/openapi.json").json()  # no lifespan


def operations(spec):
    return {(m, p): op for p, item in spec["paths"].items() for m, op in item.items()}


def error_response(op, status):
    r = op["responses"][str(status)]
    assert r["content"]["application/json"]["schema"] == ERROR, (status, r)
    return r


def test_who_may_call_each_operation(spec):
    ops = operations(spec)
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "AdminKey", "WidgetKey"}
    assert {k for k, op in ops.items() if op.get("security") == [{"AdminKey": []}]} == ADMIN_OPS
    api_key = {k for k, op in ops.items() if {"ApiKey": []} in op.get("security", [])}
    assert api_key == CALLER_OPS | {("get", "/ready"), ("get", "/metrics")}
    for key in CALLER_OPS | ADMIN_OPS:
        for status in (401, 403, 429):
            error_response(ops[key], status)
    widget = {k for k, op in ops.items() if {"WidgetKey": []} in op.get("security", [])}
    assert widget == {("post", "/api/chat"), ("post", "/api/feedback"), ("post", "/api/handoff")}
    assert ops[("get", "/ready")]["security"][0] == {}  # no key needed; a wrong one is a 401
    assert "security" not in ops[("get", "/health")] and set(ops[("get", "/health")]["responses"]) == {"200"}
    retry_after = ops[("post", "/api/chat")]["responses"]["429"]["headers"]["Retry-After"]
    assert retry_after["required"] and re.fullmatch(retry_after["schema"]["pattern"], "17")


def test_every_body_can_be_too_large_or_invalid_and_each_operation_its_own_errors(spec):
    ops = operations(spec)
    with_body = [k for k, op in ops.items() if "requestBody" in op]
    assert len(with_body) == 7
    for key in with_body:
        for status in (400, 413):
            error_response(ops[key], status)
    for key, statuses in openapi_docs.OPERATION_ERRORS.items():
        assert key in ops, key  # a table entry whose route moved would silently document nothing
        for status in statuses:
            error_response(ops[key], status)
    assert set(ops[("post", "/api/admin/sources")]["responses"]) == {"201", "400", "401", "403", "413", "415",
                                                                    "422", "429"}  # fmt: skip
    for key in openapi_docs.OPERATOR_ROUTES:
        assert key in ops, key
    assert all(list(op["responses"]) == sorted(op["responses"]) for op in ops.values())


def test_streams_and_bodies_fastapi_cannot_see(spec, settings):
    ops = operations(spec)
    chat = ops[("post", "/api/chat")]["responses"]["200"]["content"]
    assert set(chat) == {"application/json", "text/event-stream"}
    events = chat["text/event-stream"]["schema"]["properties"]["event"]["enum"]
    assert events == ["sources", "reasoning", "token", "done", "error"]
    completion = ops[("post", "/v1/chat/completions")]["responses"]["200"]["content"]
    assert completion["application/json"]["schema"] == {"$ref": "#/components/schemas/ChatCompletion"}
    assert "text/event-stream" in completion
    assert "application/x-ndjson" in ops[("get", "/api/admin/log")]["responses"]["200"]["content"]
    assert set(ops[("get", "/metrics")]["responses"]["200"]["content"]) == {"text/plain"}
    schemas = spec["components"]["schemas"]
    assert schemas["OAIChatRequest"]["properties"]["model"]["enum"] == settings.model_names  # others: 404
    debug = ops[("post", "/api/debug/prompt")]["requestBody"]["content"]["application/json"]["schema"]
    assert debug["required"] == ["message"]


def test_links_and_examples_point_at_real_operations(spec):
    ops = operations(spec)
    ids = {op["operationId"] for op in ops.values()}
    for (method, path, status), links in openapi_docs.LINKS.items():
        documented = ops[(method, path)]["responses"][status]["links"]
        assert set(documented) == set(links)
        assert all(link["operationId"] in ids for link in documented.values())
    for key in [("post", "/api/chat"), ("post", "/api/search"), ("post", "/v1/chat/completions")]:
        assert ops[key]["requestBody"]["content"]["application/json"]["example"]
    upload = ops[("post", "/api/admin/sources")]["requestBody"]["content"]["multipart/form-data"]
    assert (
        'filename="leave-faq.md"'
        in upload["encoding"]["file"]["headers"]["Content-Disposition"]["schema"]["example"]
    )


@pytest.mark.parametrize("text", [" ", "\t\n", "\u3000", "\x1c\x1d\x1e\x1f", "\x85\xa0", "\u2028 \u202f", "a",
                                  " a ", "婚假", "\x00", "\u200b"])  # fmt: skip
def test_not_blank_is_what_str_strip_says_in_every_regex_engine(text):
    """The schema's "not only whitespace" must agree with the API's str.strip(): in Python's re and in
    jsonschema-rs (what schemathesis validates with), which disagree on \\s."""
    import jsonschema_rs

    expected = bool(text.strip())
    assert bool(re.search(openapi_docs.NOT_BLANK, text)) is expected
    assert (
        jsonschema_rs.validator_for({"type": "string", "pattern": openapi_docs.NOT_BLANK}).is_valid(text)
        is expected
    )


def test_not_blank_covers_every_whitespace_character():
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert not re.search(openapi_docs.NOT_BLANK, spaces) and re.search(openapi_docs.NOT_BLANK, spaces + ".")


def test_the_spec_is_built_once_and_each_app_has_its_own(settings):
    a, b = create_app(settings, no_state), create_app(settings, no_state)
    spec = a.openapi()
    assert a.openapi() is spec and len(spec["paths"]["/api/chat"]["post"]["responses"]) == 7
    spec["components"]["schemas"]["ChatCompletion"]["title"] = "changed"
    spec["components"]["securitySchemes"]["ApiKey"]["scheme"] = "changed"
    other = b.openapi()
    assert other["components"]["schemas"]["ChatCompletion"]["title"] == "ChatCompletion"
    assert other["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_schemathesis_reads_every_operation():
    import schemathesis

    app = create_app(Settings(_env_file=None, api_keys=["sk-a"]), no_state)
    loaded = schemathesis.openapi.from_dict(app.openapi())
    results = list(loaded.get_all_operations())
    assert len(results) == 19 and all(r.ok() for r in results)
