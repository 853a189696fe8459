"""Clients for AskDesk's REST API: `AskDeskClient` (sync) and `AsyncAskDeskClient` (asyncio).

    with AskDeskClient("http://127.0.0.1:8000", api_key="sk-...") as desk:
        a = desk.ask("How do I connect to the VPN from home?")
        print(a.answer, [s.id for s in a.sources])
        for ev in desk.stream("and from abroad?", session_id=a.session_id):
            if ev.kind == "token":
                print(ev.text, end="")

Both take the service's URL, an API key (sent as `Authorization: Bearer`), a timeout (seconds, or an
`httpx.Timeout`; the default gives an answer 120 s and a connection 10 s), and optionally an
`httpx.Client` / `httpx.AsyncClient` of your own instead: its transport, proxies, pool and timeout are
used, and closing it is left to you. Every failure is an `AskDeskError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any, Literal, Self, TypeVar

import httpx
from pydantic import BaseModel

from askdesk_client.errors import AskDeskError
from askdesk_client.types import (
    Answer,
    DoneEvent,
    ErrorEvent,
    Handoff,
    Recorded,
    SearchResult,
    StreamEvent,
    to_event,
)

__version__ = "0.1.0"

# answers on CPU engines take seconds to tens of seconds; a dead address should fail fast
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_URL = "http://127.0.0.1:8000"
Timeout = float | httpx.Timeout | None
M = TypeVar("M", bound=BaseModel)


def _chat_body(message: str, session_id: str | None, enable_thinking: bool, return_reasoning: bool,
               user_token: str | None, stream: bool) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {"message": message, "stream": stream}
    if session_id is not None:
        body["session_id"] = session_id
    if enable_thinking:
        body["enable_thinking"] = True
    if return_reasoning:
        body["return_reasoning"] = True
    if user_token is not None:
        body["user_token"] = user_token
    return body


def _optional(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


@contextmanager
def _transport_errors() -> Iterator[None]:
    """httpx's connection and timeout errors as AskDeskError (works around `await`s too)."""
    try:
        yield
    except httpx.TransportError as e:
        raise AskDeskError.from_transport(e) from e


class _SSE:
    """Server-sent events from lines: (event, data) once a blank line ends an event."""

    def __init__(self) -> None:
        self.kind = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> StreamEvent | None:
        if line == "":
            kind, data = self.kind, "\n".join(self.data)
            self.kind, self.data = "message", []
            if not data:
                return None
            try:
                return to_event(kind, json.loads(data))
            except ValueError as e:  # also pydantic's ValidationError
                raise AskDeskError(f"unreadable {kind!r} event: {e}", code="invalid_event") from e
        if line.startswith(":"):  # a comment (keep-alive)
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.kind = value
        elif field == "data":
            self.data.append(value)
        return None


async def _lines(r: httpx.Response) -> AsyncIterator[str]:
    async for line in r.aiter_lines():
        yield line
    yield ""  # the last event counts without a blank line after it


class _Base:
    def __init__(self, base_url: str, api_key: str | None, headers: dict[str, str] | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": f"askdesk-client/{__version__}", "Accept": "application/json",
                        **(headers or {})}  # fmt: skip
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @staticmethod
    def _parse(model: type[M], r: httpx.Response) -> M:
        """The body of a successful response as `model`; anything else is an AskDeskError."""
        if not r.is_success:
            raise AskDeskError.from_response(r)
        try:
            return model(**r.json())
        except (ValueError, TypeError) as e:  # not JSON (a proxy's page), or not this shape
            raise AskDeskError(f"unexpected {model.__name__} body: {str(e)[:200]}", status=r.status_code,
                               code="invalid_response") from e  # fmt: skip

    @staticmethod
    def _stream_status(r: httpx.Response) -> None:
        if not r.headers.get("content-type", "").startswith("text/event-stream"):
            raise AskDeskError(f"expected an event stream, got {r.headers.get('content-type')!r}",
                               status=r.status_code, code="invalid_response")  # fmt: skip


