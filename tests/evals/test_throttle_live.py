"""`askdesk eval run` against a real `askdesk serve` process rate-limited by its environment
(ASKDESK_RATE_LIMIT=5/second), over the ingested sample knowledge base, answering through a real
llama.cpp engine (tests/service_fixtures.py). The fast twin over the in-process app is
test_throttle_service.py."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from askdesk.process import start_service
from tests.conftest import free_port, run_askdesk
from tests.evals.test_throttle_service import small_dataset
from tests.service_fixtures import service_env

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]

pytestmark = [pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def limited_serve(ingested_sample_kb, llamacpp_engine, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = service_env(ingested_sample_kb, port, llamacpp_engine.base_url, llamacpp_engine.model,
                      ASKDESK_RATE_LIMIT="5/second")  # fmt: skip
    proc = start_service(env, port, tmp_path_factory.mktemp("logs") / "askdesk-serve.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _faq_only(tmp: Path) -> Path:
    """Questions with a curated answer (no LLM time), so the run is about the limit."""
    src = small_dataset(tmp, n=40)
    rows = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("expected_faq_ids") and r.get("answerable")][:8]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return src


def _run(url: str, tmp: Path, *extra: str):
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / "report"
    # "sk-test-key" is service_env's API key; "sk-exempt-key" would not be limited at all
    r = run_askdesk("eval", "run", str(_faq_only(tmp)), "--url", url, "--api-key", "sk-test-key",
                    "--concurrency", "4", "--no-similarity", "--no-plots", "--out", str(out), *extra,
                    cwd=tmp, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return r, json.loads(out.with_suffix(".json").read_text())


def test_eval_against_a_rate_limited_serve_process(limited_serve, tmp_path):
    r, rep = _run(limited_serve, tmp_path / "ok")
    records, m, th = rep["records"], rep["report"]["metrics"], rep["meta"]["throttle"]
    assert len(records) == 8 and all(x["chat"]["ok"] for x in records), [x["chat"]["error"] for x in records]
    assert m["answers.errors"] == 0 and m["retrieval.errors"] == 0
    assert th["throttled"] > 0 and th["gave_up"] == 0
    assert m["answers.throttled"] + m["retrieval.throttled"] > 0 and "requests got HTTP 429" in r.stdout

    r, rep = _run(limited_serve, tmp_path / "exhausted", "--max-retries", "0")
    m = rep["report"]["metrics"]
    assert m["answers.throttled_failed"] + m["retrieval.throttled_failed"] > 0
    assert m["answers.errors"] == 0 and m["retrieval.errors"] == 0
    assert any(x["chat"]["error_kind"] == "throttled" or x.get("search_error_kind") == "throttled"
               for x in rep["records"])  # fmt: skip
    assert sum("ASKDESK_RATE_LIMIT_EXEMPT_KEYS" in x for x in r.stderr.splitlines()) == 1
