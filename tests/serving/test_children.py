"""Engine children die with their parent: a stop reaches the whole group, a SIGKILLed parent takes
them along (parent-death signal). Real processes; `sleep` stands in for an engine's own children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from serving import children


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_stop_reaches_the_childs_own_children():
    # the child starts a grandchild in its group, as vLLM starts its engine core
    child = children.spawn(
        [sys.executable, "-c", "import subprocess, time; p = subprocess.Popen(['sleep', '300']); "
         "print(p.pid, flush=True); time.sleep(300)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    grandchild = int(child.stdout.readline())
    assert os.getpgid(grandchild) == child.pid  # one group, led by the child
    children.stop(child, timeout_s=5)
    assert child.returncode == -signal.SIGTERM
    assert _gone(grandchild)


def test_a_sigkilled_parent_takes_its_child_along():
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import time
            from serving import children
            c = children.spawn(["sleep", "300"])
            print(c.pid, flush=True)
            time.sleep(300)
        """)],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )  # fmt: skip
    child = int(parent.stdout.readline())
    assert psutil.Process(child).is_running()
    parent.kill()  # no finally, no atexit: only the kernel can stop the child now
    parent.wait(5)
    assert _gone(child), "the child outlived a SIGKILLed parent"


def test_stop_of_an_exited_child_returns_its_code():
    child = children.spawn([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait(10)
    assert children.stop(child) == 3
