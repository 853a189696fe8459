"""`askdesk demo`: the whole product on the embedded defaults, in one command.

Ingests knowledge/ (idempotent), starts the embedded LLM engine in its own process (`askdesk llm
serve`, llama.cpp), then the API with the widget demo page, /docs and the OpenAI-compatible /v1."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import typer

from app.errors import BadRequest, LLMUnavailable
from serving import children
from serving.net import ensure_port_free


def _engine_up(base_url: str) -> bool:
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        return httpx.get(f"{root}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _start_engine(base_url: str, model_name: str) -> subprocess.Popen | None:
    if _engine_up(base_url):
        typer.echo(f"LLM engine already running at {base_url}")
        return None
    u = urlparse(base_url)
    cmd = [sys.executable, "-c", "from askdesk.cli import main; main()", "llm", "serve", "--engine", "llamacpp",
           "--host", u.hostname or "127.0.0.1", "--port", str(u.port or 8081), "--served-model-name", model_name]  # fmt: skip
    proc = children.spawn(cmd)  # dies with the demo, even a SIGKILLed one
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LLMUnavailable(f"the LLM engine exited at start (code {proc.returncode}); see the message above")
        if _engine_up(base_url):
            return proc
        time.sleep(0.3)
    children.stop(proc)
    raise LLMUnavailable(f"the LLM engine did not become healthy at {base_url} within 120 s")


def demo(
    skip_ingest: bool = typer.Option(False, help="Serve what is already ingested."),
    knowledge: Path | None = typer.Option(
        None, "--knowledge", help="Your knowledge folder or FAQ table instead of the sample (default: ASKDESK_KNOWLEDGE_DIR)."
    ),
) -> None:
    """Ingest the sample knowledge base (or yours: --knowledge), start the local LLM engine and the API (widget demo at /)."""
    import uvicorn

    from app.knowledge_store import open_store
    from app.settings import get_settings
    from askdesk.branding import BRANDING_FILE, with_folder_branding
    from askdesk.calibrate_command import calibrate_kb
    from askdesk.wiring import service
    from ingest.ingest_command import RichProgress
    from ingest.pipeline import run_ingest
    from serving.models import resolve_gguf

    s = get_settings()
    if knowledge is not None:
        if not knowledge.exists():
            raise BadRequest(f"--knowledge {knowledge}: no such file or folder")
        s = s.model_copy(update={"knowledge_dir": knowledge})
    # the folder's branding.env (the sample's: Northwind Harbor) for what the user left unset
    s, branded = with_folder_branding(s, s.knowledge_dir)
    ensure_port_free(s.host, s.port)  # before ingest and the engine: nothing to undo yet
    if not skip_ingest:
        report = run_ingest([s.knowledge_dir], open_store(s), s, progress=RichProgress(), calibrate=calibrate_kb)
        typer.echo(report.calibration_line())
        typer.echo(report.summary())
    cpu = next((b for b in s.llm_backends if b.role == "cpu"), s.llm_backends[0])
    engine = _start_engine(cpu.base_url, cpu.model)
    if engine is not None and not cpu.extract_languages and resolve_gguf(s, None).family == "smollm2":
        # the packaged 135M stand-in writes few usable answers in either language: through /api/chat
        # on evals/datasets its written answers were right 0.026 (zh) / 0.077 (en) of the time, the
        # quotes 0.730 / 0.562 (on stackfaq_en 0.045 vs 0.478): quote the passages in both
        cpu.extract_languages = ["zh", "en"]
        typer.echo("The stand-in model (SmolLM2-135M) writes poor answers: answers quote the knowledge base "
                   "(extract_languages on the backend changes this).")  # fmt: skip
    if branded:
        typer.echo(f"Branding from {s.knowledge_dir / BRANDING_FILE}: {s.company_name or '(no company name)'} "
                   f"({', '.join('ASKDESK_' + n.upper() for n in branded)}; set them to override)")  # fmt: skip
    base = f"http://{s.host}:{s.port}"
    try:  # whatever ends the API (Ctrl-C, a startup failure, an error) stops the engine we started
        typer.echo(f"\nAskDesk is starting on {base}\n  intranet demo page with the widget: {base}/\n"
                   f"  API docs: {base}/docs\n  OpenAI-compatible: {base}/v1  (model 'askdesk')\n")  # fmt: skip
        uvicorn.run(service(s), host=s.host, port=s.port, log_level="warning", server_header=False)
    finally:
        if engine is not None:
            children.stop(engine, timeout_s=10)


def register(cli: typer.Typer) -> None:
    cli.command("demo")(demo)
