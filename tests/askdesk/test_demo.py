"""`askdesk demo` leaves nothing running when it cannot serve: a real llama.cpp engine is started,
the API then fails at startup (its PostgreSQL refuses connections), and no port or process is left."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import free_port

MAIN = "from askdesk.cli import main; main()"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ours(port: int) -> list[psutil.Process]:
    """Processes whose command line names the port (the engine launcher is started with --port N)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if str(port) in " ".join(p.info["cmdline"] or []):
            found.append(p)
    return found


def _demo_env(tmp_path, engine_port: int, api_port: int, **extra: str) -> dict:
    backend = {"name": "local", "base_url": f"http://127.0.0.1:{engine_port}/v1", "model": "askdesk-llm"}
    return {**os.environ, "ASKDESK_DATA_DIR": str(tmp_path / "data"), "ASKDESK_PORT": str(api_port),
            "ASKDESK_LLM_BACKENDS": json.dumps([backend]), **extra}  # fmt: skip


@pytest.mark.slow
@pytest.mark.llamacpp
def test_a_demo_whose_api_cannot_start_leaves_no_process_listening(tmp_path):
    engine_port, api_port = free_port(), free_port()
    nobody = free_port()  # a database server that is down
    env = _demo_env(tmp_path, engine_port, api_port,
                    ASKDESK_DATABASE_URL=f"postgresql+psycopg://askdesk@127.0.0.1:{nobody}/askdesk")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", MAIN, "demo", "--skip-ingest"], env=env,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert f"ready: http://127.0.0.1:{engine_port}/v1" in r.stdout, r.stdout + r.stderr  # the engine ran
    assert r.returncode != 0
    assert "Application startup failed" in r.stderr
    assert not _listening(engine_port) and not _listening(api_port)
    assert _ours(engine_port) == []


@pytest.mark.slow
@pytest.mark.llamacpp
def test_a_sigkilled_demo_takes_its_engine_along(tmp_path):
    engine_port, api_port = free_port(), free_port()
    demo = subprocess.Popen([sys.executable, "-c", MAIN, "demo", "--skip-ingest"],
                            env=_demo_env(tmp_path, engine_port, api_port),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        for line in demo.stdout:  # the engine's ready line comes through the demo's stdout
            if line.startswith(f"ready: http://127.0.0.1:{engine_port}"):
                break
        else:
            pytest.fail("the engine never said ready")
        assert _listening(engine_port)
        demo.send_signal(signal.SIGKILL)  # no finally runs in the demo
        demo.wait(10)
        deadline = time.monotonic() + 20
        while (_listening(engine_port) or _ours(engine_port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(engine_port)
        assert _ours(engine_port) == []
    finally:
        demo.kill()
