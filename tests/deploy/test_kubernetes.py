"""deploy/kubernetes/: valid against the Kubernetes schemas (offline), and saying the same
as the README, the Dockerfile, the settings and the CLI."""

from __future__ import annotations

import argparse
import copy
import shlex
from typing import Any

import kubernetes_validate
import pytest
import yaml

from redact_gw.cli import build_parser
from redact_gw.settings import CONFIG_ENV, ENV_OVERRIDES, load_settings
from tests.deploy.conftest import DEPLOY, ROOT, dockerfile_env, dockerfile_port, dockerfile_uid

K8S = DEPLOY / "kubernetes"
K8S_VERSION = "1.30"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
MANIFESTS = {name: yaml.safe_load((K8S / name).read_text())
             for name in KUSTOMIZATION["resources"]}
#: Environment names a redact-gw container may set: the settings' own, and libpq's.
KNOWN_ENV = set(ENV_OVERRIDES) | {CONFIG_ENV, "PGPASSWORD", "PGPASSFILE"}


def by_kind(kind: str) -> dict[str, Any]:
    found = [m for m in MANIFESTS.values() if m["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    if manifest["kind"] == "CronJob":
        return manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return manifest["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_kustomization_lists_every_manifest() -> None:
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert files == set(KUSTOMIZATION["resources"])
    kinds = {m["kind"] for m in MANIFESTS.values()}
    assert kinds == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                     "NetworkPolicy", "Job", "CronJob"}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_manifest_is_valid_against_the_kubernetes_schema(name: str) -> None:
    kubernetes_validate.validate(MANIFESTS[name], K8S_VERSION, strict=True)


def test_the_validator_catches_mistakes() -> None:
    """The schemas are really applied (offline, shipped in the package)."""
    bad = copy.deepcopy(by_kind("Deployment"))
    pod_spec(bad)["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    bad = copy.deepcopy(by_kind("Service"))
    bad["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_gateway_probes_port_and_shutdown_match_the_image() -> None:
    dep = by_kind("Deployment")
    spec = pod_spec(dep)
    (gw,) = spec["containers"]
    assert gw["args"] == ["serve"]
    (port,) = gw["ports"]
    assert port["containerPort"] == dockerfile_port() == 8080
    assert env_of(gw)["REDACT_GW_PORT"] == str(port["containerPort"])
    assert gw["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert gw["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    settings = load_settings(DEPLOY / "redact-gw.yaml", {})
    assert spec["terminationGracePeriodSeconds"] > settings.server.shutdown_timeout_s
    assert dep["spec"]["replicas"] >= 2
    assert gw["resources"]["requests"] and gw["resources"]["limits"]["memory"]


@pytest.mark.parametrize("name", ["deployment.yaml", "migrate-job.yaml", "purge-cronjob.yaml"])
def test_pods_are_non_root_read_only_and_name_real_settings(name: str) -> None:
    spec = pod_spec(MANIFESTS[name])
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == dockerfile_uid()
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert c["resources"]["requests"]
        unknown = {n for n in env_of(c) if n not in KNOWN_ENV}
        assert not unknown, f"{name}: {c['name']} sets unknown variables {unknown}"
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        assert "/tmp" in mounts or c["name"] == "install-keys"  # HOME and caches (Dockerfile)
    assert "HOME=/tmp" in (ROOT / "Dockerfile").read_text()


def _parse_cli(args: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(args)


@pytest.mark.parametrize(("name", "command"), [("migrate-job.yaml", "migrate"),
                                               ("purge-cronjob.yaml", "purge"),
                                               ("deployment.yaml", "serve")])
def test_jobs_run_real_cli_commands(name: str, command: str) -> None:
    (c,) = pod_spec(MANIFESTS[name])["containers"]
    assert c["args"] == [command]
    assert _parse_cli(c["args"]).fn.__name__ == f"cmd_{command}"


@pytest.mark.parametrize("name", ["deployment.yaml", "purge-cronjob.yaml"])
def test_init_container_installs_the_key_file_as_the_readme_says(name: str) -> None:
    spec = pod_spec(MANIFESTS[name])
    (init,) = spec["initContainers"]
    script = init["command"][-1]
    readme_line = "install -m 0400 -o 10001 /secret/keys.yaml /keys/keys.yaml"
    assert readme_line in (ROOT / "README.md").read_text()
    assert readme_line in " ".join(script.split())
    (main,) = spec["containers"]
    keys_path = env_of(main)["REDACT_GW_KEYS"]
    assert keys_path == "/keys/keys.yaml"
    for path in shlex.split(script.replace("&&", " ")):
        if path.startswith("/keys/") and path != keys_path:
            assert env_of(main).get("REDACT_GW_PRINCIPALS") == path
    mounts = {m["name"]: m for m in main["volumeMounts"]}
    assert mounts["keys"]["mountPath"] == "/keys" and mounts["keys"]["readOnly"] is True
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["keys"]["emptyDir"]["medium"] == "Memory"
    # secret volumes are root-owned: the gateway would refuse them as they are mounted
    assert volumes["secret"]["secret"]["defaultMode"] == 0o440
    assert spec["securityContext"]["fsGroup"] == dockerfile_uid()
    assert f"install -m 0400 -o {dockerfile_uid()} " in script


def test_service_pdb_and_network_policy_select_the_gateway() -> None:
    labels = by_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    svc, pdb, pol = by_kind("Service"), by_kind("PodDisruptionBudget"), by_kind("NetworkPolicy")
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < by_kind("Deployment")["spec"]["replicas"]
    assert pol["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_network_policy_egress_is_database_upstream_and_dns_only() -> None:
    pol = by_kind("NetworkPolicy")
    assert set(pol["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ports = sorted((p["protocol"], p["port"]) for rule in pol["spec"]["egress"]
                   for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("TCP", 5432), ("UDP", 53)]
    db_rule = next(r for r in pol["spec"]["egress"] if r["ports"][0]["port"] == 5432)
    vault = env_of(pod_spec(by_kind("Deployment"))["containers"][0])["REDACT_GW_VAULT"]
    assert vault.startswith("postgresql://") and ":5432/" in vault
    assert db_rule["to"][0]["podSelector"]
    upstream = env_of(pod_spec(by_kind("Deployment"))["containers"][0])["REDACT_GW_UPSTREAM_URL"]
    assert upstream.startswith("https://")  # port 443, the egress rule's


def test_configmap_is_the_production_config_and_it_loads() -> None:
    data = by_kind("ConfigMap")["data"]["redact-gw.yaml"]
    assert data == (DEPLOY / "redact-gw.yaml").read_text()
    mount = {m["name"]: m["mountPath"]
             for m in pod_spec(by_kind("Deployment"))["containers"][0]["volumeMounts"]}
    env = {k: v for k, v in env_of(pod_spec(by_kind("Deployment"))["containers"][0]).items()
           if isinstance(v, str)}
    assert env[CONFIG_ENV] == f"{mount['config']}/redact-gw.yaml"
    assert env[CONFIG_ENV] == dockerfile_env()[CONFIG_ENV]
    s = load_settings(DEPLOY / "redact-gw.yaml", env)
    assert s.mode == "production" and s.server.port == 8080 and s.server.host == "0.0.0.0"
    assert s.vault.migrate_on_start is False  # the migrate Job runs first
    assert s.retention.purge.schedule is None  # the CronJob purges


def test_readme_names_the_files() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ("deploy/compose.yaml", "deploy/kubernetes/", "/healthz", "/readyz",
                 "terminationGracePeriodSeconds: 40"):
        assert name in readme, name
