import math

from evals import answers as A


def test_normalize_folds_traditional_to_simplified_and_punctuation():
    assert A.normalize("開 DeskOne 工單，IT 會寄一次性註冊碼！") == A.normalize(
        "开 deskone 工单 it 会寄一次性注册码"
    )
    assert A.normalize("RMB 1,100/晚") == "rmb 1100 晚"


def test_containment_from_gold_answer():
    gold = "NWH Connect sessions last at most 12 hours; just sign in again"
    good = A.key_fact_containment("Sessions on NWH Connect end after 12 hours, so sign in again [1].", gold)
    assert good.correct and good.score >= 0.5
    wrong_number = A.key_fact_containment("NWH Connect sessions last at most 8 hours; sign in again.", gold)
    assert not wrong_number.correct  # every number of the gold answer must be there
    assert not A.key_fact_containment("Up to 15 days.", "Up to 5 days").correct
    assert not A.key_fact_containment("Please contact IT.", gold).correct


def test_containment_chinese_across_scripts():
    gold = "開 DeskOne 工單，IT 會寄一次性註冊碼，有效 48 小時"
    ans = "请开一张 DeskOne 工单，IT 会寄给你一次性注册码，48 小时内有效。"
    c = A.key_fact_containment(ans, gold)
    assert c.correct, c
    assert not A.key_fact_containment("请联系你的经理。", gold).correct


def test_explicit_key_facts():
    c = A.key_fact_containment(
        "The cap is RMB 1,100 per night for directors.", key_facts=["RMB 1100", "director"]
    )
    assert c.score == 1.0 and c.correct
    c = A.key_fact_containment("The cap is RMB 800.", key_facts=["RMB 1100", "night"])
    assert c.score == 0 and not c.correct
    assert math.isnan(A.key_fact_containment("x", "").score)


def test_citations():
    sources = [
        {"n": 1, "id": "hr-leave-001", "source": "faq.csv"},
        {"n": 2, "id": "docs/travel-policy.md#Per-diem rates", "source": "docs/travel-policy.md"},
    ]
    assert A.cited_numbers("a [2] b [1] c [2]") == [2, 1]
    s = A.citation_scores("Per diem is RMB 150 [2].", sources, ["docs/travel-policy.md#Per-diem rates"])
    assert s == {
        "cited": True,
        "correct": True,
        "precision": 1.0,
        "cited_ids": ["docs/travel-policy.md#Per-diem rates"],
    }
    s = A.citation_scores("Per diem is RMB 150 [1].", sources, ["docs/travel-policy.md#Per-diem rates"])
    assert s["cited"] and not s["correct"] and s["precision"] == 0
    assert A.citation_scores("no markers", sources, ["x"])["cited"] is False
    assert A.faq_source_correct(sources, ["hr-leave-001"]) and not A.faq_source_correct([], ["x"])


def test_similarity_with_a_fake_embedding_and_judge_parsing():
    emb = {"a": [1.0, 0.0], "b": [0.6, 0.8]}
    assert A.semantic_similarity("a", "b", lambda ts: [emb[t] for t in ts]) == 0.6
    assert A.parse_judgement(" correct.") is True
    assert A.parse_judgement("INCORRECT") is False
    assert A.parse_judgement("maybe") is None
