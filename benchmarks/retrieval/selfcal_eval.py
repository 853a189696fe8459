"""Leave-one-dataset-out measurement of the per-KB self-calibration (app/retrieval/selfcal.py).

For every eval set as the unseen KB (esun_faq_zh_tw, stackfaq_en, our sample KB `askdesk`, and a
mixed KB of both packs), with nothing of its labelled questions used for fitting:

  shipped   the shipped DEFAULT_CALIBRATION and thresholds (fitted on the pooled sets, the held one
            included: in-sample, shown for reference only)
  global    the global model refitted on the OTHER sets, its threshold picked on them (what a new
            customer's KB gets without self-calibration: the honest "before")
  self      that same prior, self-calibrated on the unseen KB's own pseudo-questions (the "after")

Metrics are the no-answer targets on the unseen set's real labelled queries: unanswerable flagged
and answerable kept on the five left-out folds (the packs have no real unanswerable questions), and
on our KB its real unanswerable questions and FAQ / document questions kept. Wilson 95% intervals
on the pooled counts. Also hit@1 (unchanged: calibration does not rank).

    python benchmarks/retrieval/selfcal_eval.py [--max-entries 400] [--json out.json]

Reads the cached sets (benchmarks/retrieval/evalsets.py); encodes the pseudo-questions with the
real embedders once and caches them next to the sets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.retrieval import selfcal  # noqa: E402
from app.retrieval.confidence import DEFAULT_CALIBRATION  # noqa: E402
from app.retrieval.kb_calibration import score_pseudo  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from benchmarks.retrieval.evalsets import DEFAULT_SETS, EvalSet, load_set  # noqa: E402
from benchmarks.retrieval.mixed_packs import merged  # noqa: E402
from benchmarks.retrieval.scoring import Run, Scorer, hit1  # noqa: E402
from benchmarks.retrieval.tune import FIT_C, FIT_TARGET, fit_groups, pick_threshold, recalibrate  # noqa: E402
from evals.scoring import wilson as scoring_wilson  # noqa: E402

WORK = Path("/tmp/askdesk-eval")
CACHE = WORK / "cache"
NO_ANSWER = Settings().no_answer_threshold  # the chat answers "not in the KB" below this top confidence


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """(rate, low, high): the eval reports' Wilson 95% interval on k of n."""
    e = scoring_wilson([True] * k + [False] * (n - k))
    return e.value, e.lo, e.hi


def encode_pseudo(es: EvalSet, pqs: list[selfcal.PseudoQuery], embedders: dict) -> list[np.ndarray]:
    key = hashlib.sha256(("|".join(p.text for p in pqs) + "|" + ",".join(e.name for e in es.embedders)).encode()).hexdigest()[:16]
    path = CACHE / f"pseudo-{es.name}-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    from app.embeddings import make_embedder

    texts = [p.text for p in pqs]
    out = []
    for stub in es.embedders:
        if stub.name not in embedders:
            embedders[stub.name] = make_embedder(stub.name)
        out.append(np.asarray(embedders[stub.name].embed_queries(texts), dtype=np.float32))
    path.write_bytes(pickle.dumps(out))
    return out


def pseudo_runs_for(es: EvalSet, max_entries: int, embedders: dict) -> tuple[list[selfcal.PseudoRun], float]:
    t0 = time.perf_counter()
    pqs = selfcal.pseudo_queries(es.index, max_entries)
    vecs = encode_pseudo(es, pqs, embedders)
    # the shipped scoring of the pseudo-questions (what an ingest runs), on the cached vectors
    runs = score_pseudo(es.index, pqs, dict(enumerate(vecs)), Scorer(es).roles)
    return runs, time.perf_counter() - t0


def metrics(full: list[Run], folded: list[Run], thr: dict[str, float]) -> dict:
    """Flagged / kept counts at the per-lead thresholds (as Retriever.search decides)."""
    def keep(r: Run) -> bool:
        return r.confidence >= thr["en" if r.features.get("en_lead") else "multi"]

    out = {}
    fo = [r for r in folded if r.qkind != "none"]
    un = [r for r in fo if not r.answerable]
    an = [r for r in fo if r.answerable]
    out["fold_flagged"] = (sum(not keep(r) for r in un), len(un))
    out["fold_kept"] = (sum(keep(r) for r in an), len(an))
    ans = [r for r in full if r.answerable and r.qkind != "none"]
    na = thr.get("no_answer", NO_ANSWER)
    out["dead_ends"] = (sum(r.confidence < na and r.rank is not None and r.rank < 3 for r in ans), len(ans))
    real_un = [r for r in full if r.qkind == "none"]
    if real_un:
        out["real_flagged"] = (sum(not keep(r) for r in real_un), len(real_un))
        for kind in ("faq", "doc"):
            rs = [r for r in full if r.qkind == kind]
            out[f"{kind}_kept"] = (sum(keep(r) for r in rs), len(rs))
    return out


def fmt(m: dict) -> str:
    parts = []
    for k, (a, n) in m.items():
        p, lo, hi = wilson(a, n)
        parts.append(f"{k} {p:.3f} [{lo:.2f},{hi:.2f}] ({a}/{n})")
    return "; ".join(parts)


