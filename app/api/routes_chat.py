"""Native chat API: /api/chat (JSON or SSE), /api/feedback, /api/handoff."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.answering.chain import Event
from app.answering.service import Ask
from app.api.deps import CallerDep, get_state, reader_audiences, session_owner, verified_user
from app.api.errors import APIError
from app.api.schemas import ChatRequest, ChatResponse, FeedbackRequest, Handoff, HandoffRequest
from app.api.sse import SSE_HEADERS, sse

router = APIRouter(prefix="/api", tags=["chat"])

async def _sse_stream(events: AsyncIterator[Event], on_done) -> AsyncIterator[str]:
    async for ev in events:
        if ev.kind == "done":
            on_done(ev.data)
        yield sse(ev)


@router.post("/chat", response_model=ChatResponse)
async def chat(req: ChatRequest, request: Request, who: CallerDep):
    st = get_state(request)
    user = verified_user(request, req.user_token)
    ask = Ask(message=req.message, session_id=req.session_id, user=user, owner=session_owner(who),
              enable_thinking=req.enable_thinking, return_reasoning=req.return_reasoning,
              surface="widget" if who.kind == "widget" else "chat",
              audiences=reader_audiences(request, who))  # fmt: skip
    if req.stream:
        return StreamingResponse(
            _sse_stream(st.answers.stream(ask), lambda d: st.metrics.observe(ask.surface, d)),
            media_type="text/event-stream", headers=SSE_HEADERS,
        )  # fmt: skip
    resp = await st.answers.answer(ask)
    st.metrics.observe(ask.surface, resp.model_dump())
    return resp


@router.post("/feedback", status_code=201)
async def feedback(req: FeedbackRequest, request: Request, _: CallerDep) -> dict:
    import asyncio

    ok = await asyncio.to_thread(get_state(request).conversations.add_feedback, req.message_id, req.rating, req.comment)
    if not ok:
        raise APIError(404, f"no answer with message_id {req.message_id!r}", code="not_found", param="message_id")
    return {"status": "recorded"}


@router.post("/handoff", response_model=Handoff)
async def handoff(req: HandoffRequest, request: Request, who: CallerDep) -> Handoff:
    st = get_state(request)
    user = verified_user(request, req.user_token)
    return await st.answers.handoff(session_id=req.session_id, user=user, message_id=req.message_id,
                                    reason="user_request", owner=session_owner(who))  # fmt: skip
