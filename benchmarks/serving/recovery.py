"""Engine crash -> restart -> recovery, measured end to end through a real `askdesk serve`.

    python -m benchmarks.serving.recovery [--kb DATA_DIR] [--out reports/recovery.json]

--kb: a data dir where knowledge/ is already ingested (`ASKDESK_DATA_DIR=DIR askdesk ingest knowledge/`);
it is copied, so the run skips the ingest (minutes on a busy 2-core box; without --kb the ingest counts
against --budget-s).

Starts a real llama.cpp engine (`askdesk llm serve`, packaged SmolLM2) on a fixed free port and a
real `askdesk serve` over the sample knowledge base (knowledge/ ingested into a temp data dir),
with the DEFAULT breaker settings (3 failures, 15 s cooldown) and health interval. Then, per scenario:

  1. one rag question answers (mode == "rag");
  2. the engine is SIGKILLed (EngineProcess.kill()), 3 rag questions are sent (status codes kept);
  3. the engine is restarted on the SAME port (whether it binds at once, how long until `ready:`);
  4. the circuit is probed and the first rag answer is timed.

Scenarios:
  plain       -- one non-streamed rag question per second until one answers in rag mode.
  probe-stream-after-first-token
              -- waits until /ready reports the circuit half_open, then the probe is a STREAMED rag
                 question whose client disconnects after the first token; the next rag question
                 must answer (a previous bug left the circuit stuck half_open -> 503 forever).
  probe-stream-before-first-token
              -- the same, but the client disconnects right after the `sources` event, before any
                 token (the probe slot must be released, not kept).

Prints numbers (and writes them as JSON). Every step has a timeout; the whole run is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from askdesk.process import start_service  # noqa: E402
from serving.launch import EngineProcess  # noqa: E402
from serving.net import free_port  # noqa: E402

MAIN = "from askdesk.cli import main; main()"
EXEMPT = "sk-exempt-key"
RAG_QUESTION = "What is the per-diem rate for tier 1 cities?"
HDR = {"Authorization": f"Bearer {EXEMPT}"}


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout("whole run exceeded its time budget")


def service_env(data_dir: Path, port: int, engine_url: str, engine_model: str, llm_timeout_s: float = 120) -> dict:
    """As tests/service_fixtures.service_env, with the default breaker / health settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update({
        "ASKDESK_DATA_DIR": str(data_dir),
        "ASKDESK_PORT": str(port),
        "ASKDESK_API_KEYS": json.dumps(["sk-test-key"]),
        "ASKDESK_RATE_LIMIT_EXEMPT_KEYS": json.dumps([EXEMPT]),
        "ASKDESK_ADMIN_KEY": "admin-test-key",
        "ASKDESK_RATE_LIMIT": "120/minute",
        "ASKDESK_LLM_BACKENDS": json.dumps([{"name": "llamacpp", "base_url": engine_url, "model": engine_model,
                                            "role": "cpu", "timeout_s": llm_timeout_s}]),
        "ASKDESK_WIDGET_KEYS": json.dumps(["pk_demo_local"]),
        "ASKDESK_WIDGET_ORIGINS": json.dumps([f"http://127.0.0.1:{port}"]),
        "ASKDESK_WIDGET_IDENTITY_SECRET": "widget-identity-test-secret",
    })  # fmt: skip
    return env


class Svc:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers=HDR, timeout=httpx.Timeout(120, connect=5))

    def ask(self, q: str = RAG_QUESTION) -> dict:
        """Non-streamed rag question: status, mode, seconds, error code."""
        t0 = time.monotonic()
        try:
            r = self.http.post("/api/chat", json={"message": q})
        except httpx.HTTPError as e:
            return {"status": None, "mode": None, "s": time.monotonic() - t0, "error": f"{type(e).__name__}: {e}"}
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        err = body.get("error") if isinstance(body, dict) else None
        return {
            "status": r.status_code,
            "mode": body.get("mode") if r.status_code == 200 else None,
            "s": round(time.monotonic() - t0, 3),
            "error": (err.get("code") if isinstance(err, dict) else err) if r.status_code != 200 else None,
        }

    def circuit(self) -> str | None:
        try:
            llm = self.http.get("/ready", timeout=5).json().get("llm") or [{}]
            return f"{llm[0].get('circuit')}/{'healthy' if llm[0].get('healthy') else 'unhealthy'}"
        except (httpx.HTTPError, ValueError):
            return None

    def stream_probe(self, q: str, *, cut_at: str) -> dict:
        """Streamed rag question; the client closes the connection at the first `token` event
        (cut_at="token") or right after the `sources` event (cut_at="sources")."""
        t0 = time.monotonic()
        events: list[str] = []
        status = None
        try:
            with self.http.stream("POST", "/api/chat", json={"message": q, "stream": True}) as r:
                status = r.status_code
                if status != 200:
                    r.read()
                    return {"status": status, "events": events, "cut": False, "s": round(time.monotonic() - t0, 3)}
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        ev = line[7:]
                        events.append(ev)
                        if ev == cut_at:
                            break  # leaving the `with` closes the connection mid-stream
        except httpx.HTTPError as e:
            return {"status": status, "events": events, "cut": False, "error": str(e)}
        return {"status": status, "events": events, "cut": events[-1:] == [cut_at],
                "s": round(time.monotonic() - t0, 3)}  # fmt: skip


