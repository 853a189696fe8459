"""The FastAPI app. Heavy objects are built once in the lifespan and kept on `app.state.askdesk`.

In-process state and what happens when it is lost: the BM25/dense indexes are rebuilt from Chroma
(collection version); rate-limit counters are per replica (memory://, or a shared limits storage
URI); backend health and circuit breakers are re-learned within one health interval. Sessions, the
exchange log, feedback and tickets live in the database (SQLite or a shared PostgreSQL URL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api import routes_admin, routes_chat, routes_health, routes_openai, routes_search
from app.api.deps import WIDGET_ROUTES as WIDGET_PATHS  # one list: the routes a widget key opens
from app.api.edge import (
    LocalOnlyWithoutKeys,
    OneLineStartupFailure,
    RequestBodyGuard,
    SecurityHeaders,
    is_loopback,
)
from app.api.errors import install_handlers
from app.api.openapi_docs import document_api
from app.api.schemas import OAIError
from app.api.state import AppState
from app.console import routes as console
from app.errors import AskDeskError, ConfigError
from app.privacy import retention
from app.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
DOCS_PATH = "/docs"
UPLOAD_PATH = "/api/admin/sources"


class StartupFailed(ConfigError):
    """The lifespan refused to start; the message is one line: what failed and how to fix it."""


def create_app(settings: Settings, build_state: Callable[[Settings], AppState]) -> FastAPI:
    """The HTTP surface over what ``build_state`` builds at startup (askdesk/wiring.py in the
    service; a scripted model in the fast tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            refuse_open_bind(settings)
            st = build_state(settings)
        except Exception as e:
            # one clear line instead of a traceback: uvicorn logs it (OneLineStartupFailure), or
            # `askdesk serve` prints it as its error line; the traceback stays at debug level
            app.state.startup_error = reason = startup_failure_reason(settings, e)
            log.debug("startup failed", exc_info=True)
            raise StartupFailed(reason) from e
        try:
            st.retriever.refresh(force=True)  # load indexes now, not on the first question
        except Exception as e:  # an empty KB still serves /health and tells /ready why
            log.warning("knowledge base not loaded: %s", e)
        await st.router.start()
        app.state.askdesk = st
        purger = None
        if settings.retention_days:  # 0 keeps everything (app/privacy/retention.py)
            purger = asyncio.create_task(retention.run_schedule(
                st.conversations, settings.retention_days, settings.retention_interval_s))  # fmt: skip
        try:
            yield
        finally:
            if purger is not None:
                purger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purger
            await st.router.stop()
            await st.answers.aclose()
            st.conversations.dispose()

    # docs_url/redoc_url None: FastAPI's own pages load Swagger UI / ReDoc from a CDN, blank on an
    # intranet; /docs is served below with the Swagger UI files AskDesk ships (app/static/swagger)
    app = FastAPI(title="AskDesk", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="FAQ support bot: native chat API, OpenAI-compatible API, search, admin.")  # fmt: skip
    app.state.startup_error = None  # the lifespan's one-line reason, when it refused to start
    app.state.log_startup_error = True  # False: the caller prints startup_error itself (askdesk serve)
    install_handlers(app)
    origins = list(dict.fromkeys(settings.cors_origins + settings.allowed_widget_origins))
    limit = settings.max_request_bytes
    upload = settings.max_upload_mb * 1024 * 1024 + 64 * 1024  # the file and its multipart framing
    # each add_middleware wraps the ones before it; from the outside in: OneLineStartupFailure,
    # SecurityHeaders (on every answer below it), LocalOnlyWithoutKeys, widget_refusals_readable,
    # CORS, RequestBodyGuard (inside CORS, so a widget on an allowed origin can read its 413/400)
    uploads = (UPLOAD_PATH, console.UPLOAD_PATH)  # the admin API's and the console's upload forms
    app.add_middleware(RequestBodyGuard, limit_for=lambda path: upload if path in uploads else limit)
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

    app.add_middleware(LocalOnlyWithoutKeys, keyless=not settings.api_keys)
    docs = frozenset({DOCS_PATH, app.swagger_ui_oauth2_redirect_url})
    app.add_middleware(SecurityHeaders, docs_paths=docs)

    def startup_reason() -> str | None:  # "": the caller prints it itself
        return app.state.startup_error if app.state.log_startup_error else ""

    app.add_middleware(OneLineStartupFailure, reason=startup_reason)

    for r in (routes_health, routes_chat, routes_openai, routes_search, routes_admin):
        app.include_router(r.router)
    console.install(app)  # the support team's pages at /admin (app/console)

    app.mount("/static/swagger", StaticFiles(directory=STATIC / "swagger"), name="swagger")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs_page():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="AskDesk API", oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            swagger_js_url="/static/swagger/swagger-ui-bundle.js", swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )  # fmt: skip

    @app.get(app.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    async def docs_oauth2_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js():
        return FileResponse(STATIC / "widget.js", media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=300"})  # fmt: skip

    @app.get("/", include_in_schema=False)
    async def demo_page(request: Request):
        if "hostile" not in request.query_params:
            return FileResponse(STATIC / "demo.html", media_type="text/html")
        # the test page: the same intranet page with its own CSS turned hostile (the widget's Shadow
        # DOM must keep all of it out), switched on here so the page needs no inline script
        html = (STATIC / "demo.html").read_text(encoding="utf-8").replace("<html ", '<html class="hostile" ', 1)
        return HTMLResponse(html)

    document_errors_as_400(app)
    document_api(app, settings)
    return app


def refuse_open_bind(settings: Settings) -> None:
    """`askdesk serve`'s rule, checked again where every entry passes: a non-local ASKDESK_HOST
    needs API keys. (The server's own bind address is not visible here: askdesk/asgi.py and
    LocalOnlyWithoutKeys cover what ASKDESK_HOST does not say.)"""
    if not settings.api_keys and not is_loopback(settings.host):
        raise StartupFailed(f"refusing to listen on {settings.host} without API keys: set ASKDESK_API_KEYS "
                            "(or ASKDESK_HOST=127.0.0.1 for this machine only)")  # fmt: skip


def startup_failure_reason(settings: Settings, e: Exception) -> str:
    """One line: what failed at startup and how to fix it."""
    if isinstance(e, StartupFailed):
        return str(e)
    detail = " ".join(str(e).split())[:300] or type(e).__name__
    where = [("ASKDESK_DATA_DIR", settings.data_dir)]
    if not settings.chroma_host:
        where.append(("ASKDESK_CHROMA_PATH" if settings.chroma_path else "its chroma/", settings.chroma_dir))
    for name, path in where:
        if path.exists() and not path.is_dir():
            return (f"AskDesk could not start: {name} ({path}) is not a directory: point it at a directory "
                    f"AskDesk can write ({detail})")  # fmt: skip
    host, port = settings.chroma_host, settings.chroma_port
    if host and not _reachable(host, port):
        return (f"AskDesk could not start: no Chroma server answers at {host}:{port} (ASKDESK_CHROMA_HOST/"
                f"ASKDESK_CHROMA_PORT): start it (`chroma run --port {port}`), or unset ASKDESK_CHROMA_HOST "
                "to use the store under ASKDESK_DATA_DIR")  # fmt: skip
    if isinstance(e, PermissionError):
        return (f"AskDesk could not start: no permission: {detail}: make it writable, or point "
                "ASKDESK_DATA_DIR elsewhere")  # fmt: skip
    if isinstance(e, AskDeskError):  # domain errors already say what to do
        return f"AskDesk could not start: {detail}"
    return f"AskDesk could not start: {type(e).__name__}: {detail}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def document_errors_as_400(app: FastAPI) -> None:
    """A request that fails validation gets a 400 with the OpenAI error body (app/api/errors.py),
    not FastAPI's 422 with its own shape: say so in the generated OpenAPI spec."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _replace_422(generate())  # FastAPI's spec, cached on app.openapi_schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _replace_422(spec: dict[str, Any]) -> None:
    error = OAIError.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(error.pop("$defs", {}))
    schemas["OAIError"] = error
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/OAIError"}}}
    bad_request = {"description": "Invalid request (OpenAI-style error body)", "content": body}
    for operations in spec.get("paths", {}).values():
        for op in operations.values():
            responses = op.get("responses", {}) if isinstance(op, dict) else {}
            if responses.pop("422", None) is not None:
                responses.setdefault("400", bad_request)
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, now unreferenced
        if f"#/components/schemas/{unused}'" not in str(spec):
            schemas.pop(unused, None)
