"""Run rendered pod specs as local processes: the container's command and args with exactly its rendered
environment (ConfigMaps and Secrets resolved from the same render), its volumes bound at their container
paths (one host folder per claim, shared; one per emptyDir and pod), under bubblewrap with a read-only
root, a read-only working directory and an /etc/hosts that resolves the release's Service names to
loopback. What the image would provide is emulated and named here: its virtualenv on PATH (this
checkout's .venv, or .venv-vllm for the vLLM image's `python3`), its WORKDIR and the service folder the
Dockerfile copies to /app/service.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deploy.conftest import ROOT

ROOT_DIRS = ("usr", "bin", "sbin", "lib", "lib64", "lib32", "etc", "opt")


@dataclass
class Mount:
    host: Path
    path: str
    read_only: bool


@dataclass
class Workload:
    name: str  # app.kubernetes.io/component
    pod: str  # Kind/name
    container: str
    argv: list[str]
    env: dict[str, str]
    mounts: list[Mount]
    workdir: str
    ports: list[int] = field(default_factory=list)
    probe: tuple[str, int] | None = None  # readiness (path, port)


def secrets(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for doc in docs:
        if doc.get("kind") != "Secret":
            continue
        data = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
        data.update(doc.get("stringData") or {})
        out[doc["metadata"]["name"]] = data
    return out


def _pod(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def workloads(docs: list[dict[str, Any]], state: Path) -> list[Workload]:
    """Every container of every workload (init containers first), ready to run under `state`."""
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    by_name = secrets(docs)
    out = []
    for doc in docs:
        pod = _pod(doc)
        if pod is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        component = doc["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")
        volumes: dict[str, Path] = {}
        for claim in doc["spec"].get("volumeClaimTemplates", []):  # a StatefulSet pod's own claims
            volumes[claim["metadata"]["name"]] = state / "pods" / doc["metadata"]["name"] / claim["metadata"]["name"]
            volumes[claim["metadata"]["name"]].mkdir(parents=True, exist_ok=True)
        for v in pod.get("volumes", []):
            if "persistentVolumeClaim" in v:
                host = state / "claims" / v["persistentVolumeClaim"]["claimName"]
            elif "secret" in v:
                host = state / "pods" / doc["metadata"]["name"] / v["name"]
                host.mkdir(parents=True, exist_ok=True)
                data = by_name[v["secret"]["secretName"]]
                items = v["secret"].get("items") or [{"key": k, "path": k} for k in data]
                for item in items:
                    (host / item["path"]).write_text(data[item["key"]])
            else:  # emptyDir: one per pod
                host = state / "pods" / doc["metadata"]["name"] / v["name"]
            host.mkdir(parents=True, exist_ok=True)
            volumes[v["name"]] = host
        for c in pod.get("initContainers", []) + pod["containers"]:
            env: dict[str, str] = {}
            for ref in c.get("envFrom", []):
                env.update({k: str(v) for k, v in config_maps[ref["configMapRef"]["name"]].items()})
            for e in c.get("env", []):
                if "value" in e:
                    env[e["name"]] = str(e["value"])
                else:
                    ref = e["valueFrom"]["secretKeyRef"]
                    env[e["name"]] = by_name[ref["name"]][ref["key"]]
            mounts = [Mount(volumes[m["name"]], m["mountPath"], bool(m.get("readOnly", False)))
                      for m in c.get("volumeMounts", [])]
            argv = [str(a) for a in c.get("command", []) + c.get("args", [])]
            probe = None
            if "readinessProbe" in c:
                http = c["readinessProbe"]["httpGet"]
                named = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
                probe = (http["path"], named.get(http["port"], http["port"]))
            workdir = "/app/service" if argv[:2] == ["bentoml", "serve"] else "/tmp"
            out.append(Workload(component, where, c["name"], argv, env, mounts, workdir,
                                [p["containerPort"] for p in c.get("ports", [])], probe))
    return out


def hosts_file(docs: list[dict[str, Any]], path: Path) -> Path:
    names = sorted(d["metadata"]["name"] for d in docs if d.get("kind") == "Service")
    path.write_text("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {n}\n" for n in names))
    return path


def sandbox_argv(w: Workload, hosts: Path) -> list[str]:
    """bubblewrap around the workload: read-only system dirs and checkout (the image's contents), the
    volumes at their container paths, /etc/hosts for Service names, then the rendered command."""
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is missing (apt-get install -y bubblewrap)"
    # A PID namespace per workload, as a container has: when the sandbox ends, the kernel ends every process
    # in it (BentoML's workers start sessions of their own, and outlived a SIGTERM to the process group).
    args = [bwrap, "--die-with-parent", "--unshare-pid", "--tmpfs", "/"]
    for d in ROOT_DIRS:
        if not Path(f"/{d}").exists():
            continue
        if any(m.path.startswith(f"/{d}/") for m in w.mounts):
            # A volume below a system dir (the gateway's keys at /etc/musechat/api-keys): the runtime makes
            # its mount point, which a read-only bind of the whole dir would not allow. The dir is made in
            # the sandbox's own root instead, and each entry of the host's bound (symlinks kept as links).
            args += ["--dir", f"/{d}"]
            for entry in sorted(Path(f"/{d}").iterdir()):
                if entry.is_symlink():
                    args += ["--symlink", os.readlink(entry), str(entry)]
                elif entry.exists():
                    args += ["--ro-bind", str(entry), str(entry)]
        else:
            args += ["--ro-bind", f"/{d}", f"/{d}"]
    # /sys read-only as in a container (vLLM's CPU build reads the topology through lscpu).
    args += ["--ro-bind", str(hosts), "/etc/hosts", "--dev", "/dev", "--proc", "/proc", "--ro-bind", "/sys", "/sys"]
    for m in sorted(w.mounts, key=lambda m: m.path.count("/")):
        args += ["--ro-bind" if m.read_only else "--bind", str(m.host), m.path]
    # The image's files: the checkout (its .venv stands for the image's /opt/venv, and the interpreter it
    # was made from for the image's Python) and /app/service. Bound after the volumes, so that a pod's
    # emptyDir at /tmp does not hide a checkout that lives under /tmp (as CI's fresh clone may).
    args += ["--ro-bind", str(ROOT), str(ROOT)]
    if not sys.base_prefix.startswith(("/usr/", f"{ROOT}/")):
        args += ["--ro-bind", sys.base_prefix, sys.base_prefix]
    if w.workdir == "/app/service":
        args += ["--ro-bind", str(ROOT / "services" / w.name), "/app/service"]
    args += ["--remount-ro", "/", "--chdir", w.workdir]
    argv = list(w.argv)
    if argv[:1] == ["python3"]:  # the vLLM image's interpreter: here the CPU build's venv
        argv[0] = str(ROOT / ".venv-vllm" / "bin" / "python")
    image_path = f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    env = ["env", "-i", f"PATH={image_path}", *[f"{k}={v}" for k, v in w.env.items()]]
    return args + env + argv


def start(w: Workload, hosts: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{w.name}-{w.container}.log").open("wb")
    return subprocess.Popen(sandbox_argv(w, hosts), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
