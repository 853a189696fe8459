"""Run a dataset against a running AskDesk: search + streamed chat per question, bounded concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from evals.cases import STANDALONE_KINDS, Case, Conversation
from evals.client import THROTTLED, Attempts, ChatResult, Client, RetryPolicy, Throttled, ThrottleStats
from evals.metrics import query_class
from evals.resources import ResourceSampler
from evals.scoring import first_source


@dataclass
class RunOptions:
    url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    concurrency: int = 4
    k: int = 10
    search: bool = True
    chat: bool = True
    timeout_s: float = 180.0
    transport: object | None = None  # httpx transport override, for tests
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # how HTTP 429 (rate limit) is waited out
    on_throttle: Callable[[ThrottleStats], None] | None = None  # called on every 429 (progress)


def base_record(case: Case) -> dict:
    return {
        "id": case.id,
        "query": case.query,
        "lang": case.lang,
        "category": case.category,
        "answerable": case.answerable,
        "gold": case.gold,
        "expected_answer": case.expected_answer,
        "key_facts": case.key_facts,
        "conversation": case.conversation,
        "turn": case.turn,
        "kind": case.kind,
        "expected_mode": case.expected_mode,
        "query_class": query_class(case.query),
    }


def _suggestions(done: dict) -> list[dict]:
    return [
        {k: s.get(k) for k in ("id", "kind", "question", "confidence")}
        for s in done.get("suggestions") or []
        if isinstance(s, dict)
    ]


def _handoff(done: dict) -> dict | None:
    h = done.get("handoff")
    if not isinstance(h, dict):
        return None
    ref = h.get("reference")
    return {"reason": h.get("reason"), "reference": ref, "has_reference": bool(ref)}


def chat_record(res: ChatResult) -> dict:
    done = res.done or {}
    pre = res.sources_event or {}
    ttft_ms = res.ttft_s * 1000 if res.ttft_s is not None else None
    total_ms = res.total_s * 1000 if res.total_s is not None else None
    toks = res.output_tokens
    mode = done.get("mode") or pre.get("mode")
    sources = done.get("sources") or []
    # the `sources` event comes before any LLM call: the policy's mode and the retrieval's order (a
    # rag answer's final sources are re-ordered by what the LLM cited, and an unsure one ends no_answer)
    pre_ids = [str(x.get("id", "")) for x in pre.get("sources") or [] if isinstance(x, dict)]
    return {
        "ok": res.ok,
        "status": res.status,
        "mode": mode,
        "decision_mode": pre.get("mode") or mode,
        "context_ids": pre_ids if "sources" in pre else [str(x.get("id", "")) for x in sources],
        "backend": done.get("backend"),
        "answer": done.get("answer") or res.text,
        "sources": sources,
        "suggestions": _suggestions(done),
        "intent": done.get("intent"),
        "handoff": _handoff(done),
        "confidence": done.get("confidence"),
        "lang": done.get("lang"),
        "session_id": done.get("session_id") or (res.sources_event or {}).get("session_id"),
        "rewritten_query": done.get("rewritten_query"),
        "server_latency_ms": done.get("latency_ms") or {},
        "ttft_ms": ttft_ms,
        "total_ms": total_ms,
        "output_tokens": toks if mode == "rag" else None,
        # article §3: TPS = output tokens / total time; only meaningful for generated (rag) answers
        "tps": toks / res.total_s if (mode == "rag" and toks and res.total_s) else None,
        "error": res.error,
        "error_kind": res.error_kind,
        "throttle_retries": res.throttle_retries,  # HTTP 429s waited out first (error_kind throttled: gave up)
    }


def fresh_record(res: ChatResult) -> dict:
    """The answer the same question gets as the first message of a new session (switch / clarify
    turns are compared with it): mode, first source (retrieval order), answer text."""
    c = chat_record(res)
    return {
        "ok": c["ok"],
        "mode": c["mode"],
        "decision_mode": c["decision_mode"],
        "top": first_source(c),
        "answer": c["answer"],
        "suggestions": [s.get("id") for s in c["suggestions"]],
        "session_id": c["session_id"],
        "error": c["error"],
        "error_kind": c["error_kind"],
        "throttle_retries": c["throttle_retries"],
    }


async def _search(client: Client, rec: dict, k: int) -> None:
    att = Attempts()
    try:
        s = await client.search(rec["query"], k=k, attempts=att)
    except Exception as e:  # noqa: BLE001 - one failed search is a recorded error, not a failed run
        rec["search_error"] = str(e)
        if isinstance(e, Throttled):
            rec["search_error_kind"] = THROTTLED
        return
    finally:
        if att.retries:
            rec["search_throttle_retries"] = att.retries
    rec["search"] = {
        "hits": [[h.get("id", ""), h.get("source", "")] for h in s.get("hits", [])],
        "top": (s.get("hits") or [{}])[0] if s.get("hits") else None,
        "predicted_answerable": bool(s.get("predicted_answerable")),
        "confidence": float(s.get("confidence") or 0.0),
        "lang": s.get("lang"),
        "latency_ms": (time.perf_counter() - att.sent_at) * 1000,  # the answered attempt, not 429 waits
    }


async def run_cases(
    cases: list[Case],
    conversations: list[Conversation],
    opts: RunOptions,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[dict], dict]:
    """Returns (records, meta). Conversations run turn by turn, reusing the first turn's session. A
    turn that stands on its own (kind switch / clarify) is searched too and also asked in a fresh
    session (``rec["fresh"]``), so scoring can check it was answered as a first message would be."""
    sem = asyncio.Semaphore(max(1, opts.concurrency))
    records: list[dict] = []
    tick = on_progress or (lambda n: None)

    async with Client(
        opts.url,
        opts.api_key,
        timeout_s=opts.timeout_s,
        transport=opts.transport,
        retry=opts.retry,
        on_throttle=opts.on_throttle,
    ) as client:
        await client.health()  # fail fast with one clear error when the service is not there
        ready = await client.ready()
        models = await client.models()
        probe = await probe_engines(client, ready)

        async def one(case: Case) -> None:
            rec = base_record(case)
            records.append(rec)
            async with sem:
                if opts.search:
                    await _search(client, rec, opts.k)
                if opts.chat:
                    rec["chat"] = chat_record(await client.chat_stream(case.query))
            tick(1)

        async def conv(c: Conversation) -> None:
            session = None
            async with sem:
                for case in c.turns:
                    rec = base_record(case)
                    records.append(rec)
                    standalone = case.kind in STANDALONE_KINDS
                    if opts.search and (case.turn == 0 or standalone):
                        await _search(client, rec, opts.k)
                    if opts.chat:
                        res = await client.chat_stream(case.query, session_id=session)
                        rec["chat"] = chat_record(res)
                        session = rec["chat"]["session_id"] or session
                        if standalone:
                            rec["fresh"] = fresh_record(await client.chat_stream(case.query))
                    tick(1)

        t0 = time.time()
        with ResourceSampler() as sampler:
            await asyncio.gather(*(one(c) for c in cases), *(conv(c) for c in conversations))
        meta = {
            "url": opts.url,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t0)),
            "duration_s": time.time() - t0,
            "concurrency": opts.concurrency,
            "k": opts.k,
            "served_models": models,
            "ready": ready,
            "engine_models": engine_models(ready),
            "engine_probe": probe,
            "resources": sampler.summary(),
            # every request of the run, /health and /v1/models included (records count their own)
            "throttle": {**asdict(client.throttle), "policy": asdict(opts.retry)},
        }
    order = {id(c): i for i, c in enumerate(records)}
    records.sort(key=lambda r: (r["conversation"] or "", r["turn"], order[id(r)]))
    return records, meta


def engine_models(ready: dict | None) -> list[dict]:
    """Which model each LLM backend serves, from /ready (name, role, model, healthy)."""
    if not ready:
        return []
    return [
        {k: b.get(k) for k in ("name", "role", "model", "healthy")}
        for b in ready.get("llm") or []
        if isinstance(b, dict)
    ]


async def probe_engines(client: Client, ready: dict | None) -> list[dict]:
    """Best effort: ask each engine /ready names (when it shows a base_url) what it serves; llama.cpp
    reports the parameter count and the model file, which tells SmolLM2-135M from Qwen3-0.6B."""
    out = []
    for b in (ready or {}).get("llm") or []:
        base = isinstance(b, dict) and b.get("base_url")
        if not base:
            continue
        try:
            r = await client.http.get(base.rstrip("/") + "/models", timeout=5.0)
            data = r.json()
        except Exception:  # noqa: BLE001, S112 - an unreachable engine already shows unhealthy in /ready
            continue
        for m in data.get("data") or []:
            meta = m.get("meta") or {}
            out.append(
                {
                    "backend": b.get("name"),
                    "id": m.get("id"),
                    "n_params": meta.get("n_params"),
                    "file": next((x.get("model") for x in data.get("models") or [] if x.get("model")), None),
                }
            )
    return out
