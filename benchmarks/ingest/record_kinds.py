"""What each kind of record contributes, per model: the eval sets re-scored with one model's records
of one kind taken out (as if ingest had not embedded them), against the full set of records.

    python benchmarks/ingest/record_kinds.py [--variants ...]

Uses the cached eval sets (benchmarks/retrieval/evalsets.py; vectors computed once), so a variant
costs seconds. A record a collection does not hold scores 0 for that model (KBIndex zero-fills), the
same as a store ingested without it. Prints hit@1, and the no-answer separation: the AUC of the top
hit's confidence between answerable questions (gold entry present) and unanswerable ones (left-out
folds, plus the sample KB's real out-of-KB questions), and kept/flagged at the shipped thresholds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.embeddings import record_wanted  # noqa: E402
from app.retrieval.kb_index import KBIndex, RecordSet  # noqa: E402
from app.settings import Settings  # noqa: E402
from benchmarks.retrieval import tune  # noqa: E402
from benchmarks.retrieval.scoring import Scorer, hit1, no_answer  # noqa: E402

FIELDS = ("question", "related", "answer", "qa")


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos), np.asarray(neg)
    return float(((p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()) / (p.size * n.size))


def without(records: list[RecordSet], model: int, drop) -> list[RecordSet]:
    """The record sets with model `model`'s records for which drop(meta) is true removed."""
    out = list(records)
    s = records[model]
    keep = [j for j, m in enumerate(s.metadatas) if not drop(m)]
    out[model] = RecordSet([s.ids[j] for j in keep], [s.texts[j] for j in keep], [s.metadatas[j] for j in keep],
                           s.embeddings[keep])  # fmt: skip
    return out


def measure(sc: Scorer, settings: Settings) -> dict:
    full, folded = sc.full(), sc.folded()
    pos = [r.confidence for r in folded if r.answerable and r.qkind != "none"]
    neg = [r.confidence for r in folded if not r.answerable and r.qkind != "none"]
    neg += [r.confidence for r in full if r.qkind == "none"]
    na = no_answer(full, folded, settings.retrieval_answerable_threshold, settings.retrieval_answerable_threshold_zh)
    return {"hit1": hit1(full), "auc": auc(pos, neg), "kept": na["folds"]["kept_mean"], "flagged": na["folds"]["flagged_mean"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="*", default=None)
    ap.add_argument("--shipped-only", action="store_true", help="only all records vs what ingest embeds")
    args = ap.parse_args()
    settings = Settings(_env_file=None)
    scs = tune.scorers()
    if args.sets:
        scs = [sc for sc in scs if sc.es.name in args.sets]
    names = [e.name for e in scs[0].es.embedders]
    # (label, [(model, drop(meta) -> bool), ...])
    variants: list[tuple[str, list]] = [("all records", [])]
    if not args.shipped_only:
        for i, name in enumerate(names):
            for f in FIELDS:
                variants.append((f"{name} without {f}", [(i, lambda m, f=f: m.get("field") == f)]))
    shipped = [(i, lambda m, i=i: not record_wanted(names[i], i == 0, m)) for i in range(len(names))]
    variants.append(("as ingest now embeds (app/embeddings.record_wanted)", shipped))
    print("| variant | " + " | ".join(f"{sc.es.name} hit@1 / AUC / kept / flagged" for sc in scs) + " |")
    print("|---|" + "---|" * len(scs))
    for label, drops in variants:
        t0 = time.perf_counter()
        cells = []
        for sc in scs:
            es = sc.es
            recs = es.records
            for model, drop in drops:
                recs = without(recs, model, drop)
            idx = KBIndex(recs, es.index.version)
            s2 = Scorer.__new__(Scorer)
            s2.__dict__.update(sc.__dict__)
            s2.es = type(es)(es.name, idx, es.queries, es.qvs, es.embedders, recs)
            s2._fold_index = {}
            m = measure(s2, settings)
            cells.append(f"{m['hit1']:.3f} / {m['auc']:.3f} / {m['kept']:.3f} / {m['flagged']:.3f}")
        print(f"| {label} | " + " | ".join(cells) + f" |  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
