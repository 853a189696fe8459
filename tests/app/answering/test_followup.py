"""Which messages are read with the conversation before them (app/answering/followup.py)."""

from __future__ import annotations

import pytest

from app.answering.followup import history_need, keeps_the_message

STANDALONE = [
    "How many days of annual leave do I get?", "do we have a sabbatical program?", "年假有多少天？",
    "婚假有几天？", "VPN 连不上怎么办", "is this laptop covered by the warranty?", "請問年假有幾天？",
    "我想转人工", "How do I reset my password?",
]
CONTINUES = [
    "And for directors?", "那海外呢？", "what about the second one?", "how do I renew it?", "它怎么续期？",
    "那个要多久？", "海外呢", "what about Tokyo", "還有呢？", "same for contractors?",
    "ok, what about unpaid leave then?", "深圳办公室也有吗", "my family lives 1,200 km away, does that change anything?",
]
FRAGMENTS = ["Tokyo?", "gym?", "上海"]


@pytest.mark.parametrize("message", STANDALONE)
def test_a_message_that_names_its_subject_stands_alone(message):
    assert history_need(message) == "none"


@pytest.mark.parametrize("message", CONTINUES)
def test_ellipsis_openers_and_bare_pronouns_continue_the_conversation(message):
    assert history_need(message) == "strong"


@pytest.mark.parametrize("message", FRAGMENTS)
def test_a_fragment_is_read_alone_first(message):
    assert history_need(message) == "weak"


def test_a_rewrite_must_keep_the_new_message_and_not_repeat_an_earlier_turn():
    history = [("VPN 连不上怎么办", "请先检查网络…"), ("How many days of annual leave do I get?", "15 days…")]
    assert keeps_the_message("How many days of annual leave do directors get?", "And for directors?", history)
    assert not keeps_the_message("VPN 连不上怎么办", "那海外呢？", history)  # the earlier question again
    assert not keeps_the_message("How many days of annual leave do I get?", "and for contractors on site?", history)
    assert keeps_the_message("海外 VPN 连不上怎么办", "那海外呢？", history)


@pytest.mark.parametrize(
    "message",
    ["另外想問，年假一年總共有幾天", "and can I carry unused ones over?", "另外出差坐高铁可以买一等座吗",
     "also, how do I book a meeting room for Friday?",
     "also outlook says my mailbox is almost full, how big is it supposed to be?"],
)  # fmt: skip
def test_an_opener_in_front_of_a_question_with_its_own_subject_stands_alone(message):
    # topic switches in the labelled conversations start with 另外 / 还有 / also
    assert history_need(message) == "none"
