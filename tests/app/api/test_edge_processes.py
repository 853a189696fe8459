"""The API as processes start it: `askdesk serve` and `uvicorn askdesk.asgi:app`. A startup that
cannot work ends in one clear line (what failed, what to set), never a traceback; the ASGI entry
keeps the no-keys rule; the server does not say it is uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

SERVE = [sys.executable, "-c", "from askdesk.cli import main; main()", "serve"]
UVICORN_ASGI = [sys.executable, "-m", "uvicorn", "askdesk.asgi:app"]
IMPORT_ASGI = [sys.executable, "-c", "import askdesk.asgi"]


def env(**extra: str) -> dict:
    """This process's environment without ASKDESK_ settings, one small embedder (a fast start), a
    backend where nothing listens."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    e.update({
        "ASKDESK_EMBEDDING_MODELS": json.dumps(["sentence-transformers/all-MiniLM-L6-v2"]),
        "ASKDESK_LLM_BACKENDS": json.dumps([{"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1",
                                            "model": "m", "timeout_s": 2}]),
    })  # fmt: skip
    e.update(extra)
    return e


def run(cmd: list[str], cwd: Path, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    try:
        e = env(**extra)
        return subprocess.run(
            cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:  # it started serving instead of refusing
        pytest.fail(f"{cmd} still running after {timeout} s: {(e.stderr or b'')[-1500:]!r}")


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def assert_one_clear_line(p: subprocess.CompletedProcess, *words: str) -> str:
    out = p.stdout + p.stderr
    assert p.returncode != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    line = last_line(p.stderr)
    for w in words:
        assert w in line, (w, line, out[-2000:])
    return line


# --- 8: a store that cannot be opened --------------------------------------------------------------------
def test_serve_with_a_data_dir_that_is_a_file_fails_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.write_text("not a directory")
    p = run([*SERVE, "--port", str(free_port())], tmp_path, ASKDESK_DATA_DIR=str(data))
    assert_one_clear_line(
        p, "error: AskDesk could not start", f"ASKDESK_DATA_DIR ({data}) is not a directory"
    )
    assert (p.stdout + p.stderr).count("could not start") == 1, p.stderr  # said once


def test_serve_with_a_chroma_host_where_nothing_listens_fails_in_one_line(tmp_path):
    port = free_port()
    p = run([*SERVE, "--port", str(free_port())], tmp_path, ASKDESK_DATA_DIR=str(tmp_path / "data"),
            ASKDESK_CHROMA_HOST="127.0.0.1", ASKDESK_CHROMA_PORT=str(port))  # fmt: skip
    assert_one_clear_line(
        p,
        "error: AskDesk could not start",
        f"no Chroma server answers at 127.0.0.1:{port}",
        "ASKDESK_CHROMA_HOST",
    )


def test_uvicorn_entry_startup_failure_is_one_logged_line(tmp_path):
    data = tmp_path / "data"
    data.write_text("not a directory")
    p = run([*UVICORN_ASGI, "--port", str(free_port())], tmp_path, ASKDESK_DATA_DIR=str(data),
            ASKDESK_API_KEYS='["sk-a"]')  # fmt: skip
    assert_one_clear_line(p, "Application startup failed")  # uvicorn's own last words
    reason = [line for line in p.stderr.splitlines() if "could not start" in line]
    assert len(reason) == 1 and f"ASKDESK_DATA_DIR ({data}) is not a directory" in reason[0], p.stderr


# --- 7: the ASGI entry and the no-keys rule ---------------------------------------------------------------
def test_uvicorn_asgi_entry_on_0000_without_keys_refuses_to_start(tmp_path):
    p = run([*UVICORN_ASGI, "--host", "0.0.0.0", "--port", str(free_port())], tmp_path, timeout=60,
            ASKDESK_DATA_DIR=str(tmp_path / "data"))  # fmt: skip
    assert p.returncode == 3, p.stderr[-2000:]  # uvicorn's "failed to start": a worker supervisor stops
    assert_one_clear_line(p, "ASKDESK_API_KEYS", "ASKDESK_HOST=127.0.0.1")


@pytest.mark.parametrize("extra", [{"ASKDESK_HOST": "127.0.0.1"}, {"ASKDESK_API_KEYS": '["sk-a"]'},
                                   {"ASKDESK_API_KEYS": '["sk-a"]', "ASKDESK_HOST": "0.0.0.0"}])  # fmt: skip
def test_asgi_entry_loads_with_keys_or_a_declared_loopback_host(tmp_path, extra):
    p = run(IMPORT_ASGI, tmp_path, timeout=60, ASKDESK_DATA_DIR=str(tmp_path), **extra)
    assert p.returncode == 0, p.stderr[-2000:]


@pytest.mark.parametrize("extra", [{}, {"ASKDESK_HOST": "0.0.0.0"}, {"ASKDESK_HOST": "10.0.0.5"}])
def test_asgi_entry_without_keys_and_without_a_loopback_host_does_not_load(tmp_path, extra):
    p = run(IMPORT_ASGI, tmp_path, timeout=60, ASKDESK_DATA_DIR=str(tmp_path), **extra)
    assert p.returncode == 3 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert "ASKDESK_API_KEYS" in last_line(p.stderr)


# --- 6: no `server: uvicorn` ------------------------------------------------------------------------------
def test_askdesk_serve_sends_no_server_header(tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([*SERVE, "--port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env=env(ASKDESK_DATA_DIR=str(tmp_path / "d")))  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "askdesk serve did not start"
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert r.status_code == 200
        assert "server" not in r.headers, r.headers
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert "server" not in page.headers
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
