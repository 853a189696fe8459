"""What the generated OpenAPI spec does not say by itself: who may call each operation (security
schemes) and every response the API really gives besides its success (the OpenAI-style error
body, with its status), the event streams of ``stream: true``, and the bodies FastAPI cannot see
(routes that return ``dict`` or a ``Response``).

``document_api(app, settings)`` wraps ``app.openapi`` once, at the end of ``create_app``; the spec
is built on the first request for /openapi.json and cached, as FastAPI does. The errors themselves come
from app/api/deps.py (401/403/429), app/api/edge.py (413) and app/api/errors.py (the domain
errors' statuses); tests/app/api/test_openapi_docs.py keeps this file in step with them, and
tests/app/api/test_schemathesis.py checks the running service against the result.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api import deps
from app.api.openai_serving import ACCEPTED_ROLES
from app.api.schemas import OAIError
from app.settings import Settings

ERROR_REF = "#/components/schemas/OAIError"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {"type": "http", "scheme": "bearer",
               "description": "An API key (ASKDESK_API_KEYS or ASKDESK_RATE_LIMIT_EXEMPT_KEYS): "
                              "`Authorization: Bearer <key>`."},
    "AdminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key",
                 "description": "The admin key (ASKDESK_ADMIN_KEY)."},
    "WidgetKey": {"type": "apiKey", "in": "header", "name": "X-AskDesk-Widget-Key",
                  "description": "A publishable widget key (ASKDESK_WIDGET_KEYS), from a page whose `Origin` "
                                 "is in ASKDESK_WIDGET_ORIGINS; only on the widget's routes."},
}  # fmt: skip

# Why each status is given; one wording per status, the body is always the OpenAI error (OAIError)
ERROR_TEXT = {
    400: "Invalid request: a body, parameter or value the API does not accept",
    401: "Missing or wrong credentials (API key, admin key, widget key) or an invalid identity token",
    403: "Not allowed: a widget key off the widget's routes or from an origin not allowed, or the admin API "
         "is disabled (no ASKDESK_ADMIN_KEY)",
    404: "Not found",
    413: "Request body larger than the limit (ASKDESK_MAX_REQUEST_BYTES; uploads: ASKDESK_MAX_UPLOAD_MB)",
    415: "Unsupported file type",
    422: "A file of a supported type that could not be read; the knowledge base is unchanged",
    429: "Rate limit exceeded, or too many failed key attempts from this address; see Retry-After",
    503: "Service unavailable: no LLM backend could answer, the knowledge base is empty, or it was built "
         "with other embedding models",
}  # fmt: skip

# Those the authentication dependencies give (app/api/deps.py: caller, admin, operator)
AUTH_ERRORS = (401, 403, 429)

# /ready and /metrics check the caller themselves (deps.operator), not through a dependency
OPERATOR_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    # readiness needs no key; a valid key (API or admin) adds the details, a wrong one is a 401
    ("get", "/ready"): {"security": [{}, {"ApiKey": []}, {"AdminKey": []}], "errors": (401, 429)},
    ("get", "/metrics"): {"security": [{"ApiKey": []}, {"AdminKey": []}], "errors": (401, 429)},
}

# Errors of the operations themselves (app/api/errors.py maps the domain errors to these)
OPERATION_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/chat"): (503,),
    ("post", "/api/feedback"): (404,),  # no answer with that message_id
    ("post", "/api/handoff"): (404,),  # a session of another caller
    ("post", "/api/search"): (503,),
    ("post", "/v1/chat/completions"): (404, 503),  # 404: unknown model
    ("post", "/api/admin/sources"): (415, 422),
    ("delete", "/api/admin/sources/{source}"): (404,),
    ("post", "/api/debug/prompt"): (503,),
}

# /api/chat with `stream: true`: one SSE event per step (app/answering/chain.py, app/api/sse.py)
CHAT_EVENT = {
    "type": "object", "required": ["event", "data"],
    "description": "One server-sent event: `sources` first, then `reasoning` / `token` deltas, then `done` "
                   "(the whole answer, as the JSON response) or `error`; `data` is a JSON object.",
    "properties": {"event": {"enum": ["sources", "reasoning", "token", "done", "error"]},
                   "data": {"type": "string", "contentMediaType": "application/json"}},
}  # fmt: skip
# /v1/chat/completions with `stream: true`: OpenAI's chunks (app/api/openai_serving.py)
COMPLETION_EVENT = {
    "type": "object", "required": ["data"],
    "description": "One server-sent event: a `chat.completion.chunk` JSON object (or an `error` object) per "
                   "event, then the literal `[DONE]`.",
    "properties": {"event": {"const": "message"}, "data": {"type": "string"}},
}  # fmt: skip

CHAT_COMPLETION = {
    "title": "ChatCompletion", "type": "object",
    "required": ["id", "object", "created", "model", "choices", "usage"],
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "chat.completion"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "choices": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["index", "message", "finish_reason"],
            "properties": {
                "index": {"type": "integer"},
                "message": {"type": "object", "required": ["role", "content"], "properties": {
                    "role": {"const": "assistant"}, "content": {"type": "string"},
                    "reasoning_content": {"type": "string"}}},
                "finish_reason": {"type": "string"}}}},
        "usage": {"type": "object", "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
                  "properties": {k: {"type": "integer", "minimum": 0}
                                 for k in ("prompt_tokens", "completion_tokens", "total_tokens")}},
        "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
        "askdesk": {"type": "object",
                    "description": "AskDesk's own fields: mode, confidence, lang, handoff, session_id, "
                                   "message_id, backend, rewritten_query, latency_ms, suggestions, intent, "
                                   "usage_source (engine, no_llm or not_reported: what `usage` counts)"},
    },
}  # fmt: skip

READY = {
    "title": "Readiness", "type": "object", "required": ["status"],
    "description": "`chroma`, `database` and `llm` only for a caller with an API key or the admin key "
                   "(or in the keyless local demo).",
    "properties": {"status": {"enum": ["ready", "degraded"]}, "chroma": {"type": "object"},
                   "database": {"type": "object"}, "llm": {"type": "array", "items": {"type": "object"}}},
}  # fmt: skip


def _whitespace_class() -> str:
    """A JSON Schema character class of exactly the characters ``str.strip()`` removes, written out
    (regex engines disagree on ``\\s``: Python's counts U+001C..U+001F, ECMA-262's and Rust's do not)."""
    spaces = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    ranges: list[list[int]] = []
    for c in spaces:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in ranges)


