"""Real recorded music from Debian packages, fetched by name (`apt-get download` + `dpkg-deb -x`) into a
cache outside git (MUSECHAT_REAL_MUSIC_CACHE, default ~/.cache/musechat/real-music). Never committed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("MUSECHAT_REAL_MUSIC_CACHE", Path.home() / ".cache" / "musechat" / "real-music"))


def _download(name: str, into: Path) -> None:
    result = subprocess.run(["apt-get", "download", name], cwd=into, capture_output=True, text=True)
    if result.returncode != 0 and "Unable to locate package" in result.stderr:
        # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        result = subprocess.run(["apt-get", "download", name], cwd=into, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"apt-get download {name} failed: {result.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def debian_package() -> Callable[[str], Path]:
    """name -> the package's extracted tree (downloaded once per cache)."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("the real-music suite fetches Debian packages: needs apt-get and dpkg-deb")

    def fetch(name: str) -> Path:
        target = CACHE / name
        if not target.is_dir():
            CACHE.mkdir(parents=True, exist_ok=True)
            _download(name, CACHE)
            [deb] = sorted(CACHE.glob(f"{name}_*.deb"))[-1:]
            partial = CACHE / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
            partial.rename(target)
            deb.unlink()
        return target

    return fetch
