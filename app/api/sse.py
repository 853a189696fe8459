"""Server-sent events as the chat surfaces send them."""

from __future__ import annotations

import json

from app.answering.chain import Event

# no proxy buffering (nginx) and no caching, so tokens reach the widget as they are written
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(ev: Event) -> str:
    return f"event: {ev.kind}\ndata: {json.dumps(ev.data, ensure_ascii=False)}\n\n"
