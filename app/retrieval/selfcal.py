"""Per-KB self-calibration (pure given the query vectors): the knowledge base labels its own data.

A customer's KB is one the shipped confidence model has never seen, and its confidences do not
transfer (fit on two eval sets, tested on the third: unanswerable flagged 0.13 on one, answerable
kept 0.41 on another). The KB itself holds labelled questions, though:

  pseudo-answerable   an entry's related question (or, without any, its main question) asked with
                      that question's own record and text taken out: the entry must be found from
                      what is left, as a user's paraphrase would be; a document section's heading
                      asked against the section (its chunks carry the heading)
  pseudo-unanswerable the same question asked with the whole entry taken out (leave-entry-out):
                      what the KB's nearest neighbours look like when it has no answer

The sampled entries are split into folds; one index variant per fold removes fold f's entries
(their questions are unanswerable there) and fold f+1's own questions (answerable there), so five
index builds score every pseudo-query. The shipped global calibration stays the prior: the fit
rescales its logit per kind of hit (z' = a*z + b, ridge-pulled towards a=1, b=0), so a KB too
small or too uniform to learn from keeps the global model, and the result is again a plain
`Calibration` that `rank` uses unchanged. The answerable thresholds are then read off the same
pseudo-runs' frontier (benchmarks/retrieval/selfcal_eval.py measures all of it leave-one-set-out).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.retrieval.confidence import Calibration, calibration_for, calibration_key
from app.retrieval.kb_index import KBIndex
from app.retrieval.text import tokenize

FOLDS = 5
MIN_HEADING_TOKENS = 2
NO_RELATED_DROP = ("question",)  # a heading of one word ("Overview") is not a question


@dataclass(frozen=True)
class PseudoQuery:
    text: str
    entry: int  # the entry it asks about
    drop_records: tuple[int, ...]  # its own record(s), taken out when it is asked as answerable
    drop_related: str | None  # its related-question text, taken out of the entry's metadata too


@dataclass(frozen=True)
class PseudoRun:
    label: int  # 1: the entry was in the index (answerable), 0: it was taken out
    correct: bool  # answerable and the top hit is the entry
    features: dict[str, float]  # of the top hit (ranking.rank)

    @property
    def en_lead(self) -> bool:
        return bool(self.features.get("en_lead"))

    @property
    def group(self) -> str:
        """The calibration key of the top hit (confidence.calibration_key)."""
        f = self.features
        return calibration_key(self.en_lead, bool(f.get("doc")), bool(f.get("verified")))


def pseudo_queries(index: KBIndex, max_entries: int, seed: int = 7) -> list[PseudoQuery]:
    """One pseudo-query per sampled entry (at most `max_entries`, spread over FAQ entries and
    document sections in their proportions)."""
    rng = random.Random(seed)
    order = list(range(index.n_entries))
    rng.shuffle(order)
    out: list[PseudoQuery] = []
    for e in order:
        if len(out) >= max_entries:
            break
        pq = _pseudo_query(index, e, rng)
        if pq is not None:
            out.append(pq)
    return out


def _pseudo_query(index: KBIndex, e: int, rng: random.Random) -> PseudoQuery | None:
    info = index.entries[e]
    rows = index.records_of(e)
    if info.kind != "faq":
        heading = info.section.strip()
        if len(tokenize(heading)) < MIN_HEADING_TOKENS or heading == info.title.strip():
            return None
        return PseudoQuery(heading, e, (), None)
    if info.related:
        q = rng.choice(info.related)
        own = tuple(int(r) for r in rows if index.rec_field[r] == "related" and index.record_texts[r].split("\n", 1)[0].strip() == q.strip())
        return PseudoQuery(q, e, own, q)
    if not info.answer.strip():
        return None  # nothing left to find it by
    # no paraphrase in the entry: its question, found without its own record (the question with
    # the answer's opening, and the answer, remain)
    own = tuple(int(r) for r in rows if index.rec_field[r] in NO_RELATED_DROP)
    return PseudoQuery(info.question, e, own, None)


def fold_of(pqs: Sequence[PseudoQuery], folds: int = FOLDS) -> list[int]:
    return [i % folds for i in range(len(pqs))]


def fold_variant(index: KBIndex, pqs: Sequence[PseudoQuery], fold: list[int], f: int, folds: int = FOLDS) -> KBIndex:
    """Fold f's entries taken out (their pseudo-queries unanswerable), fold f+1's own questions
    taken out (their pseudo-queries answerable from the rest of the entry)."""
    pos = (f + 1) % folds
    drop_entries = {index.entries[p.entry].key for p, g in zip(pqs, fold, strict=True) if g == f}
    drop_records = {r for p, g in zip(pqs, fold, strict=True) if g == pos for r in p.drop_records}
    drop_related = {
        index.entries[p.entry].key: {p.drop_related}
        for p, g in zip(pqs, fold, strict=True)
        if g == pos and p.drop_related is not None
    }
    return index.variant(drop_entries=drop_entries, drop_records=drop_records, drop_related=drop_related)


def pseudo_runs(
    index: KBIndex,
    pqs: Sequence[PseudoQuery],
    search: Callable[[KBIndex, int], tuple[str, dict] | None],
    folds: int = FOLDS,
) -> list[PseudoRun]:
    """Every pseudo-query scored twice: unanswerable in its own fold's variant, answerable in the
    previous fold's. `search(variant, i)` ranks pseudo-query i there and returns the top hit's
    (entry key, features), or None when nothing was found."""
    fold = fold_of(pqs, folds)
    out: list[PseudoRun] = []
    for f in range(min(folds, len(pqs))):
        variant = fold_variant(index, pqs, fold, f, folds)
        pos = (f + 1) % folds
        for i, (p, g) in enumerate(zip(pqs, fold, strict=True)):
            if g not in (f, pos) or (g == pos and pos == f):
                continue
            got = search(variant, i)
            if got is None:
                continue
            key, feats = got
            label = int(g == pos)
            out.append(PseudoRun(label, bool(label) and key == index.entries[p.entry].key, feats))
    return out


# --- fitting ---------------------------------------------------------------------------------

MIN_PER_CLASS = 15  # fewer pseudo-runs of either class in a group: that group keeps the prior
RIDGE = 2.0  # pull of (a, b) towards the prior's (1, 0), in units of the class-balanced log loss


@dataclass
class SelfCalibration:
    """What the self-calibration decided for one KB (serialisable; `source` says which is in force)."""

    source: str  # "kb" (fitted on the KB's own questions), "questions" (a labelled file), "global"
    calibration: dict[str, Calibration]
    thresholds: dict[str, float]  # "en" / "multi": the answerable threshold per lead encoder
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)  # group -> (a, b) applied
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # group -> (answerable, unanswerable)
    reason: str = ""  # why the global model is in force, or what the fit was trained on

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "calibration": {k: {"bias": c.bias, "coef": dict(c.coef)} for k, c in self.calibration.items()},
            "thresholds": self.thresholds,
            "scale": {k: list(v) for k, v in self.scale.items()},
            "counts": {k: list(v) for k, v in self.counts.items()},
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, d: Mapping) -> SelfCalibration:
        return cls(
            source=str(d["source"]),
            calibration={k: Calibration(float(v["bias"]), dict(v["coef"])) for k, v in d["calibration"].items()},
            thresholds={k: float(v) for k, v in d["thresholds"].items()},
            scale={k: (float(v[0]), float(v[1])) for k, v in d.get("scale", {}).items()},
            counts={k: (int(v[0]), int(v[1])) for k, v in d.get("counts", {}).items()},
            reason=str(d.get("reason", "")),
        )


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def fit_scale(z: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> tuple[float, float]:
    """(a, b) minimising the class-balanced mean log loss of sigmoid(a*z + b) plus
    ridge/n * ((a-1)^2 + b^2): strong for a handful of runs, fading as the KB gives more evidence."""
    from scipy.optimize import minimize

    n_pos, n_neg = max(int((y == 1).sum()), 1), max(int((y == 0).sum()), 1)
    w = np.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)
    lam = ridge / len(z)
    prior = np.array([1.0, 0.0])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[0] * z + theta[1]
        # log(1 + e^-s) for y=1, log(1 + e^s) for y=0, computed without overflow
        ll = np.logaddexp(0.0, np.where(y == 1, -s, s))
        p = 1 / (1 + np.exp(-np.clip(s, -40, 40)))
        g = w * (p - y)
        d = theta - prior
        return float((w * ll).sum() + lam * (d @ d)), np.array([g @ z, g.sum()]) + 2 * lam * d

    res = minimize(loss, prior, jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def rescaled(c: Calibration, a: float, b: float) -> Calibration:
    """sigmoid(a*(bias + coef.x) + b) as a plain Calibration."""
    return Calibration(bias=round(a * c.bias + b, 4), coef={f: round(a * v, 4) for f, v in c.coef.items()})


def fit(
    runs: Sequence[PseudoRun],
    prior: Mapping[str, Calibration],
    *,
    source: str = "kb",
    min_per_class: int = MIN_PER_CLASS,
    ridge: float = RIDGE,
    targets: tuple[float, float] = (0.85, 0.90),
    default_thresholds: Mapping[str, float] | None = None,
) -> SelfCalibration:
    """The prior rescaled per calibration group on these runs, and the answerable threshold per
    lead encoder read off the rescaled runs' frontier. Groups with too few runs of either class
    borrow the rescaling of their lead encoder's FAQ group, or keep the prior."""
    default_thresholds = dict(default_thresholds or {"en": 0.5, "multi": 0.5})
    scale: dict[str, tuple[float, float]] = {}
    counts: dict[str, tuple[int, int]] = {}
    by_group: dict[str, list[PseudoRun]] = {}
    for r in runs:
        by_group.setdefault(r.group, []).append(r)
    for g, rs in by_group.items():
        y = np.array([r.label for r in rs], dtype=float)
        counts[g] = (int(y.sum()), int(len(y) - y.sum()))
        if min(counts[g]) < min_per_class:
            continue
        base = calibration_for(prior, g)
        z = np.array([_logit(base.confidence(r.features)) for r in rs])
        scale[g] = fit_scale(z, y, ridge)
    out: dict[str, Calibration] = dict(prior)
    for g in set(prior) | set(by_group):
        ab = scale.get(g) or scale.get(g.replace("+v", "")) or scale.get(g.split("-")[0].replace("+v", ""))
        if ab is None:
            continue
        out[g] = rescaled(calibration_for(prior, g), *ab)
    thresholds = dict(default_thresholds)
    for lead in ("en", "multi"):
        rs = [r for r in runs if (lead == "en") == r.en_lead]
        y = np.array([r.label for r in rs])
        if min(int(y.sum()), int(len(y) - y.sum()), 10**9) < min_per_class:
            continue
        conf = np.array([calibration_for(out, r.group).confidence(r.features) for r in rs])
        thresholds[lead] = float(pick_threshold(conf, y, *targets, fallback=default_thresholds.get(lead, 0.5)))
    # never above the global point either: a KB's calibration may lower the dead-end risk, not raise it
    cap = min([thresholds[k] for k in ("en", "multi") if k in thresholds] + [default_thresholds.get("no_answer", 1.0)])
    no_answer = _no_answer_point(runs, out, keep_goal=NO_ANSWER_KEEP, cap=cap)
    if no_answer is not None:
        thresholds["no_answer"] = no_answer
    if not scale:
        n = sum(len(v) for v in by_group.values())
        return SelfCalibration("global", dict(prior), dict(default_thresholds), {}, counts,
                               f"too few pseudo-questions to learn from ({n} runs; {min_per_class} of each kind needed)")  # fmt: skip
    return SelfCalibration(source, out, thresholds, scale, counts, "")


