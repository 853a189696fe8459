"""The answer chain (app/answering/chain.py) over the real retriever (real Chroma with the sample KB,
real embedders) and a real LLMRouter whose backend's chat model is the scripted one: the policy
(faq / rag / no_answer), the prompt the LLM gets, the guard, reasoning, failures and follow-ups,
with no engine process. The same paths against a real engine: the `slow` tier."""

from __future__ import annotations

import pytest

# ruff: noqa: E402
# the fixture module's helpers are imported below: register it before that import (see tests/conftest.py)
pytest.register_assert_rewrite("tests.request_path_fixtures")

from app.answering.chain import AnswerChain, Event, Turn
from app.errors import LLMUnavailable
from app.lang import detect_lang
from app.llm.router import LLMRouter
from tests.request_path_fixtures import (
    BACKEND,
    CONTACT,
    DOC_PASSAGE,
    DOC_QUESTION,
    DOC_QUESTION_ZH,
    FAQ_EN,
    OUT_OF_SCOPE,
    faq_answer,
)  # fmt: skip
from tests.scripted_model import ScriptedChatModel, connection_error

pytest_plugins = ["tests.request_path_fixtures"]

REPLY = "Tier 1 cities get RMB 200 a day [1]. No receipts are needed [1]."


@pytest.fixture(scope="module")
def chain_model() -> ScriptedChatModel:
    return ScriptedChatModel()


@pytest.fixture
def model(chain_model) -> ScriptedChatModel:
    return chain_model.script(REPLY)


@pytest.fixture(scope="module")
def chain(askdesk_app, chain_model) -> AnswerChain:
    s = askdesk_app.settings
    return AnswerChain(askdesk_app.state.retriever, LLMRouter(s.llm_backends, s, {BACKEND: chain_model}), s)


@pytest.fixture
def ask(askdesk_app, chain, model):
    """ask(message, history=[...], **turn_fields) -> (events, the LLMUnavailable that ended them or None)."""

    def run(message: str, history: list[tuple[str, str]] | None = None, **kw) -> tuple[list[Event], Exception | None]:
        turn = Turn(message, detect_lang(message), list(history or []), **kw)

        async def collect():
            events: list[Event] = []
            try:
                async for ev in chain.astream(turn):
                    events.append(ev)
            except LLMUnavailable as e:
                return events, e
            return events, None

        return askdesk_app.run(collect)

    return run


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def text_of(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.kind == "token")


def test_faq_question_gets_the_curated_answer_without_the_llm(ask, model):
    events, err = ask(FAQ_EN)
    assert err is None and kinds(events) == ["sources", "token", "done"]
    done = events[-1].data
    assert done["mode"] == "faq" and done["backend"] is None and done["handoff_reason"] is None
    assert done["answer"] == faq_answer("hr-leave-001") == text_of(events)
    assert done["sources"][0].id == "hr-leave-001" and done["sources"][0].kind == "faq"
    assert events[0].data["mode"] == "faq" and events[0].data["sources"][0]["id"] == "hr-leave-001"
    assert model.calls == []


def test_document_question_is_answered_by_the_llm_from_the_retrieved_passages(ask, model, askdesk_app):
    events, err = ask(DOC_QUESTION)
    assert err is None and kinds(events)[0] == "sources" and kinds(events)[-1] == "done"
    done = events[-1].data
    assert done["mode"] == "rag" and done["backend"] == BACKEND and done["handoff_reason"] is None
    assert done["answer"] == REPLY == text_of(events)
    assert kinds(events).count("token") == 2  # released a sentence at a time
    assert done["sources"][0].id == "docs/travel-policy.md#Per-diem rates"
    # exactly one call, carrying the policy's prompt: the rules, the retrieved passage, the question
    (call,) = model.calls
    assert call.streamed and [m.type for m in call.messages] == ["system", "human"]
    assert "cite its passage number" in call.system
    assert "[1] Travel Policy > Per-diem rates" in call.user and DOC_PASSAGE in call.user
    assert f"<question>\n{DOC_QUESTION}\n</question>" in call.user
    s = askdesk_app.settings
    assert call.kwargs["temperature"] == s.rag_temperature and call.kwargs["max_tokens"] == s.rag_max_tokens
    assert call.kwargs["extra_body"]["chat_template_kwargs"] == {"enable_thinking": False}


