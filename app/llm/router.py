"""Route chat requests across OpenAI-compatible backends: classify, choose, fail over.

One ``ReasoningChatOpenAI`` per backend is built once here. A background health monitor and a
circuit breaker per backend decide who is usable; :mod:`app.llm.policy` decides the order.
A backend that fails before the first token is skipped for the next candidate; a failure after
the first token raises :class:`LLMUnavailable` (the caller ends its stream with an error event).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from app.errors import LLMUnavailable
from app.llm.breaker import CircuitBreaker
from app.llm.chat_model import ReasoningChatOpenAI
from app.llm.classify import RequestClass, classify
from app.llm.health import HealthMonitor, check
from app.llm.policy import BackendView, ewma, plan
from app.llm.think_split import ThinkSplitter
from app.llm.types import CallType, LLMChunk, LLMResult
from app.settings import LLMBackend, Settings

log = logging.getLogger(__name__)

# Errors that say "this backend cannot serve now": try the next one and count it against the breaker.
_BACKEND_DOWN = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.InternalServerError,
    openai.RateLimitError,
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)
try:  # openai>=3 talks through httpx2; its transport errors can surface mid-stream
    import httpx2

    _BACKEND_DOWN = (*_BACKEND_DOWN, httpx2.TransportError)
except ImportError:  # pragma: no cover
    pass


@dataclass
class _Backend:
    cfg: LLMBackend
    model: BaseChatModel
    breaker: CircuitBreaker
    healthy: bool = True  # until the first health check says otherwise
    ttft_ewma: dict[str, float] = field(default_factory=dict)


class LLMRouter:
    def __init__(
        self,
        backends: list[LLMBackend],
        settings: Settings,
        chat_models: Mapping[str, BaseChatModel] | None = None,
    ) -> None:
        """``chat_models``: a chat model to use instead of the OpenAI client for the named backends
        (the fast tests' scripted model; routing, failover and the breaker still apply)."""
        if not backends:
            raise LLMUnavailable("no LLM backend configured (set ASKDESK_LLM_BACKENDS)")
        names = [b.name for b in backends]
        if len(set(names)) != len(names):
            raise LLMUnavailable(f"LLM backend names must be unique, got {names}")
        self._settings = settings
        self._backends: dict[str, _Backend] = {
            b.name: _Backend(
                cfg=b,
                model=(chat_models or {}).get(b.name) or _build_model(b),
                breaker=CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s),
            )
            for b in backends
        }
        self.served: Counter[str] = Counter()  # backend name -> requests served
        self._monitor = HealthMonitor(
            {n: b.cfg.base_url for n, b in self._backends.items()},
            self._on_health,
            interval_s=settings.llm_health_interval_s,
        )

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await self._monitor.start()

    async def stop(self) -> None:
        await self._monitor.stop()

    async def check_health(self) -> None:
        """Check every backend now (the monitor does this in the background)."""
        async with httpx.AsyncClient() as client:
            for name, b in self._backends.items():
                self._on_health(name, await check(client, b.cfg.base_url))

    def _on_health(self, name: str, ok: bool) -> None:
        b = self._backends[name]
        if b.healthy != ok:
            log.warning("LLM backend %s is now %s", name, "healthy" if ok else "unhealthy")
        if ok:  # it answers /health (say, restarted): the next request probes it, cooldown or not
            b.breaker.end_cooldown()
        b.healthy = ok

    def status(self) -> list[dict]:
        now = time.monotonic()
        return [
            {
                "name": n,
                "role": b.cfg.role,
                "base_url": b.cfg.base_url,
                "model": b.cfg.model,
                "extract_languages": list(b.cfg.extract_languages),
                "healthy": b.healthy,
                "circuit": b.breaker.current(now),
                "served": self.served[n],
                "ttft_ewma_s": dict(b.ttft_ewma),
            }
            for n, b in self._backends.items()
        ]

    def extract_languages(self, name: str) -> list[str]:
        """Languages the named backend is configured as unfit to write (answers are quoted instead)."""
        b = self._backends.get(name)
        return list(b.cfg.extract_languages) if b is not None else []

    # --- routing ---------------------------------------------------------------------------------
    def classify(self, question: str, call_type: CallType) -> RequestClass:
        return classify(
            question,
            call_type,
            short_max_tokens=self._settings.llm_short_max_tokens,
            complex_min_tokens=self._settings.llm_complex_min_tokens,
        )

    def plan(self, question: str, call_type: CallType) -> list[str]:
        """Backend names this request would be tried on, in order."""
        return self._plan(self.classify(question, call_type))

    def _plan(self, rc: RequestClass) -> list[str]:
        now = time.monotonic()
        views = [
            BackendView(n, b.cfg.role, b.healthy, b.breaker.would_allow(now), dict(b.ttft_ewma))
            for n, b in self._backends.items()
        ]
        order = plan(views, rc.complexity)
        if self._settings.llm_routing == "primary":  # everything on the first usable backend
            order = [v.name for v in views if v.name in order]
        # Last resort: backends the health check calls down but whose circuit still lets a try through.
        order += [v.name for v in views if v.available and not v.healthy and v.name not in order]
        return order

    # --- requests --------------------------------------------------------------------------------
    async def astream(
        self,
        messages: list[BaseMessage],
        *,
        question: str,
        call_type: CallType,
        enable_thinking: bool = False,
        temperature: float = 0.3,
        max_tokens: int = 512,
    ) -> AsyncIterator[LLMChunk]:
        rc = self.classify(question, call_type)
        candidates = self._plan(rc)
        if not candidates:
            raise LLMUnavailable(self._none_available_msg())
        errors: list[str] = []
        for name in candidates:
            b = self._backends[name]
            if not b.breaker.allow(time.monotonic()):
                continue
            for attempt in (1, 2):
                started = False
                ttft = 0.0
                t0 = time.monotonic()
                splitter = ThinkSplitter()
                try:
                    stream = _open_stream(b, messages, enable_thinking, temperature, max_tokens)
                    # closed with the caller's stream (a guard that stops reading mid-answer), so
                    # the HTTP request ends and the engine stops generating
                    async with aclosing(stream):
                        async for msg in stream:
                            chunk = _to_chunk(msg, splitter, name)
                            if chunk is None:
                                continue
                            if not started and (chunk.content or chunk.reasoning):
                                started = True
                                ttft = time.monotonic() - t0
                                b.ttft_ewma[rc.complexity] = ewma(b.ttft_ewma.get(rc.complexity), ttft)
                            yield chunk
                    content, reasoning = splitter.flush()
                    if content or reasoning:
                        yield LLMChunk(content=content, reasoning=reasoning, backend=name)
                except (GeneratorExit, asyncio.CancelledError):
                    # The caller stopped reading (the guard cut the answer, the client went away):
                    # tokens that flowed prove the backend; none say nothing. Either way the breaker
                    # gets its verdict or its probe slot back, or a half-open circuit sticks forever.
                    if started:
                        b.breaker.record_success()
                        self.served[name] += 1
                    else:
                        b.breaker.release()
                    raise
                except _BACKEND_DOWN as e:
                    if _retry_after_backend_down(name, b, e, attempt, started, errors):
                        continue
                    break
                except openai.APIStatusError as e:  # 4xx: the request, not the backend, is at fault
                    b.breaker.record_success()
                    raise LLMUnavailable(f"LLM backend {name} rejected the request: {_short(e)}") from e
                except Exception as e:  # a malformed response or a client bug: count it, never leak it
                    _count_unexpected_error(name, b, e, started, errors)
                    break
                b.breaker.record_success()
                self.served[name] += 1
                log.info(
                    "llm request served by %s (class=%s call=%s ttft=%.3fs total=%.3fs)",
                    name, rc.complexity, call_type, ttft, time.monotonic() - t0,
                )  # fmt: skip
                return
        detail = "; ".join(errors) if errors else self._none_available_msg()
        raise LLMUnavailable(f"no LLM backend could serve the request ({detail})")

    async def ainvoke(
        self,
        messages: list[BaseMessage],
        *,
        question: str,
        call_type: CallType,
        enable_thinking: bool = False,
        temperature: float = 0.3,
        max_tokens: int = 512,
    ) -> LLMResult:
        """Collect :meth:`astream` (same routing and failover; TTFT measured on the stream)."""
        t0 = time.monotonic()
        ttft: float | None = None
        content: list[str] = []
        reasoning: list[str] = []
        backend = ""
        usage: dict | None = None
        async for chunk in self.astream(
            messages,
            question=question,
            call_type=call_type,
            enable_thinking=enable_thinking,
            temperature=temperature,
            max_tokens=max_tokens,
        ):
            if ttft is None and (chunk.content or chunk.reasoning):
                ttft = time.monotonic() - t0
            content.append(chunk.content)
            reasoning.append(chunk.reasoning)
            backend = chunk.backend or backend
            usage = chunk.usage or usage
        total = time.monotonic() - t0
        return LLMResult(
            content="".join(content).strip(),
            reasoning="".join(reasoning).strip(),
            backend=backend,
            usage=usage,
            ttft_s=ttft if ttft is not None else total,
            total_s=total,
        )

    def _none_available_msg(self) -> str:
        now = time.monotonic()
        states = ", ".join(
            f"{n} ({'healthy' if b.healthy else 'unhealthy'}, circuit {b.breaker.current(now)})"
            for n, b in self._backends.items()
        )
        return f"no LLM backend is available: {states}; start one with `askdesk llm serve`"


