"""Ingest time added by the per-KB self-calibration, at 1k and 10k entries.

The step (app/retrieval/kb_calibration.fit_for_index) costs: encoding the pseudo-questions (at most
`self_calibration_max_questions`, independent of the KB's size), building one index variant per
fold (grows with the KB), ranking every pseudo-question twice (grows with the KB), and the fit
(milliseconds). This script builds KBs of N FAQ entries from the dev packs' texts (repeated with a
numbered suffix, so BM25 and the overlaps see real text) with random unit vectors of the real
models' widths, and times the step with the real encoders (real query vectors of the real
pseudo-questions). Repeats alternate the sizes; prints one line per run and a median per size.

    python benchmarks/ingest/selfcal_time.py [--sizes 1000 10000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.retrieval.kb_calibration import fit_for_index  # noqa: E402
from app.retrieval.kb_index import KBIndex, RecordSet  # noqa: E402
from app.retrieval.ranking import model_role, prepare  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402

PACKS = Path("/work/shared/data")


def pack_entries() -> list[dict]:
    out = []
    for name in ("esun_faq_zh_tw", "stackfaq_en"):
        p = PACKS / name / "knowledge.jsonl"
        out += [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    return out


def synthetic_index(n: int, dims: list[int], seed: int = 0) -> KBIndex:
    base = pack_entries()
    rng = np.random.default_rng(seed)
    ids, texts, metas = [], [], []
    for i in range(n):
        e = base[i % len(base)]
        tag = f" #{i // len(base)}" if i >= len(base) else ""
        q, a = e["question"] + tag, e["answer"][:600]
        rel = [r + tag for r in (e.get("related_questions") or [])[:2]]
        meta = {"entry_key": f"e{i}", "kind": "faq", "source": "faq.csv", "title": "", "section": "", "lang": e.get("lang", ""),
                "question": q, "answer": a, "related_questions": "\n".join(rel)}  # fmt: skip
        for fld, t in [("question", q), *[("related", f"{r}\n{q}") for r in rel], ("answer", a), ("qa", f"{q}\n{a[:200]}")]:
            ids.append(f"r{len(ids)}")
            texts.append(t)
            metas.append({**meta, "field": fld})
    sets = []
    for d in dims:
        v = rng.standard_normal((len(ids), d)).astype(np.float32)
        sets.append(RecordSet(ids, texts, metas, v / np.linalg.norm(v, axis=1, keepdims=True)))
    return KBIndex(sets)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from app.embeddings import make_embedder

    settings = Settings()
    apply_process_env(settings)
    embedders = [make_embedder(m) for m in settings.embedding_models]
    roles = [model_role(e.name) for e in embedders]
    dims = [e.dim for e in embedders]
    indexes = {}
    for n in args.sizes:
        t0 = time.perf_counter()
        indexes[n] = synthetic_index(n, dims)
        prepare(indexes[n], roles)
        print(f"built a {n}-entry index ({len(indexes[n].record_ids)} records) in {time.perf_counter() - t0:.1f} s (not timed below)")
    took: dict[int, list[float]] = {n: [] for n in args.sizes}
    for rep in range(args.repeats):
        for n in args.sizes:  # alternated, so machine load drifts hit every size alike
            t0 = time.perf_counter()
            cal = fit_for_index(indexes[n], embedders, roles, settings)
            dt = time.perf_counter() - t0
            took[n].append(dt)
            print(f"run {rep + 1}: {n} entries: self-calibration {dt:.1f} s ({cal.source}; {cal.reason})", flush=True)
    for n, ts in took.items():
        print(f"{n} entries: median {statistics.median(ts):.1f} s over {len(ts)} runs (added to ingest; 0 s with ASKDESK_SELF_CALIBRATION=false)")


if __name__ == "__main__":
    main()
