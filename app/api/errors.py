"""Every error leaves the API in OpenAI's shape, mapped here and nowhere else."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.schemas import OAIError, OAIErrorBody
from app.errors import (
    AskDeskError,
    BadRequest,
    ConfigError,
    EmbeddingMismatch,
    EmptyKnowledgeBase,
    FileTooLarge,
    IngestError,
    LLMUnavailable,
    NotFound,
    UnreadableFile,
    UnsupportedFileType,
)  # fmt: skip

log = logging.getLogger(__name__)


class APIError(Exception):
    """Raised by dependencies and routes for HTTP-level refusals (auth, limits, unknown model)."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers: dict | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type, code, param
        self.headers = headers


def error_body(message: str, type: str, code: str | None = None, param: str | None = None) -> dict:
    return OAIError(error=OAIErrorBody(message=message, type=type, param=param, code=code)).model_dump()


# (exception, HTTP status, error type, error code); the first match wins, so subclasses come first
_DOMAIN_STATUS: list[tuple[type[AskDeskError], int, str, str]] = [
    (BadRequest, 400, "invalid_request_error", "invalid_request_error"),
    (UnsupportedFileType, 415, "invalid_request_error", "unsupported_file_type"),
    (FileTooLarge, 413, "invalid_request_error", "file_too_large"),
    (UnreadableFile, 422, "invalid_request_error", "unreadable_file"),
    (IngestError, 400, "invalid_request_error", "invalid_request_error"),
    (NotFound, 404, "invalid_request_error", "not_found"),
    (EmptyKnowledgeBase, 503, "knowledge_base_empty", "knowledge_base_empty"),
    (EmbeddingMismatch, 503, "embedding_mismatch", "embedding_mismatch"),
    (LLMUnavailable, 503, "llm_unavailable", "llm_unavailable"),
    (ConfigError, 500, "configuration_error", "configuration_error"),
]


def domain_status(e: AskDeskError) -> tuple[int, str, str]:
    """(status, error type, error code) of a domain error."""
    for cls, status, kind, code in _DOMAIN_STATUS:
        if isinstance(e, cls):
            return status, kind, code
    return 500, "server_error", "server_error"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api(_: Request, e: APIError):
        return JSONResponse(error_body(e.message, e.type, e.code, e.param), status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError):
        errs = e.errors()
        first = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", []) if p != "body"]
        if first.get("type") == "json_invalid":
            msg, param = "request body is not valid JSON", None
        else:
            param = ".".join(loc) or None
            msg = f"{param}: {first.get('msg', 'invalid value')}" if param else first.get("msg", "invalid request")
        return JSONResponse(error_body(msg, "invalid_request_error", "invalid_value", param), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(e.status_code)
        # the exception's headers go out too: a 405 says which methods are allowed (Allow)
        return JSONResponse(error_body(str(e.detail), "invalid_request_error", code), status_code=e.status_code,
                            headers=e.headers)  # fmt: skip

    @app.exception_handler(AskDeskError)
    async def _domain(request: Request, e: AskDeskError):
        status, kind, code = domain_status(e)
        st = getattr(request.app.state, "askdesk", None)
        if st is not None and status >= 500:  # the service failed the caller: counted per surface
            st.metrics.error("openai" if request.url.path.startswith("/v1/") else "chat", code)
        return JSONResponse(error_body(str(e), kind, code, getattr(e, "param", None)), status_code=status)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception):
        log.exception("unhandled error")
        return JSONResponse(error_body("internal server error", "server_error"), status_code=500)
