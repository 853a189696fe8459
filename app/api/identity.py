"""Who the signed-in user is: a JWT the host site (or its identity provider) signs and the widget
passes along as ``user_token``. A plain attribute is never trusted.

Accepted: HS256 signed with ASKDESK_WIDGET_IDENTITY_SECRET; RS256/ES256 checked against a PEM public
key (ASKDESK_IDENTITY_PUBLIC_KEY_FILE) or the provider's JWKS (ASKDESK_IDENTITY_JWKS_URL, keys picked
by ``kid`` and cached). ``exp`` and ``sub`` are required; ``exp``/``nbf``/``iat`` are checked with a
small leeway, ``aud``/``iss`` against the configured values. The user's audiences (what they may
read) come from a configurable claim.

The pre-JWT token, ``base64url(json).base64url(hmac_sha256)`` (``sign``/``verify`` below), is still
accepted for one release with a deprecation warning (ASKDESK_IDENTITY_LEGACY_HMAC=false refuses it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jwt

log = logging.getLogger(__name__)

HMAC_ALGORITHMS = frozenset({"HS256"})
KEY_ALGORITHMS = frozenset({"RS256", "ES256"})


@dataclass(frozen=True)
class Identity:
    """A verified caller: the signed-in user (``via`` jwt or legacy_hmac) or an API key (``via``
    api_key, ``user_id`` its name). ``audiences``: what they may read; retrieval filters by them."""

    user_id: str
    name: str | None = None
    audiences: frozenset[str] = field(default_factory=frozenset)
    via: str = "jwt"

    @property
    def display(self) -> str:
        """As sessions, the log and tickets store the user: the id, and the name when there is one."""
        return self.user_id + (f" ({self.name})" if self.name else "")


class InvalidIdentity(Exception):
    """The token was presented and is not acceptable; the message says why (no secret in it)."""


class IdentityProviderUnavailable(Exception):
    """The identity provider's keys (JWKS) could not be fetched: the token may well be good."""


