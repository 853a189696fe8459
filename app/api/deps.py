"""Dependencies: the objects built in the lifespan, and who the caller is (keys, widget origin,
identity token, rate limit). Checked here once, not in each route."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse

from app.api import identity
from app.api.errors import APIError
from app.api.state import get_state
from app.settings import APIKeySpec, Settings

# addresses that mean "this machine": binding there needs no keys, and without an admin key the
# admin API answers only callers from there ("testclient" is Starlette's in-process test client)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
# the only routes a publishable widget key opens (app/api/main.py also lets foreign origins read
# refusals on these)
WIDGET_ROUTES = frozenset({"/api/chat", "/api/feedback", "/api/handoff"})
DEFAULT_SCOPES = frozenset({"chat", "search"})  # a key in ASKDESK_API_KEYS, the widget, the keyless demo
SEARCH_ROUTES = frozenset({"/api/search"})  # need the "search" scope; every other caller route "chat"


@dataclass(frozen=True)
class Caller:
    key: str  # rate-limit key
    kind: str  # api | widget | anonymous
    exempt: bool = False
    # what the API key may do and read (ASKDESK_API_KEY_SPECS; a plain key: chat and search, no
    # audiences); a signed-in user's own audiences are on their Identity (verified_identity)
    scopes: frozenset[str] = DEFAULT_SCOPES
    audiences: frozenset[str] = frozenset()
    name: str = ""  # the key's name in the audit log


def _matches(candidate: str, secrets: list) -> bool:
    # compare against every key, in constant time each, so timing tells nothing about which matched
    ok = False
    for s in secrets:
        ok |= hmac.compare_digest(candidate.encode(), s.get_secret_value().encode())
    return ok


def _spec_for(token: str, s: Settings) -> APIKeySpec | None:
    """The key spec of this key (compared with every spec, in constant time each)."""
    found = None
    for spec in s.api_key_specs:
        if hmac.compare_digest(token.encode(), spec.key.get_secret_value().encode()):
            found = spec
    return found


def _insufficient_scope(scope: str) -> APIError:
    return APIError(
        403, f"this API key lacks the {scope!r} scope", type="permission_error", code="insufficient_scope"
    )


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _address(request: Request) -> str:
    # the peer address; behind a reverse proxy, run uvicorn with --proxy-headers/--forwarded-allow-ips
    # so this is the client's, not the proxy's (every limit keyed on it would be shared otherwise)
    return request.client.host if request.client else "?"


@lru_cache(maxsize=64)
def _rate(spec: str) -> RateLimitItem:
    return parse(spec)


def _retry_after(st, item: RateLimitItem, key: str) -> str:
    try:
        reset = st.limiter.get_window_stats(item, key).reset_time
        return str(max(1, math.ceil(reset - time.time())))
    except Exception:  # a storage that cannot say: one window
        return str(item.get_expiry())


def _limit(st, spec: str, key: str, what: str) -> None:
    """Count one request against `spec` for `key`; 429 with Retry-After once over."""
    item = _rate(spec)
    if not st.limiter.hit(item, key):
        raise APIError(429, f"rate limit exceeded ({spec}{what}); slow down", type="rate_limit_error",
                       code="rate_limit_exceeded", headers={"Retry-After": _retry_after(st, item, key)})  # fmt: skip


def _failures_key(request: Request) -> str:
    return "authfail:" + _address(request)


def _refuse_if_locked_out(request: Request) -> None:
    """Checked before any presented API/admin key is compared: past ASKDESK_AUTH_FAILURE_LIMIT wrong
    keys from this address, even the right key gets a 429 (else guessing would go on, only slower
    to read)."""
    st = get_state(request)
    spec = st.settings.auth_failure_limit
    item, key = _rate(spec), _failures_key(request)
    if not st.limiter.test(item, key):
        raise APIError(429, f"too many failed key attempts from this address ({spec}); try again later",
                       type="rate_limit_error", code="too_many_auth_failures",
                       headers={"Retry-After": _retry_after(st, item, key)})  # fmt: skip


def _count_failure(request: Request) -> None:
    st = get_state(request)
    st.limiter.hit(_rate(st.settings.auth_failure_limit), _failures_key(request))


def _invalid_api_key() -> APIError:
    return APIError(401, "invalid or missing API key (Authorization: Bearer <key>)", type="authentication_error",
                    code="invalid_api_key")  # fmt: skip


def _invalid_admin_key() -> APIError:
    return APIError(401, "invalid or missing X-Admin-Key", type="authentication_error", code="invalid_admin_key")


def _check_api_key(request: Request, token: str | None) -> None:
    """With API keys configured: a missing key is a 401; a wrong one is a 401 counted as a failure."""
    s: Settings = get_state(request).settings
    if not token:
        raise _invalid_api_key()
    _refuse_if_locked_out(request)
    if not _matches(token, s.api_keys + s.rate_limit_exempt_keys):
        _count_failure(request)
        raise _invalid_api_key()


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path


def caller(request: Request) -> Caller:
    st = get_state(request)
    s: Settings = st.settings
    widget_key = request.headers.get("x-askdesk-widget-key")
    token = _bearer(request)
    if widget_key is not None and _route_path(request) not in WIDGET_ROUTES and token is None:
        # a publishable key (in every host page's source) opens the widget's routes, nothing else
        raise APIError(403, "a widget key is valid only on " + ", ".join(sorted(WIDGET_ROUTES)) +
                       "; use an API key (Authorization: Bearer <key>)", type="permission_error",
                       code="widget_key_not_allowed")  # fmt: skip
    if widget_key is not None and token is None:
        origin = request.headers.get("origin")
        if widget_key not in s.active_widget_keys:
            raise APIError(401, "unknown widget key", type="authentication_error", code="invalid_widget_key")
        if origin not in s.allowed_widget_origins:
            raise APIError(403, f"origin {origin!r} is not allowed to use this widget", type="permission_error",
                           code="origin_not_allowed")  # fmt: skip
        # per address too: X-AskDesk-Visitor is the client's choice, a new one per request resets nothing here
        _limit(st, s.widget_ip_rate_limit, "widget-ip:" + _address(request), " per address")
        visitor = request.headers.get("x-askdesk-visitor") or _address(request)
        c = Caller(key=f"widget:{visitor[:64]}", kind="widget")
    else:  # an API key decides (a widget key sent along with it grants nothing)
        if s.api_keys:
            _check_api_key(request, token)
        exempt = bool(token and s.rate_limit_exempt_keys and _matches(token, s.rate_limit_exempt_keys))
        if token and (s.api_keys or exempt):
            spec = _spec_for(token, s)
            c = Caller(key="key:" + hashlib.sha256(token.encode()).hexdigest()[:16], kind="api", exempt=exempt,
                       scopes=frozenset(spec.scopes) if spec else DEFAULT_SCOPES,
                       audiences=frozenset(spec.audiences) if spec else frozenset(), name=spec.name if spec else "")  # fmt: skip
            scope = "search" if _route_path(request) in SEARCH_ROUTES else "chat"
            if scope not in c.scopes:
                raise _insufficient_scope(scope)
        else:
            c = Caller(key="ip:" + _address(request), kind="anonymous")
    if not c.exempt:
        _limit(st, s.rate_limit, c.key, "")
    return c


def operator(request: Request) -> bool:
    """May this caller see the service's internals (/ready details, /metrics: backend URLs, models,
    counters)? Anyone in the keyless local demo; with API keys configured, a caller with a valid API
    key or the admin key. A wrong key is a 401 counted as a failed attempt; none at all is False."""
    s: Settings = get_state(request).settings
    if not s.api_keys:
        return True
    token, given = _bearer(request), request.headers.get("x-admin-key")
    if not token and not given:
        return False
    _refuse_if_locked_out(request)
    if token and _matches(token, s.api_keys + s.rate_limit_exempt_keys):
        return True
    if given and s.admin_key is not None and _matches(given, [s.admin_key]):
        return True
    _count_failure(request)
    raise _invalid_admin_key() if given and not token else _invalid_api_key()


def session_owner(who: Caller) -> str:
    """Who a conversation belongs to: the API key or the widget visitor (or the address of an
    anonymous local caller); a verified user also continues their own sessions from elsewhere
    (app/conversations/store.py)."""
    return who.key


def _identity_verifier(request: Request) -> identity.IdentityVerifier:
    # built once per app from its settings (a key file read, a JWKS client whose key cache lives on)
    app_state = request.app.state
    verifier = getattr(app_state, "identity_verifier", None)
    if verifier is None:
        verifier = identity.IdentityVerifier.from_settings(get_state(request).settings)
        app_state.identity_verifier = verifier
    return verifier


def verified_identity(request: Request, token: str | None) -> identity.Identity | None:
    """The signed-in user from a host-signed identity token (JWT; app/api/identity.py); None when
    no token is sent or none is configured. A token that is sent and fails (forged, expired, not yet
    valid, wrong aud/iss, too long-lived) is refused with a 401, never read as anonymous: the host
    page then knows to sign the user in again, and a caller never silently loses what they may read.
    Kept on ``request.state.identity`` for the parts that filter by audiences."""
    if not token:
        return None
    verifier = _identity_verifier(request)
    if not verifier.configured:
        return None
    try:
        who = verifier.verify(token)
    except identity.InvalidIdentity as e:
        raise APIError(401, str(e), type="authentication_error", code="invalid_identity_token") from None
    except identity.IdentityProviderUnavailable as e:  # not the caller's fault: try again later
        raise APIError(503, str(e), type="server_error", code="identity_provider_unavailable") from None
    request.state.identity = who
    return who


def verified_user(request: Request, token: str | None) -> str | None:
    """The signed-in user as sessions, the log and tickets store it: "sub (name)"; None when absent."""
    who = verified_identity(request, token)
    return who.display if who else None


def reader_audiences(request: Request, who: Caller) -> frozenset[str]:
    """What this request may read (retrieval filters by it): a verified user's audiences when a
    token signed one in (verified_identity ran first), else the API key's; a widget visitor or a
    caller without either: none (untagged entries only). The admin key reads everything on the
    admin API only: it is not a Caller, so it never widens a chat."""
    who_user = getattr(request.state, "identity", None)
    aud = who_user.audiences if who_user is not None else who.audiences
    return frozenset(a.strip().casefold() for a in aud if a and a.strip())


def _audit(request: Request, actor: str, action: str) -> str:
    """Every admin request is in the audit log (app/privacy/audit.py), let in or refused."""
    target = f"{request.method} {_route_path(request)}"
    get_state(request).conversations.audit.record(actor, action, target, {"address": _address(request)})
    return actor


def admin(request: Request) -> str:
    """Let an admin request in (X-Admin-Key, or an API key with the "admin" scope) and record it;
    the actor as the audit log names it."""
    st = get_state(request)
    s: Settings = st.settings
    addr = _address(request)
    _limit(st, s.admin_rate_limit, "admin:" + addr, " for the admin API")
    given, token = request.headers.get("x-admin-key"), _bearer(request)
    if given is None and token and s.api_key_specs:
        _refuse_if_locked_out(request)
        spec = _spec_for(token, s)
        if spec is not None and "admin" in spec.scopes:
            return _audit(request, f"key:{spec.name or 'unnamed'}@{addr}", "admin.request")
        _audit(request, f"bearer@{addr}", "admin.denied")
        if not _matches(token, s.api_keys + s.rate_limit_exempt_keys):
            _count_failure(request)
            raise _invalid_api_key()
        raise _insufficient_scope("admin")
    if s.admin_key is None:
        # keyless local demo only (no API keys either): admin from this machine without a key; once
        # API keys are set the deployment is not a demo, and without an admin key admin is off
        if not s.api_keys and addr in LOOPBACK:
            return _audit(request, f"local@{addr}", "admin.request")
        raise APIError(403, "admin API is disabled: set ASKDESK_ADMIN_KEY", type="permission_error",
                       code="admin_disabled")  # fmt: skip
    if not given:
        raise _invalid_admin_key()
    _refuse_if_locked_out(request)
    if not hmac.compare_digest(given.encode(), s.admin_key.get_secret_value().encode()):
        _count_failure(request)
        _audit(request, f"admin-key?@{addr}", "admin.denied")
        raise _invalid_admin_key()
    return _audit(request, f"admin-key@{addr}", "admin.request")


CallerDep = Annotated[Caller, Depends(caller)]
AdminDep = Annotated[str, Depends(admin)]  # the actor, for the audit log
