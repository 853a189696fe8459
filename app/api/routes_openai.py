"""OpenAI-compatible surface: /v1/models and /v1/chat/completions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.api import openai_serving
from app.api.deps import CallerDep, get_state, reader_audiences
from app.api.schemas import ModelCard, ModelList, OAIChatRequest
from app.api.sse import SSE_HEADERS

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", response_model=ModelList)
async def models(request: Request, _: CallerDep) -> ModelList:
    return ModelList(data=[ModelCard(id=n) for n in get_state(request).settings.model_names])


@router.post("/chat/completions", description=openai_serving.ENDPOINT_DOC)
async def chat_completions(req: OAIChatRequest, request: Request, who: CallerDep):
    st = get_state(request)
    # `user` comes from an API-key holder (a trusted system), unlike widget visitors
    ask = openai_serving.to_ask(req, st.settings.model_names, user=req.user)
    ask.owner = who.key  # each /v1 request is its own session; the caller owns it all the same
    ask.audiences = reader_audiences(request, who)  # the key's: /v1 carries no user token
    if req.stream:
        chunks = openai_serving.stream_chunks(
            req, st.answers.stream(ask), lambda d: st.metrics.observe("openai", d)
        )
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    resp = await st.answers.answer(ask)  # LLMUnavailable -> 503 in app/api/errors.py, counted there
    done = resp.model_dump()
    st.metrics.observe("openai", done)
    return openai_serving.completion(req, done)
