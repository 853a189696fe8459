"""Reusable pytest plugin: real LLM engines for integration tests.

    # in a top-level conftest.py or test module
    pytest_plugins = ["tests.engine_fixtures"]

    def test_x(llamacpp_engine):
        base_url, model = llamacpp_engine   # an OpenAI-compatible server, SmolLM2-135M, ~1 s start

The engine runs in its own process via `askdesk llm serve` (the same path users take), once per
session, on a free port, and is stopped with SIGTERM at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import pytest


class EngineInfo(NamedTuple):
    base_url: str  # http://127.0.0.1:PORT/v1
    model: str  # served model name to send


def start_llamacpp_process(model_path: str | None = None, served_name: str = "askdesk-llm"):
    """Start `askdesk llm serve --engine llamacpp` (SmolLM2 by default); returns the EngineProcess."""
    from serving.launch import EngineProcess
    from serving.models import smollm2_gguf

    return EngineProcess("llamacpp", model=model_path or str(smollm2_gguf()), served_name=served_name).start()


@pytest.fixture(scope="session")
def llamacpp_engine() -> Iterator[EngineInfo]:
    proc = start_llamacpp_process()
    try:
        yield EngineInfo(proc.base_url, proc.served_name)
    finally:
        proc.stop()


def collect_stream(router, messages, **kw) -> list:
    """Start a router, gather every chunk of one `astream` call, stop it (sync, for tests)."""
    import asyncio

    async def go():
        await router.start()
        try:
            return [c async for c in router.astream(messages, **kw)]
        finally:
            await router.stop()

    return asyncio.run(go())
