"""Start the vLLM OpenAI server (CPU build) from ``<repo>/.venv-vllm`` as a child process.

``python -m vllm.entrypoints.openai.api_server`` is used because the ``vllm`` console script fails
in that venv (no dist metadata under the name ``vllm``). Same server code as production GPU vLLM.
"""

from __future__ import annotations

import subprocess
from collections import deque
from pathlib import Path
from threading import Thread

from app.errors import ConfigError, LLMUnavailable
from serving import children
from serving.net import ensure_port_free, wait_healthy

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


def vllm_python(configured: Path | None = None) -> Path:
    py = Path(configured) if configured else DEFAULT_PYTHON
    if not py.exists():
        raise ConfigError(f"vLLM is not installed ({py} missing); run serving/vllm_cpu/install.sh (~4 min)")
    return py


def vllm_command(
    python: Path,
    model: str,
    *,
    host: str,
    port: int,
    served_name: str,
    max_model_len: int = 4096,
    reasoning_parser: str | None = None,
    kvcache_gib: int = 1,
    extra: list[str] | None = None,
) -> list[str]:
    cmd = [
        # `env` adds the engine's variables without this process reading its own environment
        "env",
        f"VLLM_CPU_KVCACHE_SPACE={kvcache_gib}",
        "VLLM_LOGGING_LEVEL=WARNING",
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        served_name,
        "--host",
        host,
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
        "--dtype",
        "bfloat16",
        "--generation-config",
        "vllm",
        "--disable-uvicorn-access-log",
    ]
    if reasoning_parser:
        cmd += ["--reasoning-parser", reasoning_parser]
    return cmd + (extra or [])


class VLLMProcess:
    """A running vLLM server child; keeps the tail of its output for error messages."""

    def __init__(self, cmd: list[str], base_url: str) -> None:
        self.cmd = cmd
        self.base_url = base_url
        self.tail: deque[str] = deque(maxlen=40)
        # dies with `askdesk llm serve`, even a SIGKILLed one: no orphan engine holding the port
        self.proc = children.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.tail.append(line.rstrip())

    def last_error(self) -> str:
        for line in reversed(self.tail):
            if "Error" in line or "error" in line:
                return line.strip()[-300:]
        return self.tail[-1][-300:] if self.tail else ""

    def stop(self, timeout_s: float = 30) -> None:
        children.stop(self.proc, timeout_s)


def start_vllm(
    model: str,
    *,
    python: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    served_name: str = "askdesk-llm",
    max_model_len: int = 4096,
    reasoning_parser: str | None = None,
    kvcache_gib: int = 1,
    timeout_s: float = 300,
) -> VLLMProcess:
    py = vllm_python(python)
    ensure_port_free(host, port)
    cmd = vllm_command(
        py,
        model,
        host=host,
        port=port,
        served_name=served_name,
        max_model_len=max_model_len,
        reasoning_parser=reasoning_parser,
        kvcache_gib=kvcache_gib,
    )
    vp = VLLMProcess(cmd, f"http://{host}:{port}/v1")
    try:
        wait_healthy(f"http://{host}:{port}/health", timeout_s, proc=vp.proc, what="vLLM")
    except LLMUnavailable as e:
        vp.stop()
        detail = vp.last_error()
        raise LLMUnavailable(f"{e}{': ' + detail if detail else ''}") from e
    return vp
