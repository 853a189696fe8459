"""The per-KB self-calibration's pure parts: pseudo-questions from a hand-built index, the fold
variants that ask them, the ridge-pulled rescaling, the threshold rules, the JSON round trip."""

import numpy as np
import pytest

from app.retrieval import selfcal
from app.retrieval.confidence import DEFAULT_CALIBRATION, Calibration, calibration_for
from app.retrieval.kb_index import KBIndex, RecordSet


def _index(n_faq: int = 10) -> KBIndex:
    """n FAQ entries (even ones with a related question), one document section with a heading."""
    rows = []
    for i in range(n_faq):
        rows.append((f"q{i}", f"How do I renew permit {i}?", f"faq-{i}", "question"))
        if i % 2 == 0:
            rows.append((f"r{i}", f"Renewal steps for permit {i}\nHow do I renew permit {i}?", f"faq-{i}", "related"))
        rows.append((f"a{i}", f"Fill in form {i} and send it to the office.", f"faq-{i}", "answer"))
        rows.append((f"x{i}", f"How do I renew permit {i}?\nFill in form {i}", f"faq-{i}", "qa"))
    rows.append(("c1", "Branch guide\nOpening hours of branches\nBranches open at nine.", "guide.md#Opening hours of branches", "chunk"))
    metas = []
    for rid, text, key, fld in rows:
        doc = key.startswith("guide")
        i = key.split("-")[-1]
        metas.append({
            "entry_key": key, "kind": "doc" if doc else "faq", "source": "guide.md" if doc else "faq.csv",
            "title": "Branch guide" if doc else "", "section": "Opening hours of branches" if doc else "",
            "lang": "en", "question": "" if doc else f"How do I renew permit {i}?",
            "answer": "" if doc else f"Fill in form {i} and send it to the office.",
            "related_questions": f"Renewal steps for permit {i}" if not doc and int(i) % 2 == 0 else "", "field": fld,
        })  # fmt: skip
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((len(rows), 8)).astype(np.float32)
    return KBIndex([RecordSet([r[0] for r in rows], [r[1] for r in rows], metas, vecs)])


def test_pseudo_questions_take_the_entrys_own_paraphrase_or_question_or_heading():
    idx = _index()
    pqs = selfcal.pseudo_queries(idx, max_entries=100)
    by_key = {idx.entries[p.entry].key: p for p in pqs}
    assert len(pqs) == idx.n_entries  # every entry yields one
    even, odd = by_key["faq-2"], by_key["faq-3"]
    # an entry with a related question is asked that question; its own record is what goes
    assert even.text == "Renewal steps for permit 2" and even.drop_related == even.text
    assert [idx.record_ids[r] for r in even.drop_records] == ["r2"]
    # without one: its question, with the question record taken out (the qa record stays)
    assert odd.text == "How do I renew permit 3?" and [idx.record_ids[r] for r in odd.drop_records] == ["q3"]
    doc = by_key["guide.md#Opening hours of branches"]
    assert doc.text == "Opening hours of branches" and doc.drop_records == ()
    assert len(selfcal.pseudo_queries(idx, max_entries=4)) == 4


def test_fold_variant_removes_fold_entries_and_next_folds_own_questions():
    idx = _index()
    pqs = selfcal.pseudo_queries(idx, max_entries=100)
    fold = selfcal.fold_of(pqs)
    v = selfcal.fold_variant(idx, pqs, fold, 0)
    gone = {idx.entries[p.entry].key for p, g in zip(pqs, fold, strict=True) if g == 0}
    asked = [p for p, g in zip(pqs, fold, strict=True) if g == 1]
    assert gone and not gone & set(v.key_to_idx)
    for p in asked:  # answerable there: the entry stays, its own record and related text do not
        key = idx.entries[p.entry].key
        assert key in v.key_to_idx
        assert not {idx.record_ids[r] for r in p.drop_records} & set(v.record_ids)
        if p.drop_related:
            assert p.drop_related not in v.entries[v.key_to_idx[key]].related
    assert len(v.record_ids) < len(idx.record_ids)


