"""Admin: analytics, the exchange log, knowledge sources (upload / list / delete), and the exact
final prompt for a question (benchmarks compare the service with the raw engine on it)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from langchain_core.messages import BaseMessage

from app.api.deps import AdminDep, get_state
from app.api.errors import APIError
from ingest.load import SUPPORTED
from ingest.pipeline import run_ingest

router = APIRouter(prefix="/api", tags=["admin"])

UPLOAD_PREFIX = "uploads/"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


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
    st = get_state(request)
    name = _SAFE_NAME.sub("_", (file.filename or "").rsplit("/", 1)[-1]).strip("._")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name or suffix not in SUPPORTED:
        raise APIError(415, f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}",
                       code="unsupported_file_type", param="file")  # fmt: skip
    limit = st.settings.max_upload_mb * 1024 * 1024
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise APIError(413, f"file is larger than {st.settings.max_upload_mb} MB", code="file_too_large", param="file")
    folder = st.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{name}.part"
    staged.write_bytes(data)
    target = folder / name
    staged.replace(target)
    report = await asyncio.to_thread(run_ingest, [target], st.store, st.settings, source_prefix=UPLOAD_PREFIX)
    if report.failed:
        target.unlink(missing_ok=True)
        raise APIError(422, f"{name}: {report.failed[0][1]}", code="unreadable_file", param="file")
    st.retriever.refresh(force=True)
    return {"source": UPLOAD_PREFIX + name, "summary": report.summary(), "added": report.added,
            "updated": report.updated, "unchanged": report.unchanged, "entries": report.entries}  # fmt: skip


@router.delete("/admin/sources/{source:path}")
async def delete_source(source: str, request: Request, _: AdminDep) -> dict:
    st = get_state(request)
    removed = await asyncio.to_thread(st.store.delete_source, source)
    if not removed:
        raise APIError(404, f"no source {source!r} in the knowledge base", code="not_found")
    if source.startswith(UPLOAD_PREFIX):
        (st.settings.data_dir / "uploads" / source.removeprefix(UPLOAD_PREFIX)).unlink(missing_ok=True)
    st.retriever.refresh(force=True)
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
