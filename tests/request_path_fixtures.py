"""Reusable pytest plugin: the fast request-path tier (no engine process).

    pytest_plugins = ["tests.request_path_fixtures"]

    def test_x(askdesk_app, scripted):
        scripted.script(reply="Tier 1 cities: 600 CNY a day [1].")
        r = askdesk_app.client.post("/api/chat", headers=AUTH, json={"message": "..."})
        scripted.calls[-1].prompt   # what the chain sent the "engine"

The app is the real one (`create_app` + `askdesk.wiring.build_state`, the real lifespan) over the
sample knowledge base (knowledge/) ingested once per session into real Chroma on a temp dir, with
the real embedders; only the LLM is the scripted chat model (tests/scripted_model.py), injected as
the chat model of a backend at http://127.0.0.1:9/v1 (nothing listens there: the health check says
down, and the router still tries a backend whose circuit is closed). The real-engine tier is
tests/service_fixtures.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.settings import LLMBackend, Settings
from tests.scripted_model import ScriptedChatModel

pytest_plugins = ["tests.service_fixtures"]  # ingested_sample_kb: knowledge/ ingested once per session

BACKEND = "scripted"
API_KEY = "sk-a"
ADMIN_KEY = "adm"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"X-Admin-Key": ADMIN_KEY}


def request_path_settings(data_dir: Path, db_path: Path, **overrides) -> Settings:
    backend = LLMBackend(name=BACKEND, base_url="http://127.0.0.1:9/v1", model="scripted", timeout_s=5)
    return Settings(
        _env_file=None, data_dir=data_dir, database_url=f"sqlite:///{db_path}", llm_backends=[backend],
        api_keys=[API_KEY], rate_limit_exempt_keys=[API_KEY], admin_key=ADMIN_KEY,
        # the failure tests would otherwise open the circuit for the tests after them
        llm_breaker_failures=1_000_000,
        # the engine-failure and guard tests see what the LLM path does on its own; extractive answers
        # (on by default) are switched on by their own tests (tests/app/answering/test_chain_extract.py)
        extractive_answers=False, **{**BRANDING, **overrides},
    )  # fmt: skip


@dataclass
class RequestPathApp:
    client: object  # fastapi.testclient.TestClient, entered (lifespan run)
    model: ScriptedChatModel
    settings: Settings

    @property
    def state(self):
        """The AppState the lifespan built (app/api/state.py)."""
        return self.client.app.state.askdesk

    def run(self, async_fn, *args):
        """Run `await async_fn(*args)` on the app's own event loop (the TestClient's portal)."""
        return self.client.portal.call(async_fn, *args)


@pytest.fixture(scope="session")
def askdesk_app(ingested_sample_kb, embedders, tmp_path_factory) -> Iterator[RequestPathApp]:
    """The app in-process over the sample KB, answering through the scripted model; Bearer key
    "sk-a" (rate-limit exempt), admin key "adm". One per session; `scripted` resets its script."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring

    model = ScriptedChatModel()
    s = request_path_settings(ingested_sample_kb, tmp_path_factory.mktemp("request-path") / "askdesk.db")

    def open_store_with_loaded_embedders(settings: Settings) -> ChromaKnowledgeStore:
        # what open_store builds, with the session's already-loaded embedders (same models, same
        # options) instead of loading them a second time
        return ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)

    def build_state(settings: Settings):
        return wiring.build_state(settings, chat_models={BACKEND: model},
                                  store=open_store_with_loaded_embedders(settings))  # fmt: skip

    app = create_app(s, build_state)
    with TestClient(app) as client:
        yield RequestPathApp(client=client, model=model, settings=s)


@pytest.fixture
def scripted(askdesk_app) -> ScriptedChatModel:
    """The app's scripted model with the default script and no recorded calls (set it per test)."""
    return askdesk_app.model.script()


@pytest.fixture
def client(askdesk_app, scripted):
    """The app's TestClient (the scripted model reset for this test)."""
    return askdesk_app.client


# --- the sample knowledge base, as the tests quote it ------------------------------------------------
KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
FAQ_EN = "how many days of annual leave do I get"  # hr-leave-001: a curated answer, no LLM
FAQ_ZH = "婚假有几天？"  # hr-leave-008
DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"  # docs/travel-policy.md: the LLM answers
DOC_PASSAGE = "Tier 1 cities RMB 200"  # in the per-diem section of docs/travel-policy.md
DOC_QUESTION_ZH = "入职第一天几点到哪里报到？"  # docs/onboarding-guide.md#入职第一天
OUT_OF_SCOPE = "do we have a sabbatical program?"
# a company's branding, set as a deployment sets it (the defaults are neutral placeholders)
CONTACT = "servicedesk@example.com"
BRANDING = {
    "company_name": "Example Co",
    "handoff_contact": f"IT & HR service desk: ext. 1234, {CONTACT}",
    "handoff_contact_zh": f"IT 与 HR 服务台：分机 1234，{CONTACT}",
    "ticket_url": "https://helpdesk.example.com/new?ref={reference}",
}


def faq_answer(faq_id: str) -> str:
    """The curated answer of a knowledge/faq.csv entry, verbatim."""
    import csv

    with (KNOWLEDGE / "faq.csv").open(encoding="utf-8") as f:
        return next(row["answer"] for row in csv.DictReader(f) if row["id"] == faq_id)
