"""The house's import rules (pyproject.toml [tool.importlinter]) checked by import-linter on every
test run, so a change that makes app/ import ingest/ (or any other back edge) fails here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([*LINT, "--no-cache", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_project_keeps_every_import_contract():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "Contracts: 8 kept, 0 broken." in r.stdout


def test_a_back_edge_breaks_a_contract(tmp_path):
    """The same kind of contract on a two-package tree with one forbidden import: the tool says so."""
    (tmp_path / "floor").mkdir()
    (tmp_path / "floor" / "__init__.py").write_text("")
    (tmp_path / "floor" / "routes.py").write_text("from upper import jobs\n")
    (tmp_path / "upper").mkdir()
    (tmp_path / "upper" / "__init__.py").write_text("")
    (tmp_path / "upper" / "jobs.py").write_text("import floor\n")
    (tmp_path / ".importlinter").write_text(textwrap.dedent("""
        [importlinter]
        root_packages =
            floor
            upper
        [importlinter:contract:floor]
        name = floor imports nothing above it
        type = forbidden
        source_modules = floor
        forbidden_modules = upper
    """))
    r = _lint(tmp_path)
    assert r.returncode == 1
    assert "Contracts: 0 kept, 1 broken." in r.stdout
    assert "floor.routes -> upper.jobs" in r.stdout
