"""The deploy files: Kubernetes manifests valid against the schemas kubernetes-validate
ships (strict: unknown fields refused; no network needed), YAML lint-clean, the ConfigMap
equal to config/default.toml, compose and Dockerfile wired to the same binary and setup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, timeout=120)


def manifests() -> list[Path]:
    files = sorted((DEPLOY / "k8s").glob("*.yaml"))
    assert files
    return files


def test_manifests_validate_strictly() -> None:
    result = run("kubernetes-validate", "--strict", *map(str, manifests()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout + result.stderr


def test_strict_validation_refuses_an_unknown_field(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "dispatcher.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(deployment))
    result = run("kubernetes-validate", "--strict", str(bad))
    assert result.returncode != 0, result.stdout + result.stderr


def test_yaml_is_lint_clean() -> None:
    result = run("yamllint", "--strict", "-c", str(DEPLOY / ".yamllint.yaml"), str(DEPLOY))
    assert result.returncode == 0, result.stdout + result.stderr


def test_configmap_is_the_shipped_config() -> None:
    configmap = yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())
    shipped = (ROOT / "config" / "default.toml").read_text()
    assert configmap["data"]["config.toml"] == shipped, "run scripts/gen_configmap.py"


def test_dispatcher_probes_volume_and_service() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "dispatcher.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"PersistentVolumeClaim", "Deployment", "Service"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == kinds["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == "smart-routing-config"
    assert mounts["config"] == "/etc/smart-routing"
    selector = kinds["Service"]["spec"]["selector"]
    assert selector.items() <= kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()


def test_compose_has_server_and_two_remote_workers() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    server = services["server"]["command"]
    assert server[0] == "serve" and server[server.index("--local-workers") + 1] == "2"
    remotes = [s for name, s in services.items() if name != "server"]
    assert len(remotes) == 2
    for remote in remotes:
        assert remote["command"][0] == "worker" and "--simulate" in remote["command"]
        assert "ws://server:8080/worker-listen" in remote["command"]


def test_dockerfile_builds_with_the_setup_script_ci_runs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2
    assert "RUN scripts/setup.sh" in dockerfile
    assert (ROOT / "scripts" / "setup.sh").is_file()
