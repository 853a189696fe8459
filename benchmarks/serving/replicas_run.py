"""Two `askdesk serve` replicas sharing one PostgreSQL database, one `chroma run` server and one
redis rate-limit store: a knowledge change through one is answered by the other, and a bounded
load run survives one replica being SIGKILLed mid-run.

    python -m benchmarks.serving.replicas_run [--kb DATA_DIR] [--clients 8] [--requests 8]
                                              [--kill-after 6] [--out reports/replicas-run.json]

DATA_DIR: knowledge/ already ingested (embedded Chroma under DATA_DIR/chroma); without it knowledge/
is ingested first (minutes). Its chroma/ folder is copied and served by `chroma run`; each replica
gets its own copy of the rest (calibration files, uploads). The LLM is a real llama.cpp engine
(`askdesk llm serve`, packaged SmolLM2), so rag answers stream for seconds and a kill lands mid-stream.

Steps and what is printed:
  1. propagation: a new FAQ entry uploaded through replica 0 (POST /api/admin/sources) is searched
     for on replica 1 until it is the top hit; the delay is printed (bounded by
     ASKDESK_RETRIEVAL_REFRESH_S, the replicas' version check interval).
  2. load: N clients, each with its own session, alternate replicas and streaming / non-streaming
     /api/chat over FAQ and document questions. Once `kill_after` answers are complete and a stream
     on replica 0 is mid-answer, replica 0 is SIGKILLed. A failed non-stream request (and a stream
     refused before its first byte) is retried once on the other replica; a stream cut mid-answer is
     counted, not retried (its reader saw the break). Every read has a timeout: a hang is a failure.
  3. the exchange log in PostgreSQL: rows for the run's sessions vs the answers the clients got.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.errors import LLMUnavailable  # noqa: E402
from askdesk.process import start_service  # noqa: E402
from serving.net import free_port, wait_healthy  # noqa: E402

MAIN = "from askdesk.cli import main; main()"
API_KEY = "sk-replica-key"  # rate-limit exempt: the load run measures the replicas, not the limiter
ADMIN_KEY = "admin-replica-key"
HDR = {"Authorization": f"Bearer {API_KEY}"}
# FAQ questions (verbatim curated answers, no LLM) and document questions (the LLM streams an answer)
FAQ_QUESTIONS = ["how many days of annual leave do I get", "How do I connect to the VPN from home?", "婚假有几天？"]
DOC_QUESTIONS = ["What is the per-diem rate for tier 1 cities?", "入职第一天几点到哪里报到？"]
NEW_ENTRY_ID = "replica-test-001"
NEW_QUESTION = "Where do I borrow the Zeppelin-shaped meeting room projector?"
NEW_ANSWER = "Ask reception on floor 7 for the Zeppelin projector; return it by 18:00 the same day."


# --- the stack ---------------------------------------------------------------------------------------
def start_chroma(path: Path, port: int, log_path: Path, timeout: float = 120) -> subprocess.Popen:
    """`chroma run` over ``path``; returns once its heartbeat answers."""
    exe = Path(sys.executable).with_name("chroma")
    log = log_path.open("w")
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=path.parent)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout, proc=proc, what="chroma run")
    except LLMUnavailable as e:  # wait_healthy speaks of engines; the log's tail says why
        proc.kill()
        raise RuntimeError(f"{e}: {log_path.read_text()[-2000:]}") from None
    return proc


def replica_env(data_dir: Path, port: int, *, engine_url: str, engine_model: str, database_url: str,
                chroma_port: int, redis_url: str, **extra: str) -> dict:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update({
        "ASKDESK_DATA_DIR": str(data_dir),
        "ASKDESK_PORT": str(port),
        "ASKDESK_DATABASE_URL": database_url,
        "ASKDESK_CHROMA_HOST": "127.0.0.1",
        "ASKDESK_CHROMA_PORT": str(chroma_port),
        "ASKDESK_RATE_LIMIT_STORAGE": redis_url,
        "ASKDESK_API_KEYS": json.dumps(["sk-test-key"]),
        "ASKDESK_RATE_LIMIT_EXEMPT_KEYS": json.dumps([API_KEY]),
        "ASKDESK_ADMIN_KEY": ADMIN_KEY,
        "ASKDESK_LLM_BACKENDS": json.dumps([{"name": "llamacpp", "base_url": engine_url, "model": engine_model,
                                            "role": "cpu", "timeout_s": 300}]),
    })  # fmt: skip
    env.update(extra)
    return env


@dataclass
class Stack:
    urls: list[str]
    procs: list[subprocess.Popen]
    database_url: str
    redis_url: str
    chroma_port: int
    work: Path
    envs: list[dict] = field(default_factory=list, repr=False)

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(30)


def start_replicas(envs: list[dict], ports: list[int], logs: list[Path]) -> list[subprocess.Popen]:
    """Start every replica at once (their model loads overlap); wait until each is ready."""
    out: list = [None] * len(envs)
    errors: list = []

    def one(i: int) -> None:
        try:
            out[i] = start_service(envs[i], ports[i], logs[i], timeout=300)
        except Exception as e:  # noqa: BLE001 - re-raised below, after the others are stopped
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(envs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        stop_all([p for p in out if p is not None])
        raise errors[0]
    return out


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


@contextlib.contextmanager
def replica_stack(kb_dir: Path, work: Path, *, engine_url: str, engine_model: str, database_url: str,
                  redis_url: str, replicas: int = 2, refresh_s: float = 2.0, **extra: str) -> Iterator[Stack]:  # fmt: skip
    """`chroma run` over a copy of ``kb_dir``/chroma and ``replicas`` services on the given shared
    database and redis; everything started here is stopped at the end."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copytree(kb_dir / "chroma", work / "chroma-server")
    chroma_port = free_port()
    chroma = start_chroma(work / "chroma-server", chroma_port, work / "chroma.log")
    procs: list[subprocess.Popen] = []
    try:
        ports = [free_port() for _ in range(replicas)]
        envs, logs = [], []
        for i, port in enumerate(ports):
            data = work / f"replica-{i}"
            shutil.copytree(kb_dir, data, ignore=shutil.ignore_patterns("chroma", "askdesk.db*"))
            envs.append(replica_env(data, port, engine_url=engine_url, engine_model=engine_model,
                                    database_url=database_url, chroma_port=chroma_port, redis_url=redis_url,
                                    ASKDESK_RETRIEVAL_REFRESH_S=str(refresh_s), **extra))  # fmt: skip
            logs.append(work / f"replica-{i}.log")
        procs = start_replicas(envs, ports, logs)
        yield Stack(urls=[f"http://127.0.0.1:{p}" for p in ports], procs=procs, database_url=database_url,
                    redis_url=redis_url, chroma_port=chroma_port, work=work, envs=envs)  # fmt: skip
    finally:
        stop_all(procs)
        stop_all([chroma])


