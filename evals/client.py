"""Async HTTP client for a running AskDesk, as an outside caller sees it (httpx)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from app.errors import AskDeskError, BadRequest
from evals.sse import SSEParser


class ServiceError(AskDeskError):
    """The service could not be reached or answered with an error."""


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
    error_kind: str | None = None  # http_5xx | http_4xx | error_event | dropped | exception

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

    async def _json(self, method: str, path: str, **kw) -> Any:
        try:
            r = await self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServiceError(f"cannot reach AskDesk at {self.url}{path}: {type(e).__name__}: {e}") from e
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

    async def search(self, query: str, k: int = 10) -> dict:
        return await self._json("POST", "/api/search", json={"query": query, "k": k})

    async def debug_prompt(self, message: str) -> dict:
        return await self._json("POST", "/api/debug/prompt", json={"message": message}, headers=self._admin())

    async def log_export(self) -> str:
        try:
            r = await self.http.get("/api/admin/log", params={"format": "jsonl"}, headers=self._admin())
        except httpx.HTTPError as e:
            raise ServiceError(f"cannot reach AskDesk at {self.url}: {e}") from e
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
        t0 = time.perf_counter()
        parts: list[str] = []
        try:
            async with self.http.stream("POST", "/api/chat", json=body) as r:
                res.status = r.status_code
                if r.status_code >= 400:
                    await r.aread()
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
