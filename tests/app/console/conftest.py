"""The console's fast tier: the real app (create_app + askdesk.wiring.build_state, real lifespan) over
its own copy of the sample knowledge base (the console writes curated entries into it, which the
shared session app's tests must not see), answering through the scripted model."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.request_path_fixtures")

from tests.request_path_fixtures import ADMIN_KEY, BACKEND, RequestPathApp, request_path_settings
from tests.scripted_model import ScriptedChatModel

# the fixtures it builds on (ingested_sample_kb, ...) are registered by the test modules' own
# `pytest_plugins`: pytest refuses that line in a conftest below the rootdir


@pytest.fixture(scope="package")
def console_app(ingested_sample_kb, embedders, tmp_path_factory) -> Iterator[RequestPathApp]:
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring

    root = tmp_path_factory.mktemp("console")
    data = root / "data"
    shutil.copytree(ingested_sample_kb, data)
    model = ScriptedChatModel()
    s = request_path_settings(data, root / "askdesk.db")

    def build_state(settings):
        store = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        return wiring.build_state(settings, chat_models={BACKEND: model}, store=store)

    with TestClient(create_app(s, build_state), base_url="http://127.0.0.1") as client:
        yield RequestPathApp(client=client, model=model, settings=s)


@pytest.fixture
def app(console_app) -> RequestPathApp:
    console_app.model.script()
    return console_app


def sign_in(client, key: str = ADMIN_KEY, name: str = "tester"):
    return client.post("/admin/signin", data={"key": key, "name": name, "lang": "en"}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def admin(app):
    """The app's client, signed in to the console (cookie set); `.csrf` is the session's token."""
    c = app.client
    c.cookies.clear()
    r = sign_in(c)
    assert r.status_code == 303, r.text
    c.csrf = csrf_of(c.get("/admin/tickets").text)
    yield c
    c.cookies.clear()
