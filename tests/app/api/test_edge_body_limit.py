"""The request-size limit holds for the bytes actually received, chunked bodies included: a real
uvicorn server on 127.0.0.1 and real chunked requests (httpx with a generator body), with a counter
between the server and the app that sees how many body bytes the app took in."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import httpx
import pytest

from app.api.main import create_app
from app.settings import LLMBackend, Settings
from askdesk.wiring import build_state
from tests.conftest import free_port
from tests.live_server import serve_in_thread
from tests.scripted_model import ScriptedChatModel

LIMIT = 64 * 1024
AUTH = {"Authorization": "Bearer sk-a"}
JSON = {**AUTH, "content-type": "application/json"}
TEXT = {**AUTH, "content-type": "text/plain"}
ADMIN = {"X-Admin-Key": "adm"}


class Server:
    def __init__(self, url: str) -> None:
        self.url = url
        self.received = 0  # body bytes the app has taken from the server, all requests

    def reset(self) -> None:
        self.received = 0


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    port = free_port()
    settings = Settings(
        _env_file=None, data_dir=tmp_path_factory.mktemp("data"), port=port, api_keys=["sk-a"],
        admin_key="adm", max_request_bytes=LIMIT, max_upload_mb=1,
        embedding_models=["sentence-transformers/all-MiniLM-L6-v2"],
        llm_backends=[LLMBackend(name="scripted", base_url="http://127.0.0.1:9/v1", model="m", timeout_s=5)],
    )  # fmt: skip
    app = create_app(settings, partial(build_state, chat_models={"scripted": ScriptedChatModel()}))
    srv = Server(f"http://127.0.0.1:{port}")

    async def counting(scope, receive, send):
        async def counted():
            message = await receive()
            if message["type"] == "http.request":
                srv.received += len(message.get("body", b""))
            return message

        await app(scope, counted, send)

    with serve_in_thread(counting, port):
        yield srv


def chunks(head: bytes, total: int, tail: bytes = b"", size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body (no Content-Length): head, then `total` bytes of filler, then tail."""
    yield head
    for _ in range(total // size):
        yield b"x" * size
    yield tail


def post(url: str, body, headers: dict) -> httpx.Response | None:
    """The response, or None when the server closed the connection while the client still sent
    (it answered and stopped reading: fine, the body was not taken in)."""
    try:
        return httpx.post(url, content=body, headers=headers, timeout=60)
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def assert_413(r: httpx.Response | None) -> None:
    if r is None:
        return
    assert r.status_code == 413, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["code"] == "request_too_large" and err["type"] == "invalid_request_error", err


@pytest.mark.parametrize("path,head,tail", [
    ("/api/search", b'{"query": "', b'"}'),
    ("/v1/chat/completions", b'{"model": "askdesk", "messages": [{"role": "user", "content": "', b'"}]}'),
    ("/api/chat", b'{"message": "', b'"}'),
])  # fmt: skip
def test_chunked_json_body_over_the_limit_is_a_413_and_is_not_read_whole(server, path, head, tail):
    """A 50 MB chunked POST was read whole (the limit only read Content-Length): the app took in
    at most the limit and one chunk."""
    server.reset()
    r = post(server.url + path, chunks(head, 50 * 1024 * 1024, tail), JSON)
    assert_413(r)
    assert server.received <= LIMIT + 1024 * 1024, server.received


def test_chunked_non_json_body_over_the_limit_is_a_413(server):
    server.reset()
    r = post(server.url + "/api/search", chunks(b"", 20 * 1024 * 1024), TEXT)
    assert_413(r)
    assert server.received <= LIMIT + 1024 * 1024, server.received


def test_declared_length_over_the_limit_is_a_413_before_reading(server):
    server.reset()
    r = post(server.url + "/api/search", b'{"query": "' + b"x" * (LIMIT + 10) + b'"}', JSON)
    assert_413(r)
    assert server.received == 0


def test_a_body_under_the_limit_still_works_chunked(server):
    r = post(server.url + "/api/search", chunks(b'{"query": "vpn', 0, b'"}'), JSON)
    assert r is not None and r.status_code != 413, r.text  # 200, or 503 on this empty knowledge base
    assert r.status_code in (200, 503), r.text


def _multipart(size: int) -> tuple[Iterator[bytes], str]:
    boundary = "askdesk-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.md\"\r\n"
            "Content-Type: text/markdown\r\n\r\n# Big\n\n").encode()  # fmt: skip
    return chunks(head, size, f"\r\n--{boundary}--\r\n".encode()), f"multipart/form-data; boundary={boundary}"


def test_uploads_keep_their_larger_limit(server):
    """/api/admin/sources takes files up to max_upload_mb (1 MB here), far over max_request_bytes,
    and refuses a chunked upload past it as soon as it passes."""
    body, ctype = _multipart(128 * 1024)
    r = post(server.url + "/api/admin/sources", body, {**ADMIN, "content-type": ctype})
    assert r is not None and r.status_code != 413, (r.status_code, r.text[:300])
    server.reset()
    body, ctype = _multipart(40 * 1024 * 1024)
    assert_413(post(server.url + "/api/admin/sources", body, {**ADMIN, "content-type": ctype}))
    assert server.received <= 1024 * 1024 + 64 * 1024 + 1024 * 1024, server.received