# a string with something besides whitespace: the `Question` of app/api/schemas.py (a blank
# message or query is a 400, which the generated schema, minLength 1, does not say)
NOT_BLANK = f"[^{_whitespace_class()}]"
NOT_BLANK_FIELDS = (("ChatRequest", "message"), ("SearchRequest", "query"))

# an OpenAI content part (app/api/schemas.py _content): an object with a string `type`; a text part
# has a string `text` (other kinds, such as image_url, are accepted and ignored)
CONTENT = {
    "title": "Content", "description": "A string, or OpenAI content parts (only `text` parts are read)",
    "anyOf": [{"type": "string"}, {"type": "null"}, {"type": "array", "items": {"anyOf": [
        {"type": "object", "required": ["type", "text"], "properties": {"type": {"const": "text"},
                                                                       "text": {"type": "string"}}},
        {"type": "object", "required": ["type"],
         "properties": {"type": {"type": "string", "not": {"const": "text"}}}},
    ]}}],
}  # fmt: skip
# option objects whose named flag, when present and not null, is a JSON boolean (schemas.py _flags)
FLAGS = (("stream_options", "include_usage"), ("chat_template_kwargs", "enable_thinking"))

DEBUG_PROMPT_BODY = {
    "title": "DebugPromptRequest", "type": "object", "required": ["message"],
    "properties": {"message": {
        "description": "The question; a value that is not a string is read as its text (`str()`).",
        "anyOf": [{"type": "string", "pattern": NOT_BLANK}, {"not": {"type": "string"}}]}},
}  # fmt: skip


