"""A half-open circuit must not stick when its probe's stream is closed early (the answer guard
stops reading, or the client goes away): regression for requests 503ing until an API restart."""

from __future__ import annotations

import asyncio

import pytest

from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings
from tests.scripted_model import ScriptedChatModel, connection_error


def _router(model: ScriptedChatModel) -> LLMRouter:
    s = Settings(_env_file=None, llm_breaker_failures=1, llm_breaker_cooldown_s=0.05)
    backend = LLMBackend(name="only", base_url="http://127.0.0.1:9/v1", model="scripted")
    return LLMRouter([backend], s, {"only": model})


async def _read(router: LLMRouter, n_chunks: int | None) -> str:
    """Read the first n chunks of an answer, then close the stream as the guard does."""
    stream = router.astream([], question="how do I reset my VPN token?", call_type="answer")
    got = []
    try:
        async for chunk in stream:
            got.append(chunk.content)
            if n_chunks is not None and len(got) >= n_chunks:
                break
    finally:
        await stream.aclose()
    return "".join(got)


def _trip_and_cool(router: LLMRouter, model: ScriptedChatModel) -> None:
    model.script(error=connection_error)
    with pytest.raises(Exception):
        asyncio.run(_read(router, None))
    assert router.status()[0]["circuit"] == "open"
    asyncio.run(asyncio.sleep(0.06))  # cooldown: the next request is the half-open probe


@pytest.mark.parametrize("chunks_read", [1, 0], ids=["closed-after-first-token", "closed-before-any-token"])
def test_an_early_closed_probe_does_not_stick_the_circuit(chunks_read):
    model = ScriptedChatModel()
    router = _router(model)
    _trip_and_cool(router, model)
    if chunks_read:
        model.script("Restart the VPN client, then sign in again with your new token.")
        assert asyncio.run(_read(router, chunks_read))
        assert router.status()[0]["circuit"] == "closed"  # the tokens proved the backend
    else:
        model.script(error=asyncio.CancelledError)  # the caller's task was cancelled before a token
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(_read(router, None))
        assert router.status()[0]["circuit"] == "half_open"
    model.script("Open the VPN client and choose Reconnect.")
    assert asyncio.run(_read(router, None)) == "Open the VPN client and choose Reconnect."


def test_a_backend_found_healthy_again_is_probed_without_waiting_out_the_cooldown():
    model = ScriptedChatModel()
    s = Settings(_env_file=None, llm_breaker_failures=1, llm_breaker_cooldown_s=3600)
    router = LLMRouter([LLMBackend(name="only", base_url="http://127.0.0.1:9/v1", model="scripted")], s, {"only": model})
    model.script(error=connection_error)
    with pytest.raises(Exception):
        asyncio.run(_read(router, None))
    assert router.status()[0]["circuit"] == "open"
    router._on_health("only", True)  # the engine answers /health again (restarted between two checks)
    model.script("Open the VPN client and choose Reconnect.")
    assert asyncio.run(_read(router, None)) == "Open the VPN client and choose Reconnect."
    assert router.status()[0]["circuit"] == "closed"
