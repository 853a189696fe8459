"""A scripted LangChain chat model: it stands in for the engine in the fast request-path tier.

The router (app/llm/router.py) calls ``model.astream(messages, temperature=..., max_tokens=...,
extra_body=...)`` on its backends' chat models and reads ``msg.content``,
``msg.additional_kwargs["reasoning_content"]`` and ``msg.usage_metadata``. This model answers those
calls with a reply the test scripts, so the chain, the answer service and the HTTP routes run
in-process with no engine process: ``askdesk.wiring.build_state(settings, chat_models={name: model})``.

What a real engine does (tokenizing, chat templates, thinking, stop strings, sockets) is the real
engine tier's job: tests marked ``slow`` / ``llamacpp`` / ``vllm`` (tests/service_fixtures.py,
tests/engine_fixtures.py, tests/app/api/test_service_e2e.py).

    model = ScriptedChatModel()
    model.script(reply="Tier 1 is 600 CNY a day [1].", reasoning="look at [1]")
    model.script(reply=lambda messages: ..., chunk_chars=3)
    model.script(error=connection_error)                    # fails before the first token
    model.script(error=RuntimeError("boom"), fail_after_chunks=2)   # fails mid-stream
    model.script(error=connection_error, fail_calls=1)      # only the first call fails
    model.calls[-1].messages / .kwargs / .prompt             # what it was asked
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

Reply = str | Callable[[list[BaseMessage]], str]
ErrorSpec = BaseException | type[BaseException] | Callable[[], BaseException] | None

DEFAULT_REPLY = "This is the scripted answer [1]."


def connection_error() -> openai.APIConnectionError:
    """What the OpenAI client raises when the engine cannot be reached (the router fails over)."""
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


def server_error() -> openai.InternalServerError:
    """An engine's HTTP 500 as the OpenAI client raises it."""
    req = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    return openai.InternalServerError("engine crashed", response=httpx.Response(500, request=req), body=None)


@dataclass
class Call:
    """One call the model answered (or failed)."""

    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    streamed: bool

    @property
    def prompt(self) -> str:
        """Every message's text, joined: for `"passage" in call.prompt` assertions."""
        return "\n".join(m.content if isinstance(m.content, str) else str(m.content) for m in self.messages)

    @property
    def system(self) -> str:
        return next((m.content for m in self.messages if m.type == "system"), "")

    @property
    def user(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.type == "human"), "")


@dataclass
class _Script:
    reply: Reply = DEFAULT_REPLY
    reasoning: str = ""
    error: ErrorSpec = None
    fail_after_chunks: int = 0  # with `error`: chunks streamed before it is raised (0: before the first token)
    fail_calls: int | None = None  # with `error`: only this many calls fail, later ones answer
    chunk_chars: int = 0  # > 0: split the reply every this many characters; 0: a word (or 4 Han characters) a chunk
    usage: dict | None = None  # usage_metadata of the last chunk; None: counted from the messages and the reply


