"""`askdesk eval run` against a rate-limited AskDesk: the real app (its limiter, its OpenAI-style 429
with Retry-After) over the ingested sample knowledge base, served by uvicorn on a loopback port,
driven by the `askdesk` command in its own process. The LLM is the scripted model
(tests/request_path_fixtures.py): the rate limit is what is under test, not the answers. The same
against a real `askdesk serve` process configured by environment: test_throttle_live.py (slow)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import free_port, run_askdesk
from tests.live_server import serve_in_thread
from tests.request_path_fixtures import API_KEY, BACKEND, request_path_settings

pytest_plugins = ["tests.request_path_fixtures"]

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
LIMIT = "5/second"


def small_dataset(tmp: Path, n: int = 8) -> Path:
    """The first ``n`` questions of the labelled set, in a file of their own."""
    rows = [x for x in (DATASETS / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    p = tmp / "small.jsonl"
    p.write_text("\n".join(rows[:n]) + "\n", encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def limited_service(ingested_sample_kb, embedders, tmp_path_factory) -> Iterator[str]:
    """The real app at ASKDESK_RATE_LIMIT=5/second for its one API key (nothing exempt)."""
    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring
    from tests.scripted_model import ScriptedChatModel

    db = tmp_path_factory.mktemp("throttle") / "askdesk.db"
    s = request_path_settings(ingested_sample_kb, db).model_copy(
        update={"rate_limit": LIMIT, "rate_limit_exempt_keys": []}
    )

    def build_state(settings: Settings):
        store = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        return wiring.build_state(settings, chat_models={BACKEND: ScriptedChatModel()}, store=store)

    with serve_in_thread(create_app(s, build_state), free_port()) as url:
        yield url


def eval_run(url: str, tmp: Path, *extra: str):
    out = tmp / "report"
    r = run_askdesk("eval", "run", str(small_dataset(tmp)), "--url", url, "--api-key", API_KEY,
                    "--concurrency", "4", "--no-similarity", "--no-plots", "--out", str(out), *extra,
                    cwd=tmp, timeout=300)  # fmt: skip
    report = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").exists() else None
    return r, report


def test_eval_waits_out_the_rate_limit_and_every_request_succeeds(limited_service, tmp_path):
    r, rep = eval_run(limited_service, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m, records = rep["report"]["metrics"], rep["records"]
    assert len(records) == 8
    assert all(x["chat"]["ok"] for x in records), [x["chat"]["error"] for x in records]
    assert all(x.get("search") and not x.get("search_error") for x in records)
    assert m["answers.errors"] == 0 and m["retrieval.errors"] == 0
    # 16 requests and /v1/models at 4 in flight against 5 a second: the limiter said 429, and waiting
    # out its Retry-After got every one through
    th = rep["meta"]["throttle"]
    assert th["throttled"] > 0 and th["retries"] >= th["throttled"] and th["gave_up"] == 0
    assert m["answers.throttled"] + m["retrieval.throttled"] > 0
    assert m["answers.throttled_failed"] == 0 and m["retrieval.throttled_failed"] == 0
    assert f"throttled: {th['throttled']} requests got HTTP 429" in r.stdout
    assert "exempt" not in r.stderr
    # a throttled answer's latency is the answered attempt's, not the wait (Retry-After is >= 1 s)
    waited = [x["chat"] for x in records if x["chat"]["throttle_retries"]]
    assert all(c["total_ms"] < 1000 for c in waited), [c["total_ms"] for c in waited]
    md = (tmp_path / "report.md").read_text()
    assert "Rate limited:" in md and "throttled (HTTP 429, waited out and retried)" in md


def test_retries_exhausted_is_a_throttled_error_with_one_line_of_advice(limited_service, tmp_path):
    r, rep = eval_run(limited_service, tmp_path, "--max-retries", "0")
    assert r.returncode == 0, r.stderr[-3000:]
    m, records = rep["report"]["metrics"], rep["records"]
    kinds = {x["chat"]["error_kind"] for x in records} | {x.get("search_error_kind") for x in records}
    assert "throttled" in kinds
    gave_up = m["answers.throttled_failed"] + m["retrieval.throttled_failed"]
    assert gave_up > 0 and m["answers.errors"] == 0 and m["retrieval.errors"] == 0
    assert all(
        x["chat"]["status"] == 429 and "rate_limit_exceeded" in x["chat"]["error"]
        for x in records
        if x["chat"]["error_kind"] == "throttled"
    )
    advice = [x for x in r.stderr.splitlines() if "ASKDESK_RATE_LIMIT_EXEMPT_KEYS" in x]
    assert len(advice) == 1 and "--api-key" in advice[0], r.stderr
    assert "still refused after the retries" in r.stdout
