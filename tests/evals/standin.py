"""A stand-in AskDesk for unit tests of the client, runner and reports: an httpx.MockTransport that
answers the documented API (search, streamed chat with SSE, health, ready, models). The real service
is exercised by test_eval_e2e.py; this exists so client/parsing code is tested without a model."""

from __future__ import annotations

import json

import httpx

KB = {
    "it-vpn-002": ("VPN session length", "NWH Connect sessions last at most 12 hours; sign in again."),
    "hr-leave-001": ("Annual leave", "12, 15 or 20 days depending on total work experience."),
}


def _sse(events: list[tuple[str, dict]]) -> bytes:
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/health":
        return httpx.Response(200, json={"status": "healthy"})
    if path == "/ready":
        return httpx.Response(
            200,
            json={
                "status": "ready",
                "chroma": "ok",
                "llm": [{"name": "local", "role": "cpu", "model": "smollm2-135m", "healthy": True}],
            },
        )
    if path == "/v1/models":
        return httpx.Response(200, json={"object": "list", "data": [{"id": "askdesk"}]})
    body = json.loads(request.content or b"{}")
    if path == "/api/search":
        q = body["query"].lower()
        if "vpn" in q:
            hits = [
                {
                    "id": "it-vpn-002",
                    "score": 0.9,
                    "confidence": 0.95,
                    "source": "faq.csv",
                    "kind": "faq",
                    "title": KB["it-vpn-002"][0],
                }
            ]
        else:
            hits = [
                {
                    "id": "hr-leave-001",
                    "score": 0.3,
                    "confidence": 0.2,
                    "source": "faq.csv",
                    "kind": "faq",
                    "title": KB["hr-leave-001"][0],
                }
            ]
        conf = hits[0]["confidence"]
        return httpx.Response(
            200,
            json={
                "query": body["query"],
                "lang": "en",
                "hits": hits,
                "predicted_answerable": conf >= 0.5,
                "confidence": conf,
            },
        )
    if path == "/api/chat":
        q = body["message"].lower()
        sid = body.get("session_id") or "s1"
        if "boom" in q:
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=_sse(
                    [
                        ("sources", {"mode": "rag", "sources": []}),
                        ("error", {"message": "engine down", "code": "llm"}),
                    ]
                ),
            )
        if "vpn" in q:
            mode, answer, srcs = (
                "faq",
                KB["it-vpn-002"][1],
                [{"n": 1, "id": "it-vpn-002", "source": "faq.csv"}],
            )
            tokens = [answer]
        elif "leave" in q or "carry" in q:
            mode = "rag"
            answer = "You get 12, 15 or 20 days depending on experience [1]."
            srcs = [{"n": 1, "id": "hr-leave-001", "source": "faq.csv"}]
            tokens = answer.split(" ")
        else:
            mode, answer, srcs, tokens = "no_answer", "I don't know.", [], []
        done = {
            "session_id": sid,
            "message_id": "m",
            "answer": answer,
            "mode": mode,
            "confidence": 0.5,
            "lang": "en",
            "sources": srcs,
            "backend": "local" if mode == "rag" else None,
            "latency_ms": {},
        }
        evs = [("sources", {"mode": mode, "sources": srcs, "session_id": sid})]
        evs += [("token", {"text": t + " "}) for t in tokens] + [("done", done)]
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(evs))
    return httpx.Response(404, json={"detail": "not found"})


def transport() -> httpx.MockTransport:
    return httpx.MockTransport(handler)
