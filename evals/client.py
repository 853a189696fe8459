"""Async HTTP client for a running AskDesk, as an outside caller sees it (httpx).

HTTP 429 (the service's rate limit, ``ASKDESK_RATE_LIMIT``) is waited out and retried: the
``Retry-After`` seconds when the service sends them, else exponential backoff with jitter, each wait
capped, a bounded number of retries (``RetryPolicy``). Requests that needed a retry are counted
(``ThrottleStats``); one still refused after the last retry is reported as throttled, not as a
service error."""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import httpx

# tenacity is pinned in requirements.lock (chromadb and langchain-core use it) and declared in
# pyproject.toml: its stop/wait/callback pieces replace a hand-written retry loop
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from app.errors import AskDeskError, BadRequest
from evals.sse import SSEParser

THROTTLED = "throttled"  # the error kind of a request still answered 429 after the last retry


class ServiceError(AskDeskError):
    """The service could not be reached or answered with an error."""


class Throttled(ServiceError):
    """The service still answered HTTP 429 (rate limit) after the last retry."""

    def __init__(self, message: str, retries: int) -> None:
        super().__init__(message)
        self.retries = retries


@dataclass(frozen=True)
class RetryPolicy:
    """How HTTP 429 is waited out: ``Retry-After`` when sent, else ``backoff_s`` doubling per retry;
    up to ``jitter_s`` more on every wait (concurrent requests told the same Retry-After would all
    come back at once and be refused together), each wait at most ``max_wait_s``."""

    max_retries: int = 8
    max_wait_s: float = 60.0
    backoff_s: float = 0.5
    jitter_s: float = 0.5


@dataclass
class ThrottleStats:
    """429s over a client's life: requests that got at least one, retries, those that gave up."""

    throttled: int = 0  # requests answered 429 at least once (those that gave up included)
    retries: int = 0
    gave_up: int = 0  # still 429 after the last retry
    wait_s: float = 0.0

    def summary(self) -> str:
        return (
            f"throttled: {self.throttled} requests got HTTP 429 ({self.retries} retries, "
            f"{self.wait_s:.1f} s waited), {self.gave_up} gave up"
        )


@dataclass
class Attempts:
    """What one request took: the 429s waited out, and when its last attempt was sent (latency is
    timed from there, not from the first refused attempt)."""

    retries: int = 0
    wait_s: float = 0.0
    sent_at: float = 0.0  # time.perf_counter() of the last attempt
    gave_up: bool = False


