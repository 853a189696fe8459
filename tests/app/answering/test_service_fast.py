"""The answer service (app/answering/service.py) as the app's lifespan built it: session memory, the
answer chain, errors as events, handoff tickets and the exchange log, with the scripted model in
place of the engine (tests/request_path_fixtures.py). The real-engine tier: tests marked `slow`."""

from __future__ import annotations

import pytest

# ruff: noqa: E402
# the fixture module's helpers are imported below: register it before that import (see tests/conftest.py)
pytest.register_assert_rewrite("tests.request_path_fixtures")

from app.answering.chain import Event
from app.answering.service import AnswerService, Ask
from app.answering.types import Answer
from app.errors import LLMUnavailable
from tests.request_path_fixtures import (
    BACKEND,
    CONTACT,
    DOC_PASSAGE,
    DOC_QUESTION,
    FAQ_EN,
    FAQ_ZH,
    OUT_OF_SCOPE,
    faq_answer,
)  # fmt: skip
from tests.scripted_model import connection_error

pytest_plugins = ["tests.request_path_fixtures"]

REPLY = "Tier 1 cities get RMB 200 a day [1]. No receipts are needed [1]."


@pytest.fixture
def service(askdesk_app, scripted) -> AnswerService:
    scripted.script(REPLY)
    return askdesk_app.state.answers


@pytest.fixture
def answer(askdesk_app, service):
    def run(message: str, **kw) -> Answer:
        return askdesk_app.run(service.answer, Ask(message=message, **kw))

    return run


@pytest.fixture
def stream(askdesk_app, service):
    def run(message: str, **kw) -> list[Event]:
        async def collect():
            return [ev async for ev in service.stream(Ask(message=message, **kw))]

        return askdesk_app.run(collect)

    return run


@pytest.fixture
def exchange(askdesk_app):
    return lambda message_id: askdesk_app.state.conversations.get_exchange(message_id)


def test_faq_answer_is_curated_logged_and_needs_no_llm(answer, exchange, scripted):
    a = answer(FAQ_EN)
    assert a.mode == "faq" and a.answer == faq_answer("hr-leave-001") and a.lang == "en"
    assert a.sources[0].id == "hr-leave-001" and a.backend is None and a.handoff is None
    assert a.session_id and a.message_id and a.latency_ms["total"] >= a.latency_ms["retrieval"]
    assert scripted.calls == []
    ex = exchange(a.message_id)
    assert (ex.question, ex.answer, ex.mode, ex.error, ex.surface) == (FAQ_EN, a.answer, "faq", None, "chat")


def test_chinese_faq_answer(answer, scripted):
    a = answer(FAQ_ZH)
    assert a.mode == "faq" and a.lang == "zh-Hans" and a.answer == faq_answer("hr-leave-008")
    assert a.sources[0].id == "hr-leave-008" and scripted.calls == []


def test_rag_answer_comes_from_the_llm_with_sources_and_is_logged(answer, exchange, scripted):
    a = answer(DOC_QUESTION, surface="openai")
    assert a.mode == "rag" and a.answer == REPLY and a.backend == BACKEND and a.handoff is None
    assert a.sources[0].id == "docs/travel-policy.md#Per-diem rates" and a.sources[0].n == 1
    assert DOC_PASSAGE in scripted.calls[0].user and DOC_QUESTION in scripted.calls[0].user
    ex = exchange(a.message_id)
    assert ex.answer == REPLY and ex.backend == BACKEND and ex.surface == "openai" and ex.error is None
    assert ex.sources[0]["id"] == "docs/travel-policy.md#Per-diem rates"


def test_out_of_scope_is_a_no_answer_handoff(answer, scripted):
    a = answer(OUT_OF_SCOPE)
    assert a.mode == "no_answer" and a.handoff is not None and a.handoff.reason == "no_answer"
    assert CONTACT in a.answer and CONTACT in a.handoff.contact and a.handoff.text == a.answer
    assert scripted.calls == []


def test_stream_events_carry_the_session_and_end_with_the_full_answer(stream):
    events = stream(DOC_QUESTION)
    assert events[0].kind == "sources" and events[-1].kind == "done"
    sid, mid = events[0].data["session_id"], events[0].data["message_id"]
    done = events[-1].data
    assert (done["session_id"], done["message_id"]) == (sid, mid)
    assert "".join(e.data["text"] for e in events if e.kind == "token") == done["answer"] == REPLY


