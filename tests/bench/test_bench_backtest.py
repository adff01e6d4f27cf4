"""Benchmark: `cloud-hub backtest replenishment` on a retailer-sized file.

M5's 280 series (``../shared/data``) copied into 10 stores each: 2,800 series, 4.5 million
rows over 5 years. The backtest must finish in minutes and fit in memory: it trains on a
stratified sample within ``backtest.TRAIN_ROWS`` daily rows (every 4th horizon of half the
SKUs here) and scores every series. Recorded: wall time, the command's peak RSS, RMSSE
against ma28's, and how many series trained; the raw limit is a bare ``csv.reader`` pass
over the same file (the figures are file rows per second).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloud_hub.datasets import convert_m5
from tests.bench.test_bench_simulate import _LAUNCHER
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.bench

COPIES = 10
TARGET_S = 600.0  # a backtest a person waits for
TARGET_RSS_MIB = 4096.0


def _replicated(tmp_path: Path) -> tuple[Path, Path]:
    daily, calendar = convert_m5(SHARED_DATA, tmp_path)
    big = tmp_path / "m5_x10.csv"
    with daily.open() as src, big.open("w") as dst:
        dst.write(src.readline())
        lines = src.readlines()
        for copy in range(COPIES):
            for line in lines:
                store, rest = line.split(",", 1)
                dst.write(f"{store}-{copy},{rest}")
    return big, calendar


def test_backtest_replenishment_on_a_large_file(benchmark, tmp_path: Path) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (CI always has it)")
    daily, calendar = _replicated(tmp_path)
    command = [str(Path(sys.executable).parent / "cloud-hub"), "backtest", "replenishment",
               "--daily-sales", str(daily), "--calendar", str(calendar),
               "--holdout-days", "28", "--json"]  # fmt: skip
    rss_file = tmp_path / "backtest.rss"
    runs: list[dict] = []

    def run() -> None:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss_file), *command],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append({"wall_s": time.perf_counter() - started,
                     "rss_mib": int(rss_file.read_text()) / 1024,
                     "result": json.loads(done.stdout)})  # fmt: skip

    benchmark.pedantic(run, rounds=1, iterations=1)
    started = time.perf_counter()
    with daily.open(newline="") as handle:
        file_rows = sum(1 for _ in csv.reader(handle)) - 1
    raw_s = time.perf_counter() - started
    result = runs[0]["result"]
    methods = result["methods"]
    assert result["series"] == 280 * COPIES
    assert result["train_series"] < result["series"]
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update(
        kind="backtest",
        label=f"cloud-hub backtest replenishment, M5 x {COPIES} stores ({result['series']:,} "
        f"series, trained on {result['train_series']:,})",
        unit="file rows/s",
        median_s=median_s,
        figure=file_rows / median_s,
        raw_figure=file_rows / raw_s,
        raw_median_s=raw_s,
        ratio=raw_s / median_s,
        rows=file_rows,
        peak_rss_mib=round(runs[0]["rss_mib"], 1),
        target=TARGET_S,
        target_text=f"< {TARGET_S / 60:.0f} min, < {TARGET_RSS_MIB / 1024:.0f} GiB",
        met=median_s < TARGET_S and runs[0]["rss_mib"] < TARGET_RSS_MIB,
        rounds=1,
        rmsse=methods["model"]["rmsse"],
        rmsse_ma28=methods["ma28"]["rmsse"],
        train_rows=result["train_rows"],
        train_horizon_stride=result["train_horizon_stride"],
    )
    print(f"[bench] backtest x{COPIES}: {median_s:.0f} s, peak RSS {runs[0]['rss_mib']:.0f} MiB, "
          f"RMSSE {methods['model']['rmsse']:.4f} (ma28 {methods['ma28']['rmsse']:.4f})",
          file=sys.stderr, flush=True)  # fmt: skip
