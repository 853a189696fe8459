"""Run `askdesk llm serve` as a child process and wait for its `ready:` line (tests, benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from threading import Event, Thread

from app.errors import LLMUnavailable
from serving import children
from serving.net import free_port

_MAIN = "from askdesk.cli import main; main()"


class EngineProcess:
    """``with EngineProcess("llamacpp", model=...) as e: e.base_url``"""

    def __init__(
        self,
        engine: str = "llamacpp",
        *,
        model: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        served_name: str = "askdesk-llm",
        extra_args: list[str] | None = None,
        timeout_s: float = 60,
    ) -> None:
        self.engine = engine
        self.host = host
        self.port = port or free_port(host)
        self.served_name = served_name
        self.base_url = f"http://{host}:{self.port}/v1"
        self.timeout_s = timeout_s
        self.cmd = [
            sys.executable,
            "-c",
            _MAIN,
            "llm",
            "serve",
            "--engine",
            engine,
            "--host",
            host,
            "--port",
            str(self.port),
            "--served-model-name",
            served_name,
        ]
        if model:
            self.cmd += ["--model", model]
        self.cmd += extra_args or []
        self.proc: subprocess.Popen | None = None
        self.output: deque[str] = deque(maxlen=200)
        self.startup_s = 0.0
        self._ready = Event()

    def start(self) -> EngineProcess:
        t0 = time.monotonic()
        self.proc = children.spawn(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        Thread(target=self._drain, daemon=True).start()
        deadline = t0 + self.timeout_s
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                time.sleep(0.1)  # let the reader catch the last lines
                why = "exited" if self.proc.returncode is not None else "timed out"
                raise LLMUnavailable(
                    f"{self.engine} engine did not start ({why}): " + " | ".join(list(self.output)[-5:])
                )
        self.startup_s = time.monotonic() - t0
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip())
            if line.startswith("ready: "):
                self._ready.set()

    def stop(self, timeout_s: float = 30) -> int | None:
        return None if self.proc is None else children.stop(self.proc, timeout_s)

    def kill(self) -> None:
        """SIGKILL the launcher and the engine processes under it, as a crash would (failover tests)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.proc.kill()
        for c in children:  # the vLLM server runs in its own session; it must die too
            try:
                c.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc.wait()
        psutil.wait_procs(children, timeout=10)

    def __enter__(self) -> EngineProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
