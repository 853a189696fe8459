"""Schemathesis against the real service: every operation of the served OpenAPI spec, all checks, all
phases (examples, coverage, fuzzing, stateful), a bounded number of examples.

The service is the real `askdesk serve` process answering through the session's real llama.cpp
engine, but on a throw-away store of its own (a copy of part of knowledge/, ingested here): the run
uploads and deletes knowledge sources, sends wrong keys on purpose (`ignored_auth`) and hundreds of
requests a minute, so it must not share `askdesk_service` (other tests' knowledge base, and the
per-address auth-failure lockout and admin rate limit that its wrong keys and admin calls would
trip for every test after it).

Schemathesis runs as its CLI does (`schemathesis run`, in a subprocess), with a JSON report that
this test reads: 0 server errors, 0 response conformance failures (status code, content type,
headers, body schema), and no failure of any other check either, except those that
tests/app/api/schemathesis_hooks.py drops by name and reason (rules JSON Schema cannot state, and
known bugs, which it records and this test prints). ASKDESK_SCHEMATHESIS_SEED=<n> runs another seed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.service_fixtures import KNOWLEDGE, REPO, Service, service_env, start_service

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

SEED = int(os.environ.get("ASKDESK_SCHEMATHESIS_SEED", "20261205"))
MAX_EXAMPLES = 10  # per operation, fuzzing phase (the coverage phase generates what the schema defines)
STATEFUL_SCENARIOS, STATEFUL_STEPS = 12, 5
UPLOAD_EXAMPLES = 3  # each upload that parses is ingested in a child process and re-indexed: ~5 s
# 2 cores shared by the engine, the service and the fuzzer: an upload took up to 11 s under the run
MAX_RESPONSE_TIME_S = 30
RUN_TIMEOUT_S = 420

FAQ_ROWS = 20  # the first rows of knowledge/faq.csv: English and Chinese FAQ entries
SEED_DOC = "onboarding-guide.md"  # and one document, for doc hits (Chinese sections)
SEED_SOURCES = ("faq.csv", SEED_DOC)

# what each failure type means for the verdict (schemathesis's failure class names)
SERVER_ERRORS = {"ServerError"}
RESPONSE_CONFORMANCE = {
    "UndefinedStatusCode", "UndefinedContentType", "MissingContentType", "MalformedMediaType",
    "JsonSchemaError", "ContentDeserializationError", "DiscriminatorMismatch", "MissingHeaders",
    "MalformedJson",
}  # fmt: skip


@pytest.fixture(scope="module")
def throwaway_service(embedders, llamacpp_engine, tmp_path_factory) -> Iterator[Service]:
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from app.settings import Settings
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("schemathesis")
    kb, data = root / "kb", root / "data"
    kb.mkdir()
    with (KNOWLEDGE / "faq.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[: FAQ_ROWS + 1]
    with (kb / "faq.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    shutil.copy(KNOWLEDGE / "docs" / SEED_DOC, kb / SEED_DOC)
    s = Settings(_env_file=None, data_dir=data)
    report = run_ingest([kb], ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection), s)
    assert not report.failed, report.failed

    port = free_port()
    env = service_env(data, port, llamacpp_engine.base_url, llamacpp_engine.model,
                      # rate limits out of the way: the run sends hundreds of requests a minute, and
                      # wrong keys on purpose (each one counts toward the address's lockout)
                      ASKDESK_AUTH_FAILURE_LIMIT="100000/minute", ASKDESK_ADMIN_RATE_LIMIT="100000/minute",
                      ASKDESK_WIDGET_IP_RATE_LIMIT="100000/minute",
                      # short answers: this run is about conformance, not answer quality
                      ASKDESK_RAG_MAX_TOKENS="32")  # fmt: skip
    proc = start_service(env, port, root / "askdesk-serve.log")
    svc = Service(url=f"http://127.0.0.1:{port}", api_key="sk-test-key", exempt_key="sk-exempt-key",
                  admin_key="admin-test-key", data_dir=data, engine_url=llamacpp_engine.base_url,
                  engine_model=llamacpp_engine.model, env=env, proc=proc)  # fmt: skip
    try:
        yield svc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def schemathesis_config(svc: Service) -> str:
    # credentials per security scheme of the spec (app/api/openapi_docs.py): schemathesis sends each
    # operation the one it declares, and leaves it out or spoils it for `ignored_auth`
    return f"""
seed = {SEED}
workers = 1
request-timeout = 120

[auth.openapi.ApiKey]
bearer = "{svc.exempt_key}"

[auth.openapi.AdminKey]
api_key = "{svc.admin_key}"

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[checks]
max_response_time = {MAX_RESPONSE_TIME_S}

[phases.stateful]
max-steps = {STATEFUL_STEPS}

[phases.stateful.generation]
max-examples = {STATEFUL_SCENARIOS}

