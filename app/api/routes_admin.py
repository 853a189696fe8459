"""Admin: analytics, the exchange log, knowledge sources (upload / list / delete), and the exact
final prompt for a question (benchmarks compare the service with the raw engine on it)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from langchain_core.messages import BaseMessage

from app.api.deps import AdminDep, get_state
from app.api.errors import APIError

router = APIRouter(prefix="/api", tags=["admin"])


@router.get("/admin/stats")
async def stats(request: Request, _: AdminDep) -> dict:
    return await asyncio.to_thread(get_state(request).conversations.stats)


@router.get("/admin/log")
async def exchange_log(request: Request, _: AdminDep, format: Annotated[str, Query(pattern="^(json|jsonl)$")] = "json",
                       limit: Annotated[int, Query(ge=1, le=100000)] = 10000):  # fmt: skip
    rows = await asyncio.to_thread(get_state(request).conversations.export_log, limit)
    if format == "jsonl":
        return PlainTextResponse("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                 media_type="application/x-ndjson")  # fmt: skip
    return {"exchanges": rows}


@router.get("/admin/sources")
async def list_sources(request: Request, _: AdminDep) -> dict:
    return {"sources": await asyncio.to_thread(get_state(request).store.sources)}


@router.post("/admin/sources", status_code=201)
async def upload_source(request: Request, _: AdminDep, file: Annotated[UploadFile, File()]) -> dict:
    uploads = get_state(request).uploads
    data = await file.read(uploads.max_bytes + 1)  # one byte over says "too large" without reading it all
    return asdict(await asyncio.to_thread(uploads.add, file.filename or "", data))


@router.delete("/admin/sources/{source:path}")
async def delete_source(source: str, request: Request, _: AdminDep) -> dict:
    removed = await asyncio.to_thread(get_state(request).uploads.remove, source)
    return {"source": source, "entries_deleted": removed}


def _oai(m: BaseMessage) -> dict:
    role = {"system": "system", "human": "user", "ai": "assistant"}[m.type]
    return {"role": role, "content": m.content}


@router.post("/debug/prompt")
async def debug_prompt(request: Request, _: AdminDep, body: dict) -> dict:
    st = get_state(request)
    message = str(body.get("message", "")).strip()
    if not message:
        raise APIError(400, "message is required", param="message")
    messages, decision, lang = await st.answers.chain.final_prompt(message)
    route = st.router.plan(message, "answer")
    backend = next((b for b in st.settings.llm_backends if b.name == (route[0] if route else None)), None)
    return {"messages": [_oai(m) for m in messages], "mode": decision.mode, "lang": lang,
            "backend": {"name": backend.name, "base_url": backend.base_url, "model": backend.model} if backend else None,
            "max_tokens": st.settings.rag_max_tokens, "temperature": st.settings.rag_temperature}  # fmt: skip
