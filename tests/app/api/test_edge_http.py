"""What the HTTP edge says before any route runs: the OpenAPI spec's error responses, 405 with
Allow, security headers and the pages' CSP, and the no-keys rules (refused at startup on a
non-local ASKDESK_HOST; refused per request on a non-loopback address). No lifespan runs here
(nothing of this needs the knowledge base or a model)."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings


def no_state(settings):  # these tests never start the lifespan, or it must refuse before building
    raise AssertionError("build_state must not run")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("d"), api_keys=["sk-a"])
    return create_app(settings, no_state)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)  # not entered: no lifespan


# --- 4: the spec documents the 400 the API returns ----------------------------------------------------
def test_openapi_documents_validation_errors_as_400_with_the_openai_error_body(client):
    spec = client.get("/openapi.json").json()
    ops = {(path, method): op for path, item in spec["paths"].items() for method, op in item.items()}
    # no FastAPI validation 422 anywhere; the one real 422 (an upload that does not parse) is ours
    assert not [k for k, op in ops.items() if "422" in op.get("responses", {}) and k != ("/api/admin/sources", "post")]
    assert "HTTPValidationError" not in spec.get("components", {}).get("schemas", {})
    for key in [("/api/chat", "post"), ("/v1/chat/completions", "post"), ("/api/search", "post"),
                ("/api/admin/sources", "post"), ("/api/admin/log", "get")]:  # fmt: skip
        bad = ops[key]["responses"]["400"]
        assert bad["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OAIError"}, key
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    body = schemas["OAIError"]["properties"]["error"]
    assert body == {"$ref": "#/components/schemas/OAIErrorBody"}
    assert {"message", "type", "param", "code"} <= set(schemas["OAIErrorBody"]["properties"])
    assert "400" not in ops[("/health", "get")]["responses"]  # no body, no params: nothing to invalidate


def test_the_documented_400_is_what_a_bad_request_gets(client):
    r = client.post("/api/chat", headers={"content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


# --- 5: 405 says what is allowed ------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,allowed", [("TRACE", "/", {"GET"}), ("TRACE", "/api/chat", {"POST"}),
                                                 ("PUT", "/v1/chat/completions", {"POST"}),
                                                 ("DELETE", "/health", {"GET"})])  # fmt: skip
def test_405_carries_allow(client, method, path, allowed):
    r = client.request(method, path)
    assert r.status_code == 405
    assert allowed <= {m.strip() for m in r.headers["allow"].split(",")}
    assert r.json()["error"]["code"] == "method_not_allowed"


# --- 6: security headers -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/widget.js", "/health", "/openapi.json", "/docs", "/nope"])
def test_every_response_has_nosniff_and_a_referrer_policy(client, path):
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_error_responses_have_them_too(client):
    r = client.post("/api/chat", headers={"content-type": "application/json"}, content=b"x" * 70_000)
    assert r.status_code == 413 and r.headers["x-content-type-options"] == "nosniff"


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


def test_demo_page_csp(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = _directives(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == csp["object-src"] == csp["base-uri"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # /widget.js from this origin; no inline script, no CDN
    assert csp["connect-src"] == ["'self'"]  # the widget talks to the origin it was loaded from
    # the page's own <style> and the widget's shadow-DOM <style> (tests/app/api/test_edge_browser.py)
    assert "'unsafe-inline'" in csp["style-src"]
    assert int(r.headers["content-length"]) == len(r.content)  # body intact after being held
    hostile = client.get("/?hostile")  # the widget's test page: the same page, the same policy
    assert '<html class="hostile"' in hostile.text and '<html class="hostile"' not in r.text
    assert _directives(hostile.headers["content-security-policy"])["script-src"] == ["'self'"]


def test_widget_js_has_no_csp(client):
    """The widget runs inside other sites' pages under their policy: a CSP (or frame-ancestors) on
    the script would mean nothing there, and must not look like it does."""
    r = client.get("/widget.js")
    assert r.status_code == 200 and "content-security-policy" not in r.headers
    assert r.headers["content-type"].startswith("application/javascript")


def test_docs_are_served_from_this_origin_with_exactly_their_inline_script(client):
    """/docs works without internet: Swagger UI's files come from AskDesk (app/static/swagger), and
    the page's CSP allows this origin and the page's own inline script, nothing else."""
    r = client.get("/docs")
    assert r.status_code == 200
    csp = _directives(r.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    assert inline, r.text
    digests = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    assert set(csp["script-src"]) == {"'self'"} | digests and csp["frame-ancestors"] == ["'none'"]
    assert "https:" not in r.headers["content-security-policy"] and "cdn" not in r.text.lower()
    for src in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert src.startswith("/static/swagger/"), src
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 500, src
    assert client.get("/static/swagger/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("application/javascript", "text/javascript"))
    assert client.get("/redoc").status_code == 404  # ReDoc would need its CDN: not served


# --- 7: without keys, this machine only ----------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "askdesk.example"])
def test_lifespan_refuses_a_non_local_host_without_keys(tmp_path, host):
    from app.api.main import StartupFailed
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, host=host), no_state)
    with pytest.raises(StartupFailed, match="without API keys: set ASKDESK_API_KEYS"), TestClient(app):
        pass
    assert app.state.startup_error.startswith(f"refusing to listen on {host} without API keys")


async def _get(app, server_ip: str, path: str = "/health") -> httpx.Response:
    # the ASGI `server` of each request is the host of this URL: the address the connection reached
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{server_ip}") as c:
        return await c.get(path)


@pytest.mark.anyio
@pytest.mark.parametrize("server_ip", ["10.1.2.3", "192.168.1.20", "[fe80::1]", "[2001:db8::1]"])
async def test_without_keys_requests_that_reached_a_non_loopback_address_are_refused(tmp_path, server_ip):
    """`uvicorn askdesk.asgi:app --host 0.0.0.0` (ASKDESK_HOST claiming loopback, or any server the
    app cannot see): whatever the bind, a request that arrived on a LAN address is refused."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), no_state)
    r = await _get(app, server_ip)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "api_keys_required" and "ASKDESK_API_KEYS" in err["message"]
    assert (await _get(app, server_ip, "/")).status_code == 403


@pytest.mark.anyio
@pytest.mark.parametrize("server_ip", ["127.0.0.1", "127.0.0.2", "[::1]", "[::ffff:127.0.0.1]"])
async def test_without_keys_loopback_requests_are_served(tmp_path, server_ip):
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), no_state)
    assert (await _get(app, server_ip)).status_code == 200


@pytest.mark.anyio
async def test_with_keys_any_address_is_served(app):
    assert (await _get(app, "10.1.2.3")).status_code == 200


@pytest.fixture
def anyio_backend():
    return "asyncio"
