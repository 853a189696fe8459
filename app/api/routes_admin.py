"""Admin: analytics, the exchange log, knowledge sources (upload / list / delete), a user's data
(export / delete), retention purges, the audit log, and the exact final prompt for a question
(benchmarks compare the service with the raw engine on it). Every call is in the audit log."""

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
from app.privacy import retention
from app.privacy.audit import to_csv

router = APIRouter(prefix="/api", tags=["admin"])


@router.get("/admin/stats")
async def stats(request: Request, _: AdminDep) -> dict:
    return await asyncio.to_thread(get_state(request).conversations.stats)


@router.get("/admin/log")
async def exchange_log(request: Request, actor: AdminDep, format: Annotated[str, Query(pattern="^(json|jsonl)$")] = "json",
                       limit: Annotated[int, Query(ge=1, le=100000)] = 10000):  # fmt: skip
    conversations = get_state(request).conversations
    rows = await asyncio.to_thread(conversations.export_log, limit)
    await asyncio.to_thread(conversations.audit.record, actor, "log.export", None, {"rows": len(rows)})
    if format == "jsonl":
        return PlainTextResponse("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                 media_type="application/x-ndjson")  # fmt: skip
    return {"exchanges": rows}


@router.get("/admin/sources")
async def list_sources(request: Request, _: AdminDep) -> dict:
    return {"sources": await asyncio.to_thread(get_state(request).store.sources)}


@router.post("/admin/sources", status_code=201)
async def upload_source(request: Request, actor: AdminDep, file: Annotated[UploadFile, File()]) -> dict:
    st = get_state(request)
    data = await file.read(st.uploads.max_bytes + 1)  # one byte over says "too large" without reading it all
    result = asdict(await asyncio.to_thread(st.uploads.add, file.filename or "", data))
    await asyncio.to_thread(st.conversations.audit.record, actor, "source.upload", file.filename or "",
                            {"bytes": len(data), **{k: v for k, v in result.items() if isinstance(v, int)}})  # fmt: skip
    return result


@router.delete("/admin/sources/{source:path}")
async def delete_source(source: str, request: Request, actor: AdminDep) -> dict:
    st = get_state(request)
    removed = await asyncio.to_thread(st.uploads.remove, source)
    await asyncio.to_thread(
        st.conversations.audit.record, actor, "source.delete", source, {"entries_deleted": removed}
    )
    return {"source": source, "entries_deleted": removed}


# --- privacy: a user's data, retention, the audit log (app/privacy) ---------------------------------
@router.get("/admin/users/{user_id}/export")
async def export_user(user_id: str, request: Request, actor: AdminDep) -> dict:
    """Everything stored about a signed-in user (their token's `sub`): sessions, exchanges, feedback, tickets."""
    return await asyncio.to_thread(retention.export_user, get_state(request).conversations, user_id, actor)


@router.delete("/admin/users/{user_id}")
async def delete_user(user_id: str, request: Request, actor: AdminDep) -> dict:
    """Delete everything `export` returns; the counts of what went."""
    deleted = await asyncio.to_thread(retention.delete_user, get_state(request).conversations, user_id, actor)
    return {"user_id": user_id, "deleted": deleted}


@router.post("/admin/purge")
async def purge(
    request: Request, actor: AdminDep, days: Annotated[int | None, Query(ge=1, le=retention.MAX_DAYS)] = None
) -> dict:
    """Delete exchanges, feedback, tickets and idle sessions older than `days` (default: ASKDESK_RETENTION_DAYS)."""
    st = get_state(request)
    days = days or st.settings.retention_days
    if not days:
        raise APIError(400, "no retention configured (ASKDESK_RETENTION_DAYS=0 keeps everything): pass ?days=N",
                       param="days")  # fmt: skip
    deleted = await asyncio.to_thread(retention.purge, st.conversations, days, actor)
    return {"days": days, "deleted": deleted}


@router.get("/admin/audit")
async def audit_log(request: Request, actor: AdminDep, format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
                    limit: Annotated[int, Query(ge=1, le=100000)] = 10000):  # fmt: skip
    """The audit log of admin actions, oldest first (append-only: app/privacy/audit.py)."""
    audit = get_state(request).conversations.audit
    events = await asyncio.to_thread(audit.export, limit)
    await asyncio.to_thread(
        audit.record, actor, "audit.export", None, {"rows": len(events), "format": format}
    )
    if format == "csv":
        return PlainTextResponse(to_csv(events), media_type="text/csv; charset=utf-8")
    return {"events": events}


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