def _build_model(b: LLMBackend) -> ReasoningChatOpenAI:
    return ReasoningChatOpenAI(
        model=b.model,
        base_url=b.base_url,
        api_key=b.api_key,
        # a plain number: client libraries change their timeout types between majors (openai 3 moved
        # to httpx2 and refused an httpx.Timeout at startup)
        timeout=b.timeout_s,
        max_retries=0,  # the router fails over instead of retrying the same backend
        stream_usage=True,
    )


def _open_stream(
    b: _Backend, messages: list[BaseMessage], enable_thinking: bool, temperature: float, max_tokens: int
) -> AsyncIterator[BaseMessage]:
    """The backend's chat stream for these messages (thinking on or off via the chat template)."""
    return b.model.astream(
        messages,
        temperature=temperature,
        max_tokens=max_tokens,
        extra_body={**b.cfg.extra_body,
                    "chat_template_kwargs": {"enable_thinking": enable_thinking}},
    )


def _to_chunk(msg: BaseMessage, splitter: ThinkSplitter, name: str) -> LLMChunk | None:
    """One streamed message as answer text, reasoning (the engine's own field plus any ``<think>``
    text the splitter takes out of the content) and usage; None when it carries none of them."""
    reasoning = msg.additional_kwargs.get("reasoning_content", "") or ""
    text = msg.content if isinstance(msg.content, str) else ""
    content, tag_reasoning = splitter.feed(text)
    reasoning += tag_reasoning
    usage = _usage(msg)
    if not (content or reasoning or usage):
        return None
    return LLMChunk(content=content, reasoning=reasoning, backend=name, usage=usage)