def measure(max_entries: int = 400, ridge: float = selfcal.RIDGE, log=print) -> dict:
    """Every set as the unseen KB: shipped (in-sample), global fitted on the others, self-calibrated."""
    settings = Settings()
    apply_process_env(settings)
    sets = {n: load_set(n, settings, work=WORK, cache=CACHE) for n in DEFAULT_SETS}
    sets["mixed"] = merged([sets["esun_faq_zh_tw"], sets["stackfaq_en"]])
    scorers = {n: Scorer(es) for n, es in sets.items()}
    runs = {n: (sc.full(), sc.folded()) for n, sc in scorers.items()}
    embedders: dict = {}
    shipped_t = {"en": settings.retrieval_answerable_threshold, "multi": settings.retrieval_answerable_threshold_zh,
                 "no_answer": NO_ANSWER}  # fmt: skip
    blob = {}
    for held, (full, folded) in runs.items():
        others = [n for n in DEFAULT_SETS if n != held and not (held == "mixed" and n in ("esun_faq_zh_tw", "stackfaq_en"))]
        pooled = [(n, r) for n in others for r in runs[n][0] + runs[n][1] if r.features]
        prior = fit_groups(pooled, c=FIT_C, target=FIT_TARGET)
        t_prior = pick_threshold({n: (recalibrate(runs[n][0], prior), recalibrate(runs[n][1], prior)) for n in others})
        g_thr = {"en": t_prior, "multi": t_prior, "no_answer": NO_ANSWER}
        pruns, secs = pseudo_runs_for(sets[held], max_entries, embedders)
        sc = selfcal.fit(pruns, prior, ridge=ridge, default_thresholds=g_thr)
        shipped_sc = selfcal.fit(pruns, DEFAULT_CALIBRATION, ridge=ridge, default_thresholds=shipped_t)
        rows = {
            "shipped model and thresholds (in-sample: fitted with this set)": metrics(full, folded, shipped_t),
            f"BEFORE: global model fitted on {' + '.join(others)} only": metrics(recalibrate(full, prior), recalibrate(folded, prior), g_thr),
            "AFTER: the same, self-calibrated on this KB's own questions": metrics(recalibrate(full, sc.calibration), recalibrate(folded, sc.calibration), sc.thresholds),
            "as shipped now: shipped model self-calibrated (prior saw this set)": metrics(
                recalibrate(full, shipped_sc.calibration), recalibrate(folded, shipped_sc.calibration), shipped_sc.thresholds),
        }  # fmt: skip
        blob[held] = {"entries": sets[held].index.n_entries, "hit1": hit1(full), "rows": rows, "scale": sc.scale,
                      "thresholds": {"before": g_thr, "after": sc.thresholds}, "pseudo_runs": len(pruns), "seconds": secs}  # fmt: skip
        log(f"== {held}: {sets[held].index.n_entries} entries, hit@1 {hit1(full):.3f} (calibration does not rank); "
            f"{len(pruns)} pseudo-runs in {secs:.1f} s; scale {sc.scale}")  # fmt: skip
        for name, m in rows.items():
            log(f"  {name}: {fmt(m)}")
    return blob


LABELS = {"fold_flagged": "unanswerable flagged (folds)", "fold_kept": "answerable kept (folds)",
          "dead_ends": "dead ends", "real_flagged": "real unanswerable flagged", "faq_kept": "FAQ-answered kept",
          "doc_kept": "doc-answered kept"}  # fmt: skip


def markdown(blob: dict) -> str:
    out = ["## Headline: leave-one-dataset-out (fit on the other sets, test on the unseen one)", "",
           "Each set plays a customer's KB the global model never saw. BEFORE = the global confidence model and "
           "threshold fitted on the other sets only; AFTER = the same prior self-calibrated on the unseen KB's own "
           "pseudo-questions (app/retrieval/selfcal.py; none of its labelled questions used). Targets: flagged >= 0.85 "
           "with kept >= 0.90; our KB's FAQ- and doc-answered kept >= 0.85. Dead ends: an answerable question whose "
           "gold entry is in the top 3 falls below the no-answer point (the chat's \"not in the knowledge base\"). "
           "Wilson 95% intervals. `python benchmarks/retrieval/selfcal_eval.py`", ""]  # fmt: skip
    for held, b in blob.items():
        out += [f"### {held} ({b['entries']} entries, hit@1 {b['hit1']:.3f}; thresholds after: "
                f"{ {k: round(float(v), 3) for k, v in b['thresholds']['after'].items()} })", ""]  # fmt: skip
        keys = list(next(iter(b["rows"].values())))
        out.append("| | " + " | ".join(LABELS.get(k, k) for k in keys) + " |")
        out.append("|---" * (len(keys) + 1) + "|")
        for name, m in b["rows"].items():
            cells = []
            for k in keys:
                a, n = m[k]
                p, lo, hi = wilson(a, n)
                cells.append(f"{p:.3f} [{lo:.2f}, {hi:.2f}] ({a}/{n})")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-entries", type=int, default=400)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--md", type=Path, help="write the markdown tables here")
    ap.add_argument("--ridge", type=float, default=selfcal.RIDGE)
    args = ap.parse_args()
    blob = measure(args.max_entries, args.ridge)
    if args.json:
        args.json.write_text(json.dumps(blob, indent=1, default=str))
    if args.md:
        args.md.write_text(markdown(blob), encoding="utf-8")


if __name__ == "__main__":
    main()
