"""/health (the article's contract), /ready (Chroma and the LLM backends), /metrics.

/health is liveness for orchestrators: open, and says nothing internal. With API keys configured,
/ready's details (backend URLs and models, collection, errors) and /metrics need an API key or the
admin key; without one /ready answers its status code and {"status": ...} only (a load balancer's
readiness probe needs no secret). The keyless local demo shows everything to everyone."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import get_state, operator
from app.api.errors import APIError
from app.retrieval.kb_calibration import describe

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict:
    return {"status": "healthy"}


@router.get("/ready")
async def ready(request: Request):
    st = get_state(request)
    details = operator(request)  # first: a wrong key is refused before anything is probed
    try:
        version, count = await asyncio.to_thread(st.store.version)
        chroma = {"ok": count > 0, "records": count, "version": version, "collection": st.settings.collection}
    except Exception as e:  # report, don't raise: readiness is a status page
        chroma = {"ok": False, "error": str(e)}
    try:
        await asyncio.to_thread(st.conversations.ping)
        db = {"ok": True}
    except Exception as e:
        db = {"ok": False, "error": str(e)}
    llm = st.router.status()
    ok = chroma["ok"] and db["ok"] and any(b.get("healthy") for b in llm)
    body = {"status": "ready" if ok else "degraded", "chroma": chroma, "database": db, "llm": llm}
    if chroma["ok"]:
        try:  # which confidence model and thresholds judge "in the knowledge base" right now
            body["calibration"] = describe(await asyncio.to_thread(st.retriever.calibration))
        except Exception as e:  # a status page reports, it does not fail
            body["calibration"] = {"source": "unknown", "error": str(e)}
    if not details:  # keyed deployment, no key: the verdict, not the internals
        body = {"status": body["status"]}
    # degraded still answers faq / no_answer questions, so it is not a 503 for load balancers that only
    # need the process up; LLM-less replicas show as degraded here
    return JSONResponse(body, status_code=200 if chroma["ok"] and db["ok"] else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    if not operator(request):
        raise APIError(401, "/metrics needs an API key (Authorization: Bearer <key>) or X-Admin-Key",
                       type="authentication_error", code="invalid_api_key")  # fmt: skip
    return Response(get_state(request).metrics.render(), media_type="text/plain; version=0.0.4")
