"""Small network helpers for launchers: port checks and waiting on ``/health``."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

from app.errors import ConfigError, LLMUnavailable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a port some process listens on. Connections of a crashed engine left in TIME_WAIT
    don't count (SO_REUSEADDR, as the engines' own servers bind): a restart must not wait ~60 s."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(
                f"port {port} on {host} is busy ({e.strerror}); pick another with --port"
            ) from e


def wait_healthy(
    url: str, timeout_s: float, *, proc: subprocess.Popen | None = None, what: str = "engine"
) -> None:
    """Poll ``url`` until it answers 200. Raise if ``proc`` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client() as client:
        while True:
            if proc is not None and proc.poll() is not None:
                raise LLMUnavailable(f"{what} exited with code {proc.returncode} before becoming healthy")
            try:
                if client.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LLMUnavailable(f"{what} did not become healthy at {url} within {timeout_s:.0f} s")
            time.sleep(0.1 if proc is None else 0.5)
