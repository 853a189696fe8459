"""Who may call what (app/api/deps.py, app/api/routes_health.py; README "Security"): widget keys
open only the widget's routes, the demo widget key and keyless loopback admin exist only in the
keyless local demo, wrong keys are throttled per address, widget calls are limited per address
whatever the visitor id, and /ready details and /metrics need a key on a keyed deployment.

Each test builds its own app (the real create_app, wiring and lifespan; an empty knowledge base, the
scripted chat model, nothing ingested), so its counters are its own and it runs in about a second.
Starlette's TestClient is "testclient" (loopback in deps.LOOPBACK) unless given another address."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from app.api import deps
from app.settings import DEMO_WIDGET_KEY, LLMBackend, Settings
from tests.scripted_model import ScriptedChatModel

API_KEY, ADMIN_KEY = "sk-auth-test", "adm-auth-test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"X-Admin-Key": ADMIN_KEY}
REMOTE = ("10.1.2.3", 5000)  # not loopback
ORIGIN = "https://intranet.example"
BACKEND_URL = "http://127.0.0.1:9/v1"  # nothing listens: shown by /ready's details, never answered


class _StubEmbedder:  # the store is empty: nothing is ever embedded
    name, dim = "stub", 4


@contextmanager
def app_client(tmp_path: Path, client: tuple[str, int] = REMOTE, **overrides) -> Iterator[TestClient]:
    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring

    backend = LLMBackend(name="scripted", base_url=BACKEND_URL, model="scripted", timeout_s=5)
    s = Settings(_env_file=None, data_dir=tmp_path / "data", llm_backends=[backend], **overrides)

    def open_empty_store(settings: Settings) -> ChromaKnowledgeStore:
        return ChromaKnowledgeStore(make_chroma_client(settings), [_StubEmbedder()], settings.collection)

    def build_state(settings: Settings):
        return wiring.build_state(settings, chat_models={"scripted": ScriptedChatModel()},
                                  store=open_empty_store(settings))  # fmt: skip

    with TestClient(create_app(s, build_state), client=client) as c:
        yield c


def other_address(c: TestClient, host: str = "10.9.9.9") -> TestClient:
    """The same running app seen from another address (no second lifespan; plain, loop-free routes only)."""
    return TestClient(c.app, client=(host, 5000))


def error(r) -> dict:
    """The OpenAI-style error body (app/api/errors.py), checked for its shape."""
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def widget(key: str, visitor: str = "v1", origin: str = ORIGIN) -> dict:
    return {"X-AskDesk-Widget-Key": key, "Origin": origin, "X-AskDesk-Visitor": visitor}


FEEDBACK = {"message_id": "no-such-message", "rating": "up"}  # past the caller check: a 404 not_found


# --- 1. widget keys: the widget's routes only; the demo key only in the keyless demo -------------------
def test_widget_key_opens_only_the_widget_routes(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], admin_key=ADMIN_KEY, widget_keys=["pk_live"],
                    widget_origins=[ORIGIN]) as c:  # fmt: skip
        w = widget("pk_live")
        # the widget's routes: accepted (feedback on an unknown message is a 404 past the caller check)
        fb = c.post("/api/feedback", headers=w, json=FEEDBACK)
        assert fb.status_code == 404 and error(fb)["code"] == "not_found"
        assert c.post("/api/handoff", headers=w, json={"session_id": "s1"}).status_code == 200
        # everything else: refused, the Origin header being the client's choice
        for method, path, body in [("POST", "/api/search", {"query": "vpn"}), ("GET", "/v1/models", None),
                                   ("POST", "/v1/chat/completions",
                                    {"model": "askdesk", "messages": [{"role": "user", "content": "hi"}]})]:  # fmt: skip
            r = c.request(method, path, headers=w, json=body)
            assert r.status_code == 403, (path, r.text)
            e = error(r)
            assert e["type"] == "permission_error" and e["code"] == "widget_key_not_allowed", e
        assert c.get("/api/admin/stats", headers=w).status_code == 401
        assert c.get("/metrics", headers=w).status_code == 401
        # an API key sent along decides by itself
        assert c.get("/v1/models", headers={**w, **AUTH}).status_code == 200


def test_widget_key_is_refused_off_the_widget_routes_in_the_keyless_demo_too(tmp_path):
    with app_client(tmp_path, client=("testclient", 50000)) as c:
        r = c.post("/api/search", headers=widget(DEMO_WIDGET_KEY, origin="http://127.0.0.1:8000"), json={"query": "vpn"})
        assert r.status_code == 403 and error(r)["code"] == "widget_key_not_allowed"


def test_demo_widget_key_is_valid_only_while_no_api_keys_are_configured(tmp_path):
    demo = widget(DEMO_WIDGET_KEY, origin="http://127.0.0.1:8000")
    with app_client(tmp_path / "keyless", client=("testclient", 50000)) as c:
        assert c.post("/api/feedback", headers=demo, json=FEEDBACK).status_code == 404  # accepted
    with app_client(tmp_path / "keyed", api_keys=[API_KEY]) as c:
        r = c.post("/api/feedback", headers=demo, json=FEEDBACK)
        assert r.status_code == 401 and error(r)["code"] == "invalid_widget_key"
    # set explicitly, a widget key is what it says, keys or not
    with app_client(tmp_path / "explicit", api_keys=[API_KEY], widget_keys=[DEMO_WIDGET_KEY]) as c:
        assert c.post("/api/feedback", headers=demo, json=FEEDBACK).status_code == 404


def test_widget_keys_setting_defaults(monkeypatch):
    assert Settings(_env_file=None).active_widget_keys == [DEMO_WIDGET_KEY]
    assert Settings(_env_file=None, api_keys=[API_KEY]).active_widget_keys == []
    monkeypatch.setenv("ASKDESK_API_KEYS", f'["{API_KEY}"]')
    assert Settings(_env_file=None).active_widget_keys == []
    monkeypatch.setenv("ASKDESK_WIDGET_KEYS", '["pk_live"]')
    assert Settings(_env_file=None).active_widget_keys == ["pk_live"]
    monkeypatch.setenv("ASKDESK_WIDGET_KEYS", "[]")
    monkeypatch.delenv("ASKDESK_API_KEYS")
    assert Settings(_env_file=None).active_widget_keys == []  # none at all, demo or not


def test_widget_routes_are_the_ones_main_lets_foreign_origins_read():
    from app.api.main import WIDGET_PATHS

    assert deps.WIDGET_ROUTES == frozenset(WIDGET_PATHS)


# --- 2. loopback admin without a key: the keyless local demo only ----------------------------------------
def test_loopback_admin_without_an_admin_key_is_disabled_once_api_keys_are_set(tmp_path):
    loopback = ("127.0.0.1", 50000)
    with app_client(tmp_path / "keyed", client=loopback, api_keys=[API_KEY]) as c:
        r = c.get("/api/admin/stats")
        assert r.status_code == 403, r.text
        e = error(r)
        assert e["message"] == "admin API is disabled: set ASKDESK_ADMIN_KEY" and e["type"] == "permission_error"
        assert c.get("/api/admin/stats", headers=AUTH).status_code == 403  # an API key is not an admin key
    with app_client(tmp_path / "keyless", client=loopback) as c:  # the local demo: from this machine only
        assert c.get("/api/admin/stats").status_code == 200
        r = other_address(c).get("/api/admin/stats")
        assert r.status_code == 403 and error(r)["message"] == "admin API is disabled: set ASKDESK_ADMIN_KEY"


# --- 3. failed key attempts are throttled per address; admin has a rate limit --------------------------------
def test_wrong_api_keys_are_throttled_per_client_address(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], auth_failure_limit="3/minute") as c:
        for _ in range(5):  # a missing key is not a guess: not counted
            assert c.get("/v1/models").status_code == 401
        wrong = {"Authorization": "Bearer sk-guess"}
        codes = [c.get("/v1/models", headers=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        r = c.get("/v1/models", headers=wrong)
        assert r.status_code == 429, r.text
        assert error(r)["type"] == "rate_limit_error" and error(r)["code"] == "too_many_auth_failures"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # locked out: the right key too (else guessing goes on), on every keyed surface
        assert c.get("/v1/models", headers=AUTH).status_code == 429
        assert c.post("/api/search", headers=AUTH, json={"query": "vpn"}).status_code == 429
        assert c.get("/metrics", headers=AUTH).status_code == 429
        # another address is not affected
        assert other_address(c).get("/v1/models", headers=AUTH).status_code == 200


def test_wrong_admin_keys_are_throttled_per_client_address(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], admin_key=ADMIN_KEY, auth_failure_limit="2/minute") as c:
        wrong = {"X-Admin-Key": "guess"}
        assert [c.get("/api/admin/stats", headers=wrong).status_code for _ in range(2)] == [401, 401]
        r = c.get("/api/admin/stats", headers=wrong)
        assert r.status_code == 429 and error(r)["code"] == "too_many_auth_failures" and r.headers["retry-after"]
        assert c.get("/api/admin/stats", headers=ADMIN).status_code == 429
        assert c.get("/v1/models", headers=AUTH).status_code == 429  # one count of failures per address
        assert other_address(c).get("/api/admin/stats", headers=ADMIN).status_code == 200


def test_admin_routes_are_rate_limited(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], admin_key=ADMIN_KEY, admin_rate_limit="3/minute") as c:
        assert [c.get("/api/admin/stats", headers=ADMIN).status_code for _ in range(3)] == [200, 200, 200]
        r = c.get("/api/admin/stats", headers=ADMIN)
        assert r.status_code == 429 and error(r)["code"] == "rate_limit_exceeded"
        assert 1 <= int(r.headers["retry-after"]) <= 60


# --- 4. widget calls: per visitor and per address -------------------------------------------------------
def test_rotating_visitor_ids_do_not_escape_the_widget_limit(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], widget_keys=["pk_live"], widget_origins=[ORIGIN],
                    rate_limit="3/minute", widget_ip_rate_limit="5/minute") as c:  # fmt: skip
        # one visitor: the per-visitor limit
        codes = [c.post("/api/feedback", headers=widget("pk_live", "same"), json=FEEDBACK).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        # a new visitor id per request: the per-address limit still counts them all (4 so far)
        r = c.post("/api/feedback", headers=widget("pk_live", "fresh-1"), json=FEEDBACK)
        assert r.status_code == 404
        r = c.post("/api/feedback", headers=widget("pk_live", "fresh-2"), json=FEEDBACK)
        assert r.status_code == 429, r.text
        assert error(r)["code"] == "rate_limit_exceeded" and 1 <= int(r.headers["retry-after"]) <= 60
        # another address has its own count
        assert other_address(c).post("/api/feedback", headers=widget("pk_live", "fresh-3"), json=FEEDBACK).status_code == 404


# --- 5. /health open; /ready details and /metrics need a key on a keyed deployment ----------------------------
def test_ready_details_and_metrics_need_a_key_on_a_keyed_deployment(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY], admin_key=ADMIN_KEY) as c:
        assert c.get("/health").json() == {"status": "healthy"}
        bare = c.get("/ready")
        assert bare.json() == {"status": "degraded"} and BACKEND_URL not in bare.text
        keyed = c.get("/ready", headers=AUTH)
        assert keyed.status_code == bare.status_code  # the same verdict for a readiness probe
        assert keyed.json()["llm"][0]["base_url"] == BACKEND_URL and "chroma" in keyed.json()
        assert c.get("/ready", headers=ADMIN).json()["llm"][0]["model"] == "scripted"
        assert c.get("/ready", headers={"Authorization": "Bearer sk-guess"}).status_code == 401
        m = c.get("/metrics")
        assert m.status_code == 401 and error(m)["type"] == "authentication_error"
        for headers in (AUTH, ADMIN):
            m = c.get("/metrics", headers=headers)
            assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        assert c.get("/metrics", headers={"X-Admin-Key": "guess"}).status_code == 401


def test_keyless_demo_ready_and_metrics_stay_open(tmp_path):
    with app_client(tmp_path, client=("testclient", 50000)) as c:
        assert c.get("/ready").json()["llm"][0]["base_url"] == BACKEND_URL
        assert c.get("/metrics").status_code == 200
        assert c.get("/health").json() == {"status": "healthy"}
