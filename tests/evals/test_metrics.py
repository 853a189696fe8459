import math

import pytest

from evals import metrics as M


def test_matches_gold_ids_paths_and_sections():
    assert M.matches_gold("it-vpn-001", "it-vpn-001")
    assert not M.matches_gold("it-vpn-002", "it-vpn-001")
    gold = "docs/travel-policy.md#Hotel limits by city tier"
    assert M.matches_gold("docs/travel-policy.md#Hotel limits by city tier", gold)
    assert M.matches_gold("knowledge/docs/travel-policy.md#hotel limits by city tier", gold)
    assert not M.matches_gold("docs/travel-policy.md#Per-diem rates", gold)
    assert not M.matches_gold("mydocs/travel-policy.md#Hotel limits by city tier", gold)
    # a whole-file gold matches any section of the file
    assert M.matches_gold("docs/travel-policy.md#Per-diem rates", "docs/travel-policy.md")


def test_rank_metrics_by_hand():
    hits = [("a", ""), ("b", ""), ("c", ""), ("d", "")]
    s = M.query_retrieval_scores(hits, ["c"])
    assert s == {
        "hit@1": 0.0,
        "hit@3": 1.0,
        "hit@5": 1.0,
        "mrr": pytest.approx(1 / 3),
        "ndcg@10": pytest.approx(1 / math.log2(4)),
    }
    # two gold items at ranks 1 and 3: idcg over 2 items
    s = M.query_retrieval_scores(hits, ["a", "c"])
    assert s["hit@1"] == 1.0 and s["mrr"] == 1.0
    assert s["ndcg@10"] == pytest.approx((1 + 1 / 2) / (1 + 1 / math.log2(3)))
    assert M.query_retrieval_scores(hits, ["zz"])["ndcg@10"] == 0.0
    # duplicate chunks of the same gold section count once
    assert M.gold_ranks([("x#s", ""), ("x#s", "")], ["x#s"]) == [1]


def test_bootstrap_ci_brackets_the_mean_and_is_deterministic():
    xs = [1.0] * 80 + [0.0] * 20
    e = M.bootstrap_ci(xs)
    assert e.value == pytest.approx(0.8) and e.n == 100
    assert 0.7 < e.lo < 0.8 < e.hi < 0.9
    assert M.bootstrap_ci(xs) == e
    assert M.bootstrap_ci([1.0] * 10).lo == 1.0
    assert math.isnan(M.bootstrap_ci([]).value)
    med = M.bootstrap_ci([1, 2, 3, 4, 100], stat=lambda a: float(sorted(a)[len(a) // 2]))
    assert med.value == 3


def test_abstention_precision_recall():
    answerable = [True, True, False, False, False]
    abstained = [False, True, True, True, False]
    s = M.abstention_scores(answerable, abstained)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["tp"] == 2 and s["fp"] == 1 and s["fn"] == 1
    assert math.isnan(M.abstention_scores([True], [False])["recall"])


def test_auc_and_summary():
    assert M.roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert M.roc_auc([0.5], [0.5]) == 0.5
    s = M.summarize([10, 20, 30, None, float("nan")])
    assert s["n"] == 3 and s["p50"] == 20 and s["mean"] == 20
    assert M.summarize([])["n"] == 0


def test_query_class_follows_the_article_examples():
    assert M.query_class("你好") == "short"
    assert M.query_class("请简述光合作用的过程") == "medium"
    assert M.query_class("写一首五言绝句，主题为春雨") == "complex"
    assert M.query_class("how many days of annual leave do I get") == "medium"