def test_llm_down_is_an_error_event_with_the_handoff_and_is_logged(stream, exchange, scripted, service):
    scripted.script(error=connection_error)
    events = stream(DOC_QUESTION)
    assert [e.kind for e in events] == ["sources", "error"]
    err = events[-1].data
    assert err["code"] == "llm_unavailable" and CONTACT in err["message"]
    assert err["handoff"]["reason"] == "llm_unavailable" and err["handoff"]["contact"]
    assert err["sources"][0]["id"] == "docs/travel-policy.md#Per-diem rates"
    ex = exchange(err["message_id"])
    assert ex.error.startswith("llm_unavailable") and ex.answer == service.chain.llm_down_text("en")


def test_llm_down_raises_from_the_collected_answer(askdesk_app, service, scripted):
    scripted.script(error=RuntimeError("engine returned garbage"))
    with pytest.raises(LLMUnavailable) as e:
        askdesk_app.run(service.answer, Ask(message=DOC_QUESTION))
    assert CONTACT in str(e.value)


def test_llm_failing_mid_stream_ends_with_an_error_after_the_shown_text(stream, scripted):
    scripted.script(REPLY, error=connection_error, fail_after_chunks=9)
    events = stream(DOC_QUESTION)
    assert [e.kind for e in events] == ["sources", "token", "error"]
    assert events[1].data["text"] == "Tier 1 cities get RMB 200 a day [1]."
    assert events[-1].data["code"] == "llm_unavailable" and "mid-answer" in events[-1].data["detail"]


def test_follow_up_in_a_session_uses_the_stored_history(answer, scripted):
    first = answer(FAQ_EN)
    scripted.script(lambda msgs: "How many days of annual leave with 10 years or more of experience?"
                    if msgs[0].content.startswith("Rewrite") else REPLY)  # fmt: skip
    second = answer("and for 10 years or more?", session_id=first.session_id)
    assert first.rewritten_query is None and second.rewritten_query
    assert second.session_id == first.session_id and second.sources[0].id == "hr-leave-001"
    rewrite = scripted.calls[0]
    assert [m.content for m in rewrite.messages[1:]] == [FAQ_EN, first.answer, "and for 10 years or more?"]


def test_failed_exchanges_are_not_history(answer, scripted):
    scripted.script(error=connection_error)
    with pytest.raises(LLMUnavailable):
        answer(DOC_QUESTION, session_id="s-failed-then-faq")
    scripted.script(REPLY)
    a = answer(FAQ_EN, session_id="s-failed-then-faq")
    assert a.rewritten_query is None and a.mode == "faq" and scripted.calls == []  # a first question again


def test_caller_given_history_is_used_instead_of_the_database(answer, scripted):
    first = answer(FAQ_EN)
    scripted.script(lambda msgs: msgs[-1].content if msgs[0].content.startswith("Rewrite") else REPLY)
    history = [("How do I reset my password?", faq_answer("it-pwd-001"))]
    answer("and what about on my phone?", session_id=first.session_id, history=history)  # a follow-up: rewritten
    assert [m.content for m in scripted.calls[0].messages[1:3]] == [history[0][0], history[0][1]]
    assert FAQ_EN not in scripted.calls[0].prompt


def test_handoff_opens_a_ticket_with_the_transcript_and_sources(askdesk_app, answer, service):
    a = answer(OUT_OF_SCOPE)
    h = askdesk_app.run(lambda: service.handoff(session_id=a.session_id, user="e1024", message_id=a.message_id,
                                                reason="user_request"))  # fmt: skip
    assert h.reason == "user_request" and h.reference.startswith("AD-") and h.reference in h.ticket_url
    assert CONTACT in h.contact and CONTACT in h.text
    t = askdesk_app.state.conversations.get_ticket(h.reference)
    assert t.session_id == a.session_id and t.user == "e1024" and t.reason == "user_request"
    assert t.transcript[0]["content"] == OUT_OF_SCOPE and t.transcript[1]["content"] == a.answer
    assert t.sources and t.sources[0]["id"] == a.sources[0].id


def test_handoff_posts_the_ticket_to_the_webhook(askdesk_app, answer):
    from tests.service_fixtures import WebhookReceiver

    hook = WebhookReceiver()
    st = askdesk_app.state
    svc = AnswerService(st.answers.chain, st.conversations,
                        askdesk_app.settings.model_copy(update={"handoff_webhook_url": hook.url}))  # fmt: skip
    try:
        a = answer(OUT_OF_SCOPE)

        async def hand_off():
            try:
                return await svc.handoff(session_id=a.session_id, user=None, message_id=a.message_id, reason="user_request")
            finally:
                await svc.aclose()

        h = askdesk_app.run(hand_off)
    finally:
        hook.close()
    (call,) = hook.calls
    assert call["reference"] == h.reference and call["session_id"] == a.session_id
    assert call["transcript"][0]["content"] == OUT_OF_SCOPE and call["sources"][0]["id"] == a.sources[0].id
    assert askdesk_app.state.conversations.get_ticket(h.reference).webhook_status == "http 204"
