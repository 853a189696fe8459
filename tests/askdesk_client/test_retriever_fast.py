"""askdesk_client.langchain.AskDeskRetriever over the real app in-process (tests/request_path_fixtures.py):
LangChain Documents from /api/search, sync and async. Against a real `askdesk serve`: test_client_live.py."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

pytest.register_assert_rewrite("tests.request_path_fixtures")

from askdesk_client import AskDeskClient, AskDeskError, AsyncAskDeskClient
from askdesk_client.langchain import AskDeskRetriever
from tests.request_path_fixtures import API_KEY, DOC_QUESTION, OUT_OF_SCOPE, RequestPathApp

pytest_plugins = ["tests.request_path_fixtures"]

VPN = "How do I connect to the VPN from home?"
PER_DIEM = "docs/travel-policy.md#Per-diem rates"
BASE = "http://testserver"


@pytest.fixture
def retriever(askdesk_app: RequestPathApp) -> AskDeskRetriever:
    return AskDeskRetriever(client=AskDeskClient(BASE, api_key=API_KEY, http_client=askdesk_app.client), k=3)


def test_documents_carry_the_hit_text_and_its_metadata(retriever):
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(VPN)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.id == "it-vpn-001" and top.page_content
    assert set(top.metadata) == {"id", "kind", "title", "source", "section", "confidence", "score"}
    assert (
        top.metadata["id"] == "it-vpn-001"
        and top.metadata["kind"] == "faq"
        and top.metadata["source"] == "faq.csv"
    )
    confidences = [d.metadata["confidence"] for d in docs]
    assert 0 < confidences[0] <= 1
    doc = retriever.invoke(DOC_QUESTION)[0]
    assert (
        doc.id == PER_DIEM and doc.metadata["kind"] == "doc" and doc.metadata["section"] == "Per-diem rates"
    )
    # the passage's start: /api/search sends a snippet (about 200 characters) of each entry
    assert "Tier 1 cities" in doc.page_content


def test_the_documents_are_what_search_returns(askdesk_app, retriever):
    hits = retriever.client.search(VPN, k=3).hits
    docs = retriever.invoke(VPN)
    assert [d.id for d in docs] == [h.id for h in hits]
    assert [d.page_content for d in docs] == [h.snippet for h in hits]  # /api/search sends snippets


def test_min_confidence_drops_weak_hits(askdesk_app):
    client = AskDeskClient(BASE, api_key=API_KEY, http_client=askdesk_app.client)
    everything = AskDeskRetriever(client=client, k=5).invoke(OUT_OF_SCOPE)
    strict = AskDeskRetriever(client=client, k=5, min_confidence=0.9).invoke(OUT_OF_SCOPE)
    assert len(everything) == 5 and all(d.metadata["confidence"] >= 0.9 for d in strict) and len(strict) < 5


def test_async_retrieval_gives_the_same_documents(askdesk_app, retriever):
    async def go():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=askdesk_app.client.app))
        async with http, AsyncAskDeskClient(BASE, api_key=API_KEY, http_client=http) as c:
            r = AskDeskRetriever(async_client=c, k=3)
            return await r.ainvoke(VPN)

    docs = askdesk_app.run(go)
    assert [d.id for d in docs] == [d.id for d in retriever.invoke(VPN)]


def test_a_wrong_key_raises_askdesk_error(askdesk_app):
    r = AskDeskRetriever(client=AskDeskClient(BASE, api_key="sk-wrong", http_client=askdesk_app.client))
    with pytest.raises(AskDeskError) as e:
        r.invoke(VPN)
    assert e.value.status == 401 and e.value.code == "invalid_api_key"


def test_built_from_a_url_and_key_it_keeps_the_key_secret():
    r = AskDeskRetriever(base_url="http://127.0.0.1:9", api_key="sk-secret", k=2)
    assert "sk-secret" not in repr(r) and "sk-secret" not in str(r.model_dump())
    with pytest.raises(AskDeskError) as e:  # nothing listens on port 9
        r.invoke(VPN)
    assert e.value.code == "connection_error"
    r.close()