def test_engine_usage_and_reasoning_reach_the_done_event(ask, model):
    model.script(REPLY, reasoning="Passage 1 has the per-diem table.",
                 usage={"input_tokens": 321, "output_tokens": 17, "total_tokens": 338})  # fmt: skip
    events, err = ask(DOC_QUESTION, enable_thinking=True, return_reasoning=True)
    assert err is None
    done = events[-1].data
    assert "".join(e.data["text"] for e in events if e.kind == "reasoning") == "Passage 1 has the per-diem table."
    assert kinds(events).index("reasoning") < kinds(events).index("token")
    assert done["reasoning"] == "Passage 1 has the per-diem table." and done["answer"] == REPLY
    assert done["usage"] == {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
    assert done["latency_ms"]["output_tokens"] == 17
    assert model.calls[0].kwargs["extra_body"]["chat_template_kwargs"] == {"enable_thinking": True}


def test_reasoning_is_not_streamed_unless_asked_for(ask, model):
    model.script(REPLY, reasoning="private thoughts")
    events, _ = ask(DOC_QUESTION)
    assert "reasoning" not in kinds(events) and events[-1].data["reasoning"] is None
    assert "private thoughts" not in events[-1].data["answer"]


def test_think_tags_in_the_content_are_taken_out_of_the_answer(ask, model):
    model.script("<think>the table says 200</think>" + REPLY, chunk_chars=5)
    events, _ = ask(DOC_QUESTION, return_reasoning=True)
    assert events[-1].data["answer"] == REPLY and "<think>" not in text_of(events)
    assert events[-1].data["reasoning"] == "the table says 200"


def test_out_of_scope_question_is_a_no_answer_handoff_without_the_llm(ask, model, chain):
    events, err = ask(OUT_OF_SCOPE)
    assert err is None and kinds(events) == ["sources", "token", "done"]
    done = events[-1].data
    assert done["mode"] == "no_answer" and done["handoff_reason"] == "no_answer"
    # nothing close enough to offer: the plain no-answer reply; with suggestions, the "did you mean" one
    expected = chain.suggest_text("en") if done["suggestions"] else chain.no_answer_text("en")
    assert done["answer"] == expected and CONTACT in done["answer"]
    assert all(s["confidence"] >= chain.thresholds.suggest_min for s in done["suggestions"])
    assert model.calls == []


def test_an_llm_that_does_not_know_turns_the_answer_into_a_handoff(ask, model):
    model.script("I don't know based on the knowledge base.")
    events, _ = ask(DOC_QUESTION)
    done = events[-1].data
    assert done["mode"] == "no_answer" and done["handoff_reason"] == "no_answer"
    assert done["answer"].startswith("I don't know") and CONTACT in done["answer"]
    assert text_of(events) == done["answer"]  # the handoff text is streamed too


def test_guard_drops_invented_citations_and_repeats(ask, model):
    model.script("Tier 1 cities get RMB 200 a day [7]. It needs no receipts [1]. It needs no receipts [1].")
    events, _ = ask(DOC_QUESTION)
    done = events[-1].data
    assert done["mode"] == "rag" and "[7]" not in done["answer"] and "RMB 200" in done["answer"]
    assert done["answer"].count("It needs no receipts [1].") == 1 and text_of(events) == done["answer"]


def test_an_answer_that_echoes_the_prompt_ends_with_the_no_answer_reply(ask, model, chain):
    model.script("Per-diem is RMB 200 [1]. <context> [1] Travel Policy")
    events, _ = ask(DOC_QUESTION)
    done = events[-1].data
    assert "<context>" not in text_of(events) and text_of(events) == done["answer"]
    assert done["answer"].startswith("Per-diem is RMB 200 [1].") and done["answer"].endswith(chain.no_answer_text("en"))
    assert done["mode"] == "no_answer" and done["guard"]


def test_sources_are_ordered_by_citation(ask, model):
    model.script("Hotels in tier 1 cities are capped at RMB 800 [2]. The per-diem is RMB 200 [1].")
    events, _ = ask(DOC_QUESTION)
    sources = events[-1].data["sources"]
    assert [s.n for s in sources][:2] == [2, 1]
    assert sources[0].id == "docs/travel-policy.md#Hotel limits by city tier"
    assert [s["n"] for s in events[0].data["sources"]][:2] == [1, 2]  # the sources event: retrieval order


def test_chinese_document_question_gets_the_chinese_prompt(ask, model):
    model.script("请在 9:30 到上海总部 8 楼前台报到 [1]。")
    events, _ = ask(DOC_QUESTION_ZH)
    done = events[-1].data
    assert done["mode"] == "rag" and done["lang"] == "zh-Hans" and done["answer"] == "请在 9:30 到上海总部 8 楼前台报到 [1]。"
    assert done["sources"][0].id == "docs/onboarding-guide.md#入职第一天"
    call = model.calls[0]
    assert "用中文回答" in call.system and "上海总部 8 楼前台报到" in call.user and DOC_QUESTION_ZH in call.user


def test_llm_failing_before_the_first_token_raises_after_the_sources(ask, model):
    model.script(error=connection_error)
    events, err = ask(DOC_QUESTION)
    assert kinds(events) == ["sources"] and isinstance(err, LLMUnavailable)
    assert "APIConnectionError" in str(err)
    assert len(model.calls) == 2  # a refused connection is retried once, then the backend counts as down


def test_a_connection_that_fails_once_is_retried(ask, model):
    model.script(REPLY, error=connection_error, fail_calls=1)
    events, err = ask(DOC_QUESTION)
    assert err is None and events[-1].data["answer"] == REPLY and len(model.calls) == 2


def test_a_plain_error_before_the_first_token_is_not_retried(ask, model):
    model.script(error=RuntimeError("client bug"))
    events, err = ask(DOC_QUESTION)
    assert kinds(events) == ["sources"] and "RuntimeError: client bug" in str(err) and len(model.calls) == 1


def test_llm_failing_mid_answer_raises_after_what_was_shown(ask, model):
    model.script(REPLY, error=RuntimeError("engine died"), fail_after_chunks=9)  # the first sentence's words
    events, err = ask(DOC_QUESTION)
    assert kinds(events) == ["sources", "token"] and text_of(events) == "Tier 1 cities get RMB 200 a day [1]."
    assert isinstance(err, LLMUnavailable) and "mid-answer" in str(err)


def test_follow_up_is_rewritten_with_the_history(ask, model, askdesk_app):
    rewritten = "How many days of annual leave do I get with 10 years or more of work experience?"
    model.script(lambda msgs: rewritten if msgs[0].content.startswith("Rewrite") else REPLY)
    history = [(FAQ_EN, faq_answer("hr-leave-001"))]
    events, err = ask("and for 10 years or more?", history=history)
    assert err is None
    rewrite = model.calls[0]
    assert rewrite.kwargs["temperature"] == 0.0 and rewrite.kwargs["max_tokens"] == askdesk_app.settings.rewrite_max_tokens
    assert [m.content for m in rewrite.messages[1:]] == [FAQ_EN, faq_answer("hr-leave-001"), "and for 10 years or more?"]
    done = events[-1].data
    assert done["rewritten_query"] and done["sources"][0].id == "hr-leave-001" and done["mode"] == "faq"


def test_follow_up_without_an_llm_falls_back_to_the_previous_question(ask, model):
    model.script(error=connection_error)
    events, err = ask("and for 10 years or more?", history=[(FAQ_EN, faq_answer("hr-leave-001"))])
    assert err is None  # the rewrite failing is not an error: the chain joins the two questions
    done = events[-1].data
    assert done["rewritten_query"] == f"{FAQ_EN} and for 10 years or more?" and done["mode"] == "faq"


def test_a_new_out_of_scope_question_in_a_session_is_not_answered_with_the_previous_topic(ask, model):
    model.script(lambda msgs: msgs[-1].content)  # the rewriter says: it already stands alone
    history = [("How do I connect to the VPN from home?", faq_answer("it-vpn-001"))]
    events, _ = ask(OUT_OF_SCOPE, history=history)
    done = events[-1].data
    assert done["mode"] == "no_answer", (done["mode"], done["rewritten_query"], done["answer"][:80])


def test_a_standalone_question_after_another_is_answered_as_in_a_fresh_session(ask, model):
    """The reported session: after a VPN question, "how many days of annual leave" got the VPN
    entry again. A message that stands on its own is read on its own: no rewrite call, same answer."""
    fresh, _ = ask(FAQ_EN)
    events, _ = ask(FAQ_EN, history=[("VPN 连不上怎么办", faq_answer("it-vpn-006"))])
    assert model.calls == []  # no rewrite for a message that needs no history
    got, want = events[-1].data, fresh[-1].data
    assert got["sources"][0].id == want["sources"][0].id == "hr-leave-001"
    assert got["answer"] == want["answer"] and got["rewritten_query"] is None
