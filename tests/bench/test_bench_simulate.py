"""Benchmark 2: the store simulator end to end, as the command line runs it.

``edge-agent simulate --store S100 --skus N --days D --seed 1 --db X.db --json`` runs as a
child process; we measure its wall time, its peak RSS (``os.wait4`` in a small launcher
process reports the rusage of that one command) and the rows it loaded (its JSON
``rows_loaded``). The raw limit, for the
small variant: generating the same rows without writing them (``generate(SimConfig(...))``
iterated fully, in this process), which gives the ratio generate only / end to end.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge_agent.simulate import SimConfig, generate

pytestmark = pytest.mark.bench

STORE, SEED, TZ = "S100", 1, "America/Chicago"  # TZ: the command's default --tz
SMALL = (2_000, 400)  # the acceptance-test size
BIG = (30_000, 730)
SMALL_ROUNDS = 3


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _edge_agent() -> str:
    here = Path(sys.executable).parent / "edge-agent"
    found = str(here) if here.exists() else shutil.which("edge-agent")
    assert found, "edge-agent is not installed in this environment (make venv)"
    return found


def _default_end() -> date:
    """The day the command simulates up to without --end: the store's yesterday."""
    return datetime.now(UTC).astimezone(ZoneInfo(TZ)).date() - timedelta(days=1)


#: Runs the command and reports its peak RSS. Measuring from a small launcher matters:
#: Linux counts the RSS a child had before exec (a fork of this big pytest process) in
#: its ru_maxrss, so waiting for the command directly would report pytest's size.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_simulate(db: Path, skus: int, days: int, log: Path) -> dict[str, Any]:
    """Run the command once; its JSON result plus wall seconds and the command's peak RSS."""
    command = [_edge_agent(), "simulate", "--store", STORE, "--skus", str(skus)]
    command += ["--days", str(days), "--seed", str(SEED), "--db", str(db), "--json"]
    rss_file = log.with_suffix(".rss")
    started = time.perf_counter()
    with log.open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(rss_file), *command],
            stdout=subprocess.PIPE,
            stderr=stderr,
            check=False,
        )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{tail}")
    result = json.loads(done.stdout)
    rows = sum(result["rows_loaded"].values())
    assert rows > 0 and result["rows_quarantined"] == 0, result
    return {
        "wall_s": wall,
        "peak_rss_mib": int(rss_file.read_text()) / 1024,  # Linux reports KiB
        "rows": rows,
        "rows_loaded": result["rows_loaded"],
        "end_date": result["end_date"],
    }


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def sim_db(bench_tmp: Path) -> Iterator[Path]:
    db = bench_tmp / "sim.db"
    _remove(db)
    yield db
    _remove(db)


#: The generate-only figures, read by the end-to-end benchmark of the same size.
RESULTS: dict[str, Any] = {}


def test_generate_only_small(benchmark) -> None:
    """The raw limit: every row of the small store generated and consumed, nothing written."""
    skus, days = SMALL
    end = _default_end()
    counts: list[int] = []

    def consume() -> None:
        cfg = SimConfig(store_id=STORE, skus=skus, days=days, seed=SEED, end_date=end, time_zone=TZ)
        rows = 0
        for batch in generate(cfg):
            for _ in batch.rows:
                rows += 1
        counts.append(rows)

    benchmark.pedantic(consume, rounds=SMALL_ROUNDS, iterations=1)
    assert counts and len(set(counts)) == 1 and counts[0] > 0  # deterministic, not empty
    median_s = benchmark.stats.stats.median
    RESULTS.update(median_s=median_s, rows=counts[0], end_date=end.isoformat())
    benchmark.extra_info.update(
        kind="raw",
        label=f"raw limit: simulator generate() only, {skus:,} SKUs x {days} days",
        unit="rows/s",
        rows=counts[0],
        median_s=median_s,
        figure=counts[0] / median_s,
        rounds=SMALL_ROUNDS,
    )
    _say(f"generate only {skus} x {days}: median {median_s:.2f} s, {counts[0]:,} rows")


def _record(benchmark, runs: list[dict[str, Any]], skus: int, days: int, rounds: int) -> None:
    median_s = benchmark.stats.stats.median
    rows = runs[-1]["rows"]
    assert all(run["rows"] == rows for run in runs), [run["rows"] for run in runs]
    rss = [run["peak_rss_mib"] for run in runs]
    figure = rows / median_s
    info: dict[str, Any] = {
        "kind": "simulate",
        "label": f"edge-agent simulate, {skus:,} SKUs x {days} days (subprocess)",
        "unit": "rows/s",
        "rows": rows,
        "rows_loaded": runs[-1]["rows_loaded"],
        "median_s": median_s,
        "figure": figure,
        "peak_rss_mib": round(max(rss), 1),
        "peak_rss_mib_median": round(statistics.median(rss), 1),
        "rounds": rounds,
        "end_date": runs[-1]["end_date"],
    }
    if (skus, days) == SMALL and RESULTS.get("end_date") == runs[-1]["end_date"]:
        raw_figure = RESULTS["rows"] / RESULTS["median_s"]
        info.update(raw_median_s=RESULTS["median_s"], raw_figure=raw_figure)
        info["ratio"] = figure / raw_figure  # = generate-only seconds / end-to-end seconds
        info["raw_rows"] = RESULTS["rows"]
    benchmark.extra_info.update(info)
    ratio = f", {info['ratio']:.2f} x generate-only" if "ratio" in info else ""
    _say(
        f"simulate {skus} x {days}: median {median_s:.1f} s, {rows:,} rows "
        f"({figure:,.0f} rows/s{ratio}), peak RSS {max(rss):.0f} MiB"
    )


def test_simulate_small(benchmark, sim_db: Path, bench_tmp: Path) -> None:
    skus, days = SMALL
    runs: list[dict[str, Any]] = []
    log = bench_tmp / "simulate-small.log"
    benchmark.pedantic(
        lambda: runs.append(run_simulate(sim_db, skus, days, log)),
        setup=lambda: _remove(sim_db),
        rounds=SMALL_ROUNDS,
        iterations=1,
    )
    _record(benchmark, runs, skus, days, SMALL_ROUNDS)


def test_simulate_big(benchmark, sim_db: Path, bench_tmp: Path) -> None:
    """30,000 SKUs x 730 days: one round, it takes minutes."""
    skus, days = BIG
    runs: list[dict[str, Any]] = []
    log = bench_tmp / "simulate-big.log"
    benchmark.pedantic(
        lambda: runs.append(run_simulate(sim_db, skus, days, log)),
        setup=lambda: _remove(sim_db),
        rounds=1,
        iterations=1,
    )
    _record(benchmark, runs, skus, days, 1)
