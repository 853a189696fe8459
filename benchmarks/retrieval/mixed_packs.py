"""A mixed-language KB check: both dev packs merged into one knowledge base (156 Chinese bank FAQs +
174 English StackFAQ entries, unrelated topics), each pack's queries scored against it with the
shipped defaults. A mixed KB must not cost a pack what it scores alone (eval_packs.py): another
language's entries should neither outrank nor, when the answer is left out, be answered from.

    python benchmarks/retrieval/mixed_packs.py

Reads the cached sets of benchmarks/retrieval/evalsets.py (run it or eval_packs.py first); writes
nothing, prints one line per pack. No tuning reads these numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.retrieval.kb_index import KBIndex, RecordSet  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from benchmarks.retrieval.evalsets import EvalSet, load_set  # noqa: E402
from benchmarks.retrieval.scoring import Scorer, faq_direct, hit1, no_answer  # noqa: E402

WORK = Path("/tmp/askdesk-eval")
PACKS = ("esun_faq_zh_tw", "stackfaq_en")


def merged(sets: list[EvalSet]) -> EvalSet:
    """One index over the records of every set (per model), the queries one after the other."""
    n_models = len(sets[0].records)
    joined = [
        RecordSet(
            [i for es in sets for i in es.records[m].ids], [t for es in sets for t in es.records[m].texts],
            [md for es in sets for md in es.records[m].metadatas], np.vstack([es.records[m].embeddings for es in sets]),
        )
        for m in range(n_models)
    ]  # fmt: skip
    queries = [q for es in sets for q in es.queries]
    qvs = [np.vstack([es.qvs[m] for es in sets]) for m in range(n_models)]
    return EvalSet("mixed", KBIndex(joined, (1, len(joined[0].ids))), queries, qvs, sets[0].embedders, joined)


def main() -> None:
    settings = Settings()
    apply_process_env(settings)
    sets = [load_set(n, settings, work=WORK, cache=WORK / "cache") for n in PACKS]
    sc = Scorer(merged(sets))
    t, zh = settings.retrieval_answerable_threshold, settings.retrieval_answerable_threshold_zh
    full, folded = sc.full(), sc.folded()
    print(f"mixed KB: {sc.es.index.n_entries} entries, English share {sc.es.index.en_share:.3f}; thresholds {t} / zh {zh}")
    start = 0
    for es in sets:
        end = start + len(es.queries)
        f = [r for r in full if start <= r.qi < end]
        o = [r for r in folded if start <= r.qi < end]
        na = no_answer(f, o, t, zh)["folds"]
        sel, ok, _ = faq_direct(f + o, 0.85)
        print(f"{es.name} queries: hit@1 {hit1(f):.3f}; folds flagged {na['flagged_mean']:.3f} / {na['flagged_min']:.3f}, "
              f"kept {na['kept_mean']:.3f} / {na['kept_min']:.3f}; FAQ-direct at 0.85 {ok}/{sel}")  # fmt: skip
        start = end


if __name__ == "__main__":
    main()
