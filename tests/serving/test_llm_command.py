"""`askdesk llm serve` as users run it: ready line, clean stop, one-line errors."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from serving.launch import EngineProcess
from serving.models import smollm2_gguf
from serving.net import free_port

MAIN = "from askdesk.cli import main; main()"


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", MAIN, "llm", *args], capture_output=True, text=True, timeout=timeout
    )


def test_missing_model_is_one_line_error():
    r = _run("serve", "--port", str(free_port()), "--model", "/nonexistent/model.gguf")
    assert r.returncode == 1
    assert (
        r.stderr.strip().splitlines()[-1] == "error: model file not found: /nonexistent/model.gguf "
        "(llama.cpp needs a .gguf file)"
    )


def test_vllm_missing_hf_dir_is_one_line_error(tmp_path):
    r = _run("serve", "--engine", "vllm", "--port", str(free_port()), "--model", str(tmp_path))
    assert r.returncode == 1 and "not an HF model directory" in r.stderr.strip().splitlines()[-1]


@pytest.mark.llamacpp
def test_serve_ready_busy_port_and_sigterm():
    e = EngineProcess("llamacpp", model=str(smollm2_gguf())).start()
    try:
        assert e.startup_s < 15
        assert e.output[-1] == f"ready: {e.base_url}"
        assert httpx.get(e.base_url.removesuffix("/v1") + "/health").status_code == 200
        busy = _run("serve", "--port", str(e.port))
        assert busy.returncode == 1
        assert busy.stderr.strip().splitlines() == [
            f"error: port {e.port} on 127.0.0.1 is busy (Address already in use); pick another with --port"
        ]
    finally:
        assert e.stop(timeout_s=15) == 0


@pytest.mark.llamacpp
def test_default_model_logs_one_fallback_line():
    from app.settings import Settings
    from serving.models import find_qwen3_gguf

    if find_qwen3_gguf(Settings())[0] is not None:
        pytest.skip("a Qwen3-0.6B GGUF is available here, so there is no fallback to log")
    port = free_port()
    p = subprocess.Popen(
        [sys.executable, "-c", MAIN, "llm", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == f"ready: http://127.0.0.1:{port}/v1"
    finally:
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=15)
    assert p.returncode == 0
    fallback = [line for line in err.splitlines() if "FALLBACK" in line]
    assert len(fallback) == 1 and "SmolLM2-135M-Instruct" in fallback[0]
