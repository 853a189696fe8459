"""askdesk_client and its LangChain retriever against the real `askdesk serve` process over the
sample knowledge base, answering through a real llama.cpp engine process (SmolLM2-135M:
tests/service_fixtures.py), over real HTTP: sync and async, JSON and the event stream, search,
handoff (its webhook received by a real HTTP endpoint), feedback, and an HTTP refusal."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from askdesk_client import (
    AskDeskClient,
    AskDeskError,
    AsyncAskDeskClient,
    DoneEvent,
    SourcesEvent,
    TokenEvent,
)
from askdesk_client.langchain import AskDeskRetriever

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

FAQ_EN = "how many days of annual leave do I get"
DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"
OUT_OF_SCOPE = "do we have a sabbatical program?"
VPN = "How do I connect to the VPN from home?"


@pytest.fixture
def desk(askdesk_service):
    with AskDeskClient(askdesk_service.url, api_key=askdesk_service.api_key, timeout=180) as c:
        yield c


def test_ask_stream_search_handoff_and_feedback(askdesk_service, desk):
    a = desk.ask(FAQ_EN)
    assert a.mode == "faq" and "12 days" in a.answer and a.sources[0].id == "hr-leave-001"

    events = list(desk.stream(DOC_QUESTION))
    assert isinstance(events[0], SourcesEvent) and isinstance(events[-1], DoneEvent)
    done = events[-1].answer
    assert done.backend == "llamacpp" and done.sources[0].id.startswith("docs/travel-policy.md#")
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == done.answer

    hits = desk.search(VPN, k=3)
    assert hits.predicted_answerable and len(hits.hits) == 3 and hits.hits[0].id == "it-vpn-001"

    no = desk.ask(OUT_OF_SCOPE)
    assert no.mode == "no_answer" and no.handoff is not None
    ticket = desk.handoff(no.session_id, no.message_id)
    assert ticket.reason == "user_request" and ticket.reference
    assert any(call["reference"] == ticket.reference for call in askdesk_service.webhook.calls)
    desk.feedback(no.message_id, "down", comment="live client")


def test_a_wrong_key_raises_askdesk_error(askdesk_service):
    with AskDeskClient(askdesk_service.url, api_key="sk-not-a-key") as c, pytest.raises(AskDeskError) as e:
        c.search(VPN)
    assert e.value.status == 401 and e.value.code == "invalid_api_key" and e.value.type


def test_async_client_asks_and_streams(askdesk_service):
    async def go():
        async with AsyncAskDeskClient(askdesk_service.url, api_key=askdesk_service.api_key, timeout=180) as c:
            a = await c.ask(FAQ_EN)
            async with aclosing(c.stream(FAQ_EN, session_id=a.session_id)) as events:
                streamed = [ev async for ev in events]
            return a, streamed

    a, streamed = asyncio.run(go())
    assert a.mode == "faq" and "12 days" in a.answer
    assert streamed[0].kind == "sources" and streamed[-1].kind == "done"
    assert streamed[-1].answer.session_id == a.session_id and streamed[-1].answer.mode == "faq"


def test_the_retriever_gives_documents_sync_and_async(askdesk_service):
    retriever = AskDeskRetriever(base_url=askdesk_service.url, api_key=askdesk_service.api_key, k=3)
    docs = retriever.invoke(VPN)
    assert len(docs) == 3 and docs[0].metadata["id"] == docs[0].id == "it-vpn-001"
    assert (
        docs[0].page_content and docs[0].metadata["kind"] == "faq" and 0 < docs[0].metadata["confidence"] <= 1
    )
    adocs = asyncio.run(retriever.ainvoke(VPN))  # no async client given: one opened for the call
    assert [d.id for d in adocs] == [d.id for d in docs]
    retriever.close()
