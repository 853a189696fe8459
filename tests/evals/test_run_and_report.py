"""Runner, scoring, reports and gates against the in-test stand-in (tests/evals/standin.py)."""

import asyncio
import json
from pathlib import Path

import pytest

from app.errors import BadRequest
from evals import report as R
from evals import scoring
from evals.cases import Case, Conversation, load_dataset, load_questions, questions_from_jsonl
from evals.run import RunOptions, run_cases
from tests.evals.standin import transport

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def _run(cases, convs):
    opts = RunOptions(url="http://askdesk.test", concurrency=3, transport=transport())
    return asyncio.run(run_cases(cases, convs, opts))


def _cases():
    cases = [
        Case(
            "q1",
            "my vpn keeps kicking me out",
            ["it-vpn-002"],
            answerable=True,
            lang="en",
            category="IT",
            expected_answer="sessions last at most 12 hours",
        ),
        Case(
            "q2",
            "how much annual leave",
            ["hr-leave-001"],
            answerable=True,
            lang="en",
            category="HR",
            expected_answer="12, 15 or 20 days depending on total work experience",
        ),
        Case("q3", "do we have a sabbatical program?", [], answerable=False, lang="en", category="HR"),
        Case("q4", "boom please", ["hr-leave-001"], answerable=True, lang="en", category="HR"),
    ]
    conv = Conversation(
        "c1",
        [
            Case("c1-0", "annual leave days?", ["hr-leave-001"], answerable=True, conversation="c1", turn=0),
            Case(
                "c1-1",
                "and can I carry them over?",
                ["hr-leave-001"],
                answerable=True,
                conversation="c1",
                turn=1,
                expected_answer="Up to 5 days",
            ),
        ],
    )
    return cases, [conv]


def test_run_scores_and_report(tmp_path: Path):
    records, meta = _run(*_cases())
    assert len(records) == 6
    assert meta["engine_models"][0]["model"] == "smollm2-135m"
    assert "small stand-in model" in R.model_note(meta)
    by = {r["id"]: r for r in records}
    assert by["q1"]["chat"]["mode"] == "faq" and by["q1"]["chat"]["ttft_ms"] > 0
    assert by["q2"]["chat"]["output_tokens"] == len(by["q2"]["chat"]["answer"].split(" "))
    assert by["q4"]["chat"]["ok"] is False and by["q4"]["chat"]["error_kind"] == "error_event"
    assert by["c1-1"]["chat"]["session_id"] == "s1"

    for r in records:
        scoring.score_record(r, embed=None, judge=lambda q, ref, ans: True)
    assert by["q1"]["grade"]["correct"] is True  # faq source is gold
    assert by["q3"]["grade"]["correct"] is True  # abstained on an unanswerable question
    assert by["q2"]["grade"]["citation"]["correct"] is True
    assert (
        by["c1-1"]["grade"]["containment_correct"] is False and by["c1-1"]["grade"]["correct"] is True
    )  # judge wins

    rep = scoring.aggregate(records)
    m = rep["metrics"]
    assert m["retrieval.hit@1"] == 1.0 and m["answers.errors"] == 1.0
    assert m["answers.abstention.recall"] == 1.0
    assert set(rep["latency"]["by_mode"]) == {"faq", "rag", "no_answer"}

    result = {
        "meta": {**meta, "name": "t", "dataset": "x", "n_questions": 4, "n_conversations": 1},
        "report": rep,
        "records": records,
    }
    prev = dict(m, **{"retrieval.hit@1": 1.0, "answers.correct": m["answers.correct"] + 0.2})
    comp = scoring.compare(prev, m)
    assert any(r["metric"] == "answers.correct" and r["status"] == "regressed" for r in comp)
    paths = R.write_report(tmp_path / "run", R.eval_doc(result, comp), result)
    md, html, js = (p.read_text() for p in paths)
    assert "| all | 3 |" in md and "Regressions" in md
    assert html.count("data:image/png;base64,") >= 3 and "<script" not in html
    assert json.loads(js)["report"]["metrics"]["retrieval.hit@1"] == 1.0
    assert R.load_metrics(paths[2])["retrieval.hit@1"] == 1.0


