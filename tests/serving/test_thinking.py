"""Qwen3 thinking mode on real engines with the tiny deterministic Qwen3 fixture.

The model emits `<think> Let me check the FAQ first</think>Hello from AskDesk` when thinking is on
and only the answer when `chat_template_kwargs.enable_thinking` is false. Reasoning must arrive
separately (llama.cpp: `reasoning_content`; vLLM 0.32: `reasoning`) and never inside the answer.
"""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from openai import OpenAI

from app.llm.chat_model import ReasoningChatOpenAI, reasoning_of
from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings
from serving.fixtures.thinking_model import ANSWER, REASONING

MSGS = [HumanMessage("你好")]


def _raw(engine, thinking: bool, stream: bool) -> tuple[str, str]:
    """Straight through the official openai client: what the engine itself sends."""
    client = OpenAI(base_url=engine.base_url, api_key="EMPTY")
    kw = dict(
        model=engine.model,
        messages=[{"role": "user", "content": "你好"}],
        max_tokens=40,
        temperature=0,
        extra_body={"chat_template_kwargs": {"enable_thinking": thinking}},
    )
    if not stream:
        msg = client.chat.completions.create(**kw).choices[0].message.model_dump()
        return msg.get("content") or "", reasoning_of(msg)
    content, reasoning = "", ""
    for chunk in client.chat.completions.create(stream=True, **kw):
        if chunk.choices:
            delta = chunk.choices[0].delta.model_dump()
            content += delta.get("content") or ""
            reasoning += reasoning_of(delta)
    return content, reasoning


def _router_result(engine, thinking: bool):
    b = LLMBackend(name="e", base_url=engine.base_url, model=engine.model)
    router = LLMRouter([b], Settings(llm_backends=[b]))
    return asyncio.run(
        router.ainvoke(
            MSGS,
            question="你好",
            call_type="answer",
            enable_thinking=thinking,
            temperature=0.0,
            max_tokens=40,
        )
    )


def _langchain(engine, thinking: bool, stream: bool) -> tuple[str, str]:
    m = ReasoningChatOpenAI(
        model=engine.model,
        base_url=engine.base_url,
        api_key="EMPTY",
        temperature=0,
        max_tokens=40,
        extra_body={"chat_template_kwargs": {"enable_thinking": thinking}},
    )
    if not stream:
        msg = m.invoke(MSGS)
        return msg.content, msg.additional_kwargs.get("reasoning_content", "")
    content, reasoning = "", ""
    for c in m.stream(MSGS):
        content += c.content
        reasoning += c.additional_kwargs.get("reasoning_content", "")
    return content, reasoning


def _check_all(engine) -> None:
    for stream in (False, True):
        for fn in (_raw, _langchain):
            content, reasoning = fn(engine, True, stream)
            assert content.strip() == ANSWER, (fn.__name__, stream)
            assert reasoning.strip() == REASONING.strip(), (fn.__name__, stream)
            assert "think>" not in content
            content, reasoning = fn(engine, False, stream)
            assert content.strip() == ANSWER and reasoning.strip() == "", (fn.__name__, stream)
    on = _router_result(engine, True)
    assert (on.content, on.reasoning) == (ANSWER, REASONING.strip())
    off = _router_result(engine, False)
    assert (off.content, off.reasoning) == (ANSWER, "")


def test_fixture_in_transformers(thinking_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(thinking_model.hf_dir)
    model = AutoModelForCausalLM.from_pretrained(thinking_model.hf_dir)
    for thinking, expected in ((True, f"<think>{REASONING}</think>{ANSWER}"), (False, ANSWER)):
        ids = tok.apply_chat_template(
            [{"role": "user", "content": "hi"}],
            add_generation_prompt=True,
            enable_thinking=thinking,
            return_tensors="pt",
            return_dict=True,
        )
        out = model.generate(**ids, max_new_tokens=20, do_sample=False)
        assert tok.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True) == expected


@pytest.mark.llamacpp
@pytest.mark.slow
def test_thinking_llamacpp(llamacpp_thinking_engine):
    _check_all(llamacpp_thinking_engine)


@pytest.mark.vllm
@pytest.mark.slow
def test_thinking_vllm(vllm_thinking_engine):
    _check_all(vllm_thinking_engine)
