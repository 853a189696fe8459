"""The one exception the client raises: an HTTP refusal in OpenAI's error shape, or a failure to talk
to the service at all."""

from __future__ import annotations

import httpx


class AskDeskError(Exception):
    """A request that did not succeed.

    `status` is the HTTP status (None when no response came); `code`, `message`, `type` and `param`
    are the fields of the service's OpenAI-style error body (`{"error": {...}}`). Without a response
    `code` is "timeout" or "connection_error"; a response that is not AskDesk's error body (a proxy's
    502 page) gets `code` "http_<status>"; a stream that ends before its `done` or `error` event gets
    "stream_incomplete". `retry_after` is the Retry-After of a 429, in seconds."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 type: str | None = None, param: str | None = None, retry_after: float | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.param = param
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.message} ({where}, code={self.code})"

    @classmethod
    def from_response(cls, r: httpx.Response) -> AskDeskError:
        """The error a non-2xx response carries (its body must have been read)."""
        retry = r.headers.get("retry-after")
        retry_after = float(retry) if retry and retry.isdigit() else None
        try:
            err = r.json()["error"]
            message, code = str(err["message"]), err.get("code")
            kind, param = err.get("type"), err.get("param")
        except (ValueError, KeyError, TypeError):  # not AskDesk's error body
            message = r.text.strip()[:300] or r.reason_phrase
            code, kind, param = f"http_{r.status_code}", None, None
        return cls(message, status=r.status_code, code=code, type=kind, param=param, retry_after=retry_after)

    @classmethod
    def from_transport(cls, e: httpx.TransportError) -> AskDeskError:
        code = "timeout" if isinstance(e, httpx.TimeoutException) else "connection_error"
        return cls(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__, code=code)
