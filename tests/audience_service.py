"""Reusable pytest plugin: a real `askdesk serve` over the audience test KB (tests/audience_kb.py),
answering through the real llama.cpp engine behind a capturing proxy, so a test reads the exact rag
context the service sent the engine process.

    pytest_plugins = ["tests.engine_fixtures", "tests.audience_service"]

    def test_x(audience_service):
        audience_service.url, .keys["hr"], .token("hr"), .proxy.bodies
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest

from askdesk.process import start_service
from tests import audience_kb as kb
from tests.conftest import free_port
from tests.service_fixtures import service_env

SECRET = "audience-engine-test-secret-32-bytes+"
KEYS = {"none": "sk-aud-none", "hr": "sk-aud-hr", "finance": "sk-aud-fin"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class CapturingProxy:
    """An HTTP proxy in front of the engine: forwards every request unchanged, streams the reply
    back as it comes, and records each POST body (the chat request: messages = the rag context)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:PORT (no /v1)
        self.bodies: list[dict] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self, body: bytes | None) -> None:
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,
                                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})  # fmt: skip
                try:
                    resp = urllib.request.urlopen(req, timeout=300)
                except urllib.error.HTTPError as e:
                    resp = e
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Connection", "close")  # the body ends when the connection does
                self.end_headers()
                while chunk := resp.read1(65536) if hasattr(resp, "read1") else resp.read():
                    self.wfile.write(chunk)
                    self.wfile.flush()

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._forward(None)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    proxy.bodies.append(json.loads(body))
                except ValueError:
                    proxy.bodies.append({"raw": body.decode("utf-8", "replace")})
                self._forward(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@dataclass
class AudienceService:
    url: str
    proxy: CapturingProxy
    admin_key: str
    keys: dict = field(default_factory=lambda: dict(KEYS))

    def token(self, name: str, **claims) -> str:
        body = {"sub": f"u-{name}", "name": name, "exp": int(time.time()) + 300,
                "audiences": list(kb.IDENTITIES[name])}  # fmt: skip
        return jwt.encode({**body, **claims}, SECRET, "HS256")

    def bad_tokens(self) -> dict[str, str]:
        now = int(time.time())
        claims = {"sub": "u-x", "exp": now + 300, "audiences": ["hr", "finance"]}
        return {
            "forged": jwt.encode(claims, "not-the-secret-but-32-bytes-long-too", "HS256"),
            "expired": jwt.encode({**claims, "exp": now - 3600, "iat": now - 3900}, SECRET, "HS256"),
            "wrong_audience": jwt.encode({**claims, "aud": "another-app"}, SECRET, "HS256"),
        }

    def bearer(self, name: str) -> dict:
        return {"Authorization": f"Bearer {self.keys[name]}"}


@pytest.fixture(scope="session")
def audience_service(llamacpp_engine, embedders, tmp_path_factory) -> Iterator[AudienceService]:
    base = tmp_path_factory.mktemp("aud-service")
    kb.ingest_kb(kb.write_kb(base / "kb"), base / "data", embedders)
    proxy = CapturingProxy(llamacpp_engine.base_url.removesuffix("/v1"))
    port = free_port()
    specs = [{"key": KEYS[n], "name": f"key-{n}", "audiences": list(kb.IDENTITIES[n])} for n in KEYS]
    env = service_env(
        Path(base / "data"), port, proxy.base_url, llamacpp_engine.model,
        ASKDESK_API_KEY_SPECS=json.dumps(specs), ASKDESK_RATE_LIMIT_EXEMPT_KEYS=json.dumps(list(KEYS.values())),
        ASKDESK_WIDGET_IDENTITY_SECRET=SECRET, ASKDESK_EXTRACTIVE_ANSWERS="false",
        ASKDESK_RAG_MAX_TOKENS="48",  # the context is what is checked; a short answer keeps it quick
        ASKDESK_SELF_CALIBRATION="false",
    )  # fmt: skip
    proc = start_service(env, port, base / "askdesk-serve.log")
    try:
        yield AudienceService(url=f"http://127.0.0.1:{port}", proxy=proxy, admin_key="admin-test-key")
    finally:
        proxy.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