def test_pseudo_runs_label_each_question_once_each_way():
    idx = _index()
    pqs = selfcal.pseudo_queries(idx, max_entries=100)
    seen = []

    def search(variant, i):
        seen.append((i, idx.entries[pqs[i].entry].key in variant.key_to_idx))
        e = variant.key_to_idx.get(idx.entries[pqs[i].entry].key, 0)
        return variant.entries[e].key, {"en_lead": 1.0, "doc": 0.0}

    runs = selfcal.pseudo_runs(idx, pqs, search)
    assert len(runs) == 2 * len(pqs)
    assert sum(r.label for r in runs) == len(pqs)
    # the label says whether the entry was in the variant that asked it
    assert sorted(present for _, present in seen) == sorted(bool(r.label) for r in runs)
    assert all(r.correct == bool(r.label) for r in runs)


def test_fit_scale_recovers_a_rescaling_and_stays_at_the_prior_without_evidence():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(float)
    a, b = selfcal.fit_scale(z, y, ridge=selfcal.RIDGE)
    # class-balanced weights shift the intercept by the log prior odds; the slope is recovered
    assert a == pytest.approx(0.5, abs=0.08)
    prior_odds = np.log(y.mean() / (1 - y.mean()))
    assert b == pytest.approx(-1.0 - prior_odds, abs=0.25)
    a2, b2 = selfcal.fit_scale(z[:4], y[:4], ridge=50.0)
    assert abs(a2 - 1) < 0.2 and abs(b2) < 0.2


def test_fit_rescales_per_group_or_keeps_the_global_model():
    feats_pos = {"en_lead": 1.0, "cos": 0.7, "margin": 2.0}
    feats_neg = {"en_lead": 1.0, "cos": 0.5, "margin": 0.3}
    few = [selfcal.PseudoRun(1, True, feats_pos), selfcal.PseudoRun(0, False, feats_neg)]
    g = selfcal.fit(few, DEFAULT_CALIBRATION, default_thresholds={"en": 0.5, "multi": 0.6})
    assert g.source == "global" and "too few" in g.reason and g.thresholds == {"en": 0.5, "multi": 0.6}
    rng = np.random.default_rng(2)
    runs = []
    for _ in range(60):
        runs.append(selfcal.PseudoRun(1, True, {**feats_pos, "cos": 0.7 + rng.normal(0, 0.05)}))
        runs.append(selfcal.PseudoRun(0, False, {**feats_neg, "cos": 0.5 + rng.normal(0, 0.05)}))
    k = selfcal.fit(runs, DEFAULT_CALIBRATION)
    assert k.source == "kb" and set(k.scale) == {"en"}
    a, b = k.scale["en"]
    base = DEFAULT_CALIBRATION["en"]
    # still a plain Calibration: sigmoid(a * prior logit + b)
    z = base.bias + sum(c * feats_pos.get(f, 0.0) for f, c in base.coef.items())
    assert k.calibration["en"].confidence(feats_pos) == pytest.approx(1 / (1 + np.exp(-(a * z + b))), abs=1e-3)
    # the document model of the same lead borrows the FAQ model's rescaling
    assert k.calibration["en-doc"].bias == pytest.approx(round(a * DEFAULT_CALIBRATION["en-doc"].bias + b, 4))
    assert k.calibration["multi"] == DEFAULT_CALIBRATION["multi"]  # no evidence for Chinese
    assert k.thresholds["en"] in selfcal.THRESHOLD_GRID
    conf = np.array([calibration_for(k.calibration, r.group).confidence(r.features) for r in runs])
    y = np.array([r.label for r in runs])
    t = k.thresholds["en"]
    assert (conf[y == 0] < t).mean() >= 0.85 and (conf[y == 1] >= t).mean() >= 0.90  # separable: both goals met
    assert k.thresholds["no_answer"] <= t


def test_pick_threshold_takes_the_widest_slack():
    conf = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    t = selfcal.pick_threshold(conf, y, 0.85, 0.90)
    assert 0.35 < t <= 0.6
    assert selfcal.pick_threshold(conf[:4], y[:4], 0.85, 0.9, fallback=0.42) == 0.42  # one class only
    rows = selfcal.frontier(conf, y)
    assert rows[0][0] == selfcal.THRESHOLD_GRID[0] and all(0 <= fl <= 1 and 0 <= kp <= 1 for _, fl, kp in rows)


def test_json_round_trip():
    cal = selfcal.SelfCalibration("kb", {"en": Calibration(-1.0, {"cos": 2.0})}, {"en": 0.45, "multi": 0.5, "no_answer": 0.3},
                                  {"en": (0.8, -0.2)}, {"en": (40, 40)}, "x")  # fmt: skip
    back = selfcal.SelfCalibration.from_json(cal.to_json())
    assert back == cal
