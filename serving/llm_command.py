"""`askdesk llm ...`: start an LLM engine that speaks the OpenAI chat API, and build its models."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from app.errors import LLMUnavailable
from app.settings import get_settings

app = typer.Typer(no_args_is_help=True)
log = logging.getLogger("askdesk.llm")


class Engine(str, Enum):
    llamacpp = "llamacpp"
    vllm = "vllm"


def _stop_on_signals() -> threading.Event:
    """Install SIGTERM/SIGINT handlers now: before `ready:` is printed, so a supervisor that stops
    the engine right after reading it is never racing the default handler."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _wait_for_stop(stop: threading.Event, child=None) -> int | None:
    """Block until a stop signal (returns None) or until ``child`` exits (returns its code)."""
    while not stop.wait(0.5):
        if child is not None and child.poll() is not None:
            return child.returncode
    return None


@app.command()
def serve(
    engine: Annotated[
        Engine | None, typer.Option(help="llamacpp (embedded, default) or vllm (CPU build)")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="GGUF file (llamacpp) or HF dir / repo id (vllm); default: auto")
    ] = None,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option(help="default 8081")] = None,
    served_model_name: Annotated[
        str | None, typer.Option(help="name clients send; default askdesk-llm")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="llama.cpp threads (1 beat 2 on 2 shared cores)")
    ] = None,
    reasoning_parser: Annotated[str | None, typer.Option(help="vllm: default qwen3 for Qwen3 models")] = None,
    verbose: Annotated[bool, typer.Option(help="engine logs")] = False,
) -> None:
    """Start an engine, wait for /health, print `ready: <base_url>`, run until SIGTERM / Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    s = get_settings()
    eng = (engine or Engine(s.llm_engine)).value
    host = host or s.llm_serve_host
    port = port or s.llm_serve_port
    name = served_model_name or s.llm_served_model_name
    from serving.net import ensure_port_free

    ensure_port_free(host, port)  # before resolving (and maybe building) a model
    stop = _stop_on_signals()
    if eng == "llamacpp":
        from serving.llamacpp import start_llamacpp
        from serving.models import resolve_gguf

        resolved = resolve_gguf(s, model)
        if resolved.note:
            log.warning(resolved.note)
        srv = start_llamacpp(
            resolved.path,
            host=host,
            port=port,
            served_name=name,
            n_ctx=s.llm_ctx,
            n_parallel=s.llm_parallel,
            threads=threads or s.llm_threads,
            verbose=verbose,
        )
        typer.echo(f"ready: {srv.base_url}", color=False)
        sys.stdout.flush()
        _wait_for_stop(stop)
        del srv  # the xllamacpp server stops with its object
        typer.echo("stopped", err=True)
        return
    from serving.models import resolve_hf
    from serving.vllm_cpu.launcher import start_vllm

    resolved = resolve_hf(s, model)
    if resolved.note:
        log.warning(resolved.note)
    vp = start_vllm(
        resolved.path,
        python=s.llm_vllm_python,
        host=host,
        port=port,
        served_name=name,
        max_model_len=s.llm_ctx,
        reasoning_parser=reasoning_parser or ("qwen3" if resolved.is_qwen3 else None),
        kvcache_gib=s.llm_vllm_kvcache_gib,
        timeout_s=s.llm_start_timeout_s,
    )
    typer.echo(f"ready: {vp.base_url}", color=False)
    sys.stdout.flush()
    code = _wait_for_stop(stop, vp.proc)
    vp.stop()
    if code is not None:
        raise LLMUnavailable(f"vLLM exited with code {code}: {vp.last_error()}")
    typer.echo("stopped", err=True)


@app.command("build-models")
def build_models(
    out: Annotated[Path | None, typer.Option(help="default: <data_dir>/models")] = None,
    thinking: Annotated[bool, typer.Option(help="also build the tiny Qwen3 thinking fixture")] = False,
) -> None:
    """Build offline model files: SmolLM2 as bf16 safetensors for vLLM (and the thinking fixture)."""
    from serving.models import smollm2_hf_dir

    target = out or get_settings().data_dir / "models"
    typer.echo(f"smollm2 (HF, bf16): {smollm2_hf_dir(target)}")
    if thinking:
        from serving.fixtures.thinking_model import build

        m = build(target / "qwen3-thinking-tiny")
        typer.echo(f"thinking fixture: {m.hf_dir} {m.gguf_path}")
