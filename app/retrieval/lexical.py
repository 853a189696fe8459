"""Vectorised BM25 (pure: numpy/scipy only). Document weights are precomputed into a sparse
column-major matrix, so scoring a query is a sum of a few columns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse


class BM25:
    """Okapi BM25 over pre-tokenised documents (`k1`, `b` as usual; idf = log(1 + (N-df+.5)/(df+.5)))."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, toks in enumerate(docs):
            lengths[i] = len(toks)
            counts: dict[int, int] = {}
            for t in toks:
                j = self.vocab.setdefault(t, len(self.vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        n, v = len(docs), len(self.vocab)
        self.n_docs = n
        tf = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n, v), dtype=np.float32)
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=v).astype(np.float32)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avgdl, 1e-9))
        tf = tf.tocoo()
        w = tf.data * (k1 + 1) / (tf.data + norm[tf.row]) * self.idf[tf.col]
        self.weights = sparse.csc_matrix((w, (tf.row, tf.col)), shape=(n, v), dtype=np.float32)
        self.present = sparse.csc_matrix(
            (np.ones_like(tf.data), (tf.row, tf.col)), shape=(n, v), dtype=np.float32
        )
        self.k1 = k1

    def _cols(self, query_tokens: Sequence[str]) -> np.ndarray:
        return np.asarray(sorted({self.vocab[t] for t in query_tokens if t in self.vocab}), dtype=np.int64)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (shape [n_docs])."""
        cols = self._cols(query_tokens)
        if cols.size == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel()

    def coverage(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Share of the query's idf mass (unique tokens; unknown tokens count with the max idf)
        that each document contains: 0..1, comparable across queries, a lexical-overlap signal."""
        uniq = set(query_tokens)
        if not uniq or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        cols = self._cols(list(uniq))
        unknown = len(uniq) - cols.size
        max_idf = float(np.log1p((self.n_docs + 0.5) / 0.5))
        total = float(self.idf[cols].sum()) + unknown * max_idf
        if cols.size == 0 or total <= 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.present[:, cols] @ self.idf[cols]).ravel() / total