# --- 1. a knowledge change through one replica, answered by the other ------------------------------------
def propagation(stack: Stack, timeout_s: float = 60) -> dict:
    """Upload a new FAQ entry to replica 0; seconds until replica 1's search has it on top (and its
    chat answers it verbatim)."""
    csv = f"id,question,answer,category,lang\n{NEW_ENTRY_ID},{NEW_QUESTION},\"{NEW_ANSWER}\",Office,en\n"
    admin = {"X-Admin-Key": ADMIN_KEY}
    with httpx.Client(timeout=120) as c:
        before = c.post(f"{stack.urls[1]}/api/search", headers=HDR, json={"query": NEW_QUESTION, "k": 1}).json()
        assert not before["hits"] or before["hits"][0]["id"] != NEW_ENTRY_ID, before
        t0 = time.monotonic()
        up = c.post(f"{stack.urls[0]}/api/admin/sources", headers=admin,
                    files={"file": ("replica-faq.csv", csv.encode(), "text/csv")})  # fmt: skip
        up.raise_for_status()
        uploaded = time.monotonic()
        polls = 0
        while True:
            polls += 1
            hits = c.post(f"{stack.urls[1]}/api/search", headers=HDR, json={"query": NEW_QUESTION, "k": 1}).json()["hits"]
            if hits and hits[0]["id"].startswith(NEW_ENTRY_ID):
                break
            if time.monotonic() - uploaded > timeout_s:
                raise AssertionError(f"replica 1 did not see the new entry in {timeout_s} s: {hits}")
            time.sleep(0.1)
        seen = time.monotonic()
        chat = c.post(f"{stack.urls[1]}/api/chat", headers=HDR, json={"message": NEW_QUESTION}).json()
    return {"upload_s": round(uploaded - t0, 2), "seen_after_upload_s": round(seen - uploaded, 2), "polls": polls,
            "other_replica_mode": chat.get("mode"), "other_replica_answer_is_new": chat.get("answer") == NEW_ANSWER}  # fmt: skip


# --- 2. the load run -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    client: int
    seq: int
    replica: int  # where it was sent first
    stream: bool
    question: str
    result: str = ""  # completed | error_event | cut_mid_stream | failed
    answered_by: int | None = None
    message_id: str | None = None
    session_id: str | None = None
    retried: bool = False
    detail: str = ""
    seconds: float = 0.0
    ended_after_kill: bool = False


