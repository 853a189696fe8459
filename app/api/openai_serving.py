"""The OpenAI chat-completions surface over the answer service: request -> Ask, events -> chunks."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

from app.answering.chain import Event
from app.answering.service import Ask
from app.api.errors import APIError, error_body
from app.api.schemas import MAX_MESSAGE_CHARS, OAIChatRequest

log = logging.getLogger(__name__)

KNOWN_FIELDS = set(OAIChatRequest.model_fields)

# a caller's system prompt cannot change the answer policy, and dropping it silently would leave the
# caller believing it was followed: such a message is refused (OpenAI's error for a model that takes
# no system messages), and the spec's role enum leaves these out (app/api/openapi_docs.py)
REFUSED_ROLES = ("system", "developer")
ACCEPTED_ROLES = ("user", "assistant", "tool")

# What `usage` counts: the engine's own numbers for the call that wrote the answer, else zeros;
# `askdesk.usage_source` says which. Counting a prompt the engine never saw would need the engine's
# tokenizer (one more engine call per answer) for a number nobody was billed.
USAGE_DOC = (
    "`usage` is the LLM engine's own count (prompt, completion, total) for the call that wrote the "
    "answer, passed through unchanged. An answer that took no engine call (a curated `faq` answer, a "
    "`no_answer` reply, `chitchat`, a `handoff`, or an `extract` quoted from the passages without the "
    "LLM) reports zeros: no engine tokens were spent. `askdesk.usage_source` says which: `engine`; "
    "`no_llm`; or `not_reported`: an LLM was called but its count never arrived (the answer guard "
    "stopped a looping or rejected stream before the engine's last chunk, or a curated answer was "
    "reworded by the LLM), and zeros are reported. The rewrite of a follow-up into a standalone "
    "question (`askdesk.rewritten_query`) is a separate engine call and is not counted."
)
SYSTEM_DOC = (
    "Messages with role `system` or `developer` are refused with a 400 (`code: unsupported_value`, "
    "`param: messages[i].role`): AskDesk answers under its own rules and never silently drops "
    "instructions. Send the conversation as `user` and `assistant` messages; the last one must be "
    "the user's question."
)
ENDPOINT_DOC = (
    "An AskDesk answer in OpenAI's chat-completion shape (`stream: true`: `chat.completion.chunk` "
    "events, then `[DONE]`), with the cited `sources` and AskDesk's own fields under `askdesk`. The "
    "conversation is the caller's: earlier user/assistant turns are the history.\n\n"
    f"**System messages.** {SYSTEM_DOC}\n\n**Usage.** {USAGE_DOC}"
)


def to_ask(req: OAIChatRequest, model_names: list[str], user: str | None) -> Ask:
    if req.model not in model_names:
        raise APIError(404, f"The model `{req.model}` does not exist. Available: {', '.join(model_names)}",
                       code="model_not_found", param="model")  # fmt: skip
    extra = set(req.model_extra or {}) - KNOWN_FIELDS
    if extra:
        log.info("ignoring unknown chat.completions fields: %s", sorted(extra))
    for i, m in enumerate(req.messages):
        if m.role in REFUSED_ROLES:
            raise APIError(400, f"Unsupported value: 'messages[{i}].role' does not support '{m.role}' with this "
                                "model. AskDesk answers under its own rules: send only user and assistant "
                                "messages.", code="unsupported_value", param=f"messages[{i}].role")  # fmt: skip
    msgs = req.messages
    if not msgs or msgs[-1].role != "user":
        raise APIError(400, "the last message must have role 'user'", param="messages")
    question = msgs[-1].text().strip()
    if not question:
        raise APIError(400, "the last user message is empty", param="messages")
    if len(question) > MAX_MESSAGE_CHARS:
        raise APIError(
            400, f"the last user message is longer than {MAX_MESSAGE_CHARS} characters", param="messages"
        )
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for m in msgs[:-1]:
        if m.role == "user":
            pending = m.text()
        elif m.role == "assistant" and pending is not None:
            history.append((pending, m.text()))
            pending = None
    thinking = req.enable_thinking
    if thinking is None and req.chat_template_kwargs:
        thinking = bool(req.chat_template_kwargs.get("enable_thinking", False))
    return Ask(message=question, history=history, enable_thinking=bool(thinking),
               return_reasoning=bool(req.return_reasoning), surface="openai", user=user)  # fmt: skip


def _extras(done: dict) -> dict:
    return {
        "sources": done["sources"],
        "askdesk": {k: done.get(k) for k in ("mode", "confidence", "lang", "handoff", "session_id",
                                             "message_id", "backend", "rewritten_query", "latency_ms",
                                             "suggestions", "intent")}
                   | {"usage_source": usage_source(done)},
    }  # fmt: skip


def completion(req: OAIChatRequest, done: dict) -> dict:
    usage = _usage(done)
    message: dict = {"role": "assistant", "content": done["answer"]}
    if done.get("reasoning"):
        message["reasoning_content"] = done["reasoning"]
    return {
        "id": f"chatcmpl-{done['message_id']}", "object": "chat.completion", "created": int(time.time()),
        "model": req.model, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage, **_extras(done),
    }  # fmt: skip


def usage_source(done: dict) -> str:
    """engine | no_llm | not_reported: where `usage` comes from (see USAGE_DOC)."""
    if done.get("usage"):
        return "engine"
    return "not_reported" if done.get("backend") else "no_llm"


def _usage(done: dict) -> dict:
    """The engine's counts for the answer call, or zeros where no engine counted (USAGE_DOC)."""
    u = done.get("usage") or {}
    pt = int(u.get("prompt_tokens") or u.get("input_tokens") or 0)
    ct = int(u.get("completion_tokens") or u.get("output_tokens") or 0)
    total = int(u.get("total_tokens") or 0) or pt + ct
    return {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": total}


async def stream_chunks(req: OAIChatRequest, events: AsyncIterator[Event], on_done) -> AsyncIterator[str]:
    """SSE lines for `stream=true`; an error after the start is a chunk with `error`, then [DONE]."""
    cid, created = "chatcmpl-pending", int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    include_usage = bool((req.stream_options or {}).get("include_usage"))
    started = False
    async for ev in events:
        if ev.kind == "sources":
            cid = f"chatcmpl-{ev.data['message_id']}"
            yield chunk({"role": "assistant", "content": ""})
            started = True
        elif ev.kind == "token":
            yield chunk({"content": ev.data["text"]})
        elif ev.kind == "reasoning":
            yield chunk({"reasoning_content": ev.data["text"]})
        elif ev.kind == "done":
            on_done(ev.data)
            yield chunk({}, "stop", **_extras(ev.data))
            if include_usage:
                body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model,
                        "choices": [], "usage": _usage(ev.data)}  # fmt: skip
                yield f"data: {json.dumps(body)}\n\n"
        elif ev.kind == "error":
            if not started:
                yield chunk({"role": "assistant", "content": ""})
            body = error_body(ev.data["message"], ev.data["code"], ev.data["code"])
            body["handoff"] = ev.data.get("handoff")
            yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
