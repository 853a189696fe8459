"""LLMRouter against real llama.cpp engines started with `askdesk llm serve` (SmolLM2, ~1 s each)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from app.errors import LLMUnavailable
from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings
from tests.engine_fixtures import collect_stream, start_llamacpp_process

pytestmark = [pytest.mark.llamacpp, pytest.mark.slow]

MSGS = [
    SystemMessage("You are a helpful assistant. Answer briefly."),
    HumanMessage("What is the capital of France?"),
]


def _settings(backends: list[LLMBackend], **kw) -> Settings:
    return Settings(llm_backends=backends, **{"llm_health_interval_s": 0.5, **kw})


def _router(backends: list[LLMBackend], **kw) -> LLMRouter:
    return LLMRouter(backends, _settings(backends, **kw))


def test_health_and_metrics(llamacpp_engine):
    root = llamacpp_engine.base_url.removesuffix("/v1")
    assert httpx.get(root + "/health").status_code == 200
    assert "llamacpp:" in httpx.get(root + "/metrics").text
    models = httpx.get(llamacpp_engine.base_url + "/models").json()
    assert llamacpp_engine.model in str(models)


def test_stream_and_usage(llamacpp_engine):
    b = LLMBackend(name="cpu", base_url=llamacpp_engine.base_url, model=llamacpp_engine.model, role="cpu")
    router = _router([b])
    chunks = collect_stream(router, MSGS, question="capital of France?", call_type="answer", temperature=0.0,
                            max_tokens=24)  # fmt: skip
    text = "".join(c.content for c in chunks)
    assert "Paris" in text
    assert {c.backend for c in chunks} == {"cpu"}
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1 and usage[0]["completion_tokens"] > 0 and usage[0]["prompt_tokens"] > 10
    assert router.served["cpu"] == 1
    assert router.status()[0]["healthy"] is True


def test_ainvoke_collects(llamacpp_engine):
    b = LLMBackend(name="cpu", base_url=llamacpp_engine.base_url, model=llamacpp_engine.model)
    res = asyncio.run(
        _router([b]).ainvoke(MSGS, question="capital?", call_type="answer", temperature=0.0, max_tokens=24)
    )
    assert "Paris" in res.content and res.backend == "cpu" and res.reasoning == ""
    assert 0 < res.ttft_s <= res.total_s and res.usage["completion_tokens"] > 0


def test_langchain_model_non_streaming(llamacpp_engine):
    """The per-backend ChatOpenAI (non-streaming path) talks to the engine too."""
    from app.llm.chat_model import ReasoningChatOpenAI

    m = ReasoningChatOpenAI(
        model=llamacpp_engine.model,
        base_url=llamacpp_engine.base_url,
        api_key="EMPTY",
        temperature=0,
        max_tokens=24,
    )
    msg = m.invoke(MSGS)
    assert "Paris" in msg.content and msg.usage_metadata["output_tokens"] > 0


def test_no_backend_available_is_clear():
    from serving.net import free_port

    dead = LLMBackend(name="dead", base_url=f"http://127.0.0.1:{free_port()}/v1", model="x")
    router = _router([dead])

    async def go():
        await router.start()  # health check marks it down
        try:
            return await router.ainvoke(MSGS, question="hi", call_type="answer")
        finally:
            await router.stop()

    with pytest.raises(LLMUnavailable, match="dead"):
        asyncio.run(go())
    assert router.status()[0]["healthy"] is False


def test_failover_when_the_chosen_engine_dies():
    a = start_llamacpp_process()
    b = start_llamacpp_process()
    try:
        backends = [
            LLMBackend(name="A", base_url=a.base_url, model="askdesk-llm", role="cpu"),
            # same role: measured TTFT must not reorder them (the policy may prefer a faster gpu)
            LLMBackend(name="B", base_url=b.base_url, model="askdesk-llm", role="cpu"),
        ]
        router = _router(backends, llm_health_interval_s=60)  # the breaker, not the monitor, must react

        async def go():
            await router.start()
            try:
                first = await router.ainvoke(MSGS, question="你好", call_type="answer", max_tokens=8)
                assert router.plan("你好", "answer")[0] == "A"
                a.kill()  # a crash, not a clean stop
                after = [
                    (await router.ainvoke(MSGS, question="你好", call_type="answer", max_tokens=8)).backend
                    for _ in range(4)
                ]
                return first.backend, after
            finally:
                await router.stop()

        first, after = asyncio.run(go())
        assert first == "A"
        assert after == ["B"] * 4
        st = {s["name"]: s for s in router.status()}
        assert st["A"]["circuit"] == "open" and st["B"]["served"] == 4
    finally:
        a.kill()
        b.stop()


def test_failure_after_first_token_raises():
    e = start_llamacpp_process()
    try:
        router = _router([LLMBackend(name="only", base_url=e.base_url, model="askdesk-llm")])

        async def go():
            got = []
            async for c in router.astream(
                [HumanMessage("Write a long story about a dragon.")],
                question="story",
                call_type="answer",
                max_tokens=400,
            ):
                got.append(c)
                if len(got) == 2:
                    e.kill()
            return got

        with pytest.raises(LLMUnavailable, match="mid-answer"):
            asyncio.run(go())
    finally:
        e.kill()


def test_health_monitor_notices_a_dead_engine():
    e = start_llamacpp_process()
    router = _router([LLMBackend(name="x", base_url=e.base_url, model="askdesk-llm")])

    async def go():
        await router.start()
        try:
            assert router.status()[0]["healthy"]
            e.kill()
            for _ in range(40):
                await asyncio.sleep(0.1)
                if not router.status()[0]["healthy"]:
                    return True
            return False
        finally:
            await router.stop()

    try:
        assert asyncio.run(go())
    finally:
        e.kill()


def test_escalation_backend_gets_complex_questions(llamacpp_engine):
    """The escalation mechanism: a second endpoint (a larger model in production) takes complex work."""
    big = start_llamacpp_process(served_name="bigger-model")
    try:
        backends = [
            LLMBackend(
                name="small", base_url=llamacpp_engine.base_url, model=llamacpp_engine.model, role="cpu"
            ),
            LLMBackend(name="big", base_url=big.base_url, model="bigger-model", role="escalation"),
        ]
        router = _router(backends)

        async def go():
            short = await router.ainvoke(MSGS, question="你好", call_type="answer", max_tokens=8)
            hard = await router.ainvoke(
                MSGS, question="写一首五言绝句，主题为春雨", call_type="answer", max_tokens=8
            )
            return short.backend, hard.backend

        assert asyncio.run(go()) == ("small", "big")
    finally:
        big.stop()
