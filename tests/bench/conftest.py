"""Benchmarks (run by `make bench`): shared fixtures and what goes into the benchmark JSON.

Every test under tests/bench must carry the ``bench`` marker, so that `make test`
(``-m "not bench"``) never runs one; collection fails loudly if one does not.
"""

from __future__ import annotations

import os
import platform
import shlex
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent
#: The machine is shared: the load average tells how busy it was around the run.
LOAD_AT_START = os.getloadavg()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if BENCH_DIR in Path(str(item.path)).resolve().parents
        and item.get_closest_marker("bench") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "benchmarks must carry @pytest.mark.bench (or a module-level pytestmark), "
            "so that `make test` does not run them: " + ", ".join(unmarked)
        )


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """What bench_report.py prints about the machine that ran the benchmarks."""
    machine_info["storeedge"] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform_processor": platform.processor(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_start": list(LOAD_AT_START),
        "load_end": list(os.getloadavg()),
    }


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    """The command that produced the figures, as run."""
    python = os.path.relpath(sys.executable, config.invocation_params.dir)
    if python.startswith(".."):
        python = Path(sys.executable).name
    args = [python, "-m", "pytest", *config.invocation_params.args]
    output_json["storeedge_command"] = shlex.join(args)


@pytest.fixture(scope="session")
def bench_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A session scratch directory; big files in it are removed at the end of the session
    (pytest keeps the last few base temp dirs, and these files run to gigabytes)."""
    path = tmp_path_factory.mktemp("bench")
    yield path
    for child in path.rglob("*"):
        if child.is_file() and child.stat().st_size > (8 << 20):
            child.unlink()