# the chat's "not in the KB" point: this share of the pseudo-answerable questions gets an answer
# attempt. Measured on the three eval sets (benchmarks/retrieval/selfcal_eval.py): 0.95 cut our KB's
# answerable -> no_answer from 0.211 to 0.065 but let half of its real unanswerable questions through
# to a rag answer (0.766 -> 0.494 stopped); 0.90 keeps 0.667 of them stopped for 0.156.
NO_ANSWER_KEEP = 0.90
NO_ANSWER_GRID = tuple(round(0.10 + 0.025 * i, 3) for i in range(17))  # 0.10 .. 0.50


def _no_answer_point(runs: Sequence[PseudoRun], cal: Mapping[str, Calibration], keep_goal: float, cap: float) -> float | None:
    """The highest grid point that still lets `keep_goal` of the pseudo-answerable questions reach
    an answer (rag, with the passages and the instruction to say it does not know, between this
    and the answerable threshold): a dead end on a question the KB answers costs more than a
    careful rag answer. None without enough runs."""
    conf = np.array([calibration_for(cal, r.group).confidence(r.features) for r in runs if r.label])
    if len(conf) < MIN_PER_CLASS:
        return None
    ok = [t for t in NO_ANSWER_GRID if float((conf >= t).mean()) >= keep_goal and t <= cap]
    return max(ok) if ok else NO_ANSWER_GRID[0]


