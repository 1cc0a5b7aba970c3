"""Report writing shared by the benchmark scripts: the environment a run measured on, markdown tables,
number formatting, plots, and the JSON + markdown files under docs/benchmarks/.

Why one module: every report states its machine, load and peak RSS beside its times, and renders tables
and plots the same way; written once here, a fix (a number format, a non-interactive matplotlib backend,
a trailing newline) reaches every report. The scripts import it as a sibling (`from report import ...`:
a script's own directory is first on `sys.path`); tests load it the same way.

Nothing here imports the package or a heavy library at module level (matplotlib loads inside `pyplot`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NONE = "–"  # how a missing figure prints in a table


@dataclass(frozen=True)
class Environment:
    """What a run measured on: every report prints it beside its figures (a shared 2-core host varies)."""

    date_utc: str  # "%Y-%m-%d %H:%M UTC"
    machine: str  # platform.machine()
    processor: str  # platform.processor(), or the machine when it says nothing
    cpus: int
    python: str
    niceness: int
    loadavg: tuple[float, float, float]

    def summary(self, cores: str = "CPUs", note: str = "") -> str:
        """`x86_64, 2 CPUs, Python 3.11.9` (+ `note` after the core count, e.g. "shared with other jobs")."""
        return f"{self.machine}, {self.cpus} {cores}{' ' + note if note else ''}, Python {self.python}"


def environment() -> Environment:
    """The environment now (call it at the start of a run; `loadavg()` again at the end)."""
    return Environment(
        date_utc=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=platform.machine(),
        processor=platform.processor() or platform.machine(),
        cpus=os.cpu_count() or 1,
        python=platform.python_version(),
        niceness=os.nice(0),
        loadavg=loadavg(),
    )


def loadavg(digits: int = 2) -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, digits), round(five, digits), round(fifteen, digits)


def peak_rss_mb(children: bool = False) -> float:
    """Peak RSS of this process (or of its waited-for children) so far, in MiB (Linux reports KiB)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fmt(x: Any, digits: int = 1) -> str:
    """A table cell: floats with thousands separators and `digits` decimals, None as a dash, else str()."""
    return NONE if x is None else f"{x:,.{digits}f}" if isinstance(x, float) else str(x)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A markdown table as lines; cells are str()-ed as given (format numbers with `fmt` first)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (benchmarks run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 120, rect: tuple[float, float, float, float] | None = None) -> Path:
    """Lay out (within `rect`, e.g. above a figure legend), write and close a figure (closing frees it:
    scripts draw several)."""
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Pretty JSON with a trailing newline (the committed reports' format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_markdown(path: Path, text: str | Sequence[str]) -> Path:
    """A markdown report from a string or from lines (joined with newlines, written as given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if isinstance(text, str) else "\n".join(text), encoding="utf-8")
    return path