class Run:
    def __init__(self, stack: Stack, kill_after: int, kill_replica: int = 0) -> None:
        self.stack, self.kill_after, self.kill_replica = stack, kill_after, kill_replica
        self.lock = threading.Lock()
        self.completed = 0
        self.killed_at: float | None = None
        self.kill_now = threading.Event()

    def _note_done(self) -> None:
        with self.lock:
            self.completed += 1

    def _maybe_kill(self, replica: int) -> None:
        """Called while a stream on `replica` is mid-answer: kill it once enough answers are in."""
        if replica != self.kill_replica or self.killed_at is not None or self.kill_now.is_set():
            return
        with self.lock:
            ready = self.completed >= self.kill_after
        if ready:
            self.kill_now.set()

    def killer(self, deadline_s: float) -> None:
        """SIGKILL the replica when a stream there is mid-answer (or at the deadline anyway)."""
        self.kill_now.wait(deadline_s)
        self.stack.kill(self.kill_replica)
        self.killed_at = time.monotonic()

    def one(self, c: httpx.Client, o: Outcome, replica: int) -> None:
        url = f"{self.stack.urls[replica]}/api/chat"
        body = {"message": o.question, "stream": o.stream, **({"session_id": o.session_id} if o.session_id else {})}
        if not o.stream:
            r = c.post(url, headers=HDR, json=body)
            if r.status_code != 200:
                o.result, o.detail = "failed", f"HTTP {r.status_code}: {r.text[:200]}"
                return
            data = r.json()
            o.result, o.message_id, o.session_id, o.answered_by = "completed", data["message_id"], data["session_id"], replica
            return
        started = False
        with c.stream("POST", url, headers=HDR, json=body) as r:
            if r.status_code != 200:
                o.result, o.detail = "failed", f"HTTP {r.status_code}"
                return
            kind = None
            try:
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if kind == "token":
                            started = True
                            self._maybe_kill(replica)
                        elif kind == "sources":
                            started = True
                            o.session_id = data.get("session_id") or o.session_id
                        elif kind == "done":
                            o.result, o.message_id, o.answered_by = "completed", data["message_id"], replica
                            o.session_id = data["session_id"]
                            return
                        elif kind == "error":
                            o.result, o.detail = "error_event", data.get("code", "")
                            o.session_id = data.get("session_id") or o.session_id
                            return
            except httpx.HTTPError as e:
                if started:
                    o.result, o.detail = "cut_mid_stream", type(e).__name__
                    return
                raise
        # the body ended without done or error: the connection closed under the reader
        o.result, o.detail = ("cut_mid_stream" if started else "failed"), "stream ended without done/error"

    def client(self, i: int, n: int, out: list[Outcome]) -> None:
        session = None
        timeout = httpx.Timeout(120, connect=5)  # a hang shows up as a ReadTimeout, never as a stuck run
        with httpx.Client(timeout=timeout) as c:
            for j in range(n):
                qs = DOC_QUESTIONS if j % 2 == 0 else FAQ_QUESTIONS
                o = Outcome(client=i, seq=j, replica=(i + j) % 2, stream=(i + j // 2) % 2 == 0,
                            question=qs[(i + j) % len(qs)], session_id=session)  # fmt: skip
                t0 = time.monotonic()
                try:
                    self.one(c, o, o.replica)
                except httpx.HTTPError as e:
                    o.result, o.detail = "failed", type(e).__name__
                if o.result == "failed" and (not o.stream or o.detail in ("ConnectError", "RemoteProtocolError")):
                    # nothing of an answer reached the reader: ask the other replica once
                    o.retried, first = True, o.detail
                    o.result = o.detail = ""
                    try:
                        self.one(c, o, 1 - o.replica)
                    except httpx.HTTPError as e:
                        o.result, o.detail = "failed", type(e).__name__
                    o.detail = f"first: {first}; retry: {o.result}" + (f" ({o.detail})" if o.detail else "")
                o.seconds = round(time.monotonic() - t0, 2)
                o.ended_after_kill = self.killed_at is not None
                if o.result == "completed":
                    self._note_done()
                session = o.session_id or session
                out.append(o)


def load_run(stack: Stack, *, clients: int, requests: int, kill_after: int, kill_deadline_s: float = 600) -> dict:
    run = Run(stack, kill_after)
    outcomes: list[Outcome] = []
    killer = threading.Thread(target=run.killer, args=(kill_deadline_s,), daemon=True)
    killer.start()
    t0 = time.monotonic()
    threads = [threading.Thread(target=run.client, args=(i, requests, outcomes)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.kill_now.set()  # a run that never had a stream mid-answer on replica 0 still kills it
    killer.join(60)
    wall = time.monotonic() - t0
    log = exchange_log(stack.database_url, {o.session_id for o in outcomes if o.session_id})
    completed_ids = [o.message_id for o in outcomes if o.result == "completed"]
    rows_by_id: dict[str, list] = {}
    for row in log:
        rows_by_id.setdefault(row["id"], []).append(row)
    answered_rows = [r for r in log if r["error"] is None]
    summary = {
        "clients": clients,
        "requests_sent": len(outcomes),
        "completed": len(completed_ids),
        "completed_by_replica": {str(k): sum(1 for o in outcomes if o.result == "completed" and o.answered_by == k)
                                 for k in range(len(stack.urls))},  # fmt: skip
        "completed_after_kill": sum(1 for o in outcomes if o.result == "completed" and o.ended_after_kill),
        "retried": sum(o.retried for o in outcomes),
        "retried_completed": sum(1 for o in outcomes if o.retried and o.result == "completed"),
        "error_events": sum(o.result == "error_event" for o in outcomes),
        "killed_mid_stream": sum(o.result == "cut_mid_stream" for o in outcomes),
        "failed": sum(o.result == "failed" for o in outcomes),
        "timeouts": sum("Timeout" in o.detail for o in outcomes),
        "log_rows": len(log),
        "log_rows_answered": len(answered_rows),
        "log_rows_for_completed": sum(1 for m in completed_ids if m in rows_by_id),
        "lost": sum(1 for m in completed_ids if m not in rows_by_id),
        "duplicates": sum(len(v) - 1 for v in rows_by_id.values()) + (len(completed_ids) - len(set(completed_ids))),
        "answered_rows_no_client_saw": sum(1 for r in answered_rows if r["id"] not in set(completed_ids)),
        "wall_s": round(wall, 1),
    }
    return {"summary": summary, "outcomes": [asdict(o) for o in outcomes]}


def exchange_log(database_url: str, sessions: set[str]) -> list[dict]:
    """The exchange rows of these sessions, read straight from the database."""
    from sqlalchemy import bindparam, create_engine, text

    if not sessions:
        return []
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            q = text("SELECT id, session_id, error FROM exchanges WHERE session_id IN :s").bindparams(
                bindparam("s", expanding=True))  # fmt: skip
            return [dict(r._mapping) for r in conn.execute(q, {"s": sorted(sessions)})]
    finally:
        engine.dispose()


TABLE_KEYS = ("requests_sent", "completed", "completed_by_replica", "completed_after_kill", "retried",
              "retried_completed", "error_events", "killed_mid_stream", "failed", "timeouts", "log_rows",
              "log_rows_answered", "log_rows_for_completed", "lost", "duplicates", "answered_rows_no_client_saw",
              "wall_s")  # fmt: skip


def table(summary: dict) -> str:
    return "\n".join(["| measure | value |", "|---|---|"] + [f"| {k} | {summary[k]} |" for k in TABLE_KEYS])


# --- the whole run ---------------------------------------------------------------------------------------
def main() -> int:
    from serving.launch import EngineProcess
    from tests.pg import postgres_cluster, redis_server

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kb", default=None, help="a data dir with knowledge/ ingested (else it is ingested)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=8, help="per client")
    p.add_argument("--kill-after", type=int, default=6, help="complete answers before replica 0 is killed")
    p.add_argument("--out", default=None, help="write the summary and every outcome here (JSON)")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="askdesk-replicas-"))
    if a.kb:
        kb = Path(a.kb)
    else:
        kb = work / "kb"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}, "ASKDESK_DATA_DIR": str(kb)}
        subprocess.run([sys.executable, "-c", MAIN, "ingest", str(REPO / "knowledge")], env=env, cwd=REPO,
                       check=True, timeout=1200)  # fmt: skip
    engine = EngineProcess("llamacpp", port=free_port(), timeout_s=120).start()
    try:
        with postgres_cluster() as pg, redis_server(work / "redis") as redis_url:
            with replica_stack(kb, work / "stack", engine_url=engine.base_url, engine_model=engine.served_name,
                               database_url=pg.url(), redis_url=redis_url) as stack:  # fmt: skip
                print(f"replicas {stack.urls}, chroma :{stack.chroma_port}, {pg.url()}, {redis_url}", flush=True)
                prop = propagation(stack)
                print(f"propagation: {prop}", flush=True)
                res = load_run(stack, clients=a.clients, requests=a.requests, kill_after=a.kill_after)
                print(table(res["summary"]), flush=True)
                if a.out:
                    Path(a.out).write_text(json.dumps({"propagation": prop, **res}, indent=1, ensure_ascii=False))
    finally:
        engine.stop(10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
