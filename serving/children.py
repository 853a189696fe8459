"""Child processes that cannot outlive the process that started them.

Every engine AskDesk starts (the llama.cpp launcher under `askdesk demo`, vLLM under `askdesk llm
serve --engine vllm`) is started here: in its own process group, so a stop reaches whatever the
engine starts in turn (vLLM's engine core), and with a parent-death signal, so a parent that is
SIGKILLed (no `finally` runs) still takes its engine with it instead of leaving a port busy.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with(parent_pid: int):
    def preexec() -> None:  # runs in the child between fork and exec
        os.setsid()
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl: nobody would stop us
            os._exit(1)

    return preexec


def spawn(cmd: Sequence[str], **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` for a child that dies with this process (SIGTERM) and leads its group."""
    return subprocess.Popen(list(cmd), preexec_fn=_die_with(os.getpid()), **popen_kwargs)


def stop(proc: subprocess.Popen, timeout_s: float = 30) -> int | None:
    """SIGTERM the child's whole group, then SIGKILL it after ``timeout_s``. Returns the exit code."""
    if proc.poll() is not None:
        _signal_group(proc.pid, signal.SIGKILL)  # the leader is gone; its group may not be
        return proc.returncode
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        return proc.wait(10)
    finally:
        _signal_group(proc.pid, signal.SIGKILL)  # grandchildren that ignored the TERM


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole group at once, as a crash would."""
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
