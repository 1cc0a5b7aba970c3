"""Chart fixtures: the real helm binary (installed into .tools/ by scripts/install_helm.sh) and the chart
rendered once per values file for the whole session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "musechat"
VALUES_FILES = {"default": None, "cpu": CHART / "values-cpu.yaml", "gpu": CHART / "values-gpu.yaml",
                "ci": CHART / "values-ci.yaml"}
RELEASE = "mc"

if str(ROOT) not in sys.path:  # the loadtests package lives at the repository root
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def helm() -> Path:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "install_helm.sh")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, f"scripts/install_helm.sh failed:\n{result.stderr}"
    return ROOT / result.stdout.strip().splitlines()[-1]


def helm_args(values: Path | None) -> list[str]:
    return ["-f", str(values)] if values else []


def render(helm: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), "template", RELEASE, str(CHART), "--namespace", "musechat", *extra],
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def rendered(helm: Path) -> dict[str, list[dict[str, Any]]]:
    """values-file name -> the rendered manifests (helm template)."""
    out = {}
    for name, values in VALUES_FILES.items():
        result = render(helm, *helm_args(values))
        assert result.returncode == 0, f"helm template ({name}) failed:\n{result.stderr}"
        out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out
