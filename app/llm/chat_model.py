"""``ChatOpenAI`` that keeps the reasoning OpenAI-compatible engines return.

langchain-openai 1.x targets OpenAI's own API and drops non-standard fields, so the thinking text
that vLLM (``reasoning`` since 0.2x, ``reasoning_content`` before) and llama.cpp
(``reasoning_content``) send separately would be lost. This subclass copies either field into
``additional_kwargs["reasoning_content"]`` of the message (chunk), streaming and not.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

REASONING_FIELDS = ("reasoning_content", "reasoning")


def reasoning_of(message_dict: dict | None) -> str:
    """The reasoning text of an OpenAI-shaped message or delta dict, whichever field carries it."""
    if not message_dict:
        return ""
    for key in REASONING_FIELDS:
        value = message_dict.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class ReasoningChatOpenAI(ChatOpenAI):
    """ChatOpenAI for vLLM / llama.cpp servers: reasoning lands in ``additional_kwargs``."""

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        gen = super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)
        choices = chunk.get("choices") or chunk.get("chunk", {}).get("choices") or []
        if gen is not None and choices and isinstance(gen.message, AIMessageChunk):
            reasoning = reasoning_of(choices[0].get("delta"))
            if reasoning:
                gen.message.additional_kwargs["reasoning_content"] = reasoning
        return gen

    def _create_chat_result(self, response: Any, generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        data = response if isinstance(response, dict) else response.model_dump()
        for gen, choice in zip(result.generations, data.get("choices") or [], strict=False):
            reasoning = reasoning_of(choice.get("message"))
            if reasoning and isinstance(gen.message, AIMessage):
                gen.message.additional_kwargs["reasoning_content"] = reasoning
        return result