def retry_after_s(r: httpx.Response) -> float | None:
    """The response's Retry-After in seconds (delta-seconds or an HTTP date); None when absent or bad."""
    v = r.headers.get("retry-after", "").strip()
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _WaitRetryAfter(wait_base):
    """Retry-After (plus jitter) when the 429 carries one, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential_jitter(
            initial=policy.backoff_s, max=policy.max_wait_s, jitter=policy.jitter_s
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        ra = retry_after_s(retry_state.outcome.result())
        if ra is None:
            return self.backoff(retry_state)
        return min(self.policy.max_wait_s, ra + random.uniform(0, self.policy.jitter_s))


def error_text(r: httpx.Response) -> str:
    """``HTTP <status> <code>: <message>`` from an OpenAI-style ``{"error": {...}}`` body, else the text."""
    try:
        err = r.json().get("error")
    except (ValueError, AttributeError):
        err = None
    if isinstance(err, dict) and err.get("message"):
        code = err.get("code") or err.get("type")
        return f"HTTP {r.status_code}{f' {code}' if code else ''}: {str(err['message'])[:200]}"
    return f"HTTP {r.status_code}: {r.text[:200]}"


@dataclass
class ChatResult:
    """One streamed chat turn: the final ChatResponse (``done``) plus client-side timings."""

    ok: bool
    status: int = 0
    ttft_s: float | None = None  # request sent -> first token event (or done, if no token came)
    first_event_s: float | None = None  # request sent -> first event (sources)
    total_s: float | None = None
    token_events: int = 0
    text: str = ""
    done: dict[str, Any] | None = None
    sources_event: dict[str, Any] | None = None
    error: str | None = None  # error event message, HTTP error or dropped stream
    error_kind: str | None = None  # http_5xx | http_4xx | throttled | error_event | dropped | exception
    throttle_retries: int = 0  # HTTP 429s waited out before this answer (or before giving up)
    throttle_wait_s: float = 0.0

    @property
    def output_tokens(self) -> int:
        """Output tokens: the service's count when it reports one (AskDesk does when the engine
        reported usage), else the token events received (a lower bound: AskDesk streams a sentence
        per event, other services about one token)."""
        lat = (self.done or {}).get("latency_ms") or {}
        for key in ("output_tokens", "completion_tokens"):
            if isinstance(lat.get(key), (int, float)):
                return int(lat[key])
        return self.token_events


@dataclass
class Client:
    url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    admin_key: str | None = None
    timeout_s: float = 120.0
    transport: httpx.AsyncBaseTransport | None = None  # tests hand in an httpx.MockTransport
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_throttle: Callable[[ThrottleStats], None] | None = None  # called on every 429 (progress)
    throttle: ThrottleStats = field(default_factory=ThrottleStats, init=False)
    _http: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    async def __aenter__(self) -> Self:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(self.timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            transport=self.transport,
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._http is not None:
            await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use `async with Client(...)`")
        return self._http

    def _admin(self) -> dict[str, str]:
        return {"X-Admin-Key": self.admin_key} if self.admin_key else {}

    async def _send(
        self, method: str, path: str, *, stream: bool = False, attempts: Attempts | None = None, **kw
    ) -> httpx.Response:
        """One request, HTTP 429 waited out per ``self.retry``. The response is returned as it is
        (streamed ones open: the caller closes them), a 429 too once the retries are spent (read and
        closed). ``attempts`` is filled in. httpx errors are not retried: they raise."""
        att = attempts if attempts is not None else Attempts()

        async def attempt() -> httpx.Response:
            att.sent_at = time.perf_counter()
            r = await self.http.send(self.http.build_request(method, path, **kw), stream=stream)
            if r.status_code == 429 and stream:
                await r.aread()  # the error body, for the message
                await r.aclose()
            return r

        def before_sleep(state: RetryCallState) -> None:
            wait = state.upcoming_sleep
            att.retries += 1
            att.wait_s += wait
            if att.retries == 1:
                self.throttle.throttled += 1
            self.throttle.retries += 1
            self.throttle.wait_s += wait
            if self.on_throttle is not None:
                self.on_throttle(self.throttle)

        r = await AsyncRetrying(
            retry=retry_if_result(lambda resp: resp.status_code == 429),
            stop=stop_after_attempt(self.retry.max_retries + 1),
            wait=_WaitRetryAfter(self.retry),
            before_sleep=before_sleep,
            retry_error_callback=lambda state: state.outcome.result(),  # the last 429, not a RetryError
        )(attempt)
        if r.status_code == 429:
            att.gave_up = True
            if att.retries == 0:  # no retry allowed: counted here
                self.throttle.throttled += 1
            self.throttle.gave_up += 1
            if self.on_throttle is not None:
                self.on_throttle(self.throttle)
        return r

    async def _json(self, method: str, path: str, *, attempts: Attempts | None = None, **kw) -> Any:
        att = attempts if attempts is not None else Attempts()
        try:
            r = await self._send(method, path, attempts=att, **kw)
        except httpx.HTTPError as e:
            raise ServiceError(f"cannot reach AskDesk at {self.url}{path}: {type(e).__name__}: {e}") from e
        if r.status_code == 429:
            raise Throttled(f"{path}: {error_text(r)} (still after {att.retries} retries)", att.retries)
        if r.status_code in (401, 403):
            raise BadRequest(f"{path}: {r.status_code} — pass --api-key (or --admin-key for admin endpoints)")
        if r.status_code >= 400:
            raise ServiceError(f"{path}: HTTP {r.status_code}: {r.text[:200]}")
        return r.json()

    async def health(self) -> dict:
        return await self._json("GET", "/health")

    async def ready(self) -> dict | None:
        try:
            return await self._json("GET", "/ready")
        except ServiceError:
            return None  # /ready answers 503 while an engine is down; the run reports it

    async def models(self) -> list[str]:
        try:
            data = await self._json("GET", "/v1/models")
        except ServiceError:
            return []
        return [m.get("id", "") for m in data.get("data", [])]

    async def search(self, query: str, k: int = 10, *, attempts: Attempts | None = None) -> dict:
        return await self._json("POST", "/api/search", attempts=attempts, json={"query": query, "k": k})

    async def debug_prompt(self, message: str) -> dict:
        return await self._json("POST", "/api/debug/prompt", json={"message": message}, headers=self._admin())

    async def log_export(self) -> str:
        att = Attempts()
        try:
            r = await self._send(
                "GET", "/api/admin/log", attempts=att, params={"format": "jsonl"}, headers=self._admin()
            )
        except httpx.HTTPError as e:
            raise ServiceError(f"cannot reach AskDesk at {self.url}: {e}") from e
        if r.status_code == 429:
            raise Throttled(
                f"/api/admin/log: {error_text(r)} (still after {att.retries} retries)", att.retries
            )
        if r.status_code in (401, 403):
            raise BadRequest("/api/admin/log: pass --admin-key")
        if r.status_code >= 400:
            raise ServiceError(f"/api/admin/log: HTTP {r.status_code}: {r.text[:200]}")
        return r.text

    async def chat_stream(
        self, message: str, session_id: str | None = None, *, until_first_token: bool = False, **extra
    ) -> ChatResult:
        """POST /api/chat with stream=true; times TTFT from the SSE token events. With
        ``until_first_token`` the stream is closed at the first token (``ok`` then means it came)."""
        body = {"message": message, "stream": True, **extra}
        if session_id:
            body["session_id"] = session_id
        res = ChatResult(ok=False)
        att = Attempts()
        parts: list[str] = []
        t0 = time.perf_counter()
        try:
            r = await self._send("POST", "/api/chat", stream=True, attempts=att, json=body)
            # timings start at the attempt that was answered: waiting out 429s is not the service's latency
            t0 = att.sent_at
            res.throttle_retries, res.throttle_wait_s = att.retries, att.wait_s
            try:
                res.status = r.status_code
                if r.status_code >= 400:
                    await r.aread()
                    if r.status_code == 429:
                        res.error = f"{error_text(r)} (still after {att.retries} retries)"
                        res.error_kind = THROTTLED
                    else:
                        res.error = f"HTTP {r.status_code}: {r.text[:200]}"
                        res.error_kind = "http_5xx" if r.status_code >= 500 else "http_4xx"
                    res.total_s = time.perf_counter() - t0
                    return res
                parser = SSEParser()
                async for line in r.aiter_lines():
                    ev = parser.feed_line(line)
                    if ev is None:
                        continue
                    now = time.perf_counter() - t0
                    if res.first_event_s is None:
                        res.first_event_s = now
                    if ev.event == "token":
                        if res.ttft_s is None:
                            res.ttft_s = now
                        res.token_events += 1
                        parts.append(_field(ev.data, "text"))
                        if until_first_token:
                            res.ok = True
                            break
                    elif ev.event == "sources":
                        res.sources_event = _load(ev.data)
                    elif ev.event == "done":
                        res.done = _load(ev.data)
                        if res.ttft_s is None:
                            res.ttft_s = now
                    elif ev.event == "error":
                        err = _load(ev.data) or {}
                        res.error = f"{err.get('code', 'error')}: {err.get('message', ev.data)}"
                        res.error_kind = "error_event"
            finally:
                await r.aclose()
        except httpx.HTTPError as e:
            res.error = f"{type(e).__name__}: {e}"
            res.error_kind = "dropped" if parts or res.sources_event else "exception"
        res.total_s = time.perf_counter() - t0
        if until_first_token and res.ok:
            res.text = "".join(parts)
            return res
        res.text = "".join(parts) if parts else ((res.done or {}).get("answer") or "")
        if res.done is not None and res.error is None:
            res.ok = True
        elif res.error is None:
            res.error, res.error_kind = "stream ended without a done event", "dropped"
        return res


def _load(data: str) -> dict | None:
    try:
        v = json.loads(data)
    except json.JSONDecodeError:
        return None
    return v if isinstance(v, dict) else None


def _field(data: str, key: str) -> str:
    v = _load(data)
    return str(v.get(key, "")) if v else data
