"""Signed identity tokens from the host site (pure).

The host site's server signs `base64url(json{"sub","name","exp"}).base64url(hmac_sha256)` with a
secret it shares with AskDesk; the widget passes the token along. A plain attribute is never trusted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict, secret: str) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify(token: str, secret: str, *, max_age_s: int, now: float | None = None) -> dict | None:
    """The claims if the signature is valid and the token is fresh; None otherwise."""
    try:
        body, sig = token.split(".", 1)
        expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError):
        return None
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < now or exp > now + max_age_s:
        return None
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return None
    return claims