def restart_engine(port: int, budget_s: float) -> tuple[EngineProcess | None, dict]:
    """Restart on the same port; retry (0.5 s apart) if it does not start, until budget_s."""
    t0 = time.monotonic()
    attempts, first_error = 0, None
    while time.monotonic() - t0 < budget_s:
        attempts += 1
        e = EngineProcess("llamacpp", port=port, timeout_s=60)
        try:
            e.start()
            return e, {"attempts": attempts, "first_attempt_ok": attempts == 1, "restart_s": round(time.monotonic() - t0, 3),
                       "engine_startup_s": round(e.startup_s, 3), "first_error": first_error}  # fmt: skip
        except Exception as ex:  # noqa: BLE001 - recorded
            first_error = first_error or f"{type(ex).__name__}: {ex}"[:400]
            time.sleep(0.5)
    return None, {"attempts": attempts, "first_attempt_ok": False, "restart_s": None, "first_error": first_error}



def _ask_until_rag(svc, tries: list[dict], *, since: float, until: float, label: str) -> float | None:
    """One rag question a second until one is answered in rag mode (its time) or `until` passes."""
    while time.monotonic() < until:
        tick = time.monotonic()
        r = svc.ask()
        r[label] = round(tick - since, 2)
        tries.append(r)
        if r["mode"] == "rag":
            return time.monotonic()
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    return None

