import pytest

from app.llm.classify import classify, estimate_tokens


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("你好", "short"),
        ("hello!", "short"),
        ("谢谢", "short"),
        ("请简述光合作用的过程", "medium"),
        ("How do I reset my password", "medium"),
        ("写一首五言绝句，主题为春雨", "complex"),
        ("Compare the savings account and the time deposit", "complex"),
        ("信用卡年费多少？怎么免除？", "complex"),
        ("为什么我的转账失败了", "complex"),
        ("a " * 60, "complex"),
    ],
)
def test_answer_classes(question, expected):
    assert classify(question, "answer").complexity == expected


def test_rewrite_is_always_short():
    assert classify("写一首五言绝句，主题为春雨，再比较一下唐诗和宋词", "rewrite").complexity == "short"


def test_thresholds_are_settings():
    assert classify("请简述光合作用的过程", "answer", short_max_tokens=30).complexity == "short"
    assert classify("请简述光合作用的过程", "answer", complex_min_tokens=5).complexity == "complex"


def test_estimate_tokens():
    assert estimate_tokens("你好") == 2
    assert estimate_tokens("") == 0
    assert 5 <= estimate_tokens("how do I reset my password") <= 9
