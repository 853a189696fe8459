"""Identity tokens as JWTs (app/api/identity.py) with real keys: HS256 with the shared secret,
RS256 against a PEM key file, ES256 against a JWKS served by a local HTTP server; what is refused
(forged, expired, not yet valid, wrong aud/iss, too long-lived, algorithm confusion) and how the API
answers it (401, OpenAI-style body); the pre-JWT token still accepted, with a warning. API keys with
scopes and audiences."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.api.identity import IdentityProviderUnavailable, IdentityVerifier, InvalidIdentity, sign
from tests.app.privacy.app_on_db import app_with
from tests.request_path_fixtures import AUTH, FAQ_EN

pytest_plugins = ["tests.request_path_fixtures"]

SECRET = "identity-test-secret-at-least-32-bytes"
AUD, ISS = "askdesk", "https://idp.nwh.example"


def _pem(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class JWKSServer:
    """A real HTTP endpoint serving a JWKS document (the identity provider's keys)."""

    def __init__(self, keys: list[dict]) -> None:
        body = json.dumps({"keys": keys}).encode()
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other_ec = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    jwks = JWKSServer([{**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"}])
    yield {"rsa": rsa_key, "ec": ec_key, "other_ec": other_ec, "jwks": jwks}
    jwks.close()


@pytest.fixture(scope="module")
def verifier(keys):
    return IdentityVerifier(
        secret=SECRET, public_key_pem=_pem(keys["rsa"].public_key()), audience=AUD, issuer=ISS
    )


def _claims(**over) -> dict:
    now = int(time.time())
    claims = {"sub": "e1024", "name": "Li Wei", "aud": AUD, "iss": ISS, "exp": now + 300, "iat": now, **over}
    return {k: v for k, v in claims.items() if v is not None}  # None: leave the claim out


def hs(**over) -> str:
    return jwt.encode(_claims(**over), SECRET, algorithm="HS256")


def test_hs256_token_carries_user_and_audiences(verifier):
    who = verifier.verify(hs(audiences=["hr", "managers"]))
    assert (who.user_id, who.name, who.audiences, who.via) == ("e1024", "Li Wei", {"hr", "managers"}, "jwt")
    assert who.display == "e1024 (Li Wei)"
    assert verifier.verify(hs(audiences="hr finance")).audiences == {"hr", "finance"}  # OAuth-scope style
    groups = IdentityVerifier(secret=SECRET, audience=AUD, issuer=ISS, audiences_claim="groups")
    assert groups.verify(hs(groups=["finance"])).audiences == {"finance"}


def test_rs256_with_a_key_file(verifier, keys, tmp_path):
    tok = jwt.encode(_claims(sub="rs-user"), keys["rsa"], algorithm="RS256")
    assert verifier.verify(tok).user_id == "rs-user"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidIdentity, match="signature"):
        verifier.verify(jwt.encode(_claims(), other, algorithm="RS256"))


def test_es256_from_a_jwks_url(keys):
    v = IdentityVerifier(jwks_url=keys["jwks"].url, audience=AUD, issuer=ISS)
    tok = jwt.encode(_claims(sub="ec-user"), keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
    assert v.verify(tok).user_id == "ec-user"
    assert v.verify(tok).user_id == "ec-user"  # keys cached: one fetch
    assert keys["jwks"].hits == 1
    forged = jwt.encode(_claims(), keys["other_ec"], algorithm="ES256", headers={"kid": "ec-1"})
    with pytest.raises(InvalidIdentity, match="signature"):
        v.verify(forged)
    with pytest.raises(InvalidIdentity, match="does not list"):
        v.verify(jwt.encode(_claims(), keys["other_ec"], algorithm="ES256", headers={"kid": "unknown"}))
    down = IdentityVerifier(
        jwks_url="http://127.0.0.1:9/jwks.json", jwks_timeout_s=1, audience=AUD, issuer=ISS
    )
    with pytest.raises(IdentityProviderUnavailable, match="could not be fetched"):
        down.verify(tok)


@pytest.mark.parametrize(
    "token_over, reason",
    [  # times relative to now, taken when the test runs (setup may take minutes)
        (lambda now: {"exp": now - 120}, "expired"),
        (lambda now: {"nbf": now + 120}, "not valid yet"),
        (lambda now: {"aud": "payroll"}, "audience"),
        (lambda now: {"iss": "https://evil.example"}, "issuer"),
        (lambda now: {"exp": now + 86400}, "lives too long"),
        (lambda now: {"sub": ""}, "subject"),
        (lambda now: {"audiences": {"hr": True}}, "audiences claim"),
    ],
    ids=["expired", "nbf", "aud", "iss", "long-lived", "no-sub", "bad-audiences"],
)
def test_refused_claims(verifier, token_over, reason):
    with pytest.raises(InvalidIdentity, match=reason):
        verifier.verify(hs(**token_over(int(time.time()))))


def test_clock_skew_within_the_leeway_is_accepted(verifier):
    assert verifier.verify(hs(exp=int(time.time()) - 10, nbf=int(time.time()) + 10)).user_id == "e1024"


def _hs256_by_hand(claims: dict, secret: bytes) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_forged_unsigned_and_confused_tokens_are_refused(verifier, keys):
    with pytest.raises(InvalidIdentity, match="signature"):
        verifier.verify(
            jwt.encode(_claims(sub="ceo"), "not-the-secret-but-just-as-long-as-it", algorithm="HS256")
        )
    with pytest.raises(InvalidIdentity, match="not accepted"):
        verifier.verify(jwt.encode(_claims(sub="ceo"), None, algorithm="none"))
    with pytest.raises(InvalidIdentity, match="exp"):
        verifier.verify(jwt.encode({"sub": "ceo", "aud": AUD, "iss": ISS}, SECRET, algorithm="HS256"))
    # algorithm confusion: an HS256 token whose "secret" is the public key (anyone has it)
    public_only = IdentityVerifier(public_key_pem=_pem(keys["rsa"].public_key()), audience=AUD, issuer=ISS)
    confused = _hs256_by_hand(_claims(sub="ceo"), _pem(keys["rsa"].public_key()))  # PyJWT will not sign it
    with pytest.raises(InvalidIdentity, match="HS256 identity tokens are not configured"):
        public_only.verify(confused)
    with pytest.raises(InvalidIdentity, match="not a JWT"):
        verifier.verify("a.b.c")
    with pytest.raises(InvalidIdentity, match="without|not configured"):
        IdentityVerifier(secret=SECRET).verify(jwt.encode(_claims(), keys["rsa"], algorithm="RS256"))


def test_a_token_carrying_aud_is_refused_when_no_audience_is_configured():
    with pytest.raises(InvalidIdentity, match="audience"):
        IdentityVerifier(secret=SECRET).verify(hs())
    assert IdentityVerifier(secret=SECRET).verify(hs(aud=None, iss=None)).user_id == "e1024"


def test_the_pre_jwt_token_works_for_one_release_with_a_warning(caplog):
    legacy = sign({"sub": "u1", "name": "Old", "exp": int(time.time()) + 60}, SECRET)
    v = IdentityVerifier(secret=SECRET)
    with caplog.at_level(logging.WARNING, logger="app.api.identity"):
        who = v.verify(legacy)
    assert (who.user_id, who.via) == ("u1", "legacy_hmac") and "deprecated" in caplog.text
    with pytest.raises(InvalidIdentity, match="invalid or expired"):
        v.verify(sign({"sub": "u1", "exp": int(time.time()) + 60}, "other"))
    with pytest.raises(InvalidIdentity, match="no longer accepted"):
        IdentityVerifier(secret=SECRET, legacy_hmac=False).verify(legacy)


# --- through the API --------------------------------------------------------------------------------
SPECS = [
    {"key": "sk-search-only", "name": "search-bot", "scopes": ["search"]},
    {"key": "sk-ops", "name": "ops", "scopes": ["chat", "admin"], "audiences": ["hr"]},
]


@pytest.fixture(scope="module")
def api(ingested_sample_kb, embedders, keys, tmp_path_factory):
    db = tmp_path_factory.mktemp("identity") / "askdesk.db"
    with app_with(ingested_sample_kb, db, embedders, widget_identity_secret=SECRET, identity_token_audience=AUD,
                  identity_token_issuer=ISS, identity_jwks_url=keys["jwks"].url, api_key_specs=SPECS) as (c, _):  # fmt: skip
        yield c


def _chat(api, token, headers=AUTH):
    return api.post("/api/chat", headers=headers, json={"message": FAQ_EN, "user_token": token})


def test_valid_tokens_sign_the_user_in(api, keys):
    assert _chat(api, hs()).status_code == 200
    es = jwt.encode(_claims(sub="ec-user"), keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
    r = _chat(api, es)
    assert r.status_code == 200
    data = api.app.state.askdesk.conversations.user_data("ec-user")
    assert [x["id"] for x in data["exchanges"]] == [r.json()["message_id"]]
    assert data["exchanges"][0]["user"] == "ec-user (Li Wei)"


@pytest.mark.parametrize(
    "token, message",
    [
        (
            lambda k: jwt.encode(
                _claims(sub="ceo"), "forged-secret-forged-secret-forged-secret", algorithm="HS256"
            ),
            "signature",
        ),
        (lambda k: hs(exp=int(time.time()) - 300), "expired"),  # built when the test runs
        (lambda k: hs(aud="payroll"), "audience"),
        (
            lambda k: jwt.encode(_claims(), k["other_ec"], algorithm="ES256", headers={"kid": "ec-1"}),
            "signature",
        ),
    ],
    ids=["forged", "expired", "wrong-audience", "forged-es256"],
)
def test_bad_tokens_are_refused_with_a_401_not_read_as_anonymous(api, keys, token, message):
    r = _chat(api, token(keys))
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "invalid_identity_token" and err["type"] == "authentication_error"
    assert message in err["message"]


def test_scopes_of_api_keys(api):
    search_only = {"Authorization": "Bearer sk-search-only"}
    r = api.post("/api/chat", headers=search_only, json={"message": FAQ_EN})
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    assert api.post("/api/search", headers=search_only, json={"query": FAQ_EN}).status_code == 200
    assert api.get("/v1/models", headers=search_only).status_code == 403
    ops = {"Authorization": "Bearer sk-ops"}
    assert api.post("/api/search", headers=ops, json={"query": FAQ_EN}).status_code == 403
    assert api.get("/api/admin/stats", headers=ops).status_code == 200
    r = api.get("/api/admin/stats", headers=AUTH)  # a chat key is no admin key
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    assert api.get("/api/admin/stats", headers={"Authorization": "Bearer sk-nope"}).status_code == 401
    events = api.app.state.askdesk.conversations.audit.export()
    assert any(e["actor"].startswith("key:ops@") and e["action"] == "admin.request" for e in events)
    assert any(e["action"] == "admin.denied" for e in events)


def test_the_callers_audiences_are_on_the_caller_and_the_identity(api):
    from starlette.requests import Request

    from app.api import deps

    def request(path: str, headers: dict) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "method": "POST", "path": path, "headers": raw, "app": api.app,
                        "client": ("127.0.0.1", 1234), "query_string": b""})  # fmt: skip

    ops = deps.caller(request("/api/chat", {"Authorization": "Bearer sk-ops"}))
    assert ops.audiences == {"hr"} and ops.scopes == {"chat", "admin"} and ops.name == "ops"
    plain = deps.caller(request("/api/chat", AUTH))
    assert plain.audiences == frozenset() and plain.scopes == {"chat", "search"}
    req = request("/api/chat", AUTH)
    who = deps.verified_identity(req, hs(audiences=["finance"]))
    assert who.audiences == {"finance"} and req.state.identity is who


def test_an_unreachable_identity_provider_is_a_503_not_a_401(ingested_sample_kb, embedders, keys, tmp_path):
    with app_with(ingested_sample_kb, tmp_path / "askdesk.db", embedders, identity_jwks_url="http://127.0.0.1:9/jwks",
                  identity_jwks_timeout_s=1, identity_token_audience=AUD, identity_token_issuer=ISS) as (c, _):  # fmt: skip
        es = jwt.encode(_claims(), keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
        r = _chat(c, es)
        assert r.status_code == 503 and r.json()["error"]["code"] == "identity_provider_unavailable"
