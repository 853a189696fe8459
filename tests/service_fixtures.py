"""Reusable pytest plugin: a real AskDesk service for end-to-end tests.

    pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]

    def test_x(askdesk_service):
        askdesk_service.url        # http://127.0.0.1:PORT
        askdesk_service.api_key    # Bearer key (keys are enforced in this service)
        askdesk_service.exempt_key # a rate-limit-exempt key (evals, load tests)
        askdesk_service.admin_key  # X-Admin-Key

The service is the real `askdesk serve` process, serving the sample knowledge base (knowledge/)
ingested into real Chroma on a temp dir, answering through a real llama.cpp engine process
(SmolLM2-135M: the only LLM weights that ship offline). Started once per test session.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from askdesk.process import start_service
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"


class WebhookReceiver:
    """A real HTTP endpoint that records what AskDesk's handoff webhook POSTs to it."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                calls.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@dataclass
class Service:
    url: str
    api_key: str
    exempt_key: str
    admin_key: str
    data_dir: Path
    engine_url: str
    engine_model: str
    env: dict = field(repr=False, default_factory=dict)
    webhook: WebhookReceiver | None = field(repr=False, default=None)
    proc: subprocess.Popen | None = field(repr=False, default=None)

    def headers(self, key: str | None = None) -> dict:
        return {"Authorization": f"Bearer {key or self.api_key}"}


def service_env(data_dir: Path, port: int, engine_url: str, engine_model: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update({
        "ASKDESK_DATA_DIR": str(data_dir),
        "ASKDESK_PORT": str(port),
        "ASKDESK_API_KEYS": json.dumps(["sk-test-key"]),
        "ASKDESK_RATE_LIMIT_EXEMPT_KEYS": json.dumps(["sk-exempt-key"]),
        "ASKDESK_ADMIN_KEY": "admin-test-key",
        "ASKDESK_RATE_LIMIT": "120/minute",
        "ASKDESK_LLM_BACKENDS": json.dumps([{"name": "llamacpp", "base_url": engine_url, "model": engine_model,
                                            "role": "cpu", "timeout_s": 120}]),
        "ASKDESK_WIDGET_KEYS": json.dumps(["pk_demo_local"]),  # keys are set: no implicit demo widget key
        "ASKDESK_WIDGET_ORIGINS": json.dumps([f"http://127.0.0.1:{port}", f"http://localhost:{port}"]),
        "ASKDESK_WIDGET_IDENTITY_SECRET": "widget-identity-test-secret-32-bytes-long",
    })  # fmt: skip
    env.update(extra)
    return env


@contextlib.contextmanager
def app_on_scripted_model(data_dir: Path, models_dir: Path, answer: str, name: str, loop: str = "", **settings):
    """The app in-process (TestClient runs the real lifespan) over `data_dir`, answering through a
    real llama.cpp process that serves the tiny Qwen3-architecture fixture model built to reply
    `answer` every time (then `loop` over and over, if given) (serving/fixtures): for paths that
    need the model to say one thing on cue. Bearer key "sk-a", exempt from rate limits; `settings`
    on top."""
    from fastapi.testclient import TestClient

    from app.settings import LLMBackend, Settings
    from askdesk.wiring import service
    from serving.fixtures.thinking_model import build
    from tests.engine_fixtures import start_llamacpp_process

    model = build(models_dir / name, answer=answer, loop=loop)
    proc = start_llamacpp_process(str(model.gguf_path), served_name=name)
    try:
        backend = LLMBackend(name=name, base_url=proc.base_url, model=proc.served_name, timeout_s=60)
        s = Settings(_env_file=None, data_dir=data_dir, llm_backends=[backend], api_keys=["sk-a"],
                     rate_limit_exempt_keys=["sk-a"], **settings)  # fmt: skip
        with TestClient(service(s)) as c:
            yield c
    finally:
        proc.stop()


def parse_sse(lines) -> list[tuple[str, dict]]:
    """(event, data) pairs of an /api/chat event stream."""
    events, kind = [], None
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[6:])))
    return events


def stream_events(client, headers: dict, body: dict) -> list[tuple[str, dict]]:
    """(event, data) pairs of a streamed POST /api/chat through a TestClient."""
    with client.stream("POST", "/api/chat", headers=headers, json={**body, "stream": True}) as r:
        assert r.status_code == 200, r.read()
        return parse_sse(r.iter_lines())


@pytest.fixture(scope="session")
def ingested_sample_kb(tmp_path_factory, embedders) -> Path:
    """knowledge/ ingested once per session into a temp data dir (real Chroma, real models)."""
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from app.settings import Settings
    from ingest.pipeline import run_ingest

    data_dir = tmp_path_factory.mktemp("askdesk-data")
    s = Settings(_env_file=None, data_dir=data_dir)
    store = ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection)
    report = run_ingest([KNOWLEDGE], store, s)
    assert not report.failed, report.failed
    return data_dir


@pytest.fixture(scope="session")
def askdesk_service(ingested_sample_kb, llamacpp_engine, tmp_path_factory) -> Iterator[Service]:
    port = free_port()
    hook = WebhookReceiver()
    env = service_env(ingested_sample_kb, port, llamacpp_engine.base_url, llamacpp_engine.model,
                      ASKDESK_HANDOFF_WEBHOOK_URL=hook.url,
                      ASKDESK_TICKET_URL="https://helpdesk.example.com/new?ref={reference}")  # fmt: skip
    log_path = tmp_path_factory.mktemp("logs") / "askdesk-serve.log"
    proc = start_service(env, port, log_path)
    svc = Service(url=f"http://127.0.0.1:{port}", api_key="sk-test-key", exempt_key="sk-exempt-key",
                  admin_key="admin-test-key", data_dir=ingested_sample_kb, engine_url=llamacpp_engine.base_url,
                  engine_model=llamacpp_engine.model, env=env, proc=proc, webhook=hook)  # fmt: skip
    try:
        yield svc
    finally:
        hook.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
