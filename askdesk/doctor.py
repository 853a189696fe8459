"""`askdesk doctor`: what this AskDesk would run with, and what it still lacks before it serves
anyone but this machine.

It reads the settings as `askdesk serve` does (environment, `.env`), looks at the knowledge store
without changing it, and asks each LLM backend what it serves; it loads no model. It exits 0 whatever
it finds (an engine down, an empty store are findings), and non-zero with one line per problem only
when the settings themselves are invalid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import typer
from pydantic import BaseModel, SecretStr

from app.settings import DEMO_WIDGET_KEY, LLMBackend, Settings

MASK = "****"
# the sample knowledge base's fictional company: a setting still holding it was not configured
SAMPLE_MARKERS = ("Northwind Harbor", "nwh.example")
# the packaged stand-in (serving/models.py: SmolLM2-135M-Instruct, GGUF or its bf16 dir); llama.cpp
# serves it under the served name only, so its shape tells it too: SmolLM2's vocabulary, ~135M params
STANDIN_NAME = "smollm2"
STANDIN_VOCAB = 49152
STANDIN_MAX_PARAMS = 200e6
SETTINGS_EXIT = 2  # invalid settings (1 is the domain errors' exit in askdesk/cli.py)


def env_name(field_name: str) -> str:
    return "ASKDESK_" + field_name.upper()


# --- settings, secrets masked ----------------------------------------------------------------------
def _mask_url(url: str, *, path_too: bool = False) -> str:
    """A URL without its password (``user:****@``); with ``path_too`` without path and query either
    (webhook URLs carry their token there: Slack, Teams)."""
    try:
        u = urlsplit(url)
    except ValueError:
        return url
    if not u.scheme or not u.netloc:
        return url
    netloc = u.netloc
    if u.password is not None:
        netloc = netloc.replace(f":{u.password}@", f":{MASK}@", 1)
    if path_too and (u.path.strip("/") or u.query):
        return urlunsplit((u.scheme, netloc, "/" + MASK, "", ""))
    return urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


def masked(value: Any, name: str = "") -> Any:
    """``value`` with every secret replaced: SecretStr fields (API, admin and exempt keys, the
    widget identity secret, backend keys; "EMPTY", the OpenAI client's no-key value, is shown),
    passwords in URLs, webhook paths. JSON-ready."""
    if isinstance(value, SecretStr):
        v = value.get_secret_value()
        return v if v in ("", "EMPTY") else MASK
    if isinstance(value, BaseModel):
        return {k: masked(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, (list, tuple)):
        return [masked(v, name) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value:
        return _mask_url(value, path_too="webhook" in name)
    return value


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, ensure_ascii=False)


def settings_lines(s: Settings) -> list[str]:
    """``ASKDESK_NAME = value`` for every setting, secrets masked, those not set marked (default)."""
    names = list(type(s).model_fields)
    width = max(len(env_name(n)) for n in names)
    lines = []
    for n in names:
        src = "" if n in s.model_fields_set else "   (default)"
        lines.append(f"  {env_name(n):<{width}} = {_show(masked(getattr(s, n), n))}{src}")
    return lines


def load_settings() -> tuple[Settings | None, list[str]]:
    """The settings `askdesk serve` would use, or one line per problem with them."""
    from limits import parse
    from limits.storage import SCHEMES
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        s = Settings()
    except ValidationError as e:
        out = []
        for err in e.errors(include_url=False, include_input=False):  # no input: it may be a secret
            loc = [str(x) for x in err["loc"]]
            where = env_name(loc[0]) + "".join(f"[{x}]" if x.isdigit() else f".{x}" for x in loc[1:])
            out.append(f"{where}: {err['msg']}")
        return None, out
    except SettingsError as e:  # a list or object that is not JSON
        return None, [f"{e}{' (lists and objects are JSON)' if e.__cause__ else ''}"]
    problems = []
    for n in ("rate_limit", "widget_ip_rate_limit", "admin_rate_limit", "auth_failure_limit"):
        try:
            parse(getattr(s, n))
        except ValueError as e:
            problems.append(f"{env_name(n)}: {getattr(s, n)!r} is not a rate limit ({e}; e.g. 60/minute)")
    scheme, sep, _ = s.rate_limit_storage.partition("://")
    if not sep or scheme not in SCHEMES:
        problems.append(f"{env_name('rate_limit_storage')}: {_mask_url(s.rate_limit_storage)!r} is not a storage "
                        "URI of `limits` (memory://, redis://host:6379, memcached://host:11211, ...)")  # fmt: skip
    return (None if problems else s), problems


# --- the knowledge store ---------------------------------------------------------------------------
def store_lines(s: Settings, timeout_s: float) -> list[str]:
    """Where the store is, and per configured embedding model its collection: records, the model
    it was built with. Never creates anything."""
    from app.knowledge_store import collection_name, make_chroma_client, pointer_name, read_active

    if s.chroma_host:
        where = f"Chroma server {s.chroma_host}:{s.chroma_port}"
        try:
            httpx.get(f"http://{s.chroma_host}:{s.chroma_port}/api/v2/heartbeat", timeout=timeout_s)
        except httpx.HTTPError as e:
            return [f"  {where}: unreachable ({type(e).__name__})"]
    else:
        where = f"embedded Chroma at {s.chroma_dir.resolve()}"
        if not s.chroma_dir.is_dir():
            return [f"  {where}: no store there yet: run `askdesk ingest <folder-or-file>`"]
    try:
        client = make_chroma_client(s)
        present = {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}
    except Exception as e:  # noqa: BLE001 - a store that cannot be opened is a finding, not a crash
        return [f"  {where}: cannot be opened: {type(e).__name__}: {e}"]
    lines = [f"  {where}, collection {s.collection!r}"]
    # after `askdesk reembed` the pointer names the set in force and its models (they win over the settings)
    active = read_active(client, s.collection)
    base, models = (active.base, active.models) if active else (s.collection, list(s.embedding_models))
    if active:
        lines.append(f"  in force: {base!r} (askdesk reembed, generation {active.generation}), models {models}")
    for i, model in enumerate(models):
        name = collection_name(base, i)
        if name not in present:
            lines.append(f"  {name}: missing ({model}): `askdesk ingest` fills it")
            continue
        col = client.get_collection(name, embedding_function=None)
        meta = col.metadata or {}
        built = meta.get("embedding_model")
        line = f"  {name}: {col.count()} records, embedding model {built} (dim {meta.get('dimension')})"
        if built != model:
            line += f"; configured {model}: re-ingest (`askdesk ingest --reset ...`) or configure {built}"
        lines.append(line)
    others = sorted(present - {collection_name(base, i) for i in range(len(models))} - {pointer_name(s.collection)})
    if others:
        lines.append(f"  other collections in this store: {', '.join(others)}")
    lines.append(calibration_line(s))
    return lines


def calibration_line(s: Settings) -> str:
    """Which calibration the service will use, from what is on disk (doctor fits nothing)."""
    import json

    from app.retrieval.kb_calibration import QUESTIONS_FILE, calibration_dir

    folder = calibration_dir(s)
    asked = folder / QUESTIONS_FILE
    if asked.is_file():
        return f"  calibration: fitted on labelled questions ({asked}; `askdesk calibrate --reset` removes it)"
    if not s.self_calibration:
        return "  calibration: global default (ASKDESK_SELF_CALIBRATION=false)"
    fits = sorted(folder.glob("kb-*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    if not fits:
        return "  calibration: none fitted yet (the next ingest, or the service's first search, fits it)"
    try:
        d = json.loads(fits[0].read_text(encoding="utf-8"))
        th = d.get("thresholds", {})
        return (f"  calibration: per-KB self-calibration of {d.get('entries', '?')} entries, answerable thresholds "
                f"en {th.get('en')} / zh {th.get('multi')}, no-answer {th.get('no_answer')} (refitted when the KB changes)")  # fmt: skip
    except (OSError, ValueError) as e:
        return f"  calibration: {fits[0]} unreadable ({e}); the service refits it"


# --- rate limits -----------------------------------------------------------------------------------
def storage_problem(s: Settings) -> str | None:
    """Why the rate-limit storage cannot be used from here (its client library missing), or None."""
    from limits.storage import storage_from_string

    try:
        storage_from_string(s.rate_limit_storage)  # builds the client; connects on first use only
    except Exception as e:  # noqa: BLE001 - limits raises ConfigurationError, a driver ImportError, ...
        return f"{type(e).__name__}: {e}"
    return None


def rate_limit_lines(s: Settings, problem: str | None) -> list[str]:
    exempt = len(s.rate_limit_exempt_keys) or "none"
    limits = (
        f"per client (API key, widget visitor or address) {s.rate_limit}; widget calls per address "
        f"{s.widget_ip_rate_limit}; admin per address {s.admin_rate_limit}; wrong keys per address "
        f"{s.auth_failure_limit}"
    )
    exempt_line = (
        f"exempt keys: {exempt} (ASKDESK_RATE_LIMIT_EXEMPT_KEYS: for evals and load tests, "
        "`askdesk eval run --api-key KEY` with one of them is not rate-limited)"
    )
    storage = f"counters in {_mask_url(s.rate_limit_storage)}" + (
        f": cannot be used here: {problem}" if problem else ""
    )
    return [f"  {x}" for x in (limits, exempt_line, storage)]


# --- LLM backends ----------------------------------------------------------------------------------
@dataclass
class BackendCheck:
    backend: LLMBackend
    reachable: bool = False
    detail: str = ""  # the error, or the HTTP status when not 200
    served: list[str] = field(default_factory=list)
    params: float | None = None  # n_params, when the engine says (llama.cpp)
    standin: bool = False


def check_backend(b: LLMBackend, timeout_s: float) -> BackendCheck:
    """GET {base_url}/models: reachable?, the model ids, and whether it is the packaged stand-in."""
    out = BackendCheck(b)
    key = b.api_key.get_secret_value()
    headers = {"Authorization": f"Bearer {key}"} if key and key != "EMPTY" else {}
    try:
        r = httpx.get(b.base_url.rstrip("/") + "/models", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as e:
        out.detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return out
    out.reachable = True
    if r.status_code != 200:
        out.detail = f"GET /models answered HTTP {r.status_code}"
        return out
    try:
        data = r.json()
    except ValueError:
        out.detail = "GET /models did not answer JSON"
        return out
    entries = [m for m in data.get("data") or [] if isinstance(m, dict)]
    out.served = [str(m.get("id")) for m in entries]
    metas = [m.get("meta") or {} for m in entries]
    out.params = next(
        (float(x["n_params"]) for x in metas if isinstance(x.get("n_params"), (int, float))), None
    )
    # ids, vLLM's `root` (the model path), llama.cpp's `models[].model`: where a model's name shows
    names = " ".join(
        [*out.served, *(str(m.get("root") or "") for m in entries)]
        + [str(m.get("model") or "") for m in data.get("models") or [] if isinstance(m, dict)]
    ).lower()
    out.standin = STANDIN_NAME in names or any(
        x.get("n_vocab") == STANDIN_VOCAB and (x.get("n_params") or 1e12) < STANDIN_MAX_PARAMS for x in metas
    )
    return out


def backend_lines(c: BackendCheck) -> list[str]:
    b = c.backend
    head = f"  {b.name} ({b.role}) {_mask_url(b.base_url)}, model {b.model!r}: "
    if not c.reachable:
        hint = (
            " (start it: `askdesk llm serve`)"
            if urlsplit(b.base_url).hostname in ("127.0.0.1", "localhost")
            else ""
        )
        return [head + f"unreachable: {c.detail}{hint}"]
    if c.detail:
        return [head + f"reachable, but {c.detail}"]
    lines = [head + "reachable, serves " + (", ".join(c.served) or "no models")]
    if c.served and b.model not in c.served:
        lines.append(
            f"    the configured model {b.model!r} is not among them: requests name it and may be refused"
        )
    if c.standin:
        size = f", {c.params / 1e6:.0f}M params" if c.params else ""
        lines.append(
            f"    this is the packaged stand-in SmolLM2-135M{size}: fine for a demo, not for users "
            "(serve Qwen3-0.6B or larger; `extract_languages` covers what it cannot write)"
        )
    elif c.params:
        lines.append(f"    {c.params / 1e6:.0f}M params")
    return lines


# --- what a deployment beyond localhost still needs ------------------------------------------------
def branding_problems(s: Settings) -> list[str]:
    """The sample company's branding in force (`askdesk demo` applies it only on the sample KB, so
    here it was set by hand or copied), and the neutral placeholders a new install starts with."""
    out = []
    sample = [
        n
        for n, v in ((n, getattr(s, n)) for n in type(s).model_fields)
        if isinstance(v, str) and any(m in v for m in SAMPLE_MARKERS)
    ]
    if "company_name" in sample:
        out.append(f"the sample company name {s.company_name!r} (ASKDESK_COMPANY_NAME)")
    contacts = [env_name(n) for n in sample if n not in ("company_name", "ticket_url")]
    if contacts:
        out.append("the sample company's contacts (nwh.example) in " + ", ".join(contacts))
    if "ticket_url" in sample:
        out.append(
            f"the sample ticket URL {s.ticket_url} (ASKDESK_TICKET_URL: your helpdesk's, with {{reference}}; empty for none)"
        )
    if not s.company_name:
        out.append('no company name (ASKDESK_COMPANY_NAME): answers speak for "the company"')
    defaults = Settings.model_fields
    placeholders = [
        env_name(n) for n in ("handoff_contact", "handoff_contact_zh") if getattr(s, n) == defaults[n].default
    ]
    if placeholders:
        out.append(
            f"the placeholder contact {defaults['handoff_contact'].default!r} in {', '.join(placeholders)}: "
            "how users reach a person when the knowledge base has no answer (an extension, an address)"
        )
    return out


def missing_for_deployment(
    s: Settings, backends: list[BackendCheck], storage: str | None = None
) -> list[str]:
    from app.api.deps import LOOPBACK

    out = []
    if not s.api_keys:
        out.append("no API keys (ASKDESK_API_KEYS): `askdesk serve` refuses a non-local address without them")
    if s.admin_key is None:
        out.append("no admin key (ASKDESK_ADMIN_KEY): with API keys set the admin API is off")
    if s.host in LOOPBACK:
        out.append(f"host {s.host} (ASKDESK_HOST or `askdesk serve --host`): only this machine can connect")
    if not s.widget_origins:
        out.append(
            "no widget origins (ASKDESK_WIDGET_ORIGINS): the widget works only on the service's own pages"
        )
    if s.api_keys and not s.active_widget_keys:
        out.append("no widget keys (ASKDESK_WIDGET_KEYS): with API keys set the widget has no key to use")
    elif DEMO_WIDGET_KEY in s.active_widget_keys:
        out.append(f"the demo widget key {DEMO_WIDGET_KEY!r} (ASKDESK_WIDGET_KEYS): set a key of your own")
    out += branding_problems(s)
    if storage:
        out.append(f"a rate-limit storage the service cannot use (ASKDESK_RATE_LIMIT_STORAGE): {storage}")
    for c in backends:
        if c.standin:
            out.append(
                f"LLM backend {c.backend.name!r} serves the packaged stand-in SmolLM2-135M (ASKDESK_LLM_BACKENDS)"
            )
    return out


def doctor(
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for each LLM backend and a Chroma server.")
    ] = 2.0,
) -> None:
    """Show the settings in force (secrets masked), the knowledge store, each LLM backend, the widget,
    and what is missing for a deployment beyond localhost."""
    s, problems = load_settings()
    if s is None:
        for p in problems:
            typer.echo(f"error: {p}", err=True)
        raise typer.Exit(SETTINGS_EXIT)
    env_file = Path(".env")
    source = f"environment and {env_file.resolve()}" if env_file.is_file() else "environment (no .env here)"
    echo = typer.echo
    echo(f"Settings in force (from the {source}; secrets masked):")
    for line in settings_lines(s):
        echo(line)
    echo("\nKnowledge store:")
    for line in store_lines(s, timeout):
        echo(line)
    echo("\nLLM backends (GET <base_url>/models):")
    checks = [check_backend(b, timeout) for b in s.llm_backends]
    for c in checks:
        for line in backend_lines(c):
            echo(line)
    storage = storage_problem(s)
    echo("\nRate limits (HTTP 429 past them):")
    for line in rate_limit_lines(s, storage):
        echo(line)
    echo("\nWidget:")
    echo(f"  keys (publishable): {', '.join(s.active_widget_keys) or 'none'}")
    echo(f"  origins allowed: {', '.join(dict.fromkeys(s.allowed_widget_origins))}"
         + ("" if s.widget_origins else "  (the service's own: ASKDESK_WIDGET_ORIGINS is empty)"))  # fmt: skip
    signers = [n for n, v in (("HS256 secret", s.widget_identity_secret), ("public key file", s.identity_public_key_file),
                               ("JWKS", s.identity_jwks_url)) if v]  # fmt: skip
    echo(f"  signed-in identity: {'on (' + ', '.join(signers) + ')' if signers else 'off'} "
         "(ASKDESK_WIDGET_IDENTITY_SECRET, ASKDESK_IDENTITY_PUBLIC_KEY_FILE, ASKDESK_IDENTITY_JWKS_URL)")  # fmt: skip
    missing = missing_for_deployment(s, checks, storage)
    if missing:
        echo(f"\nMissing for a deployment beyond localhost ({len(missing)}):")
        for m in missing:
            echo(f"  - {m}")
    else:
        echo("\nNothing missing for a deployment beyond localhost.")


def register(cli: typer.Typer) -> None:
    cli.command("doctor")(doctor)
