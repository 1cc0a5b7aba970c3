"""The chart with the real helm binary: lint --strict, render, validate every manifest against the
Kubernetes schemas of two versions, security and scheduling invariants, values.schema.json rejections."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CHART, VALUES_FILES, helm_args, render

pytestmark = pytest.mark.integration

KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")
# Custom resources: the operators' CRDs are not in kubernetes-validate's schemas (they warn, not fail).
CUSTOM_GROUPS = ("kafka.strimzi.io/", "monitoring.coreos.com/", "keda.sh/")
GPU_COMPONENTS = ("text-encoder", "video-encoder", "music-encoder", "fusion-ranker", "vllm")


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            specs.append((f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            specs.append((f"CronJob/{doc['metadata']['name']}", doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_lint_strict(helm: Path, name: str) -> None:
    result = subprocess.run([str(helm), "lint", "--strict", str(CHART), *helm_args(VALUES_FILES[name])],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def kubernetes_validate() -> Iterator[Any]:
    """kubernetes-validate with its schema files read once (it re-reads the large definitions file on
    every call: 10 s per values file instead of about 1 s)."""
    import kubernetes_validate
    import kubernetes_validate.utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents",
                      functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents))
        yield kubernetes_validate


@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_every_manifest_validates_strictly(rendered: dict[str, list[dict[str, Any]]], name: str,
                                           kubernetes_validate: Any) -> None:
    checked = 0
    for doc in rendered[name]:
        if doc["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {error.message}")
            checked += 1
    assert checked >= 2 * 40, f"only {checked} manifest checks in {name}: did the chart render?"


@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_restricted_security_everywhere(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    for where, spec in pod_specs(rendered[name]):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"].get("limits", {}).get("memory"), f"{where}: no memory limit"
        for container in spec["containers"]:
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}/{container['name']}: no writable /tmp under a read-only root"


def test_gpu_values_schedule_gpu_components_on_the_gpu_pool(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployments = by_kind(rendered["gpu"], "Deployment")
    for component in GPU_COMPONENTS:
        spec = deployments[f"mc-musechat-{component}"]["spec"]["template"]["spec"]
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1, component
        assert spec["nodeSelector"] == {"musechat.io/pool": "gpu"}, component
        assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"]), component
    for component in ("gateway", "explainer", "catalog-worker", "indexer"):
        spec = deployments[f"mc-musechat-{component}"]["spec"]["template"]["spec"]
        assert "nvidia.com/gpu" not in spec["containers"][0]["resources"].get("limits", {}), component
        assert "nodeSelector" not in spec, component
    for name in ("default", "cpu"):
        for where, spec in pod_specs(rendered[name]):
            for container in spec["containers"]:
                assert "nvidia.com/gpu" not in container["resources"].get("limits", {}), f"{name}: {where}"


def test_vllm_serves_lora_adapters_reachable_only_from_the_explainer(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["gpu"]
    vllm = by_kind(docs, "Deployment")["mc-musechat-vllm"]["spec"]["template"]["spec"]
    args = vllm["containers"][0]["args"]
    assert "--enable-lora" in args
    assert args[args.index("--lora-modules") + 1] == "explainer=/adapters/explainer"
    env = {e["name"]: e.get("value") for e in vllm["containers"][0]["env"]}
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert vllm["initContainers"][0]["name"] == "copy-adapters"
    policy = by_kind(docs, "NetworkPolicy")["mc-musechat-vllm"]["spec"]
    sources = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert sources == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "musechat", "app.kubernetes.io/instance": "mc",
        "app.kubernetes.io/component": "explainer"}}}]
    explainer_env = by_kind(docs, "ConfigMap")["mc-musechat-explainer-env"]["data"]
    assert explainer_env["MUSECHAT_EXPLAINER_VLLM_URL"].startswith("http://mc-musechat-vllm:8000")
    assert "mc-musechat-vllm" not in by_kind(rendered["default"], "Deployment")


def test_runtime_adapter_loads_reach_every_vllm_replica(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The explainer resolves a headless Service (one address per ready vLLM pod) and loads on each."""
    docs = rendered["gpu"]
    headless = by_kind(docs, "Service")["mc-musechat-vllm-headless"]["spec"]
    vllm = by_kind(docs, "Deployment")["mc-musechat-vllm"]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["selector"] == vllm["selector"]["matchLabels"]
    explainer_env = by_kind(docs, "ConfigMap")["mc-musechat-explainer-env"]["data"]
    assert explainer_env["MUSECHAT_EXPLAINER_VLLM_REPLICAS_HOST"] == "mc-musechat-vllm-headless"


