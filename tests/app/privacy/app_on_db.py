"""The real app (create_app + askdesk.wiring.build_state, the real lifespan) over the session's
ingested sample KB, on a database file of the test's own and with its own settings; the scripted
model stands in for the engine (tests/request_path_fixtures.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.request_path_fixtures import BACKEND, request_path_settings
from tests.scripted_model import ScriptedChatModel


@contextlib.contextmanager
def app_with(data_dir: Path, db: Path, embedders, **overrides):
    """(TestClient, ScriptedChatModel) for the app with `overrides` on the request-path settings."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from askdesk import wiring

    model = ScriptedChatModel()
    s = request_path_settings(data_dir, db, **overrides)

    def build_state(settings):
        store = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        return wiring.build_state(settings, chat_models={BACKEND: model}, store=store)

    with TestClient(create_app(s, build_state)) as client:
        yield client, model