def _retry_after_backend_down(
    name: str, b: _Backend, e: BaseException, attempt: int, started: bool, errors: list[str]
) -> bool:
    """After a "cannot serve now" error: True to retry this backend once, False to go on to the
    next (counted against its breaker, noted in `errors`); raises when the answer had started."""
    if started:
        b.breaker.record_failure(time.monotonic())
        raise LLMUnavailable(f"LLM backend {name} failed mid-answer: {_short(e)}") from e
    if attempt == 1 and _worth_one_retry(e):
        # A pooled keep-alive connection the server already closed fails like this;
        # a dead engine refuses again within a millisecond, so one retry is cheap.
        log.info("LLM backend %s: connection failed (%s); retrying once", name, _short(e))
        return True
    b.breaker.record_failure(time.monotonic())
    log.warning("LLM backend %s failed before the first token (%s); trying the next", name, _short(e))
    errors.append(f"{name}: {_short(e)}")
    return False


def _count_unexpected_error(name: str, b: _Backend, e: Exception, started: bool, errors: list[str]) -> None:
    """Count an unexpected error against the backend's breaker and log it (called while handling
    it); raises when the answer had started, else notes it in `errors` for the next backend."""
    b.breaker.record_failure(time.monotonic())
    log.exception("LLM backend %s: unexpected error", name)
    if started:
        raise LLMUnavailable(f"LLM backend {name} failed mid-answer: {_short(e)}") from e
    errors.append(f"{name}: {_short(e)}")


def _usage(msg: object) -> dict | None:
    um = getattr(msg, "usage_metadata", None)
    if not um:
        return None
    return {
        "prompt_tokens": um.get("input_tokens", 0),
        "completion_tokens": um.get("output_tokens", 0),
        "total_tokens": um.get("total_tokens", 0),
    }


def _worth_one_retry(e: BaseException) -> bool:
    """Connection-level failures other than timeouts (a timeout already cost its full wait)."""
    return isinstance(e, openai.APIConnectionError) and not isinstance(e, openai.APITimeoutError)


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}"[:200]