[[operations]]
include-name = "POST /api/admin/sources"
generation = {{ max-examples = {UPLOAD_EXAMPLES} }}
"""


def run_schemathesis(svc: Service, out: Path) -> tuple[dict, list[dict], str, float]:
    config, report, known = out / "schemathesis.toml", out / "report.json", out / "known-bugs.jsonl"
    config.write_text(schemathesis_config(svc), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCHEMATHESIS_HOOKS": "tests.app.api.schemathesis_hooks",
           "ASKDESK_ST_SEED_SOURCES": ",".join(SEED_SOURCES), "ASKDESK_ST_KNOWN_LOG": str(known)}  # fmt: skip
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
           "run", f"{svc.url}/openapi.json", "--checks", "all",
           "--phases", "examples,coverage,fuzzing,stateful",
           "--report", "json,junit", "--report-dir", str(out), "--report-json-path", str(report),
           "--report-junit-path", str(out / "junit.xml")]  # fmt: skip
    t0 = time.monotonic()
    done = subprocess.run(
        cmd, cwd=out, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    elapsed = time.monotonic() - t0
    output = done.stdout + done.stderr
    (out / "schemathesis.out").write_text(output, encoding="utf-8")
    assert report.exists(), f"schemathesis wrote no report (exit {done.returncode}):\n{output[-6000:]}"
    lines = known.read_text(encoding="utf-8").splitlines() if known.exists() else []
    known_bugs = [json.loads(line) for line in lines]
    return json.loads(report.read_text(encoding="utf-8")), known_bugs, output, elapsed


def summary(report: dict, known_bugs: list[dict], elapsed: float) -> str:
    ops, cases = report["operations"], report["test_cases"]
    lines = [f"schemathesis {report['schemathesis_version']}, seed {report['seed']}: {elapsed:.0f} s",
             f"operations: {ops['tested']} tested of {ops['selected']} selected ({ops['total']} in the spec)",
             f"test cases: {cases['generated']} generated, {cases['with_failures']} with failures, "
             f"{cases['without_checks']} without checks (skipped), {cases['errored']} errored",
             "phases: " + ", ".join(f"{n} {p['status']}" for n, p in report["phases"].items())]  # fmt: skip
    by_kind = {f"{f['code']} {f['title']} ({f['type']})": f for f in report["failures"]}
    lines.append(
        "failures by kind: " + (", ".join(f"{k}: {f['count']}" for k, f in by_kind.items()) or "none")
    )
    for f in report["failures"]:
        lines.append(f"  {f['code']} {f['title']}: {', '.join(f['operations'])}")
    lines.append(
        f"dropped by filter_failure: {report['filtered']} (known bugs among them: {len(known_bugs)})"
    )
    for (bug, op), n in Counter((k["bug"], k["operation"]) for k in known_bugs).items():
        lines.append(f"  known bug, {op}: {bug} ({n}x)")
    if report["errors"]:
        lines.append(f"errors: {json.dumps(report['errors'], ensure_ascii=False)[:2000]}")
    warnings = {k: v for k, v in report["warnings"].items() if v}
    if warnings:
        lines.append(f"warnings: {json.dumps(warnings, ensure_ascii=False)}")
    return "\n".join(lines)


def test_schemathesis_all_checks_against_the_running_service(throwaway_service, tmp_path):
    svc = throwaway_service
    report, known_bugs, output, elapsed = run_schemathesis(svc, tmp_path)
    text = summary(report, known_bugs, elapsed)
    print("\n" + text)
    detail = f"{text}\n\n--- schemathesis output (tail) ---\n{output[-8000:]}"

    assert report["complete"] and report["stop_reason"] == "completed", detail
    assert report["errors"] == [], detail  # e.g. a health check that stopped an operation's tests
    ops = report["operations"]
    assert ops["selected"] == ops["total"] >= 15 and ops["tested"] == ops["selected"], detail
    assert all(
        report["phases"][p]["status"] == "success" for p in ("examples", "coverage", "fuzzing", "stateful")
    ), detail
    kinds = Counter({f["type"]: f["count"] for f in report["failures"]})
    assert sum(kinds[k] for k in SERVER_ERRORS) == 0, detail
    assert sum(kinds[k] for k in RESPONSE_CONFORMANCE) == 0, detail
    assert not kinds, detail  # every other check too (what it may not hold is dropped, by name, in the hooks)

    # the run reached the service's core: the seed knowledge is all still there, the process is up
    sources = httpx.get(
        f"{svc.url}/api/admin/sources", headers={"X-Admin-Key": svc.admin_key}, timeout=30
    ).json()
    assert set(SEED_SOURCES) <= set(sources["sources"]), sources
    assert svc.proc.poll() is None
    log = (svc.data_dir.parent / "askdesk-serve.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[-4000:]
