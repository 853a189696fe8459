"""Turn kinds: reading them, grading each kind, the answer checks (wrong verbatim, dead ends,
suggestions, intents), the LLM-independent verdicts and their metrics, gates and report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app.errors import BadRequest
from evals import report as R
from evals import scoring
from evals.cases import EXPECTED_MODE, Case, Conversation, load_dataset
from evals.run import RunOptions, run_cases
from tests.evals.standin import transport

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
FAQ_TEXT = "12, 15 or 20 days depending on total work experience."
NO_ANSWER = "Sorry, I couldn't find this in our knowledge base."


# --- reading ------------------------------------------------------------------------------------------
def test_kinds_and_expected_modes_are_read_and_defaulted(tmp_path: Path):
    p = tmp_path / "c.jsonl"
    rows = [
        {"id": "q1", "query": "annual leave?", "expected_faq_ids": ["hr-leave-001"]},
        {
            "id": "c1",
            "lang": "en",
            "turns": [
                {"query": "annual leave?", "expected_faq_ids": ["hr-leave-001"]},
                {"query": "and carry over?", "expected_faq_ids": ["hr-leave-002"]},
                {"query": "unrelated: vpn?", "kind": "switch", "expected_faq_ids": ["it-vpn-001"]},
                {"query": "thanks!", "kind": "thanks", "answerable": False, "expected_faq_ids": []},
                {"query": "a person please", "kind": "handoff_request", "expected_mode": "handoff"},
            ],
        },
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cases, convs = load_dataset(p)
    assert cases[0].kind == "single" and cases[0].expected_mode is None
    t = convs[0].turns
    assert [x.kind for x in t] == ["first", "followup", "switch", "thanks", "handoff_request"]
    assert [x.expected_mode for x in t] == [None, None, None, "chitchat", "handoff"]

    p.write_text(json.dumps({"turns": [{"query": "hi", "kind": "hello"}]}) + "\n")
    with pytest.raises(BadRequest, match="unknown kind 'hello'"):
        load_dataset(p)


def test_the_conversation_set_has_kinds():
    _, convs = load_dataset(DATASETS / "conversations.jsonl")
    turns = [t for c in convs for t in c.turns]
    assert all(t.kind != "single" for t in turns)
    assert all(t.expected_mode in ("chitchat", "handoff") for t in turns if t.kind in EXPECTED_MODE)


# --- grading ------------------------------------------------------------------------------------------
def rec(kind="single", mode="faq", *, gold=("hr-leave-001",), answerable=True, **chat) -> dict:
    """A run record as evals/run.py writes it; `chat` overrides the chat fields."""
    c = {
        "ok": True,
        "mode": mode,
        "decision_mode": chat.pop("decision_mode", mode),
        "answer": FAQ_TEXT if mode == "faq" else NO_ANSWER,
        "sources": [{"n": 1, "id": gold[0] if gold else "hr-leave-001", "source": "faq.csv"}],
        "suggestions": [],
        "intent": None,
        "handoff": None,
    }
    c["context_ids"] = chat.pop("context_ids", [s["id"] for s in c["sources"]])
    c.update(chat)
    r = {
        "id": f"{kind}-{mode}",
        "query": "q",
        "kind": kind,
        "expected_mode": EXPECTED_MODE.get(kind),
        "answerable": False if kind in EXPECTED_MODE else answerable,
        "gold": [] if kind in EXPECTED_MODE else list(gold),
        "expected_answer": "",
        "conversation": None if kind == "single" else "c1",
        "turn": 0,
        "chat": c,
    }
    return r


def grade(r: dict) -> dict:
    return scoring.score_record(r)["grade"]


def test_social_and_handoff_turns_are_graded_by_mode():
    assert grade(rec("thanks", "chitchat", intent="thanks")) == {
        "abstained": False,
        "correct": True,
        "det_correct": True,
        "intent_correct": True,
        "wrong_verbatim": False,
    }
    g = grade(rec("greeting", "no_answer"))
    assert g["correct"] is False and g["intent_correct"] is False and g["wrong_verbatim"] is False
    assert grade(rec("goodbye", "faq"))["wrong_verbatim"] is True  # a curated answer to "bye"
    ticket = {"reason": "user_request", "reference": "T-1", "has_reference": True}
    assert grade(rec("handoff_request", "handoff", intent="human", handoff=ticket))["correct"] is True
    assert grade(rec("handoff_request", "handoff", intent="human"))["correct"] is False  # no ticket
    # a question is never social
    assert grade(rec("single", "chitchat"))["intent_false_positive"] is True
    assert grade(rec("single", "faq"))["intent_false_positive"] is False


def test_answerable_unanswerable_suggestions_and_wrong_verbatim():
    g = grade(rec("single", "faq"))
    assert g["correct"] is True and g["det_correct"] is True and g["wrong_verbatim"] is False
    g = grade(rec("single", "faq", sources=[{"n": 1, "id": "hr-leave-002"}], context_ids=["hr-leave-002"]))
    assert g["correct"] is False and g["wrong_verbatim"] is True
    g = grade(rec("single", "faq", gold=(), answerable=False))
    assert g["correct"] is False and g["wrong_verbatim"] is True  # verbatim answer to an unanswerable one
    suggested = [{"id": "hr-leave-001", "kind": "faq", "question": "?", "confidence": 0.3}]
    g = grade(rec("single", "no_answer", suggestions=suggested))
    assert g["correct"] is False and g["suggested_correct"] is True and g["det_correct"] is False
    g = grade(rec("single", "no_answer", gold=(), answerable=False, suggestions=suggested))
    assert g["correct"] is True and "suggested_correct" not in g  # abstaining with suggestions is right


def test_rag_is_judged_on_retrieval_when_llm_independent():
    r = rec("followup", "rag", answer="This is the scripted answer [1].", context_ids=["hr-leave-001", "x"])
    r["expected_answer"] = "12, 15 or 20 days"
    g = grade(r)
    assert g["containment_correct"] is False and g["correct"] is False  # the scripted text says nothing
    assert g["det_correct"] is True  # its first context passage is the gold entry
    r = rec("followup", "rag", context_ids=["hr-leave-009"])
    assert grade(r)["det_correct"] is False
    # the LLM said it does not know: the answer is no_answer, the decision before it was rag
    r = rec("single", "no_answer", decision_mode="rag", context_ids=["hr-leave-001"])
    g = grade(r)
    assert g["correct"] is False and g["det_correct"] is True


def test_dead_ends_need_a_gold_hit_in_the_top_3_and_no_suggestions():
    r = rec("single", "no_answer")
    r["search"] = {"hits": [["x", ""], ["hr-leave-001", "faq.csv"]]}
    assert grade(r)["dead_end"] is True
    r = rec("single", "no_answer", suggestions=[{"id": "y"}])
    r["search"] = {"hits": [["hr-leave-001", "faq.csv"]]}
    assert grade(r)["dead_end"] is False
    r = rec("single", "no_answer")
    r["search"] = {"hits": [["a", ""], ["b", ""], ["c", ""], ["hr-leave-001", "faq.csv"]]}
    assert grade(r)["dead_end"] is False
    r = rec("single", "faq")
    r["search"] = {"hits": [["hr-leave-001", "faq.csv"]]}
    assert grade(r)["dead_end"] is False


def test_same_as_fresh():
    def fresh(mode="faq", top="hr-leave-001", answer=FAQ_TEXT, decision=None):
        return {"ok": True, "mode": mode, "decision_mode": decision or mode, "top": top, "answer": answer}

    r = rec("switch", "faq")
    r["fresh"] = fresh()
    assert grade(r)["same_as_fresh"] is True and grade(r)["det_same_as_fresh"] is True
    r["fresh"] = fresh(answer="another text")  # faq text must be identical
    assert grade(r)["same_as_fresh"] is False
    r["fresh"] = fresh(mode="rag")
    assert grade(r)["same_as_fresh"] is False
    r["fresh"] = fresh(top="hr-leave-002")
    assert grade(r)["det_same_as_fresh"] is False
    # rag: the text is the LLM's; the mode and the first source (retrieval order) must match
    r = rec(
        "clarify",
        "rag",
        answer="one [1]",
        sources=[{"n": 1, "id": "b"}, {"n": 2, "id": "a"}],
        context_ids=["a", "b"],
    )
    r["fresh"] = fresh("rag", top="a", answer="two [2]")
    assert grade(r)["same_as_fresh"] is True
    # only switch / clarify turns are compared
    r = rec("followup", "faq")
    r["fresh"] = fresh()
    assert "same_as_fresh" not in grade(r)


# --- metrics, gates, report ---------------------------------------------------------------------------
def records() -> list[dict]:
    ticket = {"reason": "user_request", "reference": "T-1", "has_reference": True}
    rs = [
        rec("single", "faq"),
        rec("single", "faq", gold=(), answerable=False),  # wrong verbatim
        rec("first", "faq"),
        rec("followup", "rag", context_ids=["hr-leave-001"]),
        rec("switch", "faq"),
        rec("switch", "no_answer", suggestions=[{"id": "hr-leave-001"}]),
        rec("thanks", "chitchat", intent="thanks"),
        rec("handoff_request", "handoff", intent="human", handoff=ticket),
        rec("goodbye", "no_answer"),
    ]
    rs[4]["fresh"] = {"ok": True, "mode": "faq", "top": "hr-leave-001", "answer": FAQ_TEXT}
    rs[5]["fresh"] = {"ok": True, "mode": "faq", "top": "hr-leave-001", "answer": FAQ_TEXT}
    for i, r in enumerate(rs):
        r["id"] = f"r{i}"
        scoring.score_record(r)
    return rs


def test_metrics_have_stable_names_and_gate():
    rep = scoring.aggregate(records())
    m = rep["metrics"]
    assert m["turns.switch.correct"] == 0.5 and m["deterministic.turns.switch.correct"] == 0.5
    assert m["turns.switch.same_as_fresh"] == 0.5 and m["turns.standalone.same_as_fresh"] == 0.5
    assert m["deterministic.turns.followup.correct"] == 1.0 and m["turns.followup.correct"] == 0.0
    assert m["intents.accuracy"] == pytest.approx(2 / 3) and m["intents.label_accuracy"] == pytest.approx(
        2 / 3
    )
    assert m["intents.false_positive_rate"] == 0.0
    assert m["answers.wrong_verbatim"] == 1.0 and m["answers.wrong_verbatim_rate"] == pytest.approx(1 / 9)
    assert m["answers.faq_precision"] == 0.75 and m["deterministic.answers.faq_precision"] == 0.75
    assert m["answers.suggestion_hit_rate"] == 1.0 and m["answers.suggested_correct"] == 0.2
    assert "turns.clarify.correct" not in m  # no such turns: a gate on it fails as not measured
    b = rep["turns"]["by_kind"]
    assert list(b) == ["single", "first", "followup", "switch", "thanks", "goodbye", "handoff_request"]
    assert b["switch"]["n"] == 2 and b["switch"]["suggested"] == 1
    lo, hi = b["thanks"]["correct"]["ci95"]
    assert b["thanks"]["correct"]["value"] == 1.0 and 0.0 < lo < 1.0 and hi == 1.0  # Wilson, not [1, 1]
    # abstention is about questions only: the "goodbye" answered no_answer is not an abstention
    assert rep["answers"]["abstention"]["abstained"] == 1

    fails = scoring.check_gates(
        m,
        [
            ("deterministic.turns.switch.correct", 0.95),
            ("intents.accuracy", 0.5),
            ("turns.clarify.correct", 0.1),
        ],
        [("answers.wrong_verbatim_rate", 0.01), ("answers.dead_ends", 0)],
    )
    assert len(fails) == 3
    assert fails[0].startswith("deterministic.turns.switch.correct = 0.5 < 0.95")
    assert "turns.clarify.correct: not measured" in fails[1]
    assert fails[2].startswith("answers.wrong_verbatim_rate")
    for name in (
        "answers.wrong_verbatim_rate",
        "deterministic.answers.wrong_verbatim_rate",
        "answers.dead_ends",
    ):
        assert scoring.lower_is_better(name)
    assert not scoring.lower_is_better("deterministic.turns.switch.correct")
    worse = dict(m, **{"answers.dead_ends": 3.0, "intents.accuracy": 0.1})
    status = {r["metric"]: r["status"] for r in scoring.compare(m, worse)}
    assert status["answers.dead_ends"] == "regressed" and status["intents.accuracy"] == "regressed"


def test_report_has_the_turn_kind_table(tmp_path: Path):
    rs = records()
    rep = scoring.aggregate(rs)
    result = {"meta": {"name": "t", "dataset": "x"}, "report": rep, "records": rs}
    md, html, _ = (
        p.read_text() for p in R.write_report(tmp_path / "r", R.eval_doc(result, with_plots=False), result)
    )
    assert "## Conversation turns by kind" in md and "## Answer checks" in md
    assert "| switch | new topic, stands alone | 2 |" in md and "| switch + clarify |" in md
    assert "Standalone turns not answered as in a fresh session (1" in md
    assert "Social / handoff turns in the wrong mode (1" in md and "Wrong verbatim answers (1" in md
    assert "<h2>Answer checks</h2>" in html
    # an older report without these sections still renders
    old = {
        **result,
        "report": {k: v for k, v in rep.items() if k not in ("turns", "intents", "deterministic")},
    }
    assert "Conversation turns" not in R.eval_doc(old, with_plots=False).title
    assert R.turn_blocks(old["report"], rs) == []


def test_runner_asks_standalone_turns_in_a_fresh_session_too():
    conv = Conversation(
        "c1",
        [
            Case("c1-0", "annual leave days?", ["hr-leave-001"], answerable=True, conversation="c1", turn=0, kind="first"),
            Case("c1-1", "and can I carry them over?", ["hr-leave-001"], answerable=True, conversation="c1", turn=1,
                 kind="followup"),
            Case("c1-2", "unrelated: my vpn drops", ["it-vpn-002"], answerable=True, conversation="c1", turn=2,
                 kind="switch"),
        ],
    )  # fmt: skip
    opts = RunOptions(url="http://askdesk.test", concurrency=2, transport=transport())
    recs, _ = asyncio.run(run_cases([], [conv], opts))
    by = {r["id"]: r for r in recs}
    assert [r["kind"] for r in recs] == ["first", "followup", "switch"]
    assert "fresh" not in by["c1-1"] and "search" not in by["c1-1"]
    f = by["c1-2"]["fresh"]
    assert f["ok"] and f["mode"] == "faq" and f["top"] == "it-vpn-002" and by["c1-2"]["search"]["hits"]
    c = by["c1-2"]["chat"]
    assert c["suggestions"] == [] and c["intent"] is None and c["handoff"] is None
    assert c["decision_mode"] == "faq" and c["context_ids"] == ["it-vpn-002"]
    g = scoring.score_record(by["c1-2"])["grade"]
    assert g["correct"] and g["det_correct"] and g["same_as_fresh"] and g["det_same_as_fresh"]
