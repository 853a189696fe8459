"""CPU (psutil) and GPU (nvidia-smi, when present) utilisation sampled in a background thread."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import Self

import psutil

from evals.metrics import summarize


class ResourceSampler:
    """``with ResourceSampler() as s: ...`` then ``s.summary()``. Samples the whole machine: when the
    service runs on the same host, its CPU use (engine included) is in the numbers."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.cpu: list[float] = []
        self.gpu: list[float] = []
        self.gpu_mem_mib: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._smi = shutil.which("nvidia-smi")

    def __enter__(self) -> Self:
        psutil.cpu_percent(interval=None)  # prime: the first call returns 0
        self._thread = threading.Thread(target=self._loop, name="eval-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.cpu.append(psutil.cpu_percent(interval=None))
            if self._smi:
                self._sample_gpu()

    def _sample_gpu(self) -> None:
        try:
            out = subprocess.run(
                [self._smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=2,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return
        rows = [ln.split(",") for ln in out.strip().splitlines() if "," in ln]
        if rows:
            try:
                self.gpu.append(max(float(r[0]) for r in rows))
                self.gpu_mem_mib.append(sum(float(r[1]) for r in rows))
            except ValueError:
                pass

    def summary(self) -> dict:
        cpu = summarize(self.cpu)
        out = {
            "cpu_count": psutil.cpu_count(),
            "cpu_percent": {"mean": cpu["mean"], "p95": cpu["p95"], "max": cpu["max"], "samples": cpu["n"]},
            "gpu": None,
            "sampled_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if self._smi:
            g = summarize(self.gpu)
            out["gpu"] = {
                "util_percent": {"mean": g["mean"], "max": g["max"], "samples": g["n"]},
                "mem_used_mib_max": summarize(self.gpu_mem_mib)["max"],
            }
        return out