def document_api(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` document security and every error response (see the module doc);
    ``settings`` names the models /v1/chat/completions serves."""
    previous = app.openapi
    documented: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal documented
        spec = previous()  # FastAPI's (and main.py's 422 -> 400), cached on app.openapi_schema
        if spec is not documented:
            add_documentation(spec, app, settings.model_names)
            documented = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def add_documentation(spec: dict[str, Any], app: FastAPI, model_names: list[str]) -> None:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "OAIError" not in schemas:
        error = OAIError.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error.pop("$defs", {}))
        schemas["OAIError"] = error
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SECURITY_SCHEMES))
    for model, field in NOT_BLANK_FIELDS:
        prop = schemas.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop.setdefault("pattern", NOT_BLANK)
    _openai_request(schemas, model_names)
    schemas.setdefault("ChatCompletion", copy.deepcopy(CHAT_COMPLETION))
    schemas.setdefault("Readiness", copy.deepcopy(READY))

    paths = spec.get("paths", {})
    for method, path, kind in _auth_kinds(app):
        op = paths.get(path, {}).get(method)
        if op is None:
            continue
        if kind == "admin":
            op["security"] = [{"AdminKey": []}]
        else:
            op["security"] = [{"ApiKey": []}] + ([{"WidgetKey": []}] if path in deps.WIDGET_ROUTES else [])
        _errors(op, AUTH_ERRORS)
    for (method, path), extra in OPERATOR_ROUTES.items():
        if op := paths.get(path, {}).get(method):
            op["security"] = extra["security"]
            _errors(op, extra["errors"])
    for (method, path), statuses in OPERATION_ERRORS.items():
        if op := paths.get(path, {}).get(method):
            _errors(op, statuses)
    for operations in paths.values():
        for op in operations.values():
            if isinstance(op, dict) and "requestBody" in op:
                _errors(op, (400, 413))
    _bodies(paths)
    _examples(paths, model_names)
    _links(paths)
    for operations in paths.values():
        for op in operations.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = dict(sorted(op["responses"].items()))


def _openai_request(schemas: dict[str, Any], model_names: list[str]) -> None:
    """What OAIChatRequest accepts beyond its types: the served model names (any other is a 404),
    content parts, and the boolean flags inside the option objects."""
    props = schemas.get("OAIChatRequest", {}).get("properties", {})
    if "model" in props:
        props["model"]["enum"] = list(model_names)
    for name, flag in FLAGS:
        options = next((s for s in props.get(name, {}).get("anyOf", []) if s.get("type") == "object"), None)
        if options is not None:
            options.setdefault("properties", {})[flag] = {"type": ["boolean", "null"]}
    message = schemas.get("OAIMessage", {}).get("properties", {})
    if "content" in message:
        message["content"] = copy.deepcopy(CONTENT)
    if "role" in message:  # system and developer messages parse, then are refused (openai_serving.to_ask)
        message["role"]["enum"] = list(ACCEPTED_ROLES)


QUESTION = "How do I connect to the VPN from home?"


def _examples(paths: dict[str, Any], model_names: list[str]) -> None:
    """Request examples (Swagger UI's "Try it out"; schemathesis's examples phase sends them), and the
    upload's file name, which the multipart schema cannot say: its suffix picks the parser."""
    examples = {
        ("post", "/api/chat"): {"message": QUESTION},
        ("post", "/api/search"): {"query": QUESTION, "k": 5},
        ("post", "/api/debug/prompt"): {"message": QUESTION},
        ("post", "/v1/chat/completions"): {"model": model_names[0] if model_names else "askdesk",
                                           "messages": [{"role": "user", "content": QUESTION}]},
    }  # fmt: skip
    for (method, path), example in examples.items():
        content = paths.get(path, {}).get(method, {}).get("requestBody", {}).get("content", {})
        if (media := content.get("application/json")) is not None:
            media.setdefault("example", copy.deepcopy(example))
    upload = paths.get("/api/admin/sources", {}).get("post", {}).get("requestBody", {}).get("content", {})
    if "multipart/form-data" in upload:
        disposition = {
            "description": "The file's name: its suffix (.csv, .md, .txt, .pdf, .docx, .xlsx, .html, .json, "
                           ".jsonl...) picks the parser; any other is a 415 that lists them",
            "schema": {"type": "string", "example": 'form-data; name="file"; filename="leave-faq.md"'},
        }  # fmt: skip
        encoding = upload["multipart/form-data"].setdefault("encoding", {})
        encoding["file"] = {"headers": {"Content-Disposition": disposition}}


# What one response lets the caller do next (OpenAPI links; schemathesis's stateful phase follows them):
# (from, status) -> {name: (to, {"parameters" or "requestBody": ...})}
LINKS: dict[tuple[str, str, str], dict[str, tuple[tuple[str, str], dict[str, Any]]]] = {
    ("post", "/api/search", "200"): {  # ask what was searched for: the answer cites those hits
        "Ask": (("post", "/api/chat"), {"requestBody": {"message": "$response.body#/query"}}),
    },
    ("post", "/api/chat", "200"): {
        "FollowUp": (("post", "/api/chat"), {"requestBody": {"session_id": "$response.body#/session_id"}}),
        "Feedback": (("post", "/api/feedback"),
                     {"requestBody": {"message_id": "$response.body#/message_id"}}),
        "Handoff": (("post", "/api/handoff"), {"requestBody": {"session_id": "$response.body#/session_id",
                                                               "message_id": "$response.body#/message_id"}}),
    },
    ("post", "/api/admin/sources", "201"): {
        "DeleteSource": (("delete", "/api/admin/sources/{source}"),
                         {"parameters": {"path.source": "$response.body#/source"}}),
    },
}  # fmt: skip


def _links(paths: dict[str, Any]) -> None:
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for name, ((to_method, to_path), how) in links.items():
            target = paths.get(to_path, {}).get(to_method, {}).get("operationId")
            if target:
                response.setdefault("links", {})[name] = {"operationId": target, **copy.deepcopy(how)}


def _auth_kinds(app: FastAPI) -> Iterator[tuple[str, str, str]]:
    """(method, spec path, "caller" | "admin") of each route behind deps.caller or deps.admin."""
    for route, path in _api_routes(app):
        if not route.include_in_schema:
            continue
        calls = set(_calls(route.dependant))
        kind = "admin" if deps.admin in calls else "caller" if deps.caller in calls else None
        if kind:
            for method in route.methods:
                yield method.lower(), path, kind


def _api_routes(app: FastAPI) -> list[tuple[APIRoute, str]]:
    """Each APIRoute with its path as the spec writes it (``{source}``, not ``{source:path}``)."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI 0.16x: included routers stay routers
    except ImportError:  # earlier: include_router copied each route into app.routes
        return [(r, r.path_format) for r in app.routes if isinstance(r, APIRoute)]
    return [(c.original_route, c.path_format or "") for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)]  # fmt: skip


def _calls(dependant) -> Iterator[Callable]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _errors(op: dict[str, Any], statuses: tuple[int, ...]) -> None:
    responses = op.setdefault("responses", {})
    for status in statuses:
        response = {"description": ERROR_TEXT[status],
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}  # fmt: skip
        if status == 429:
            retry_after = {"description": "Seconds until a request may succeed", "required": True,
                           "schema": {"type": "string", "pattern": "^[0-9]+$"}}  # fmt: skip
            response["headers"] = {"Retry-After": retry_after}
        responses.setdefault(str(status), response)


def _ok(paths: dict, method: str, path: str) -> dict[str, Any] | None:
    op = paths.get(path, {}).get(method)
    if op is None:
        return None
    return next((r for s, r in op.get("responses", {}).items() if s.startswith("2")), None)


def _bodies(paths: dict[str, Any]) -> None:
    """Success bodies that FastAPI does not see: event streams, NDJSON, text, plain `dict`s."""
    if ok := _ok(paths, "post", "/api/chat"):
        ok.setdefault("content", {})["text/event-stream"] = {"schema": copy.deepcopy(CHAT_EVENT)}
    if ok := _ok(paths, "post", "/v1/chat/completions"):
        ok["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
                         "text/event-stream": {"schema": copy.deepcopy(COMPLETION_EVENT)}}  # fmt: skip
    if ok := _ok(paths, "get", "/api/admin/log"):
        ok.setdefault("content", {})["application/x-ndjson"] = {
            "schema": {
                "type": "string",
                "description": "One exchange (JSON object) per line (`format=jsonl`)",
            }
        }
    if ok := _ok(paths, "get", "/api/admin/audit"):
        ok.setdefault("content", {})["text/csv"] = {
            "schema": {"type": "string", "description": "The audit events as CSV, a header row first (`format=csv`)"}
        }
    if ok := _ok(paths, "get", "/metrics"):
        ok["content"] = {
            "text/plain": {
                "schema": {"type": "string", "description": "Prometheus text exposition format 0.0.4"}
            }
        }
    if ok := _ok(paths, "get", "/ready"):
        ok["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
        paths["/ready"]["get"]["responses"].setdefault(
            "503",
            {
                "description": "Not ready: the knowledge store or the database does not answer (same body)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}},
            },
        )
    debug = paths.get("/api/debug/prompt", {}).get("post")
    if debug and "requestBody" in debug:
        debug["requestBody"]["content"] = {"application/json": {"schema": copy.deepcopy(DEBUG_PROMPT_BODY)}}
