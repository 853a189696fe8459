"""The air-gapped install (README "Air-gapped install"): `make wheelhouse` gathers every lock, and
`make install-offline` installs from a wheelhouse alone. The real wheelhouse is large (torch's CPU
wheel alone is 192 MB) and needs the network: it is built, bundled and installed without network by
the slow tests/askdesk/test_bundle.py (`askdesk bundle`). Here the second test runs the real Makefile target, unchanged,
over a small wheelhouse of hand-made wheels (stand-ins for the locks and the project) in a fresh
venv, with pip's own configuration switched off so nothing but that folder can be read."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _dry_run(*targets: str, **variables: str) -> list[str]:
    r = subprocess.run(["make", "-n", "-C", str(REPO), *targets, *(f"{k}={v}" for k, v in variables.items())],
                       check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_wheelhouse_covers_both_locks_pip_and_the_project():
    lines = _dry_run("wheelhouse")
    wheels = [line for line in lines if " wheel " in line or " download " in line]
    assert all(
        "--no-deps" in line and ("-w wheelhouse" in line or "-d wheelhouse" in line) for line in wheels
    )
    assert any(line.endswith("-r requirements.lock --extra-index-url https://download.pytorch.org/whl/cpu")
               for line in wheels)  # fmt: skip
    assert any(line.endswith("-r requirements-nodeps.lock") for line in wheels)
    assert any(line.endswith(" .") for line in wheels)  # the project's own wheel
    assert any(line.endswith("pip==26.3") for line in wheels)
    offline = [line for line in _dry_run("install-offline") if "pip install" in line]
    assert offline and all("--no-index --find-links wheelhouse" in line for line in offline)
    # the same order as `make install`: pip, the lock, the project, then the --no-deps lock
    assert [line.rsplit(" ", 1)[-1] for line in offline] == [
        "pip==26.3", "requirements.lock", "askdesk", "requirements-nodeps.lock"]  # fmt: skip


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{name}-{version}.dist-info/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(c.encode())}" for p, c in files.items()]  # fmt: skip
    files[f"{name}-{version}.dist-info/RECORD"] = (
        "\n".join([*record, f"{name}-{version}.dist-info/RECORD,,"]) + "\n"
    )
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as z:
        for path, content in files.items():
            z.writestr(path, content)


@pytest.mark.slow
def test_install_offline_installs_from_the_wheelhouse_alone(tmp_path):
    import ensurepip

    house = tmp_path / "wheelhouse"
    house.mkdir()
    bundled = next((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    (house / bundled.name).write_bytes(bundled.read_bytes())
    pip_version = bundled.name.split("-")[1]
    _wheel(house, "locked_dep", "1.0.0")
    # declares a dependency that exists nowhere: installed with --no-deps, as the real nodeps lock is
    _wheel(house, "nodeps_pkg", "0.2.0", requires=("not-in-any-wheelhouse>=1",))
    _wheel(house, "the_project", "0.1.0")
    (tmp_path / "lock").write_text("locked_dep==1.0.0\n")
    (tmp_path / "nodeps").write_text("nodeps_pkg==0.2.0\n")
    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}  # no find-links / index from this machine's pip.conf
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    variables = {"VENV": venv, "WHEELHOUSE": house, "LOCK": tmp_path / "lock", "NODEPS_LOCK": tmp_path / "nodeps",
                 "PROJECT": "the_project", "PIP_VERSION": pip_version}  # fmt: skip
    r = subprocess.run(["make", "-C", str(REPO), "install-offline", *(f"{k}={v}" for k, v in variables.items())],
                       env=env, check=False, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    code = "import locked_dep, nodeps_pkg, the_project; print(locked_dep.VERSION, nodeps_pkg.VERSION, the_project.VERSION)"
    check = subprocess.run([venv / "bin/python", "-c", code], check=False, capture_output=True, text=True)
    assert check.stdout.split() == ["1.0.0", "0.2.0", "0.1.0"], check.stderr
    assert list(venv.glob(".installed-*")), "make demo would install again"
    # and nothing else comes in: a package missing from the wheelhouse is an error, not a download
    (tmp_path / "lock").write_text("locked_dep==1.0.0\nrequests==2.32.3\n")
    r = subprocess.run(["make", "-C", str(REPO), "install-offline", *(f"{k}={v}" for k, v in variables.items())],
                       env=env, check=False, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode != 0 and "No matching distribution found for requests==2.32.3" in r.stdout + r.stderr


def test_install_offline_without_a_wheelhouse_says_what_to_do(tmp_path):
    r = subprocess.run(["make", "-C", str(REPO), "install-offline", f"WHEELHOUSE={tmp_path / 'none'}",
                        f"VENV={tmp_path / 'venv'}"], check=False, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode != 0
    assert (
        f"no {tmp_path / 'none'}/ here: run 'make wheelhouse' where there is network and copy it" in r.stdout
    )
    assert not (tmp_path / "venv").exists()


def test_bundle_target_builds_the_archive_from_the_wheelhouse():
    lines = _dry_run("bundle", BUNDLE="/tmp/out/b.tar", WHEELHOUSE="/tmp/house")
    assert ".venv/bin/askdesk bundle /tmp/out/b.tar --wheelhouse /tmp/house" in lines
    assert "mkdir -p /tmp/out/" in lines
