"""`askdesk serve` as a child process, waited on until it is ready (tests, benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def start_service(env: dict, port: int, log_path: Path, timeout: float = 180) -> subprocess.Popen:
    """Start `askdesk serve --port PORT` with ``env``, output to ``log_path``; return once /ready
    answers 200, or raise with the log's tail if it exits or times out first."""
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from askdesk.cli import main; main()", "serve", "--port", str(port)],
        env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"askdesk serve exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"askdesk serve not ready in {timeout} s: {log_path.read_text()[-2000:]}")
