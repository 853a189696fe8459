"""`askdesk eval` against the real service: a real `askdesk serve` over the sample knowledge base with
a real llama.cpp engine (tests/service_fixtures.py), driven through the CLI as users run it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import run_askdesk

if importlib.util.find_spec("tests.service_fixtures") is None:  # the service fixture lands separately
    pytest.skip(
        "tests/service_fixtures.py (askdesk_service fixture) is not in the tree yet", allow_module_level=True
    )

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]

pytestmark = [pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(1800)]

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
ROOT = DATASETS.parents[1]


def askdesk(*args: str, cwd: Path):
    return run_askdesk(*args, cwd=cwd, timeout=1500)


def _small_dataset(tmp: Path) -> Path:
    """A mix the sample KB can answer: FAQ-labelled, document-labelled, unanswerable; + 1 conversation."""
    rows = [json.loads(x) for x in (DATASETS / "questions.jsonl").read_text().splitlines() if x.strip()]
    pick = (
        [r for r in rows if r.get("expected_faq_ids") and r.get("answerable")][:5]
        + [r for r in rows if r.get("expected_sources")][:3]
        + [r for r in rows if r.get("answerable") is False][:3]
    )
    conv = json.loads((DATASETS / "conversations.jsonl").read_text().splitlines()[0])
    p = tmp / "small.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*pick, conv]))
    return p


def test_eval_run_reports_gates_and_compare(askdesk_service, tmp_path: Path):
    svc = askdesk_service
    data = _small_dataset(tmp_path)
    key = ["--api-key", svc.exempt_key]  # rate-limit exempt: an eval sends two requests a question
    r = askdesk(
        "eval",
        "run",
        str(data),
        "--url",
        svc.url,
        *key,
        "--concurrency",
        "2",
        "--out",
        str(tmp_path / "first"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / "first.json").read_text())
    records, m = rep["records"], rep["report"]["metrics"]
    assert len(records) == 11 + 2
    assert m["answers.errors"] == 0, [x["chat"]["error"] for x in records if not x["chat"]["ok"]]
    assert all(x["chat"]["mode"] in ("faq", "rag", "no_answer", "extract") for x in records)
    assert all(x["chat"]["ttft_ms"] > 0 and x["chat"]["total_ms"] >= x["chat"]["ttft_ms"] for x in records)
    assert all(x["search"]["hits"] for x in records if x["turn"] == 0)
    assert 0 <= m["retrieval.hit@1"] <= 1 and m["retrieval.mrr"] >= m["retrieval.hit@1"] - 1e-9
    assert rep["meta"]["engine_models"] and rep["meta"]["resources"]["cpu_percent"]["samples"] > 0
    turn2 = [x for x in records if x["turn"] == 1]
    assert (
        turn2
        and turn2[0]["chat"]["session_id"]
        == next(x for x in records if x["conversation"] == turn2[0]["conversation"] and x["turn"] == 0)[
            "chat"
        ]["session_id"]
    )
    html = (tmp_path / "first.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    md = (tmp_path / "first.md").read_text()
    assert "## Retrieval" in md and "## Latency" in md and "Engine:" in md

    # a gate that cannot pass exits non-zero; --compare prints the regression table
    r = askdesk(
        "eval",
        "run",
        str(data),
        "--url",
        svc.url,
        *key,
        "--no-chat",
        "--out",
        str(tmp_path / "second"),
        "--compare",
        str(tmp_path / "first.json"),
        "--fail-under",
        "retrieval.hit@1=1.01",
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "gate failed: retrieval.hit@1" in r.stderr
    assert "compared with" in r.stdout and "retrieval.hit@1" in r.stdout


def test_eval_coverage_groups_uncovered_questions(askdesk_service, tmp_path: Path):
    svc = askdesk_service
    rows = [json.loads(x) for x in (DATASETS / "questions.jsonl").read_text().splitlines() if x.strip()]
    covered = [r["query"] for r in rows if r.get("answerable")][:4]
    uncovered = [
        "do we have a sabbatical program?",
        "is there a sabbatical leave policy",
        "can I bring my dog to the office?",
    ]
    q = tmp_path / "questions.txt"
    q.write_text("\n".join(covered + uncovered + uncovered[:1]) + "\n")
    key = ["--api-key", svc.exempt_key]  # rate-limit exempt: an eval sends two requests a question
    r = askdesk(
        "eval", "coverage", str(q), "--url", svc.url, *key, "--out", str(tmp_path / "cov"), cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads((tmp_path / "cov.json").read_text())
    assert rep["summary"]["questions"] == 8 and rep["summary"]["distinct"] == 7
    assert rep["summary"]["uncovered"] >= 1
    csv = (tmp_path / "cov.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("cluster_id,size") and len(csv) == 1 + len(rep["clusters"])

    if svc.admin_key:  # the service's own log export as the question source
        r = askdesk(
            "eval",
            "coverage",
            "--from-log",
            "--url",
            svc.url,
            *key,
            "--admin-key",
            svc.admin_key,
            "--out",
            str(tmp_path / "cov-log"),
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr[-3000:]