def scenario(name: str, svc: Svc, engine: EngineProcess, port: int, step_s: float) -> tuple[dict, EngineProcess | None]:
    res: dict = {"scenario": name, "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    before = svc.ask()
    res["before"] = before
    if before["mode"] != "rag":
        res["abort"] = f"pre-crash question not answered in rag mode: {before}"
        return res, engine
    t_kill = time.monotonic()
    engine.kill()
    res["after_kill"] = [svc.ask() for _ in range(3)]
    res["circuit_after_kill"] = svc.circuit()
    new, rs = restart_engine(port, budget_s=min(90, step_s))
    res["restart"] = rs
    if new is None:
        res["abort"] = "engine did not restart on the same port"
        return res, None
    t_ready = time.monotonic()
    res["circuit_at_ready"] = svc.circuit()
    tries: list[dict] = []
    deadline = t_ready + step_s
    if name == "plain":
        t_ans = _ask_until_rag(svc, tries, since=t_ready, until=deadline, label="t_since_ready_s")
    else:
        cut_at = "token" if name.endswith("after-first-token") else "sources"
        waited = None
        while time.monotonic() < deadline:  # wait for the cooldown to end without spending the probe
            if (svc.circuit() or "").startswith("half_open"):
                waited = round(time.monotonic() - t_ready, 2)
                break
            time.sleep(0.25)
        res["half_open_after_ready_s"] = waited
        res["probe"] = svc.stream_probe(RAG_QUESTION, cut_at=cut_at)
        res["circuit_after_probe"] = svc.circuit()
        t_probe_end = time.monotonic()
        # the next question must answer; keep trying 30 s to tell stuck from slow
        t_ans = _ask_until_rag(svc, tries, since=t_probe_end, until=t_probe_end + 30, label="t_since_probe_s")
        res["next_question_answered_first_try"] = bool(tries) and tries[0]["mode"] == "rag"
    res["tries"] = tries
    res["recovered"] = t_ans is not None
    res["restart_s"] = rs["restart_s"]
    res["time_to_recovery_s"] = round(t_ans - t_ready, 2) if t_ans else None
    res["total_outage_s"] = round(t_ans - t_kill, 2) if t_ans else None
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    return res, new


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(REPO / "reports" / "recovery.json"))
    p.add_argument("--kb", default=None, help="data dir with knowledge/ already ingested (copied; skips ingest)")
    p.add_argument("--budget-s", type=int, default=290, help="hard limit for the whole run")
    p.add_argument("--step-s", type=float, default=60, help="limit per recovery wait")
    p.add_argument("--scenarios", default="plain,probe-stream-after-first-token,probe-stream-before-first-token")
    a = p.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(a.budget_s)
    t_run = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="askdesk-recovery-"))
    engine = svc_proc = None
    out: dict = {"loadavg_start": open("/proc/loadavg").read().split()[:3], "scenarios": []}
    try:
        eport = free_port()
        engine = EngineProcess("llamacpp", port=eport, timeout_s=60).start()
        out["engine"] = {"port": eport, "startup_s": round(engine.startup_s, 3), "model": engine.served_name}
        sport = free_port()
        env = service_env(tmp / "data", sport, engine.base_url, engine.served_name)
        t0 = time.monotonic()
        if a.kb:  # a data dir with knowledge/ already ingested (ingest takes minutes on a busy box)
            shutil.copytree(a.kb, tmp / "data")
            out["kb"] = f"copied from {a.kb}"
        else:
            ing = subprocess.run([sys.executable, "-c", MAIN, "ingest", str(REPO / "knowledge")], env=env, cwd=REPO,
                                 capture_output=True, text=True, timeout=240)  # fmt: skip
            if ing.returncode != 0:
                raise RuntimeError(f"ingest failed ({ing.returncode}): {(ing.stdout + ing.stderr)[-2000:]}")
        out["ingest_s"] = round(time.monotonic() - t0, 1)
        log = tmp / "serve.log"
        out["service_log"] = str(log)
        svc_proc = start_service(env, sport, log, timeout=120)
        svc = Svc(f"http://127.0.0.1:{sport}")
        out["circuit_start"] = svc.circuit()
        for name in a.scenarios.split(","):
            res, engine = scenario(name, svc, engine, eport, a.step_s)
            out["scenarios"].append(res)
            print(json.dumps(res), file=sys.stderr, flush=True)
            if engine is None or "abort" in res:
                break
    except Timeout as e:
        out["error"] = str(e)
    except Exception as e:  # noqa: BLE001 - reported
        out["error"] = f"{type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
        if svc_proc is not None:
            svc_proc.terminate()
            try:
                svc_proc.wait(15)
            except subprocess.TimeoutExpired:
                svc_proc.kill()
        if engine is not None:
            engine.stop(10)
    out["run_s"] = round(time.monotonic() - t_run, 1)
    out["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f"\nrecovery run ({out['run_s']} s; loadavg start {' '.join(out['loadavg_start'])}, "
          f"end {' '.join(out['loadavg_end'])}); engine port {out.get('engine', {}).get('port')}")  # fmt: skip
    if "error" in out:
        print(f"ERROR: {out['error']}")
    for r in out["scenarios"]:
        print(f"\n[{r['scenario']}] loadavg {' '.join(r['loadavg_start'])}")
        print(f"  before crash: {r['before']['status']} mode={r['before']['mode']} ({r['before']['s']} s)")
        if "after_kill" in r:
            print(f"  3 rag questions after SIGKILL: status {[x['status'] for x in r['after_kill']]}, "
                  f"errors {[x['error'] for x in r['after_kill']]}, s {[x['s'] for x in r['after_kill']]}; "
                  f"circuit {r.get('circuit_after_kill')}")  # fmt: skip
        if "restart" in r:
            rs = r["restart"]
            print(f"  restart on same port: first attempt ok={rs['first_attempt_ok']} attempts={rs['attempts']} "
                  f"restart {rs['restart_s']} s; first error: {rs['first_error']}")  # fmt: skip
        if "probe" in r:
            print(f"  half_open {r['half_open_after_ready_s']} s after ready; probe {r['probe']}; "
                  f"circuit after probe {r['circuit_after_probe']}; next question answered at first try: "
                  f"{r['next_question_answered_first_try']}")  # fmt: skip
        if "tries" in r:
            print(f"  tries after ready: {[(x['status'], x['mode']) for x in r['tries']]}")
            print(f"  restart {r['restart_s']} s | time to recovery (ready -> first rag answer) "
                  f"{r['time_to_recovery_s']} s | total outage (kill -> first rag answer) {r['total_outage_s']} s")  # fmt: skip
        if "abort" in r:
            print(f"  ABORT: {r['abort']}")
    print(f"\nJSON: {a.out}")
    ok = "error" not in out and all(r.get("recovered") for r in out["scenarios"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
