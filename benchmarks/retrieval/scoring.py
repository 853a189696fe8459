"""Scoring helpers shared by the eval report and the tuning script: run every query of an eval set
through `rank` (the code `Retriever.search_vectors` uses) under given weights and calibration,
on the full KB and on left-out folds, and turn the runs into rows for metrics and calibration."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from app.lang import detect_lang
from app.retrieval.confidence import DEFAULT_CALIBRATION, answerable_threshold
from app.retrieval.fusion import DEFAULT_WEIGHTS, entry_max, top_k
from app.retrieval.kb_index import KBIndex
from app.retrieval.ranking import model_role, needed_models, rank, weights_for
from benchmarks.retrieval.evalsets import EvalSet, expected_keys, is_answerable, kind_of

FOLDS = 5
SEED = 13


@dataclass
class Run:
    """One query against one index: the top keys and what the confidence model saw."""

    qi: int
    keys: list[str]
    top_kind: str  # kind of the top hit ("faq" / "doc" / "")
    confidence: float
    features: dict
    answerable: bool  # the index holds an expected entry
    qkind: str  # "faq" / "doc" / "none" (labelled, for the full KB)
    fold: int  # -1: full KB

    @property
    def rank(self) -> int | None:
        return None if not self.answerable else self._rank

    _rank: int | None = None

    @property
    def correct(self) -> bool:
        return self.rank == 0


def fold_split(keys: list[str]) -> list[set[str]]:
    rng = random.Random(SEED)
    keys = sorted(keys)
    rng.shuffle(keys)
    return [set(keys[f::FOLDS]) for f in range(FOLDS)]


class Scorer:
    """An eval set with its languages and fold indexes prepared once."""

    def __init__(self, es: EvalSet) -> None:
        self.es = es
        self.roles = [model_role(e.name) for e in es.embedders]
        self.langs = [detect_lang(q["query"]) for q in es.queries]
        self.expected = [expected_keys(q) if is_answerable(q) else set() for q in es.queries]
        with_q = sorted({k for ex in self.expected for k in ex} & set(es.index.key_to_idx))
        self.folds = fold_split(with_q)
        self._fold_index: dict[int, KBIndex] = {}

    def fold_index(self, f: int) -> KBIndex:
        if f not in self._fold_index:
            self._fold_index[f] = self.es.index.without(self.folds[f])
        return self._fold_index[f]

    def run(self, index: KBIndex, fold: int, weights=DEFAULT_WEIGHTS, calibration=DEFAULT_CALIBRATION, k: int = 10,
            only: list[int] | None = None) -> list[Run]:  # fmt: skip
        out = []
        left_out = self.folds[fold] if fold >= 0 else set()
        for qi in only if only is not None else range(len(self.es.queries)):
            q = self.es.queries[qi]
            lang = self.langs[qi]
            _, w = weights_for(lang, index, weights)
            need = needed_models(self.roles, w, index)
            qvecs = {i: self.es.qvs[i][qi] for i in need}
            hits = rank(index, q["query"], lang, qvecs, self.roles, k, weights=weights, calibration=calibration)
            keys = [index.entries[h.entry].key for h in hits]
            exp = self.expected[qi] - left_out
            r = Run(qi, keys, index.entries[hits[0].entry].kind if hits else "", hits[0].confidence if hits else 0.0,
                    hits[0].features if hits else {}, bool(exp), kind_of(q), fold)  # fmt: skip
            r._rank = next((i for i, kk in enumerate(keys) if kk in exp), None)
            out.append(r)
        return out

    def full(self, weights=DEFAULT_WEIGHTS, calibration=DEFAULT_CALIBRATION, k: int = 10) -> list[Run]:
        return self.run(self.es.index, -1, weights, calibration, k)

    def folded(self, weights=DEFAULT_WEIGHTS, calibration=DEFAULT_CALIBRATION, k: int = 5) -> list[Run]:
        out = []
        for f in range(FOLDS):
            out += self.run(self.fold_index(f), f, weights, calibration, k)
        return out

    def dense_only(self, model: int, k: int = 10) -> list[int | None]:
        """Baseline ranks: plain cosine of one model, best record per entry."""
        idx = self.es.index
        ranks = []
        for qi, exp in enumerate(self.expected):
            if not exp:
                continue
            s = entry_max(idx.dense[model] @ self.es.qvs[model][qi], idx.rec_entry, idx.n_entries)
            keys = [idx.entries[i].key for i in top_k(s, k)]
            ranks.append(next((i for i, kk in enumerate(keys) if kk in exp), None))
        return ranks


def answerable_rank_lists(runs: list[Run]) -> dict[str, list[int | None]]:
    """Ranks of the answerable queries of full-KB runs: overall and by question kind."""
    out: dict[str, list[int | None]] = {"all": []}
    for r in runs:
        if r.fold == -1 and r.qkind != "none":
            out["all"].append(r.rank)
            out.setdefault(r.qkind, []).append(r.rank)
    return out


def hit1(runs: list[Run]) -> float:
    rs = [r for r in runs if r.fold == -1 and r.qkind != "none"]
    return sum(r.correct for r in rs) / max(len(rs), 1)


def no_answer(full: list[Run], folded: list[Run], threshold: float, zh: float | None = None) -> dict:
    """Answerable kept / unanswerable flagged at `threshold` (`zh`, when given, for the runs the
    multilingual model leads: confidence.answerable_threshold, as the retriever decides): real
    labels on the full KB (when the set has unanswerable questions) and the left-out folds."""
    def rate(rs, pred):
        return (sum(pred(r) for r in rs) / len(rs), len(rs)) if rs else (float("nan"), 0)

    zh = threshold if zh is None else zh
    keep = lambda r: r.confidence >= answerable_threshold(r.features, threshold, zh)  # noqa: E731
    flag = lambda r: not keep(r)  # noqa: E731
    out: dict = {"threshold": threshold, "threshold_zh": zh}
    real_un = [r for r in full if r.qkind == "none"]
    if real_un:
        out["real"] = {
            "unanswerable_flagged": rate(real_un, flag),
            "faq_kept": rate([r for r in full if r.qkind == "faq"], keep),
            "doc_kept": rate([r for r in full if r.qkind == "doc"], keep),
            "answerable_kept": rate([r for r in full if r.qkind in ("faq", "doc")], keep),
        }
    per_fold = []
    for f in sorted({r.fold for r in folded}):
        rs = [r for r in folded if r.fold == f and r.qkind != "none"]
        per_fold.append({
            "fold": f,
            "unanswerable": rate([r for r in rs if not r.answerable], flag),
            "answerable": rate([r for r in rs if r.answerable], keep),
        })  # fmt: skip
    if per_fold:
        fl = [p["unanswerable"][0] for p in per_fold]
        kp = [p["answerable"][0] for p in per_fold]
        out["folds"] = {"per_fold": per_fold, "flagged_mean": float(np.mean(fl)), "flagged_min": float(np.min(fl)),
                        "kept_mean": float(np.mean(kp)), "kept_min": float(np.min(kp))}  # fmt: skip
    return out


def faq_direct(runs: list[Run], threshold: float) -> tuple[int, int, int]:
    """(selected, correct, runs): top-1 FAQ hits at confidence >= threshold in the query's language
    (the no-LLM path, as app/answering/policy.py decides it)."""
    sel = [r for r in runs if r.top_kind == "faq" and r.confidence >= threshold and not r.features.get("xlang")]
    return len(sel), sum(r.correct for r in sel), len(runs)