class AskDeskClient(_Base):
    """A synchronous client; use it as a context manager, or call `close()`."""

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str | None = None, *, timeout: Timeout = DEFAULT_TIMEOUT,
                 headers: dict[str, str] | None = None, http_client: httpx.Client | None = None) -> None:  # fmt: skip
        super().__init__(base_url, api_key, headers)
        self._own = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any], model: type[M]) -> M:
        with _transport_errors():
            r = self._http.post(self._url(path), json=body, headers=self.headers)
        return self._parse(model, r)

    def ask(self, message: str, session_id: str | None = None, *, enable_thinking: bool = False,
            return_reasoning: bool = False, user_token: str | None = None) -> Answer:  # fmt: skip
        """The whole answer (POST /api/chat). `session_id` continues a conversation; `user_token`
        is the host site's signed identity for the user."""
        body = _chat_body(message, session_id, enable_thinking, return_reasoning, user_token, stream=False)
        return self._post("/api/chat", body, Answer)

    def stream(self, message: str, session_id: str | None = None, *, enable_thinking: bool = False,
               return_reasoning: bool = False, user_token: str | None = None) -> Iterator[StreamEvent]:  # fmt: skip
        """The answer as it is written: a `SourcesEvent`, `TokenEvent`s (and `ReasoningEvent`s),
        then a `DoneEvent` or an `ErrorEvent` (a failure after the start, with the text to show the
        user). A refusal before the start (auth, limits, a bad request) raises AskDeskError, as does a
        stream that ends without its last event. To stop early, `close()` the iterator: that closes
        the connection, and the service stops the engine's answer."""
        body = _chat_body(message, session_id, enable_thinking, return_reasoning, user_token, stream=True)
        headers = {**self.headers, "Accept": "text/event-stream"}
        with (
            _transport_errors(),
            self._http.stream("POST", self._url("/api/chat"), json=body, headers=headers) as r,
        ):
            if not r.is_success:
                r.read()
                raise AskDeskError.from_response(r)
            self._stream_status(r)
            sse = _SSE()
            for line in chain(r.iter_lines(), [""]):  # "": the last event counts without a blank line
                ev = sse.feed(line)
                if ev is not None:
                    yield ev
                    if isinstance(ev, (DoneEvent, ErrorEvent)):
                        return
        raise AskDeskError("the answer stream ended before its done or error event", code="stream_incomplete")

    def search(self, query: str, k: int = 5) -> SearchResult:
        """Ranked knowledge-base entries for `query` (POST /api/search), no LLM involved."""
        return self._post("/api/search", {"query": query, "k": k}, SearchResult)

    def handoff(
        self, session_id: str, message_id: str | None = None, *, user_token: str | None = None
    ) -> Handoff:
        """Open a ticket for a person (POST /api/handoff) with the session's transcript."""
        body = {"session_id": session_id, **_optional(message_id=message_id, user_token=user_token)}
        return self._post("/api/handoff", body, Handoff)

    def feedback(self, message_id: str, rating: Literal["up", "down"], comment: str | None = None) -> None:
        """Rate an answer (POST /api/feedback)."""
        body = {"message_id": message_id, "rating": rating, **_optional(comment=comment)}
        self._post("/api/feedback", body, Recorded)


class AsyncAskDeskClient(_Base):
    """The asyncio client: the same methods, awaited (`stream` is an async iterator)."""

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str | None = None, *, timeout: Timeout = DEFAULT_TIMEOUT,
                 headers: dict[str, str] | None = None, http_client: httpx.AsyncClient | None = None) -> None:  # fmt: skip
        super().__init__(base_url, api_key, headers)
        self._own = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _post(self, path: str, body: dict[str, Any], model: type[M]) -> M:
        with _transport_errors():
            r = await self._http.post(self._url(path), json=body, headers=self.headers)
        return self._parse(model, r)

    async def ask(self, message: str, session_id: str | None = None, *, enable_thinking: bool = False,
                  return_reasoning: bool = False, user_token: str | None = None) -> Answer:  # fmt: skip
        """See AskDeskClient.ask."""
        body = _chat_body(message, session_id, enable_thinking, return_reasoning, user_token, stream=False)
        return await self._post("/api/chat", body, Answer)

    async def stream(self, message: str, session_id: str | None = None, *, enable_thinking: bool = False,
                     return_reasoning: bool = False, user_token: str | None = None) -> AsyncIterator[StreamEvent]:  # fmt: skip
        """See AskDeskClient.stream. To stop early, iterate inside `contextlib.aclosing(...)`: an async
        generator left unfinished keeps its connection until it is collected."""
        body = _chat_body(message, session_id, enable_thinking, return_reasoning, user_token, stream=True)
        headers = {**self.headers, "Accept": "text/event-stream"}
        with _transport_errors():
            async with self._http.stream("POST", self._url("/api/chat"), json=body, headers=headers) as r:
                if not r.is_success:
                    await r.aread()
                    raise AskDeskError.from_response(r)
                self._stream_status(r)
                sse = _SSE()
                async for line in _lines(r):
                    ev = sse.feed(line)
                    if ev is not None:
                        yield ev
                        if isinstance(ev, (DoneEvent, ErrorEvent)):
                            return
        raise AskDeskError("the answer stream ended before its done or error event", code="stream_incomplete")

    async def search(self, query: str, k: int = 5) -> SearchResult:
        """See AskDeskClient.search."""
        return await self._post("/api/search", {"query": query, "k": k}, SearchResult)

    async def handoff(
        self, session_id: str, message_id: str | None = None, *, user_token: str | None = None
    ) -> Handoff:
        """See AskDeskClient.handoff."""
        body = {"session_id": session_id, **_optional(message_id=message_id, user_token=user_token)}
        return await self._post("/api/handoff", body, Handoff)

    async def feedback(
        self, message_id: str, rating: Literal["up", "down"], comment: str | None = None
    ) -> None:
        """See AskDeskClient.feedback."""
        body = {"message_id": message_id, "rating": rating, **_optional(comment=comment)}
        await self._post("/api/feedback", body, Recorded)
