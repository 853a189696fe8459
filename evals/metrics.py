"""Retrieval, abstention and latency metrics with bootstrap confidence intervals. Pure: no I/O.

Relevance is binary: a hit is relevant when its id is one of the gold ids (FAQ ids or
``path#section`` sources, see :func:`matches_gold`). Each gold item counts once, at its best rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

CI_LEVEL = 0.95
BOOTSTRAP_ITERS = 2000
BOOTSTRAP_SEED = 7


# --- relevance --------------------------------------------------------------------------------------
def _norm_path(p: str) -> str:
    p = p.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p.lower()


def _same_path(a: str, b: str) -> bool:
    """Paths match when equal, or when one is the other with a leading directory (abs vs relative)."""
    a, b = _norm_path(a), _norm_path(b)
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return bool(short) and long_.endswith("/" + short)


def matches_gold(hit_id: str, gold: str, hit_source: str = "") -> bool:
    """True when a hit is the gold item: equal ids; for ``path#section`` golds, same path and section;
    a gold without ``#`` (a whole file) matches any section of that file."""
    if hit_id == gold:
        return True
    if "#" in gold:
        gpath, gsec = gold.split("#", 1)
        if "#" not in hit_id:
            return False
        hpath, hsec = hit_id.split("#", 1)
        return hsec.strip().lower() == gsec.strip().lower() and _same_path(hpath, gpath)
    # whole-file gold (or a FAQ id that simply differs)
    if "#" in hit_id:
        return _same_path(hit_id.split("#", 1)[0], gold)
    return bool(hit_source) and ("/" in gold or "." in gold) and _same_path(hit_source, gold)


def gold_ranks(hits: Sequence[tuple[str, str]], gold: Iterable[str]) -> list[int]:
    """1-based rank of each gold item found in ``hits`` (list of ``(id, source)``), best rank per gold."""
    ranks: list[int] = []
    for g in gold:
        for i, (hid, src) in enumerate(hits, start=1):
            if matches_gold(hid, g, src):
                ranks.append(i)
                break
    return sorted(ranks)


def first_relevant_rank(hits: Sequence[tuple[str, str]], gold: Iterable[str]) -> int | None:
    r = gold_ranks(hits, gold)
    return r[0] if r else None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def ndcg_at(ranks: Sequence[int], n_gold: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k given the ranks of the found gold items and how many gold items exist."""
    if n_gold <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r <= k)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_gold, k) + 1))
    return dcg / idcg


def query_retrieval_scores(hits: Sequence[tuple[str, str]], gold: Sequence[str]) -> dict[str, float]:
    """Per-query scores: hit@1/3/5, rr (MRR@10 once averaged), ndcg@10."""
    ranks = gold_ranks(hits, gold)
    first = ranks[0] if ranks else None
    return {
        "hit@1": hit_at(first, 1),
        "hit@3": hit_at(first, 3),
        "hit@5": hit_at(first, 5),
        "mrr": reciprocal_rank(first),
        "ndcg@10": ndcg_at(ranks, len(set(gold))),
    }


# --- intervals --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    value: float
    lo: float
    hi: float
    n: int

    def as_dict(self) -> dict:
        return {"value": self.value, "ci95": [self.lo, self.hi], "n": self.n}


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[np.ndarray], float] | None = None,
    iters: int = BOOTSTRAP_ITERS,
    seed: int = BOOTSTRAP_SEED,
    level: float = CI_LEVEL,
) -> Estimate:
    """Percentile bootstrap of ``stat`` (default: the mean) over per-query values."""
    a = np.asarray(values, dtype=np.float64)
    n = len(a)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if stat is None:
        value = float(a.mean())
        samples = a[np.random.default_rng(seed).integers(0, n, size=(iters, n))].mean(axis=1)
    else:
        value = float(stat(a))
        idx = np.random.default_rng(seed).integers(0, n, size=(iters, n))
        samples = np.array([stat(a[row]) for row in idx])
    alpha = (1 - level) / 2
    return Estimate(value, float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha)), n)


def mean_with_ci(rows: Sequence[dict[str, float]], keys: Sequence[str]) -> dict[str, Estimate]:
    return {k: bootstrap_ci([r[k] for r in rows if r.get(k) is not None]) for k in keys}


# --- abstention -------------------------------------------------------------------------------------
def abstention_scores(answerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | int]:
    """Abstention as a detector of unanswerable questions: precision, recall, F1 and counts.

    precision = abstained on an unanswerable question / all abstentions;
    recall = abstained on an unanswerable question / all unanswerable questions.
    NaN where the denominator is 0 (e.g. a dataset without unanswerable questions).
    """
    tp = sum(1 for a, x in zip(answerable, abstained, strict=True) if not a and x)
    fp = sum(1 for a, x in zip(answerable, abstained, strict=True) if a and x)
    fn = sum(1 for a, x in zip(answerable, abstained, strict=True) if not a and not x)
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * p * r / (p + r) if (tp and p + r) else (0.0 if tp + fp and tp + fn else float("nan"))
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "unanswerable": tp + fn,
        "abstained": tp + fp,
    }


def roc_auc(scores_pos: Sequence[float], scores_neg: Sequence[float]) -> float:
    """Probability a positive scores above a negative (ties count half); NaN if a class is empty."""
    if not scores_pos or not scores_neg:
        return float("nan")
    pos = np.asarray(scores_pos, dtype=np.float64)[:, None]
    neg = np.asarray(scores_neg, dtype=np.float64)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


# --- latency ----------------------------------------------------------------------------------------
def summarize(values: Iterable[float | None]) -> dict[str, float | int]:
    """n, mean, std, p50, p95, min, max of the non-missing values (NaN when there are none)."""
    a = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if a.size == 0:
        nan = float("nan")
        return {"n": 0, "mean": nan, "std": nan, "p50": nan, "p95": nan, "min": nan, "max": nan}
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def group_by(rows: Iterable[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(str(r.get(key) if r.get(key) is not None else "-"), []).append(r)
    return dict(sorted(out.items()))


# --- query class ------------------------------------------------------------------------------------
QUERY_CLASS_RULE = (
    "Query class follows the service's router (app/llm/classify.py, ARTICLE §3 classes): "
    "complex = asks to write/compare/analyse/explain-why/step-by-step (or zh equivalents), has more "
    "than one question, or is >= 40 estimated tokens; short = a greeting/thanks under 10 tokens or "
    "any question under 5 tokens; medium = everything else. Tokens are estimated without a "
    "tokenizer: 1 per CJK character, 1.3 per Latin word."
)


def query_class(query: str) -> str:
    from app.llm.classify import classify  # pure module of the service; same rule as routing

    return classify(query, "answer").complexity
