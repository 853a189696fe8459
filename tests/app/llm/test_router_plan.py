"""LLMRouter's routing decisions without engines (building it opens no connection)."""

import pytest

from app.errors import LLMUnavailable
from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings

GPU = LLMBackend(name="gpu", base_url="http://gpu:8000/v1", model="m", role="gpu")
CPU = LLMBackend(name="cpu", base_url="http://cpu:8081/v1", model="m", role="cpu")
BIG = LLMBackend(name="big", base_url="http://big:8000/v1", model="m", role="escalation")


def _router(*backends, **kw):
    return LLMRouter(list(backends), Settings(llm_backends=list(backends), **kw))


def test_policy_by_question_and_call_type():
    r = _router(GPU, CPU, BIG)
    assert r.plan("你好", "answer")[0] == "cpu"
    assert r.plan("请简述光合作用的过程", "answer")[0] == "gpu"
    assert r.plan("写一首五言绝句，主题为春雨", "answer")[0] == "big"
    # a rewrite is short work whatever the question
    assert r.plan("写一首五言绝句，主题为春雨", "rewrite")[0] == "cpu"


def test_unhealthy_backends_go_last():
    r = _router(GPU, CPU)
    r._on_health("cpu", False)
    assert r.plan("你好", "answer") == ["gpu", "cpu"]
    assert {s["name"]: s["healthy"] for s in r.status()} == {"gpu": True, "cpu": False}


def test_primary_mode_keeps_config_order():
    r = _router(CPU, GPU, llm_routing="primary")
    assert r.plan("写一首五言绝句，主题为春雨", "answer") == ["cpu", "gpu"]


def test_status_shape():
    st = _router(GPU).status()[0]
    assert {"name", "role", "healthy", "circuit", "served"} <= set(st) and st["circuit"] == "closed"


def test_config_errors():
    with pytest.raises(LLMUnavailable, match="no LLM backend configured"):
        LLMRouter([], Settings())
    with pytest.raises(LLMUnavailable, match="unique"):
        _router(GPU, GPU)
