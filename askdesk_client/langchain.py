"""A LangChain retriever over AskDesk's /api/search: the knowledge base's hybrid retrieval and its
calibrated confidence, for your own chains.

    from askdesk_client.langchain import AskDeskRetriever

    retriever = AskDeskRetriever(base_url="http://127.0.0.1:8000", api_key="sk-...", k=4)
    docs = retriever.invoke("How do I connect to the VPN from home?")
    docs[0].page_content, docs[0].metadata["id"], docs[0].metadata["confidence"]

Each hit is a `Document` whose `page_content` is the entry's text (the whole answer or passage where
the service sends it, else its snippet) and whose metadata holds id, kind, title, source, section,
confidence and score; `Document.id` is the entry's id.
"""

from __future__ import annotations

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from askdesk_client.client import DEFAULT_URL, AskDeskClient, AsyncAskDeskClient
from askdesk_client.types import SearchHit, SearchResult


def to_document(hit: SearchHit) -> Document:
    """One search hit as a LangChain Document."""
    metadata = {"id": hit.id, "kind": hit.kind, "title": hit.title, "source": hit.source, "section": hit.section,
                "confidence": hit.confidence, "score": hit.score}  # fmt: skip
    return Document(id=hit.id, page_content=hit.content, metadata=metadata)


class AskDeskRetriever(BaseRetriever):
    """Documents for a query from AskDesk's /api/search (k hits, best first).

    Give `base_url` and `api_key`, or clients of your own (`client`, `async_client`: their pool,
    transport and timeout; they are not closed here). `min_confidence` drops hits below it (0..1,
    the service's calibrated confidence that an entry answers the query). Errors raise
    `askdesk_client.AskDeskError`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base_url: str = DEFAULT_URL
    api_key: SecretStr | None = None
    k: int = Field(default=4, ge=1, le=50)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout: float = 30.0
    client: AskDeskClient | None = Field(default=None, exclude=True)
    async_client: AsyncAskDeskClient | None = Field(default=None, exclude=True)
    _own: AskDeskClient | None = PrivateAttr(default=None)

    def _key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def _sync_client(self) -> AskDeskClient:
        if self.client is not None:
            return self.client
        if self._own is None:  # one pooled client for this retriever's lifetime
            self._own = AskDeskClient(self.base_url, self._key(), timeout=self.timeout)
        return self._own

    def _documents(self, result: SearchResult) -> list[Document]:
        return [to_document(h) for h in result.hits if h.confidence >= self.min_confidence]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self._documents(self._sync_client().search(query, self.k))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.async_client is not None:
            return self._documents(await self.async_client.search(query, self.k))
        # an asyncio client belongs to one event loop: without one given, each call opens its own
        async with AsyncAskDeskClient(self.base_url, self._key(), timeout=self.timeout) as c:
            return self._documents(await c.search(query, self.k))

    def close(self) -> None:
        """Close the client this retriever opened itself (not one given to it)."""
        if self._own is not None:
            self._own.close()
            self._own = None