def test_internal_services_accept_only_their_callers(rendered: dict[str, list[dict[str, Any]]]) -> None:
    policies = by_kind(rendered["default"], "NetworkPolicy")
    assert policies["mc-musechat-default-deny"]["spec"]["policyTypes"] == ["Ingress"]
    ranker = policies["mc-musechat-fusion-ranker"]["spec"]["ingress"]
    callers = [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
               for rule in ranker for peer in rule["from"] if "podSelector" in peer]
    assert callers == ["gateway"]
    qdrant = policies["mc-musechat-qdrant"]["spec"]["ingress"][0]["from"]
    clients = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in qdrant}
    # The dataset writer reads each turn's video and track features back from the store (issue #14).
    assert clients == {"gateway", "fusion-ranker", "indexer", "dataset-writer", "train-and-reindex"}


def test_workloads_have_hpa_pdb_and_probes(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["default"]
    assert {"mc-musechat-gateway", "mc-musechat-fusion-ranker"} <= set(by_kind(docs, "HorizontalPodAutoscaler"))
    assert "mc-musechat-gateway" in by_kind(docs, "PodDisruptionBudget")
    for name, deployment in by_kind(docs, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{name} has no {probe}"


def test_monitoring_and_jobs_switch_on_by_values(rendered: dict[str, list[dict[str, Any]]]) -> None:
    kinds_default = {doc["kind"] for doc in rendered["default"]}
    assert not {"PrometheusRule", "ServiceMonitor"} & kinds_default
    cpu = rendered["cpu"]
    rule = next(doc for doc in cpu if doc["kind"] == "PrometheusRule")
    alerts = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}
    # Absent targets, crash loops and the turn SLO's multi-window burn rates were added for issue #14.
    assert alerts == {"MuseChatHighP99Latency", "MuseChatHighErrorRatio", "MuseChatDeadLetterGrowth",
                      "MuseChatConsumerLag", "MuseChatTargetAbsent", "MuseChatCrashLooping",
                      "MuseChatTurnSloFastBurn", "MuseChatTurnSloSlowBurn"}
    records = {r["record"] for group in rule["spec"]["groups"] for r in group["rules"] if "record" in r}
    assert records == {f"musechat:turn_bad_ratio:rate{w}" for w in ("5m", "30m", "1h", "6h")}
    absent = {r["labels"]["component"] for group in rule["spec"]["groups"] for r in group["rules"]
              if r.get("alert") == "MuseChatTargetAbsent"}
    assert absent == {d["metadata"]["labels"]["app.kubernetes.io/component"]
                      for d in cpu if d["kind"] == "Deployment" and d["metadata"]["name"] != "mc-musechat-qdrant"}
    dashboards = by_kind(cpu, "ConfigMap")["mc-musechat-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yaml.safe_load(dashboards["data"]["musechat-overview.json"])["uid"] == "musechat-overview"
    jobs = by_kind(cpu, "Job")
    # Training is a CronJob (scheduled or triggered), not a Job per release revision (issue #14, defect 7).
    assert not [name for name in jobs if name.startswith("mc-musechat-train-")]
    train = by_kind(cpu, "CronJob")["mc-musechat-train-and-reindex"]
    pod = train["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # One step: the registry's `model train ... --publish` trains, gates and publishes (docs/learning-loop.md).
    assert [c["name"] for c in pod["containers"]] == ["train"] and "initContainers" not in pod
    assert pod["containers"][0]["args"][:3] == ["musechat", "model", "train"]
    assert train["spec"]["concurrencyPolicy"] == "Forbid"
    smoke = jobs["mc-musechat-smoke-test"]
    assert smoke["metadata"]["annotations"]["helm.sh/hook"] == "test"


def test_api_key_file_holds_the_smoke_test_key_hash_only(rendered: dict[str, list[dict[str, Any]]]) -> None:
    import base64
    import hashlib
    import json

    secrets = by_kind(rendered["default"], "Secret")
    smoke_key = base64.b64decode(secrets["mc-musechat-secrets"]["data"]["smoke-test-api-key"]).decode()
    lines = [json.loads(line) for line in
             secrets["mc-musechat-api-keys"]["stringData"]["api-keys.jsonl"].splitlines() if line.strip()]
    assert lines == [{"name": "helm-smoke-test", "scopes": ["read"],
                      "sha256": hashlib.sha256(smoke_key.encode()).hexdigest()}]


BROKEN_VALUES = {
    "unknown component key": {"gateway": {"replica": 3}},
    "bad component type": {"indexer": {"type": "cronjob"}},
    "root allowed": {"podSecurityContext": {"runAsNonRoot": False}},
    "writable root filesystem": {"containerSecurityContext": {"readOnlyRootFilesystem": False}},
    "lowercase env name": {"textEncoder": {"env": {"musechat_text_encoder_device": "cuda"}}},
    "unknown kafka mode": {"kafka": {"mode": "zookeeper"}},
    "bad api key hash": {"apiKeys": {"entries": [{"name": "x", "sha256": "abc", "scopes": ["read"]}]}},
    "unknown shared config group": {"gateway": {"config": ["bus", "redis"]}},
    "unknown network caller": {"fusionRanker": {"networkPolicy": {"allowFrom": ["everyone"]}}},
    "bento service without class": {"explainer": {"bentoService": "service"}},
    "unknown top-level key": {"replicaCount": 3},
    "bad image digest": {"gateway": {"image": {"digest": "sha256:abc"}}},
    "unknown strimzi api": {"kafka": {"strimzi": {"apiVersion": "kafka.strimzi.io/v1alpha1"}}},
}


@pytest.mark.parametrize("case", list(BROKEN_VALUES))
def test_schema_rejects_broken_values(helm: Path, tmp_path: Path, case: str) -> None:
    values = tmp_path / "broken.yaml"
    values.write_text(yaml.safe_dump(BROKEN_VALUES[case]))
    result = render(helm, "-f", str(values))
    assert result.returncode != 0, f"schema accepted: {case}"
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr


@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_alert_and_recording_rules_are_valid_promql(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    """Every rule expression parses with a real PromQL parser (promql-parser, the Rust crate's bindings):
    Prometheus rejects a whole PrometheusRule for one bad expression (e.g. `\\{` is no valid escape)."""
    import promql_parser

    parsed = 0
    for doc in rendered[name]:
        if doc["kind"] != "PrometheusRule":
            continue
        for group in doc["spec"]["groups"]:
            for rule in group["rules"]:
                try:
                    promql_parser.parse(rule["expr"])
                except Exception as error:  # the parser raises plain exceptions with the position
                    pytest.fail(f"{name}: {rule.get('alert') or rule.get('record')}: {error}\n{rule['expr']}")
                parsed += 1
    assert parsed >= (20 if name in ("cpu", "gpu") else 0)  # monitoring is on in those two


def test_existing_secret_replaces_the_generated_one(helm: Path) -> None:
    """GitOps renders (no `lookup`) would rotate generated secrets on every sync: with existingSecret the
    chart renders none and every reference points at the managed Secret."""
    result = render(helm, "-f", str(VALUES_FILES["gpu"]), "--set", "existingSecret=managed")
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert "mc-musechat-secrets" not in by_kind(docs, "Secret")
    refs = set()
    for _, spec in pod_specs(docs):
        for container in spec["containers"]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] in ("state-secret", "qdrant-api-key"):
                    refs.add(ref["name"])
    assert refs == {"managed"}


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if (expr["operator"] == "DoesNotExist" and present) or (expr["operator"] == "Exists" and not present):
            return False
    return True


def _dropped_by_relabeling(endpoint: dict[str, Any], service_labels: dict[str, str]) -> bool:
    """Whether a `drop` relabeling on the Service's component label removes this target (as Prometheus would)."""
    component = service_labels.get("app.kubernetes.io/component", "")
    return any(rule.get("action") == "drop"
               and rule.get("sourceLabels") == ["__meta_kubernetes_service_label_app_kubernetes_io_component"]
               and re.fullmatch(rule["regex"], component) is not None
               for rule in endpoint.get("relabelings", []))


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_every_scrape_target_is_admitted_by_the_network_policies(rendered: dict[str, list[dict[str, Any]]],
                                                                  name: str) -> None:
    """A ServiceMonitor endpoint whose pods' NetworkPolicies keep the metrics namespace out is an absent
    target (vLLM's was, issue #14): each scraped Service port must be open to that namespace."""
    docs = rendered[name]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    namespace_selector = values["networkPolicy"]["metricsNamespaceSelector"]
    policies = list(by_kind(docs, "NetworkPolicy").values())
    scraped, targets = 0, set()
    for monitor in by_kind(docs, "ServiceMonitor").values():
        for service in by_kind(docs, "Service").values():
            if not _selected(monitor["spec"]["selector"], service["metadata"].get("labels", {})):
                continue
            pod_labels = service["spec"]["selector"]
            ports = {p["name"] for p in service["spec"]["ports"]}
            for endpoint in monitor["spec"]["endpoints"]:
                if endpoint["port"] not in ports or _dropped_by_relabeling(endpoint, service["metadata"]["labels"]):
                    continue
                scraped += 1
                targets.add((service["metadata"]["name"], endpoint["port"]))
                admitted = any(
                    _selected(policy["spec"]["podSelector"], pod_labels)
                    and any(peer.get("namespaceSelector") == namespace_selector for peer in rule.get("from", []))
                    and any(p["port"] == endpoint["port"] for p in rule.get("ports", [{"port": endpoint["port"]}]))
                    for policy in policies for rule in policy["spec"].get("ingress", []))
                assert admitted, f"{name}: {service['metadata']['name']}:{endpoint['port']} is scraped but not admitted"
    assert scraped >= 10
    # The gateway's API port needs a key for /metrics: Prometheus scrapes its exporter port instead.
    assert ("mc-musechat-gateway", "metrics") in targets and ("mc-musechat-gateway", "http") not in targets
    qdrant = by_kind(docs, "ServiceMonitor")["mc-musechat-qdrant"]["spec"]["endpoints"][0]
    assert qdrant["authorization"]["credentials"] == {"name": "mc-musechat-secrets", "key": "qdrant-api-key"}


def test_vllm_scraping_opens_its_port_to_the_metrics_namespace_only_when_asked(helm: Path) -> None:
    result = render(helm, "-f", str(VALUES_FILES["gpu"]), "--set", "vllm.metrics.scrape=true")
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    service = by_kind(docs, "Service")["mc-musechat-vllm"]
    assert "musechat.io/metrics" not in service["metadata"]["labels"]
    rules = by_kind(docs, "NetworkPolicy")["mc-musechat-vllm"]["spec"]["ingress"]
    assert any("namespaceSelector" in peer for rule in rules for peer in rule["from"])


def test_workers_scale_on_consumer_lag_with_keda_when_asked(helm: Path) -> None:
    keda = "catalogWorker.autoscaling.keda.enabled=true,catalogWorker.autoscaling.keda.lagThreshold=20"
    result = render(helm, "-f", str(VALUES_FILES["cpu"]), "--set", keda)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    scaled = by_kind(docs, "ScaledObject")["mc-musechat-catalog-worker"]["spec"]
    assert scaled["scaleTargetRef"] == {"name": "mc-musechat-catalog-worker"}
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == "catalog-worker"
    assert trigger["metadata"]["topic"] == "musechat.catalog.track-submitted.v1"
    assert trigger["metadata"]["lagThreshold"] == "20"
    # TLS + SCRAM as the worker's own KafkaUser (the chart's Strimzi default).
    assert trigger["metadata"]["bootstrapServers"] == "mc-musechat-kafka-kafka-bootstrap:9093"
    assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == ("scram_sha512", "enable")
    auth = by_kind(docs, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]["spec"]
    assert {r["parameter"]: r["name"] for r in auth["secretTargetRef"]} == {
        "password": "mc-musechat-catalog-worker", "ca": "mc-musechat-kafka-cluster-ca-cert"}
    assert auth["env"] == [{"parameter": "username", "name": "MUSECHAT_BUS_SASL_USERNAME",
                            "containerName": "catalog-worker"}]
    assert "mc-musechat-catalog-worker" not in by_kind(docs, "HorizontalPodAutoscaler")
    assert "replicas" not in by_kind(docs, "Deployment")["mc-musechat-catalog-worker"]["spec"]


def test_qdrant_backup_cronjob_snapshots_every_replica(rendered: dict[str, list[dict[str, Any]]]) -> None:
    import ast

    docs = rendered["gpu"]
    cron = by_kind(docs, "CronJob")["mc-musechat-qdrant-backup"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["3", "7", "/backups"]  # qdrant.replicas, backup.keep
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]}
    assert claims["backups"] == "mc-musechat-qdrant-backups" and "mc-musechat-qdrant-backups" in by_kind(
        docs, "PersistentVolumeClaim")
    script = by_kind(docs, "ConfigMap")["mc-musechat-qdrant-backup"]["data"]["backup.py"]
    ast.parse(script)
    assert "mc-musechat-qdrant-{i}.mc-musechat-qdrant-headless:6333" in script
    sources = by_kind(docs, "NetworkPolicy")["mc-musechat-qdrant"]["spec"]["ingress"][0]["from"]
    assert any(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "qdrant-backup" for peer in sources)
    statefulset = by_kind(docs, "StatefulSet")["mc-musechat-qdrant"]["spec"]
    assert [t["metadata"]["name"] for t in statefulset["volumeClaimTemplates"]] == ["storage", "snapshots"]
    assert "mc-musechat-qdrant-backup" not in by_kind(rendered["default"], "CronJob")


def test_gpu_encoders_do_not_scale_on_cpu_and_can_scale_on_request_rate(
        rendered: dict[str, list[dict[str, Any]]], helm: Path) -> None:
    hpas = by_kind(rendered["gpu"], "HorizontalPodAutoscaler")
    deployments = by_kind(rendered["gpu"], "Deployment")
    for name, deployment in deployments.items():
        if "nvidia.com/gpu" in deployment["spec"]["template"]["spec"]["containers"][0]["resources"].get("limits", {}):
            assert name not in hpas, f"{name} runs on a GPU but scales on CPU"
    keda = ("textEncoder.autoscaling.enabled=true,textEncoder.autoscaling.keda.enabled=true,"
            "textEncoder.autoscaling.keda.requestsPerReplica=50,monitoring.prometheusUrl=http://prometheus:9090")
    result = render(helm, "-f", str(VALUES_FILES["gpu"]), "--set", keda)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    [trigger] = by_kind(docs, "ScaledObject")["mc-musechat-text-encoder"]["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metadata"]["threshold"] == "50"
    assert 'service="text-encoder"' in trigger["metadata"]["query"]
    import promql_parser

    promql_parser.parse(trigger["metadata"]["query"])
    missing = render(helm, "-f", str(VALUES_FILES["gpu"]), "--set", keda.rsplit(",", 1)[0])
    assert missing.returncode != 0 and "monitoring.prometheusUrl is required" in missing.stderr
