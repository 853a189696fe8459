"""Parsing with a time limit per file: files are parsed in a child process, killed when one is
still parsing after `ASKDESK_INGEST_FILE_TIMEOUT_S`; the run reports that file as failed and goes
on with a fresh child.

Why a process: the parsers (unstructured, pdfminer, openpyxl) run pure-Python loops that a thread
cannot interrupt, and a process can be killed without leaving anything half-done in the parent.
One child serves a whole run, started on the first file. It is a plain `python -c` subprocess
talking over two pipes, not a multiprocessing one: "spawn" re-runs the parent's main script in the
child (any script calling `run_ingest` unguarded would run twice) and "fork" would copy a parent
holding embedding models and their threads. Importing a document parser is done before the file's
clock starts (`warm_up`), so the limit measures parsing only. A limit of 0 parses in-process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from app.errors import IngestError
from app.records import Entry
from app.settings import Settings
from ingest.load import DOC_SUFFIXES, NotKnowledge, load_file

START_TIMEOUT_S = 120.0  # starting the child, or importing a document parser in it (seconds)
_CODE_ROOT = str(Path(__file__).resolve().parents[1])  # the child imports this very code


def child_main(read_fd: int, write_fd: int) -> None:
    """The child: gets the settings, then answers ("warm", suffix) and ("load", path, source) jobs
    until its input closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it kills us
    _exit_with_parent()
    from ingest.load import warm_up

    jobs, results = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    try:
        settings = jobs.recv()
    except (EOFError, OSError):
        return
    results.send(("ok", None))
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):  # the parent is done, or gone
            return
        try:
            if job[0] == "warm":
                out = ("ok", warm_up(job[1]))
            else:
                out = ("ok", load_file(job[1], job[2], settings))
        except NotKnowledge as e:
            out = ("skip", str(e))
        except IngestError as e:
            out = ("error", str(e))
        except Exception as e:  # load_file wraps parser errors; this is a last resort
            out = ("error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'unreadable'}")
        try:
            results.send(out)
        except (OSError, ValueError):
            return


def _exit_with_parent() -> None:
    """A parent killed outright (SIGKILL, SIGTERM) cannot stop us, and a parse may run for
    minutes: a daemon thread ends this process as soon as the parent is gone (re-parented)."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    return f"exit status {code}"


class FileParser:
    """`load(path, source)` -> entries, as `ingest.load.load_file`, under the per-file time limit.
    Raises IngestError (failed file) or NotKnowledge (skip). Use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout_s = float(settings.ingest_file_timeout_s)
        self._proc: subprocess.Popen | None = None
        self._jobs: Connection | None = None
        self._results: Connection | None = None
        self._warm: set[str] = set()

    def __enter__(self) -> FileParser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(kill=exc_type is not None)  # e.g. Ctrl-C mid-file: do not wait for the parse

    def load(self, path: Path, source: str) -> list[Entry]:
        if self.timeout_s <= 0:
            return load_file(path, source, self.settings)
        suffix = path.suffix.lower()
        if suffix in DOC_SUFFIXES and suffix not in self._warm:
            self._call(("warm", suffix), START_TIMEOUT_S, f"loading the {suffix} parser took longer than")
            self._warm.add(suffix)
        status, value = self._call(
            ("load", path, source), self.timeout_s, "still parsing after", setting="ASKDESK_INGEST_FILE_TIMEOUT_S"
        )
        if status == "skip":
            raise NotKnowledge(value)
        return value

    def _call(self, job: tuple, timeout_s: float, late: str, setting: str | None = None) -> tuple[str, object]:
        self._start()
        try:
            self._jobs.send(job)
            ready = self._results.poll(timeout_s)
        except OSError:
            ready = True  # the child died: recv() below says so
        if not ready:
            self.close(kill=True)
            raise IngestError(f"{late} {timeout_s:g} s: stopped" + (f" ({setting})" if setting else ""))
        try:
            status, value = self._results.recv()
        except (EOFError, OSError):
            code = self.close(kill=True)
            raise IngestError(f"the parser process died while reading it ({_exit_reason(code)})") from None
        if status == "error":
            raise IngestError(value)
        return status, value

    def _start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self.close(kill=True)
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        path = os.pathsep.join(filter(None, [_CODE_ROOT, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        code = f"from ingest.worker import child_main; child_main({job_r}, {res_w})"
        # the child's prints (parsers print notices) go to stderr: stdout is the command's output
        stdout = sys.stderr.fileno() if _has_fd(sys.stderr) else None
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(job_r, res_w), env=env,
                                          stdin=subprocess.DEVNULL, stdout=stdout)  # fmt: skip
        except OSError as e:
            os.close(job_w)
            os.close(res_r)
            raise IngestError(f"the parser process did not start ({e})") from e
        finally:
            os.close(job_r)
            os.close(res_w)
        self._jobs, self._results = Connection(job_w, readable=False), Connection(res_r, writable=False)
        self._warm = set()
        try:
            self._jobs.send(self.settings)
            ok = self._results.poll(START_TIMEOUT_S)
            if ok:
                self._results.recv()
        except (EOFError, OSError):
            ok = False
        if not ok:
            code = self.close(kill=True)
            raise IngestError(f"the parser process did not start ({_exit_reason(code)})")

    def close(self, *, kill: bool = False) -> int | None:
        """Stop the child (by closing its input, or killed); returns its exit code."""
        proc, jobs, results = self._proc, self._jobs, self._results
        self._proc = self._jobs = self._results = None
        if proc is None:
            return None
        for conn in (jobs, results):
            if conn is not None:
                conn.close()  # the child reads EOF and exits
        if kill:
            proc.kill()
        try:
            return proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def _has_fd(stream) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False
