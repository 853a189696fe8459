"""The embedded engine: llama.cpp's HTTP server in-process via ``xllamacpp``.

Runs in the process that calls it (``askdesk llm serve``), never inside the API process: the API
reaches it over HTTP like any other OpenAI-compatible backend.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from app.errors import ConfigError, LLMUnavailable
from serving.net import ensure_port_free, wait_healthy

log = logging.getLogger(__name__)


@dataclass
class LlamaCppServer:
    server: Any  # xllamacpp.Server; the HTTP server lives as long as this object
    base_url: str
    model_path: str
    served_name: str
    startup_s: float


def start_llamacpp(
    model_path: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    served_name: str = "askdesk-llm",
    n_ctx: int = 4096,
    n_parallel: int = 2,
    threads: int = 1,
    verbose: bool = False,
) -> LlamaCppServer:
    try:
        import xllamacpp
    except ImportError as e:
        raise ConfigError("the embedded engine needs `pip install xllamacpp==2026.10.11549`") from e
    ensure_port_free(host, port)
    t0 = time.monotonic()
    p = xllamacpp.CommonParams()
    p.model.path = model_path
    p.hostnames = [host]
    p.port = port
    p.n_ctx = n_ctx
    p.n_parallel = n_parallel
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.use_jinja = True  # the GGUF's own chat template, with per-request chat_template_kwargs
    p.model_alias = {served_name}
    p.endpoint_metrics = True
    p.reasoning_format = xllamacpp.common_reasoning_format.COMMON_REASONING_FORMAT_DEEPSEEK
    if not verbose:
        p.verbosity = 1  # errors and warnings only
    try:
        server = xllamacpp.Server(p)
    except RuntimeError as e:
        raise LLMUnavailable(f"llama.cpp failed to start with {model_path} on {host}:{port}: {e}") from e
    wait_healthy(f"http://{host}:{port}/health", 60, what="llama.cpp")
    return LlamaCppServer(server, f"http://{host}:{port}/v1", model_path, served_name, time.monotonic() - t0)
