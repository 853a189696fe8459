"""What every request (and the lifespan) passes before FastAPI routes it: pure ASGI middlewares.

- ``RequestBodyGuard``: the request-size limit on the bytes actually received (a chunked body has
  no Content-Length), and no lone UTF-16 surrogates in JSON bodies.
- ``LocalOnlyWithoutKeys``: without API keys, only requests that reached a loopback address.
- ``SecurityHeaders``: nosniff and Referrer-Policy on every response, a CSP on HTML pages.
- ``OneLineStartupFailure``: a refused startup reads as one line, not as a traceback.

Why not Starlette/FastAPI's own ``max_body_size`` (Starlette 1.x ``RequestBodyLimitMiddleware``):
it answers a declared-too-long body with a plain-text 413 that replaces whatever response the app
sends (so never our OpenAI-style error body), and its per-path limits are fixed in the route
decorators, while the upload limit here comes from the settings.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_body


# --- request size and JSON text -------------------------------------------------------------------
class BodyTooLarge(HTTPException):
    """Raised from ``receive`` into the app once the body passes the limit. FastAPI re-raises an
    HTTPException met while it reads a body, so app/api/errors.py answers it (413, OpenAI-style)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class RequestBodyGuard:
    """Counts the body bytes as they arrive and stops at ``limit_for(path)``: a declared
    Content-Length over it is refused before anything is read, a chunked body as soon as the count
    passes it, so memory never holds more than the limit (and one chunk).

    A JSON body (what FastAPI parses as JSON: application/json, application/*+json) is read here
    whole (it is under the limit, and FastAPI would read it whole anyway) and refused with a 400 if
    a string in it holds a lone surrogate (``"\\ud800"``): Python's json accepts those, and they fail
    later, at the first UTF-8 encode (database, response, SSE), as a 500 or a stream cut short.
    I-JSON (RFC 7493) forbids them; checking the JSON text covers every route, typed model or
    ``dict`` body alike."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _answer(scope, receive, send, 413, str(BodyTooLarge(limit).detail), "request_too_large")
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        if _is_json(headers.get("content-type")):
            try:
                body = await _read_all(counted)
            except BodyTooLarge as e:
                await _answer(scope, receive, send, 413, str(e.detail), "request_too_large")
                return
            if body is None:  # the client went away before it finished sending
                return
            where = lone_surrogate_path(body)
            if where is not None:
                message = f"{where or 'body'}: {LONE_SURROGATE}"
                await _answer(scope, receive, send, 400, message, "invalid_value", where or None)
                return
            await self.app(scope, _replay(body, receive), send)
            return

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, send_tracked)
        except Exception as e:  # the app let the 413 through (FastAPI itself answers it via errors.py)
            if started or not _only(e, BodyTooLarge):
                raise
            await _answer(scope, receive, send, 413, str(BodyTooLarge(limit).detail), "request_too_large")


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _read_all(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the server's own messages (a disconnect, for streamed answers)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _only(e: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(e, BaseExceptionGroup):
        return e.split(kind)[1] is None
    return isinstance(e, kind)


LONE_SURROGATE = "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff, not in a pair): send valid Unicode"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def lone_surrogate_path(body: bytes) -> str | None:
    """Where (``messages.0.content``; ``""`` for the top level) a JSON text holds a string with a
    lone surrogate, or None. Raw surrogate bytes are invalid UTF-8, which the JSON parser refuses
    itself; only a ``\\uD800``-style escape makes one, so bodies without such an escape are not parsed."""
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # not JSON: FastAPI says so
        return None
    stack: list[tuple[str, object]] = [("", doc)]
    while stack:  # iterative: a deeply nested document must not overflow this check
        path, value = stack.pop()
        if isinstance(value, str):
            if not _encodes(value):
                return path
        elif isinstance(value, dict):
            for k, v in value.items():
                p = f"{path}.{k}" if path else str(k)
                if not _encodes(k):
                    return p
                stack.append((p, v))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
    return None


def _encodes(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, message: str, code: str,
                  param: str | None = None, kind: str = "invalid_request_error") -> None:  # fmt: skip
    await JSONResponse(error_body(message, kind, code, param), status_code=status)(scope, receive, send)


# --- no keys: this machine only --------------------------------------------------------------------
def is_loopback(host: str | None) -> bool:
    """``host`` names this machine only (a loopback address or "localhost")."""
    if host is None:
        return False
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


class LocalOnlyWithoutKeys:
    """Without API keys the API is for this machine only. The app cannot see the address the server
    binds (uvicorn --host, gunicorn -b), but each connection carries the local address it reached
    (the ASGI ``server``): a request that reached a non-loopback address is refused, whichever entry
    started the server. A unix socket (no address) and the in-process test client count as local."""

    def __init__(self, app: ASGIApp, *, keyless: bool) -> None:
        self.app, self.keyless = app, keyless

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.keyless and scope["type"] == "http" and not _reached_loopback(scope):
            message = ("this AskDesk has no API keys, so it answers only on this machine's loopback address: "
                       "set ASKDESK_API_KEYS to serve other machines")  # fmt: skip
            await _answer(scope, receive, send, 403, message, "api_keys_required", kind="permission_error")
            return
        await self.app(scope, receive, send)


def _reached_loopback(scope: Scope) -> bool:
    server = scope.get("server")
    if not server:
        return True
    host = str(server[0])
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True  # not a socket address: a unix socket path, or Starlette's TestClient ("testserver")
    return is_loopback(host)


# --- security headers ------------------------------------------------------------------------------
_COMMON_CSP = ("default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
               "frame-ancestors 'none'")  # fmt: skip
# our pages: the demo page's own <style> and the widget's shadow-DOM <style> need inline styles
_PAGE_CSP = "img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'"
# /docs runs Swagger UI from this origin (app/static/swagger: no CDN, it works on an intranet without
# internet); it styles inline and shows data: images
_DOCS_CSP = "img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:"
_INLINE_SCRIPT = re.compile(rb"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def content_security_policy(html: bytes, *, docs: bool) -> str:
    """The CSP of one HTML page: scripts from this origin plus exactly the page's own inline
    scripts, by hash (FastAPI's docs page starts Swagger UI inline)."""
    hashes = []
    for m in _INLINE_SCRIPT.finditer(html):
        text = m.group(1).replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # as the HTML parser sees it
        hashes.append(f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'")
    script = " ".join(["'self'", *hashes])
    return f"{_COMMON_CSP}; script-src {script}; {_DOCS_CSP if docs else _PAGE_CSP}"


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every response; a
    Content-Security-Policy (with ``frame-ancestors 'none'``) on HTML pages only, never on
    /widget.js, which runs inside other sites' pages under their policy. An HTML response is held
    until its body is complete (our pages are a few KB) to hash its inline scripts."""

    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str]) -> None:
        self.app, self.docs_paths = app, docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", []))}
                headers = MutableHeaders(raw=message["headers"])
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if headers.get("content-type", "").lower().startswith("text/html"):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = b"".join(body)
                csp = content_security_policy(html, docs=scope["path"] in self.docs_paths)
                MutableHeaders(raw=held["headers"]).setdefault("Content-Security-Policy", csp)
                start, held = held, None
                await send(start)
                message = {"type": "http.response.body", "body": html, "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- startup ---------------------------------------------------------------------------------------
class OneLineStartupFailure:
    """When the lifespan raises, Starlette sends the server ``lifespan.startup.failed`` with the whole
    traceback, and uvicorn logs it. Send ``reason()`` instead (the lifespan's one-line "what failed,
    how to fix it"); an empty reason makes uvicorn log nothing (the caller prints it itself)."""

    def __init__(self, app: ASGIApp, *, reason: Callable[[], str | None]) -> None:
        self.app, self.reason = app, reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_reason(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                reason = self.reason()
                if reason is not None:
                    message = {**message, "message": reason}
            await send(message)

        await self.app(scope, receive, send_reason)
