"""Conversations through the real answer service (real retriever over the sample KB, real
conversation store, scripted LLM): intents before retrieval, a request for a person opening a
ticket, "did you mean" suggestions, the annual-leave / maternity-leave frame swap, and the session
that once answered every message with its first answer."""

from __future__ import annotations

import pytest

# ruff: noqa: E402
pytest.register_assert_rewrite("tests.request_path_fixtures")

from app.answering.service import Ask
from tests.request_path_fixtures import CONTACT

pytest_plugins = ["tests.request_path_fixtures"]


@pytest.fixture
def service(askdesk_app, scripted):
    scripted.script("Scripted answer [1].")
    return askdesk_app.state.answers


@pytest.fixture
def answer(askdesk_app, service):
    return lambda message, **kw: askdesk_app.run(service.answer, Ask(message=message, **kw))


@pytest.mark.parametrize(
    ("message", "intent"),
    [("hi", "greeting"), ("你好", "greeting"), ("謝謝！", "thanks"), ("thanks, bye", "goodbye"),
     ("that didn't help", "not_helpful")],
)  # fmt: skip
def test_social_messages_get_a_short_reply_without_retrieval_or_llm(answer, service, scripted, message, intent):
    a = answer(message)
    assert (a.mode, a.intent, a.sources, a.suggestions) == ("chitchat", intent, [], [])
    chain = service.chain
    assert a.answer not in (chain.no_answer_text(a.lang), chain.suggest_text(a.lang))  # not a "not found"
    assert "couldn't find" not in a.answer and "没有找到" not in a.answer
    assert scripted.calls == []
    if intent == "not_helpful":  # offers the handoff
        assert a.handoff is not None and a.handoff.reason == "not_helpful" and a.handoff.reference is None
        assert CONTACT in a.answer


def test_a_greeting_in_front_of_a_question_answers_the_question(answer):
    a = answer("hi, how many days of annual leave do I get?")
    assert a.mode == "faq" and a.sources[0].id == "hr-leave-001" and a.intent is None


@pytest.mark.parametrize("message", ["我想转人工", "I want to talk to a human agent", "轉真人客服"])
def test_asking_for_a_person_opens_a_ticket_at_once(askdesk_app, answer, scripted, message):
    first = answer("VPN 连不上怎么办")
    a = answer(message, session_id=first.session_id)
    assert a.mode == "handoff" and a.intent == "human" and scripted.calls == []
    assert a.handoff is not None and a.handoff.reason == "user_request" and a.handoff.reference
    ticket = askdesk_app.state.conversations.get_ticket(a.handoff.reference)
    assert ticket is not None and ticket.session_id == first.session_id and ticket.reason == "user_request"
    said = [t["content"] for t in ticket.transcript if t["role"] == "user"]
    assert said == ["VPN 连不上怎么办", message]  # the request itself is in the transcript


def test_annual_leave_is_not_answered_with_the_maternity_leave_entry(answer):
    # 年假有多少天 and 产假有多少天 (hr-leave-007) differ in one character; the curated maternity
    # answer went out verbatim at 0.91. Now it is offered, with the annual-leave entries
    a = answer("年假有多少天？")
    assert a.mode != "faq"
    assert all(s.id != "hr-leave-007" for s in a.sources)
    offered = [s.id for s in a.suggestions]
    # the annual-leave entries are the answer's passages or offered (the KB's calibration decides
    # whether retrieval is sure enough of them for a rag answer)
    assert "hr-leave-007" in offered
    assert any(k in offered + [s.id for s in a.sources] for k in ("hr-leave-002", "hr-leave-011"))
    assert all(s.question for s in a.suggestions)
    # the entry's own question is still answered verbatim
    assert answer("产假有多少天？").mode == "faq"


def test_the_session_that_repeated_its_first_answer(answer):
    turns = ["VPN 连不上怎么办", "How many days of annual leave do I get?", "do we have a sabbatical program?",
             "我想转人工"]  # fmt: skip
    fresh = [answer(m) for m in turns[:3]]
    sid = None
    got = []
    for m in turns:
        a = answer(m, session_id=sid)
        sid = a.session_id
        got.append(a)
    for f, g in zip(fresh, got[:3], strict=False):  # each answered as in a fresh session
        assert (g.mode, [s.id for s in g.sources][:1], g.answer) == (f.mode, [s.id for s in f.sources][:1], f.answer)
    assert got[1].sources[0].id == "hr-leave-001" and got[2].mode == "no_answer"
    assert got[3].mode == "handoff" and got[3].handoff.reference


def test_suggestions_reach_the_openai_surface_as_extras(askdesk_app, service):
    r = askdesk_app.client.post(
        "/v1/chat/completions", headers={"Authorization": "Bearer sk-a"},
        json={"model": "askdesk", "messages": [{"role": "user", "content": "年假有多少天？"}]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    extras = r.json()["askdesk"]
    assert [s["id"] for s in extras["suggestions"]] and extras["intent"] is None
