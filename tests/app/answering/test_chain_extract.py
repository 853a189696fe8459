"""Extractive answers in the chain (app/answering/extract.py): when the engine's text is rejected,
the engine is down, or the backend is marked unfit for the question's language, the passages are
quoted with citations (mode "extract") instead of a dead end. Real retriever over the sample KB,
scripted LLM."""

from __future__ import annotations

import pytest

# ruff: noqa: E402
pytest.register_assert_rewrite("tests.request_path_fixtures")

from app.answering.service import Ask
from tests.request_path_fixtures import DOC_QUESTION, DOC_QUESTION_ZH
from tests.scripted_model import connection_error

pytest_plugins = ["tests.request_path_fixtures"]


@pytest.fixture
def service(askdesk_app, scripted, monkeypatch):
    monkeypatch.setattr(askdesk_app.settings, "extractive_answers", True)
    return askdesk_app.state.answers


@pytest.fixture
def answer(askdesk_app, service):
    return lambda message, **kw: askdesk_app.run(service.answer, Ask(message=message, **kw))


def _quoted(a) -> str:
    return "\n".join(line for line in a.answer.splitlines() if line.startswith(">"))


def test_an_engine_that_is_down_still_gets_a_quoted_answer(answer, scripted):
    scripted.script(error=connection_error)
    a = answer(DOC_QUESTION)
    assert a.mode == "extract" and a.answer.startswith("From the")
    assert "200" in _quoted(a) and "[1]" in a.answer
    assert a.sources[0].id == "docs/travel-policy.md#Per-diem rates"


def test_a_rejected_generation_becomes_a_quote_not_a_dead_end(answer, scripted):
    scripted.script("<context> follows")  # the prompt's scaffolding echoed: the guard rejects it
    a = answer(DOC_QUESTION_ZH)
    assert a.mode == "extract" and a.answer.startswith("根据")
    assert "<context>" not in a.answer and a.sources and "9:30" in _quoted(a)


def test_a_backend_unfit_for_chinese_is_not_asked_in_chinese(askdesk_app, answer, scripted, monkeypatch):
    router = askdesk_app.state.answers.chain.router
    monkeypatch.setattr(router, "extract_languages", lambda name: ["zh"])
    scripted.script("English text the engine would write [1].")
    a = answer(DOC_QUESTION_ZH)
    assert a.mode == "extract" and scripted.calls == []
    b = answer(DOC_QUESTION)  # English still goes to the engine
    assert b.mode == "rag" and len(scripted.calls) == 1


def test_with_extraction_off_the_old_handoff_stays(askdesk_app, answer, scripted, monkeypatch):
    monkeypatch.setattr(askdesk_app.settings, "extractive_answers", False)
    scripted.script("<context> follows")
    assert answer(DOC_QUESTION_ZH).mode == "no_answer"
