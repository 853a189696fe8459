"""Retrieval quality on the dev packs: dense-only baselines vs the shipped default, and the
no-answer simulation (5 seeded folds, each leaving out 20% of the entries that have queries).

    python benchmarks/retrieval/eval_packs.py [--packs DIR ...] [--work /tmp/askdesk-eval] [--fit]

Each pack is ingested once with the real pipeline (into --work, reused when present), read back
with its vectors, and scored through `Retriever.from_index` / `search_vectors`: the same code as
`askdesk search`. Left-out folds remove entries from the in-memory index. Writes
reports/retrieval-eval.{md,json}. `--fit` also fits the confidence calibration on the folds and
prints it (to paste into app/retrieval/confidence.py).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.knowledge_store import KnowledgeStore, make_chroma_client  # noqa: E402
from app.retrieval import Retriever  # noqa: E402
from app.retrieval.fusion import entry_max, top_k  # noqa: E402
from app.retrieval.index import KBIndex, RecordSet  # noqa: E402
from app.retrieval.ranking import weights_for  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402

DEFAULT_PACKS = [Path("/work/shared/data/esun_faq_zh_tw"), Path("/work/shared/data/stackfaq_en")]
FOLDS = 5
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SEED = 13


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


# --- packs --------------------------------------------------------------------------------------
def load_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_keys(q: dict) -> set[str]:
    return set(q.get("expected_faq_ids") or []) | set(q.get("expected_sources") or [])


def build_pack(pack: Path, work: Path, embedders) -> tuple[KBIndex, Settings]:
    from ingest.pipeline import run_ingest

    settings = Settings(data_dir=work / pack.name)
    store = KnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
    knowledge = pack / "knowledge.jsonl" if (pack / "knowledge.jsonl").exists() else pack
    rep = run_ingest([knowledge], store, settings)  # unchanged entries are not re-embedded
    print(f"[{pack.name}] ingest: {rep.summary()}", file=sys.stderr)
    sets = []
    for i in range(len(embedders)):
        got = store.get_all(i, with_embeddings=True)
        sets.append(RecordSet(got.ids, got.texts, got.metadatas, got.embeddings))
    return KBIndex(sets, store.version()), settings


def encode_queries(queries: list[dict], embedders) -> list[np.ndarray]:
    texts = [q["query"] for q in queries]
    return [e.embed_queries(texts) for e in embedders]


def dense_only(index: KBIndex, qv: np.ndarray, model: int, k: int = 10) -> list[str]:
    """Baseline: plain cosine, best record per entry (multi-vector, de-duplicated)."""
    s = entry_max(index.dense[model] @ qv, index.rec_entry, index.n_entries)
    return [index.entries[i].key for i in top_k(s, k)]


def run_default(retr: Retriever, index: KBIndex, queries, qvs, k: int = 10):
    out = []
    for qi, q in enumerate(queries):
        res = retr.search_vectors(q["query"], {i: qv[qi] for i, qv in enumerate(qvs)}, k, index=index)
        out.append(res)
    return out


def fold_split(keys: list[str]) -> list[set[str]]:
    rng = random.Random(SEED)
    keys = sorted(keys)
    rng.shuffle(keys)
    return [set(keys[f::FOLDS]) for f in range(FOLDS)]


def lead_of(index: KBIndex, lang: str) -> str:
    group, _ = weights_for(lang, index)
    return "en" if group == "en" else "multi"


def evaluate_pack(pack: Path, work: Path, embedders, settings_default: Settings) -> dict:
    index, _ = build_pack(pack, work, embedders)
    queries = [q for q in load_queries(pack / "queries.jsonl") if expected_keys(q)]
    t0 = time.perf_counter()
    qvs = encode_queries(queries, embedders)
    print(f"[{pack.name}] encoded {len(queries)} queries in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    report: dict = {"pack": pack.name, "entries": index.n_entries, "queries": len(queries), "configs": {}}
    for m, emb in enumerate(embedders):
        ranks = [first_rank(dense_only(index, qvs[m][qi], m), expected_keys(q)) for qi, q in enumerate(queries)]
        report["configs"][f"dense-only {emb.name}"] = rank_metrics(ranks)
    retr = Retriever.from_index(index, embedders, settings_default)
    results = run_default(retr, index, queries, qvs)
    ranks = [first_rank([h.key for h in r.hits], expected_keys(q)) for r, q in zip(results, queries, strict=True)]
    report["configs"]["default (hybrid)"] = rank_metrics(ranks)
    report["misses@1"] = [
        {"id": q.get("id"), "query": q["query"], "expected": sorted(expected_keys(q)), "got": r.hits[0].key if r.hits else None}
        for r, q, rk in zip(results, queries, ranks, strict=True) if rk != 0
    ]  # fmt: skip
    # full-KB rows for the FAQ-direct precision: (confidence, top-1 correct, is faq)
    rows = [
        (r.confidence, rk == 0, bool(r.hits) and r.hits[0].kind == "faq", r.hits[0].features if r.hits else {}, lead_of(index, r.lang))
        for r, rk in zip(results, ranks, strict=True)
    ]  # fmt: skip
    # no-answer folds
    with_queries = sorted({k for q in queries for k in expected_keys(q)} & set(index.key_to_idx))
    folds = []
    fold_rows = []
    for f, out_keys in enumerate(fold_split(with_queries)):
        sub = index.without(out_keys)
        r_sub = Retriever.from_index(sub, embedders, settings_default)
        res = run_default(r_sub, sub, queries, qvs, k=5)
        unans = [expected_keys(q) <= out_keys for q in queries]
        n_un = sum(unans)
        n_an = len(queries) - n_un
        un_ok = sum((not r.predicted_answerable) for r, u in zip(res, unans, strict=True) if u)
        an_ok = sum(r.predicted_answerable for r, u in zip(res, unans, strict=True) if not u)
        folds.append({
            "fold": f, "left_out_entries": len(out_keys), "unanswerable_queries": n_un,
            "answerable_queries": n_an,
            "unanswerable_flagged": un_ok / max(n_un, 1), "answerable_kept": an_ok / max(n_an, 1),
        })  # fmt: skip
        for r, q, u in zip(res, queries, unans, strict=True):
            correct = (not u) and bool(r.hits) and r.hits[0].key in expected_keys(q)
            fold_rows.append((r.confidence, correct, bool(r.hits) and r.hits[0].kind == "faq",
                              r.hits[0].features if r.hits else {}, lead_of(sub, r.lang), u, f))  # fmt: skip
    report["no_answer"] = {
        "folds": folds,
        "unanswerable_flagged_mean": float(np.mean([f["unanswerable_flagged"] for f in folds])),
        "unanswerable_flagged_min": float(np.min([f["unanswerable_flagged"] for f in folds])),
        "answerable_kept_mean": float(np.mean([f["answerable_kept"] for f in folds])),
        "answerable_kept_min": float(np.min([f["answerable_kept"] for f in folds])),
        "threshold": settings_default.retrieval_answerable_threshold,
    }
    sweep = []
    for t in THRESHOLDS:
        flagged = [np.mean([r[0] < t for r in fold_rows if r[6] == f and r[5]]) for f in range(FOLDS)]
        kept = [np.mean([r[0] >= t for r in fold_rows if r[6] == f and not r[5]]) for f in range(FOLDS)]
        sweep.append({"threshold": t, "flagged_mean": float(np.mean(flagged)), "flagged_min": float(np.min(flagged)),
                      "kept_mean": float(np.mean(kept)), "kept_min": float(np.min(kept))})  # fmt: skip
    report["no_answer"]["sweep"] = sweep
    report["_rows"] = rows
    report["_fold_rows"] = fold_rows
    return report


def faq_direct(rows: list[tuple], threshold: float) -> dict:
    """Precision/coverage of 'top-1 FAQ with confidence >= threshold' (the no-LLM path)."""
    sel = [r for r in rows if r[2] and r[0] >= threshold]
    good = sum(1 for r in sel if r[1])
    return {"threshold": threshold, "selected": len(sel), "of": len(rows), "precision": good / len(sel) if sel else 1.0,
            "precision_ci": wilson(good, len(sel)), "coverage": len(sel) / max(len(rows), 1)}  # fmt: skip


def fit(all_rows: list[tuple]) -> None:
    from sklearn.linear_model import LogisticRegression

    from app.retrieval.confidence import FEATURES

    for lead in ("multi", "en"):
        rows = [r for r in all_rows if r[4] == lead and r[3]]
        if not rows:
            continue
        x = np.array([[r[3][f] for f in FEATURES] for r in rows])
        y = np.array([1 if r[1] else 0 for r in rows])
        mu, sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
        clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000).fit((x - mu) / sd, y)
        raw = clf.coef_[0] / sd  # fold the standardisation back in: the shipped model takes raw features
        bias = float(clf.intercept_[0] - (clf.coef_[0] * mu / sd).sum())
        coef = {f: round(float(c), 4) for f, c in zip(FEATURES, raw, strict=True)}
        print(f'    "{lead}": Calibration(bias={bias:.4f}, coef={coef}),')


def fmt_ci(v: float, ci) -> str:
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def markdown(reports: list[dict], direct: list[dict], settings: Settings) -> str:
    lines = ["# Retrieval on the dev packs", "",
             f"Default thresholds: answerable >= {settings.retrieval_answerable_threshold}, "
             f"FAQ-direct >= {settings.faq_direct_threshold}. 95% CIs: Wilson (hit@k), bootstrap (MRR).", ""]  # fmt: skip
    for rep in reports:
        lines += [f"## {rep['pack']} ({rep['entries']} entries, {rep['queries']} queries)", "",
                  "| config | hit@1 | hit@3 | hit@5 | MRR |", "|---|---|---|---|---|"]  # fmt: skip
        for name, m in rep["configs"].items():
            lines.append(f"| {name} | {fmt_ci(m['hit@1'], m['hit@1_ci'])} | {fmt_ci(m['hit@3'], m['hit@3_ci'])} | "
                         f"{fmt_ci(m['hit@5'], m['hit@5_ci'])} | {fmt_ci(m['mrr'], m['mrr_ci'])} |")  # fmt: skip
        na = rep["no_answer"]
        lines += ["", "No-answer (5 folds, 20% of entries with queries left out):", "",
                  "| fold | left out | unanswerable q | flagged unanswerable | answerable q | kept answerable |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for f in na["folds"]:
            lines.append(f"| {f['fold']} | {f['left_out_entries']} | {f['unanswerable_queries']} | "
                         f"{f['unanswerable_flagged']:.3f} | {f['answerable_queries']} | {f['answerable_kept']:.3f} |")  # fmt: skip
        lines += [f"| mean / min | | | {na['unanswerable_flagged_mean']:.3f} / {na['unanswerable_flagged_min']:.3f} | | "
                  f"{na['answerable_kept_mean']:.3f} / {na['answerable_kept_min']:.3f} |", ""]  # fmt: skip
        lines += ["Threshold sweep (same folds): flagged unanswerable mean/min, kept answerable mean/min:", "",
                  "| threshold | flagged mean | flagged min | kept mean | kept min |", "|---|---|---|---|---|"]  # fmt: skip
        for w in na["sweep"]:
            lines.append(f"| {w['threshold']} | {w['flagged_mean']:.3f} | {w['flagged_min']:.3f} | {w['kept_mean']:.3f} | {w['kept_min']:.3f} |")
        lines.append("")
        if rep["misses@1"]:
            lines += ["Top-1 misses:", ""] + [f"- `{m['id']}` {m['query']} → got `{m['got']}`, expected {m['expected']}" for m in rep["misses@1"]] + [""]  # fmt: skip
    lines += ["## FAQ-direct precision (top-1 FAQ hit above the threshold; full KB + fold runs pooled)", "",
              "| threshold | selected / runs | precision | coverage |", "|---|---|---|---|"]  # fmt: skip
    for d in direct:
        lines.append(f"| {d['threshold']} | {d['selected']} / {d['of']} | {fmt_ci(d['precision'], d['precision_ci'])} | {d['coverage']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", nargs="*", type=Path, default=DEFAULT_PACKS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/askdesk-eval"))
    ap.add_argument("--out", type=Path, default=ROOT / "reports")
    ap.add_argument("--fit", action="store_true", help="fit and print the confidence calibration")
    args = ap.parse_args()
    settings = Settings()
    apply_process_env(settings)
    from app.embeddings import make_embedder

    embedders = [make_embedder(n, offline=settings.hf_offline) for n in settings.embedding_models]
    packs = [p for p in args.packs if (p / "queries.jsonl").exists()]
    reports = [evaluate_pack(p, args.work, embedders, settings) for p in packs]
    all_rows = [r for rep in reports for r in rep["_rows"]] + [r[:5] for rep in reports for r in rep["_fold_rows"]]
    if args.fit:
        fit([r[:5] for rep in reports for r in rep["_fold_rows"]])
    thresholds = sorted({settings.faq_direct_threshold, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98})
    direct = [faq_direct(all_rows, t) for t in thresholds]
    for rep in reports:
        rep.pop("_rows")
        rep.pop("_fold_rows")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval-eval.json").write_text(json.dumps({"packs": reports, "faq_direct": direct}, indent=1, ensure_ascii=False))
    md = markdown(reports, direct, settings)
    (args.out / "retrieval-eval.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