class ScriptedChatModel(BaseChatModel):
    """A real ``BaseChatModel`` whose replies are scripted (see the module docstring).

    Streams the reasoning text first (``additional_kwargs["reasoning_content"]``, as vLLM's and
    llama.cpp's reasoning parsers send it), then the reply in several chunks, then an empty chunk
    carrying ``usage_metadata`` (as OpenAI-compatible engines do with ``stream_options.include_usage``).
    Records every call: its messages and the keyword arguments the caller passed."""

    model_name: str = "scripted"
    _plan: _Script = PrivateAttr(default_factory=_Script)
    _calls: list[Call] = PrivateAttr(default_factory=list)

    # --- scripting --------------------------------------------------------------------------------
    def script(self, reply: Reply = DEFAULT_REPLY, *, reasoning: str = "", error: ErrorSpec = None,
               fail_after_chunks: int = 0, fail_calls: int | None = None, chunk_chars: int = 0,
               usage: dict | None = None) -> ScriptedChatModel:  # fmt: skip
        """Replace the whole script (what is not given goes back to its default) and forget the calls.

        reply: the answer text, or a function of the messages that returns it; reasoning: streamed
        first as `reasoning_content`; error: an exception (instance, class or factory) to raise,
        after `fail_after_chunks` streamed chunks (reasoning chunks included; 0: before the first
        token), on the first `fail_calls` calls only (None: every call); chunk_chars: chunk size
        (0: a word a chunk); usage: the `usage_metadata` sent on the last chunk."""
        self._plan = _Script(reply, reasoning, error, fail_after_chunks, fail_calls, chunk_chars, usage)
        self._calls = []
        return self

    @property
    def plan(self) -> _Script:
        return self._plan

    @property
    def calls(self) -> list[Call]:
        """Every call since the last `script(...)`, oldest first."""
        return self._calls

    @property
    def prompts(self) -> list[str]:
        return [c.prompt for c in self.calls]

    # --- BaseChatModel ------------------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "askdesk-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:  # fmt: skip
        error = self._begin(messages, kwargs, streamed=False)
        if error is not None:
            raise error
        text = self._reply_text(messages)
        msg = AIMessage(
            content=text,
            additional_kwargs={"reasoning_content": self.plan.reasoning} if self.plan.reasoning else {},
            usage_metadata=self._usage(messages, text),
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        error = self._begin(messages, kwargs, streamed=True)
        yield from self._chunks(messages, error)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:  # fmt: skip
        error = self._begin(messages, kwargs, streamed=True)
        for chunk in self._chunks(messages, error):
            yield chunk

    # --- internals --------------------------------------------------------------------------------
    def _begin(self, messages: list[BaseMessage], kwargs: dict, streamed: bool) -> BaseException | None:
        """Record the call; the exception this call is scripted to raise, if any."""
        self._calls.append(Call(list(messages), dict(kwargs), streamed))
        p = self.plan
        if p.error is None or (p.fail_calls is not None and len(self.calls) > p.fail_calls):
            return None
        e = p.error
        if isinstance(e, BaseException):
            return e
        return e()  # an exception class or a factory

    def _reply_text(self, messages: list[BaseMessage]) -> str:
        r = self.plan.reply
        return r(messages) if callable(r) else r

    def _pieces(self, text: str) -> list[str]:
        n = self.plan.chunk_chars
        if n > 0:
            return [text[i : i + n] for i in range(0, len(text), n)]
        pieces: list[str] = []
        for word in re.findall(r"\S+\s*|\s+", text):  # joined back they are exactly `text`
            if len(word) > 8 and re.search(r"[\u3400-\u9fff]", word):  # Chinese: a few characters a chunk
                pieces += [word[i : i + 4] for i in range(0, len(word), 4)]
            else:
                pieces.append(word)
        return pieces

    def _chunks(self, messages: list[BaseMessage], error: BaseException | None) -> Iterator[ChatGenerationChunk]:
        p = self.plan
        sent = 0
        if error is not None and p.fail_after_chunks <= 0:
            raise error
        text = self._reply_text(messages)
        out = [AIMessageChunk(content="", additional_kwargs={"reasoning_content": r}) for r in self._pieces(p.reasoning)]
        out += [AIMessageChunk(content=piece) for piece in self._pieces(text)]
        for msg in out:
            if error is not None and sent >= p.fail_after_chunks:
                raise error
            yield ChatGenerationChunk(message=msg)
            sent += 1
        if error is not None:  # scripted to fail after more chunks than the reply has: fails at the end
            raise error
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=self._usage(messages, text)))

    def _usage(self, messages: list[BaseMessage], text: str) -> dict:
        if self.plan.usage is not None:
            return dict(self.plan.usage)
        prompt = sum(len(str(m.content).split()) for m in messages)
        completion = len(self._pieces(text)) + len(self._pieces(self.plan.reasoning))
        return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}
