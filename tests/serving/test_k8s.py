"""serving/k8s/ (the manifests for several machines) is valid Kubernetes and wires what production needs.

Validated with real tools, offline: kubernetes-validate (the Kubernetes JSON schemas it ships,
strict: an unknown field is an error) and yamllint, both pinned in the `test` extra of the lock.
Then the properties that a schema cannot see: replicas, probes on routes the app really has,
ASKDESK_ variables that are real settings, Services that select a workload, non-root pods."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "serving" / "k8s"
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.33.0"  # an old-enough cluster: fields newer than this would be refused
EXTERNAL = {"askdesk-secrets", "askdesk-knowledge"}  # created by the operator (README "Kubernetes")
YAMLLINT = "{extends: default, rules: {line-length: {max: 110}, document-start: disable, comments: {min-spaces-from-content: 1}}}"


def _kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def _files() -> list[Path]:
    return [K8S / name for name in _kustomization()["resources"]]


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return [doc for f in _files() for doc in yaml.safe_load_all(f.read_text()) if doc]


def _by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _workloads(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")}


def _containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: `make install` installs it from requirements.lock (test extra)")
    return str(path)


def test_every_manifest_is_in_the_kustomization():
    assert sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml") == sorted(
        p.name for p in _files()
    )


def test_manifests_pass_the_kubernetes_schemas_strictly():
    r = subprocess.run([_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION,
                        *map(str, _files())], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    # and the check is real: an unknown field (a typo) is refused
    bad = (K8S / "app.yaml").read_text().replace("readinessProbe:", "readinesProbe:", 1)
    r = subprocess.run([_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, "-"],
                       input=bad, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode != 0 and "readinesProbe" in r.stdout + r.stderr


def test_manifests_pass_yamllint():
    r = subprocess.run([_tool("yamllint"), "-s", "-d", YAMLLINT, str(K8S)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_app_runs_several_replicas_with_probes_on_real_routes(objects):
    from app.api.main import create_app

    app = _by_kind(objects, "Deployment")["askdesk-app"]
    assert app["spec"]["replicas"] >= 2
    (c,) = _containers(app)
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    paths = create_app(Settings(_env_file=None), lambda s: None).openapi()["paths"]  # no lifespan: nothing loads
    assert "get" in paths["/ready"] and "get" in paths["/health"]
    assert c["args"][:2] == ["askdesk", "serve"] and "0.0.0.0" in c["args"]
    port = int(c["args"][c["args"].index("--port") + 1])
    assert c["ports"][0]["containerPort"] == port


def _env_names(objects: list[dict]) -> set[str]:
    names = set()
    for cm in _by_kind(objects, "ConfigMap").values():
        names |= {k for k in cm.get("data", {}) if k.startswith("ASKDESK_")}
    for w in _workloads(objects).values():
        for c in _containers(w):
            names |= {e["name"] for e in c.get("env", []) if e["name"].startswith("ASKDESK_")}
    # the Secret the operator creates, as config.yaml's comment tells them to
    names |= set(re.findall(r"--from-literal=(ASKDESK_\w+)=", (K8S / "config.yaml").read_text()))
    return names


def test_every_askdesk_variable_is_a_setting(objects):
    names = _env_names(objects)
    assert {"ASKDESK_API_KEYS", "ASKDESK_ADMIN_KEY", "ASKDESK_DATABASE_URL", "ASKDESK_RATE_LIMIT_STORAGE",
            "ASKDESK_CHROMA_HOST", "ASKDESK_LLM_BACKENDS"} <= names  # fmt: skip
    fields = Settings.model_fields
    unknown = [n for n in names if n.removeprefix("ASKDESK_").lower().split("__")[0] not in fields]
    assert unknown == [], f"not Settings fields (extra='ignore' would drop them silently): {unknown}"


def _service_for(objects: list[dict], host: str, port: int) -> dict:
    svc = _by_kind(objects, "Service").get(host)
    assert svc is not None, f"no Service named {host}"
    assert port in [p["port"] for p in svc["spec"]["ports"]], f"Service {host} has no port {port}"
    return svc


def test_the_app_reaches_chroma_redis_and_both_engines_through_their_services(objects):
    config = _by_kind(objects, "ConfigMap")["askdesk-config"]["data"]
    s = Settings(_env_file=None, llm_backends=json.loads(config["ASKDESK_LLM_BACKENDS"]),
                 rate_limit_storage=config["ASKDESK_RATE_LIMIT_STORAGE"], chroma_host=config["ASKDESK_CHROMA_HOST"],
                 chroma_port=int(config["ASKDESK_CHROMA_PORT"]))  # fmt: skip
    _service_for(objects, s.chroma_host, s.chroma_port)
    storage = urlparse(s.rate_limit_storage)
    assert storage.scheme == "redis"
    _service_for(objects, storage.hostname, storage.port)
    roles = {b.role: urlparse(b.base_url) for b in s.llm_backends}
    assert set(roles) == {"gpu", "cpu"}
    for role, url in roles.items():
        _service_for(objects, url.hostname, url.port)
    # the replicas share one database: it must not be each pod's own SQLite
    secret_keys = set(re.findall(r"--from-literal=(ASKDESK_\w+)=", (K8S / "config.yaml").read_text()))
    assert "ASKDESK_DATABASE_URL" in secret_keys and "postgresql+psycopg://" in (K8S / "config.yaml").read_text()


def test_every_service_selects_a_workload_and_every_reference_exists(objects):
    pods = [w["spec"]["template"]["metadata"]["labels"] for w in _workloads(objects).values()]
    for name, svc in _by_kind(objects, "Service").items():
        sel = svc["spec"]["selector"]
        assert any(sel.items() <= labels.items() for labels in pods), f"Service {name} selects no pod"
    known = set(_by_kind(objects, "ConfigMap")) | set(_by_kind(objects, "PersistentVolumeClaim")) | EXTERNAL
    for name, w in _workloads(objects).items():
        spec = w["spec"]["template"]["spec"]
        refs = [v.get("configMap", {}).get("name") or v.get("persistentVolumeClaim", {}).get("claimName")
                for v in spec.get("volumes", [])]  # fmt: skip
        for c in spec["containers"]:
            refs += [e.get("configMapRef", {}).get("name") or e.get("secretRef", {}).get("name")
                     for e in c.get("envFrom", [])]  # fmt: skip
        assert all(r is None or r in known for r in refs), f"{name} refers to {set(refs) - known}"


def test_every_pod_runs_as_non_root(objects):
    for name, w in _workloads(objects).items():
        pod = w["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, name
        for c in _containers(w):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name


def test_vllm_gets_a_gpu_and_serves_the_checked_in_config(objects):
    vllm = _by_kind(objects, "Deployment")["vllm"]
    (c,) = _containers(vllm)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    config = yaml.safe_load(_by_kind(objects, "ConfigMap")["vllm-config"]["data"]["qwen3-0.6b.yaml"])
    assert config == yaml.safe_load((REPO / "serving/vllm/qwen3-0.6b.yaml").read_text())
    assert config["reasoning-parser"] == "qwen3"
    mount = next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "config")
    assert c["args"] == ["--config", f"{mount}/qwen3-0.6b.yaml"]
    assert c["ports"][0]["containerPort"] == config["port"]
    assert {p["path"] for p in (c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"])} == {"/health"}


def test_chroma_is_a_statefulset_on_its_own_volume(objects):
    chroma = _by_kind(objects, "StatefulSet")["chroma"]
    (claim,) = chroma["spec"]["volumeClaimTemplates"]
    (c,) = _containers(chroma)
    assert [m["name"] for m in c["volumeMounts"]] == [claim["metadata"]["name"]]
    assert c["readinessProbe"]["httpGet"]["path"] == "/api/v2/heartbeat"


def test_the_ingest_job_runs_a_real_command_on_the_knowledge_configmap(objects):
    job = _by_kind(objects, "Job")["askdesk-ingest"]
    (c,) = _containers(job)
    assert c["args"][:3] == ["askdesk", "ingest", "/knowledge"]
    knowledge = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "knowledge")
    assert knowledge["configMap"]["name"] == "askdesk-knowledge"
    assert any(m["mountPath"] == "/knowledge" and m["readOnly"] for m in c["volumeMounts"])
    r = subprocess.run([str(BIN / "askdesk"), "ingest", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and all(opt in r.stdout for opt in c["args"][3:] if opt.startswith("--"))


def test_kustomize_renders_what_the_schemas_accept():
    """`kubectl apply -k` as a user runs it: the rendered objects (image set, labels added) pass too."""
    import shutil

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed; the files themselves are checked above")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert {d["metadata"]["labels"]["app.kubernetes.io/part-of"] for d in docs} == {"askdesk"}
    images = {c["image"] for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}  # fmt: skip
    new = _kustomization()["images"][0]
    assert f"{new['newName']}:{new['newTag']}" in images and "askdesk" not in images
    r = subprocess.run([_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, "-"],
                       input=rendered.stdout, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