class IdentityVerifier:
    def __init__(self, *, secret: str | None = None, public_key_pem: bytes | None = None,
                 jwks_url: str | None = None, jwks_timeout_s: float = 5.0,
                 algorithms: Iterable[str] = ("HS256", "RS256", "ES256"), audience: str | None = None,
                 issuer: str | None = None, leeway_s: float = 30.0, max_age_s: float = 600,
                 audiences_claim: str = "audiences", name_claim: str = "name", legacy_hmac: bool = True) -> None:  # fmt: skip
        self.secret = secret
        self.public_key = _load_public_key(public_key_pem) if public_key_pem else None
        # the JWKS client fetches on first use and when a token names an unknown kid (key rotation);
        # urllib underneath, so a slow provider blocks for at most jwks_timeout_s once per refresh
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, timeout=jwks_timeout_s) if jwks_url else None
        self.algorithms = frozenset(algorithms)
        self.audience, self.issuer, self.leeway_s, self.max_age_s = audience, issuer, leeway_s, max_age_s
        self.audiences_claim, self.name_claim, self.legacy_hmac = audiences_claim, name_claim, legacy_hmac
        self._warned_legacy = False

    @classmethod
    def from_settings(cls, s) -> IdentityVerifier:
        pem = Path(s.identity_public_key_file).read_bytes() if s.identity_public_key_file else None
        return cls(secret=s.widget_identity_secret.get_secret_value() if s.widget_identity_secret else None,
                   public_key_pem=pem, jwks_url=s.identity_jwks_url, jwks_timeout_s=s.identity_jwks_timeout_s,
                   algorithms=s.identity_algorithms, audience=s.identity_token_audience,
                   issuer=s.identity_token_issuer, leeway_s=s.identity_leeway_s,
                   max_age_s=s.identity_token_max_age_s, audiences_claim=s.identity_audiences_claim,
                   name_claim=s.identity_name_claim, legacy_hmac=s.identity_legacy_hmac)  # fmt: skip

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key is not None or self.jwks is not None)

    def verify(self, token: str, now: float | None = None) -> Identity:
        if token.count(".") == 1:
            return self._legacy(token, now)
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise InvalidIdentity("identity token is not a JWT") from None
        if alg not in self.algorithms:
            raise InvalidIdentity(f"identity token algorithm {alg!r} is not accepted")
        key = self._key(alg, token)
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer, leeway=self.leeway_s,
                options={"require": ["exp", "sub"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise InvalidIdentity("identity token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidIdentity("identity token is not valid yet (nbf/iat)") from None
        except jwt.InvalidAudienceError:
            raise InvalidIdentity("identity token audience (aud) is not accepted") from None
        except jwt.InvalidIssuerError:
            raise InvalidIdentity("identity token issuer (iss) is not accepted") from None
        except jwt.MissingRequiredClaimError as e:
            raise InvalidIdentity(f"identity token lacks the {e.claim!r} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidIdentity("identity token signature is invalid") from None
        now = time.time() if now is None else now
        if self.max_age_s and claims["exp"] > now + self.max_age_s + self.leeway_s:
            # a long-lived token is a leaked token's best friend: the host site signs short ones
            raise InvalidIdentity(
                f"identity token lives too long (exp more than {self.max_age_s:.0f} s ahead)"
            )
        return self._identity(claims, "jwt")

    def _key(self, alg: str, token: str):
        if alg in HMAC_ALGORITHMS:
            if not self.secret:
                raise InvalidIdentity(
                    "HS256 identity tokens are not configured (ASKDESK_WIDGET_IDENTITY_SECRET)"
                )
            return self.secret
        # a public-key algorithm is never checked against the shared secret, nor HS256 against a
        # public key (the algorithm-confusion attack): each family has its own key source
        if self.jwks is not None:
            try:
                return self.jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError:
                raise IdentityProviderUnavailable(
                    "the identity provider's keys (JWKS) could not be fetched"
                ) from None
            except jwt.PyJWTError:
                raise InvalidIdentity(
                    "identity token is signed with a key the identity provider does not list"
                ) from None
        if self.public_key is not None:
            return self.public_key
        raise InvalidIdentity(f"{alg} identity tokens are not configured (ASKDESK_IDENTITY_PUBLIC_KEY_FILE or "
                              "ASKDESK_IDENTITY_JWKS_URL)")  # fmt: skip

    def _legacy(self, token: str, now: float | None) -> Identity:
        if not self.legacy_hmac or not self.secret:
            raise InvalidIdentity("the pre-JWT identity token is no longer accepted: sign an HS256 JWT with the "
                                  "same secret (README: Privacy and identity)")  # fmt: skip
        claims = verify(token, self.secret, max_age_s=int(self.max_age_s) or 10**9, now=now)
        if claims is None:
            raise InvalidIdentity("identity token is invalid or expired")
        if not self._warned_legacy:
            self._warned_legacy = True
            log.warning("a pre-JWT HMAC identity token was accepted: deprecated, refused from the next release; "
                        "have the host site sign an HS256 JWT with the same secret (sub, name, exp)")  # fmt: skip
        return self._identity(claims, "legacy_hmac")

    def _identity(self, claims: dict, via: str) -> Identity:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise InvalidIdentity("identity token lacks a subject (sub)")
        name = claims.get(self.name_claim)
        return Identity(user_id=sub, name=name if isinstance(name, str) and name else None,
                        audiences=_audiences(claims.get(self.audiences_claim)), via=via)  # fmt: skip


def _audiences(value) -> frozenset[str]:
    """A list of names, or one string of names separated by spaces or commas (as OAuth scopes are)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidIdentity("identity token audiences claim is not a list of names")
    return frozenset(v.strip() for v in value if v.strip())


def _load_public_key(pem: bytes):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem)


# --- the pre-JWT token (deprecated) --------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict, secret: str) -> str:
    """Deprecated: the pre-JWT token. Sign ``jwt.encode(claims, secret, "HS256")`` instead."""
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify(token: str, secret: str, *, max_age_s: int, now: float | None = None) -> dict | None:
    """The claims of a pre-JWT token if the signature is valid and it is fresh; None otherwise."""
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
