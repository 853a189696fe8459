"""Schemathesis hooks for tests/app/api/test_schemathesis.py (loaded by the `schemathesis run`
subprocess through SCHEMATHESIS_HOOKS; not a test module).

Narrow adjustments, each with its reason; every check still runs on every response:

- ``before_call``: no DELETE of the knowledge sources the throw-away service was seeded with
  (ASKDESK_ST_SEED_SOURCES): such a request goes to ``spared/<name>`` instead (a 404).
  Schemathesis learns source names from GET /api/admin/sources and deletes them; once the seed is
  gone every question is a 503 "knowledge base is empty" and the rest of the run tests only that.
  Sources uploaded during the run (uploads/...) are deleted freely.
- ``filter_failure`` drops two kinds of failure, matched on the request and the response:
  * INEXPRESSIBLE: a schema-valid request the API rightly refuses for a rule JSON Schema cannot
    state (listed with each rule);
  * KNOWN_BUGS: real bugs reported to the owner of the code, not fixed yet. Each one dropped is
    written to ASKDESK_ST_KNOWN_LOG, and the test prints them: delete an entry once it is fixed.
"""

from __future__ import annotations

import json
import os

import schemathesis

SEED_SOURCES = frozenset(filter(None, os.environ.get("ASKDESK_ST_SEED_SOURCES", "").split(",")))
SPARED = "spared/"

# (operation, status, error code, error param): schema-valid requests the API rightly refuses
INEXPRESSIBLE = {
    # the upload's file name must end in a supported suffix (415) and its bytes must parse as that
    # type (422): a multipart schema says neither (the file name is in Content-Disposition)
    ("POST /api/admin/sources", 415, "unsupported_file_type", "file"),
    ("POST /api/admin/sources", 422, "unreadable_file", "file"),
    # the last message must be a user's, with some text, at most
    # 4000 characters once stripped (app/api/openai_serving.py to_ask): JSON Schema cannot point at
    # an array's last item
    ("POST /v1/chat/completions", 400, None, "messages"),
    # `days` may be left out only when the server has a retention configured (ASKDESK_RETENTION_DAYS):
    # a server setting, not something the request's schema can state
    ("POST /api/admin/purge", 400, None, "days"),
}


def _allow_lists_one_route(label: str, case, response) -> bool:
    # GET and POST /api/admin/sources are two routes; Starlette answers another method with the
    # first route's 405, so `Allow: GET` leaves out POST (RFC 9110 15.5.6: all the methods)
    return case.operation.path == "/api/admin/sources" and response.headers.get("allow") in (["GET"], "GET")


KNOWN_BUGS = {
    # failure type -> (name, predicate)
    "AllowHeaderMismatch": ("405 on /api/admin/sources says `Allow: GET`, not POST", _allow_lists_one_route),
}


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.method.upper() == "DELETE" and case.path_parameters:
        source = case.path_parameters.get("source")
        if source in SEED_SOURCES:
            case.path_parameters["source"] = SPARED + source


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """False drops the failure."""
    kind = type(failure).__name__
    label = f"{case.method.upper()} {case.operation.path}"
    if kind == "RejectedPositiveData":
        try:
            error = json.loads(response.content)["error"]
        except (ValueError, KeyError, TypeError):
            return True
        return (label, response.status_code, error.get("code"), error.get("param")) not in INEXPRESSIBLE
    if kind in KNOWN_BUGS:
        name, known = KNOWN_BUGS[kind]
        if known(label, case, response):
            _record(name, label, case, response)
            return False
    return True


def _record(name: str, label: str, case, response) -> None:
    path = os.environ.get("ASKDESK_ST_KNOWN_LOG")
    if not path:
        return
    line = {"bug": name, "operation": label, "status": response.status_code, "body": case.body,
            "path_parameters": case.path_parameters, "query": case.query}  # fmt: skip
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False, default=repr) + "\n")