THRESHOLD_GRID = tuple(round(0.30 + 0.025 * i, 3) for i in range(17))  # 0.30 .. 0.70


def pick_threshold(conf: np.ndarray, y: np.ndarray, flag_goal: float, keep_goal: float, fallback: float = 0.5) -> float:
    """The grid point with the widest slack against both goals (unanswerable flagged >= flag_goal,
    answerable kept >= keep_goal), ties to the one nearest the class-balanced point 0.5."""
    pos, neg = conf[y == 1], conf[y == 0]
    if not len(pos) or not len(neg):
        return fallback
    best = None
    for t in THRESHOLD_GRID:
        slack = min(float((neg < t).mean()) - flag_goal, float((pos >= t).mean()) - keep_goal)
        key = (-slack, abs(t - 0.5))
        if best is None or key < best[0]:
            best = (key, t)
    return best[1]


def frontier(conf: np.ndarray, y: np.ndarray) -> list[tuple[float, float, float]]:
    """(threshold, unanswerable flagged, answerable kept) along the grid: what `askdesk calibrate`
    prints so a person sees what each point costs."""
    pos, neg = conf[y == 1], conf[y == 0]
    return [(t, float((neg < t).mean()) if len(neg) else float("nan"), float((pos >= t).mean()) if len(pos) else float("nan"))
            for t in THRESHOLD_GRID]  # fmt: skip