def test_gates():
    gates = scoring.parse_gates(["retrieval.hit@1=0.9", "answers.correct = 0.5"])
    assert gates == [("retrieval.hit@1", 0.9), ("answers.correct", 0.5)]
    m = {"retrieval.hit@1": 0.95, "answers.correct": 0.4, "latency.ttft_ms.p95": 900.0}
    fails = scoring.check_gates(m, gates, [("latency.ttft_ms.p95", 500)])
    assert len(fails) == 2 and "answers.correct" in fails[0] and "latency" in fails[1]
    assert "not measured" in scoring.check_gates(m, [("nope", 0.1)])[0]
    with pytest.raises(BadRequest):
        scoring.parse_gates(["retrieval.hit@1"])
    with pytest.raises(BadRequest):
        scoring.parse_gates(["x=high"])


def test_datasets_in_the_repo_and_the_dev_packs_load():
    cases, convs = load_dataset(DATASETS / "questions.jsonl")
    assert len(cases) > 100 and not convs
    assert any(c.answerable is False for c in cases) and any(c.expected_sources for c in cases)
    _, convs = load_dataset(DATASETS / "conversations.jsonl")
    assert convs and all(len(c.turns) >= 2 for c in convs) and convs[0].turns[1].turn == 1
    pack = Path("/work/shared/data/stackfaq_en/queries.jsonl")
    if pack.exists():
        cases, _ = load_dataset(pack)
        assert cases[0].answerable is True and cases[0].expected_faq_ids


def test_bad_inputs_raise_one_line_errors(tmp_path: Path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"query": "ok"}\n{oops\n')
    with pytest.raises(BadRequest, match=r"bad.jsonl:2: not JSON"):
        load_dataset(p)
    p.write_text('{"id": "x"}\n')
    with pytest.raises(BadRequest, match="non-empty 'query'"):
        load_dataset(p)
    with pytest.raises(BadRequest, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")


def test_question_inputs(tmp_path: Path):
    t = tmp_path / "q.txt"
    t.write_text("first?\n\nsecond\n")
    assert load_questions(t) == ["first?", "second"]
    log = '{"role": "user", "message": "hi"}\n{"role": "assistant", "message": "hello"}\n{"query": "q"}\n'
    assert questions_from_jsonl(log) == ["hi", "q"]


def test_coverage_against_the_standin():
    from evals import coverage as C

    qs = ["vpn drops", "sabbatical?", "sabbatical leave program", "parking"]
    opts = C.CoverageOptions(url="http://askdesk.test", transport=transport(), embedder="tfidf")
    res = asyncio.run(C.search_all(qs, opts, lambda n: None))
    assert [r["covered"] for r in res] == [True, False, False, False]
    groups, used, t = C.build_clusters(qs, [1, 3, 1, 1], res, "tfidf", None)
    assert used == "tfidf" and t == C.clustering.TFIDF_THRESHOLD
    assert groups[0]["size"] == 4 and len(groups[0]["questions"]) == 2  # the two sabbatical questions
    assert groups[0]["best_match"]["id"] == "hr-leave-001"


def test_batched_embed_encodes_once():
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]

    recs = [
        {"chat": {"mode": "rag", "answer": "a 答案"}, "expected_answer": "答案"},
        {"chat": {"mode": "faq", "answer": "x"}, "expected_answer": "y"},
    ]
    cached = scoring.batched_embed(recs, embed)
    assert len(calls) == 1 and sorted(calls[0]) == ["a 答案", "答案"]
    assert cached(["答案"]) == [[2.0, 1.0]] and len(calls) == 1
    cached(["new"])
    assert calls[-1] == ["new"]
