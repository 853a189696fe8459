"""Console sign-in: the admin key once, then a signed session cookie (HttpOnly, SameSite=Strict)
carrying a CSRF token that every form posts back. Pure apart from the cookie's (de)serialisation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.settings import Settings

COOKIE = "askdesk_console"
# the keyless local demo has no key to derive from: one secret per process (sign in again after a restart)
_PROCESS_SECRET = secrets.token_hex(32)


@dataclass(frozen=True)
class ConsoleSession:
    who: str
    csrf: str
    lang: str = "en"


def signer(s: Settings) -> URLSafeTimedSerializer:
    if s.console_session_secret is not None:
        secret = s.console_session_secret.get_secret_value()
    elif s.admin_key is not None:
        # derived, not the key itself: the cookie never carries anything that opens the admin API,
        # and rotating the admin key signs every console session out
        secret = hmac.new(
            s.admin_key.get_secret_value().encode(), b"askdesk-console-session", hashlib.sha256
        ).hexdigest()
    else:
        secret = _PROCESS_SECRET
    return URLSafeTimedSerializer(secret, salt="askdesk-console")


def issue(s: Settings, who: str, lang: str) -> tuple[str, ConsoleSession]:
    sess = ConsoleSession(who=who, csrf=secrets.token_urlsafe(24), lang=lang)
    return signer(s).dumps({"who": sess.who, "csrf": sess.csrf, "lang": sess.lang}), sess


def read(s: Settings, cookie: str | None) -> ConsoleSession | None:
    if not cookie:
        return None
    try:
        data = signer(s).loads(cookie, max_age=s.console_session_max_age_s)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not data.get("csrf"):
        return None
    return ConsoleSession(
        who=str(data.get("who") or "admin"), csrf=str(data["csrf"]), lang=str(data.get("lang") or "en")
    )


def key_matches(s: Settings, given: str) -> bool:
    """The admin key, compared in constant time. The keyless local demo (no API keys, no admin key)
    signs in without one, as its admin API answers loopback callers without one."""
    if s.admin_key is None:
        return not s.api_keys
    return hmac.compare_digest(given.encode(), s.admin_key.get_secret_value().encode())


def csrf_ok(sess: ConsoleSession | None, token: str | None) -> bool:
    return (
        sess is not None and bool(token) and hmac.compare_digest(sess.csrf.encode(), (token or "").encode())
    )
