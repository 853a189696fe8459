"""A small typed client for AskDesk's REST API (httpx): ask, stream, search, handoff, feedback.

    from askdesk_client import AskDeskClient

    with AskDeskClient("http://127.0.0.1:8000", api_key="sk-...") as desk:
        print(desk.ask("How do I connect to the VPN from home?").answer)

`AsyncAskDeskClient` is the asyncio twin; `askdesk_client.langchain.AskDeskRetriever` is a LangChain
retriever over /api/search. The package talks HTTP only: it imports nothing of the service.
"""

from askdesk_client.client import DEFAULT_TIMEOUT, AskDeskClient, AsyncAskDeskClient, __version__
from askdesk_client.errors import AskDeskError
from askdesk_client.types import (
    Answer,
    DoneEvent,
    ErrorEvent,
    Handoff,
    ReasoningEvent,
    SearchHit,
    SearchResult,
    Source,
    SourcesEvent,
    StreamEvent,
    Suggestion,
    TokenEvent,
)

__all__ = [
    "DEFAULT_TIMEOUT", "Answer", "AskDeskClient", "AskDeskError", "AsyncAskDeskClient", "DoneEvent", "ErrorEvent",
    "Handoff", "ReasoningEvent", "SearchHit", "SearchResult", "Source", "SourcesEvent", "StreamEvent",
    "Suggestion", "TokenEvent", "__version__",
]  # fmt: skip
