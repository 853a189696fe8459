"""The FastAPI app. Heavy objects are built once in the lifespan and kept on `app.state.askdesk`.

In-process state and what happens when it is lost: the BM25/dense indexes are rebuilt from Chroma
(collection version); rate-limit counters are per replica (memory://, or a shared limits storage
URI); backend health and circuit breakers are re-learned within one health interval. Sessions, the
exchange log, feedback and tickets live in the database (SQLite or a shared PostgreSQL URL)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response

from app.api import routes_admin, routes_chat, routes_health, routes_openai, routes_search
from app.api.errors import error_body, install_handlers
from app.api.state import AppState
from app.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
WIDGET_PATHS = ("/api/chat", "/api/feedback", "/api/handoff")


def create_app(settings: Settings, build_state: Callable[[Settings], AppState]) -> FastAPI:
    """The HTTP surface over what ``build_state`` builds at startup (askdesk/wiring.py in the
    service; a scripted model in the fast tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        st = build_state(settings)
        try:
            st.retriever.refresh(force=True)  # load indexes now, not on the first question
        except Exception as e:  # an empty KB still serves /health and tells /ready why
            log.warning("knowledge base not loaded: %s", e)
        await st.router.start()
        app.state.askdesk = st
        try:
            yield
        finally:
            await st.router.stop()
            await st.answers.aclose()
            st.conversations.dispose()

    app = FastAPI(title="AskDesk", version="0.1.0", lifespan=lifespan,
                  description="FAQ support bot: native chat API, OpenAI-compatible API, search, admin.")  # fmt: skip
    install_handlers(app)
    origins = list(dict.fromkeys(settings.cors_origins + settings.allowed_widget_origins))
    app.add_middleware(
        CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-AskDesk-Widget-Key", "X-AskDesk-Visitor", "X-Admin-Key"],
    )  # fmt: skip

    @app.middleware("http")
    async def widget_refusals_readable(request: Request, call_next):
        """CORSMiddleware answers a disallowed origin's preflight with a bare 400, so a widget on a
        page that is not allowlisted could only say "unreachable". Let widget preflights through and
        make refusals (401/403, never answers) readable, so it can say "not allowed here"."""
        origin = request.headers.get("origin")
        if not origin or origin in origins or request.url.path not in WIDGET_PATHS:
            return await call_next(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={
                "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type, X-AskDesk-Widget-Key, X-AskDesk-Visitor",
                "Access-Control-Max-Age": "600", "Vary": "Origin"})  # fmt: skip
        response = await call_next(request)
        if response.status_code in (401, 403):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        limit = settings.max_request_bytes
        if request.url.path == "/api/admin/sources":
            limit = settings.max_upload_mb * 1024 * 1024 + 64 * 1024
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            return JSONResponse(error_body(f"request body larger than {limit} bytes", "invalid_request_error",
                                           "request_too_large"), status_code=413)  # fmt: skip
        return await call_next(request)

    for r in (routes_health, routes_chat, routes_openai, routes_search, routes_admin):
        app.include_router(r.router)

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js():
        return FileResponse(STATIC / "widget.js", media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=300"})  # fmt: skip

    @app.get("/", include_in_schema=False)
    async def demo_page():
        return FileResponse(STATIC / "demo.html", media_type="text/html")

    return app
