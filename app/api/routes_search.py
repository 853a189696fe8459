"""/api/search: ranked hits with scores and predicted_answerable, as `askdesk search --json` prints."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from app.api.deps import CallerDep, get_state, reader_audiences
from app.api.schemas import SearchHit, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])


@router.post("/search", response_model=SearchResponse)
async def search(req: SearchRequest, request: Request, who: CallerDep) -> SearchResponse:
    r = await asyncio.to_thread(get_state(request).retriever.search, req.query, req.k,
                                audiences=reader_audiences(request, who))  # fmt: skip
    return SearchResponse(
        query=r.query, lang=r.lang, predicted_answerable=r.predicted_answerable, confidence=r.confidence,
        hits=[SearchHit(id=h.key, score=round(h.score, 4), confidence=round(h.confidence, 4), source=h.source,
                        kind=h.kind, title=h.title, section=h.section, snippet=h.snippet) for h in r.hits],
    )  # fmt: skip
