"""Dependencies: the objects built in the lifespan, and who the caller is (keys, widget origin,
identity token, rate limit). Checked here once, not in each route."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.api import identity
from app.api.errors import APIError
from app.api.state import get_state
from app.settings import Settings

# addresses that mean "this machine": binding there needs no keys, and without an admin key the
# admin API answers only callers from there ("testclient" is Starlette's in-process test client)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


@dataclass(frozen=True)
class Caller:
    key: str  # rate-limit key
    kind: str  # api | widget | anonymous
    exempt: bool = False


def _matches(candidate: str, secrets: list) -> bool:
    # compare against every key, in constant time each, so timing tells nothing about which matched
    ok = False
    for s in secrets:
        ok |= hmac.compare_digest(candidate.encode(), s.get_secret_value().encode())
    return ok


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def caller(request: Request) -> Caller:
    st = get_state(request)
    s: Settings = st.settings
    widget_key = request.headers.get("x-askdesk-widget-key")
    if widget_key is not None:
        origin = request.headers.get("origin")
        if widget_key not in s.widget_keys:
            raise APIError(401, "unknown widget key", type="authentication_error", code="invalid_widget_key")
        if origin not in s.allowed_widget_origins:
            raise APIError(403, f"origin {origin!r} is not allowed to use this widget", type="permission_error",
                           code="origin_not_allowed")  # fmt: skip
        visitor = request.headers.get("x-askdesk-visitor") or (request.client.host if request.client else "?")
        c = Caller(key=f"widget:{visitor[:64]}", kind="widget")
    else:
        token = _bearer(request)
        if s.api_keys:
            if not token or not _matches(token, s.api_keys + s.rate_limit_exempt_keys):
                raise APIError(401, "invalid or missing API key (Authorization: Bearer <key>)",
                               type="authentication_error", code="invalid_api_key")  # fmt: skip
        exempt = bool(token and s.rate_limit_exempt_keys and _matches(token, s.rate_limit_exempt_keys))
        if token and (s.api_keys or exempt):
            c = Caller(key="key:" + hashlib.sha256(token.encode()).hexdigest()[:16], kind="api", exempt=exempt)
        else:
            c = Caller(key="ip:" + (request.client.host if request.client else "?"), kind="anonymous")
    if not c.exempt and not st.limiter.hit(st.rate, c.key):
        raise APIError(429, f"rate limit exceeded ({s.rate_limit}); slow down", type="rate_limit_error",
                       code="rate_limit_exceeded", headers={"Retry-After": "10"})  # fmt: skip
    return c


def verified_user(request: Request, token: str | None) -> str | None:
    """The signed-in user from a host-signed identity token; None when absent or invalid."""
    s: Settings = get_state(request).settings
    if not token or s.widget_identity_secret is None:
        return None
    claims = identity.verify(token, s.widget_identity_secret.get_secret_value(), max_age_s=s.identity_token_max_age_s)
    if claims is None:
        raise APIError(401, "identity token is invalid or expired", type="authentication_error",
                       code="invalid_identity_token")  # fmt: skip
    return f"{claims['sub']}" + (f" ({claims['name']})" if claims.get("name") else "")


def admin(request: Request) -> None:
    s: Settings = get_state(request).settings
    given = request.headers.get("x-admin-key")
    if s.admin_key is None:
        host = request.client.host if request.client else ""
        if host in LOOPBACK:  # the local demo: admin from this machine only
            return
        raise APIError(403, "admin API is disabled: set ASKDESK_ADMIN_KEY", type="permission_error")
    if not given or not hmac.compare_digest(given.encode(), s.admin_key.get_secret_value().encode()):
        raise APIError(401, "invalid or missing X-Admin-Key", type="authentication_error", code="invalid_admin_key")


CallerDep = Annotated[Caller, Depends(caller)]
AdminDep = Annotated[None, Depends(admin)]
