"""Benchmark: retraining replenishment at the hub on 10 stores x 5,000 SKUs x 730 days.

Target (issue 7): `cloud-hub train replenishment` end to end (reading the synced daily
outcomes from the hub database, features, training the four artifacts, ONNX export with
the parity check, backtest of challenger and champion, signing and registering) under
5 minutes on this 2-core machine; peak RSS reported (the command's own, measured from a
small launcher as in test_bench_simulate.py).

The hub database is filled first through the hub's ingest call (7,300 DailyOutcome
records of 5,000 SKUs each, ~1.6 GB; not measured). Training uses the default stratified
sample of 500 SKUs per store (docs/ARCHITECTURE.md, "Retraining"); its accuracy cost is
measured beside it on two of the stores: the model trained on the sample vs the one
trained on every SKU, both scored on every SKU's held-out 28 days.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud_hub import hubdb
from tests.bench.test_bench_simulate import _LAUNCHER
from tests.outcome_data import write_outcomes

pytestmark = pytest.mark.bench

STORES, SKUS, DAYS = 10, 5_000, 730
TARGET_S = 300.0


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@pytest.fixture(scope="module")
def big_hub(tmp_path_factory) -> Iterator[Path]:
    db = tmp_path_factory.mktemp("train") / "hub.db"
    started = time.perf_counter()
    write_outcomes(db, stores=STORES, skus=SKUS, days=DAYS)
    size = db.stat().st_size / 2**30
    _say(f"hub database with {STORES} x {SKUS:,} x {DAYS} daily outcomes written in "
         f"{time.perf_counter() - started:.0f} s ({size:.1f} GiB)")  # fmt: skip
    yield db
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _train(db: Path, log: Path, *extra: str) -> dict[str, Any]:
    command = [str(Path(sys.executable).parent / "cloud-hub"), "train", "replenishment",
               "--db", str(db), "--json", "--by", "bench", *extra]  # fmt: skip
    rss_file = log.with_suffix(".rss")
    started = time.perf_counter()
    with log.open("wb") as stderr:
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss_file), *command],
                              stdout=subprocess.PIPE, stderr=stderr, check=False)  # fmt: skip
    wall = time.perf_counter() - started
    assert done.returncode == 0, log.read_text(errors="replace")[-2000:]
    return {"wall_s": wall, "peak_rss_mib": int(rss_file.read_text()) / 1024,
            "result": json.loads(done.stdout)}  # fmt: skip


def test_train_replenishment(benchmark, big_hub: Path) -> None:
    runs: list[dict[str, Any]] = []
    benchmark.pedantic(lambda: runs.append(_train(big_hub, big_hub.with_suffix(".log"))),
                       rounds=1, iterations=1)  # fmt: skip
    run = runs[0]
    result = run["result"]
    data = result["metrics"]["data"]
    assert data["stores"] == STORES and data["skus_total"] == STORES * SKUS
    assert result["metrics"]["challenger"]["error"] > 0
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update(
        kind="train",
        label=f"cloud-hub train replenishment, {STORES} stores x {SKUS:,} SKUs x {DAYS} days "
        f"(sample {data['series']:,} series)",
        unit="SKU-days/s",
        rows=STORES * SKUS * DAYS,
        median_s=median_s,
        figure=STORES * SKUS * DAYS / median_s,
        peak_rss_mib=round(run["peak_rss_mib"], 1),
        target=TARGET_S,
        target_text="< 5 min",
        met=median_s < TARGET_S,
        rounds=1,
        challenger_wape=result["metrics"]["challenger"]["error"],
        champion_wape=result["metrics"]["champion"]["error"],
        promoted=result["promoted"],
    )
    _say(f"train replenishment: {median_s:.0f} s, peak RSS {run['peak_rss_mib']:.0f} MiB, "
         f"challenger WAPE {result['metrics']['challenger']['error']:.4f} vs champion "
         f"{result['metrics']['champion']['error']:.4f}")  # fmt: skip


def test_train_replenishment_within_a_row_budget(benchmark, big_hub: Path) -> None:
    """The same hub with `--train-rows` at half the rows its sample makes (about 1.3
    million): a stratified half of each store's sample trains, and memory follows."""
    budget = 650_000
    runs: list[dict[str, Any]] = []
    log = big_hub.with_suffix(".budget.log")
    benchmark.pedantic(lambda: runs.append(_train(big_hub, log, "--train-rows", str(budget))),
                       rounds=1, iterations=1)  # fmt: skip
    run = runs[0]
    data = run["result"]["metrics"]["data"]
    assert data["series"] == STORES * 500 and data["train_series"] < data["series"] * 0.6
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update(
        kind="train",
        label=f"cloud-hub train replenishment, same hub, --train-rows {budget:,} "
        f"({data['train_series']:,} of {data['series']:,} series train)",
        median_s=median_s,
        peak_rss_mib=round(run["peak_rss_mib"], 1),
        rounds=1,
        challenger_wape=run["result"]["metrics"]["challenger"]["error"],
    )
    _say(f"train replenishment within {budget:,} rows: {median_s:.0f} s, peak RSS "
         f"{run['peak_rss_mib']:.0f} MiB, {data['train_series']} of {data['series']} series, "
         f"challenger WAPE {run['result']['metrics']['challenger']['error']:.4f}")  # fmt: skip


def test_sampling_accuracy_cost(benchmark, tmp_path: Path) -> None:
    """Two stores of the same data: trained on the 500-SKU sample vs on all 5,000 SKUs,
    both scored on all 10,000 series' held-out days."""
    from cloud_hub.synced import read_store_panels
    from cloud_hub.training import TrainOptions, _train_aligned, score_daily

    db = tmp_path / "two.db"
    write_outcomes(db, stores=2, skus=SKUS, days=DAYS)  # = the big hub's first two stores
    conn = hubdb.connect(db)
    options = TrainOptions()
    unbounded = dataclasses.replace(options, train_rows=10**9)  # all 10,000 series train
    scores: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    try:
        full = read_store_panels(conn)

        def fit(sample: int) -> None:
            stores = full if sample == 0 else read_store_panels(conn, sample_skus=sample)
            started = time.perf_counter()
            chosen = options if sample else unbounded
            models, _ = _train_aligned([s.panel for s in stores], options.holdout_days,
                                       chosen, lambda _: None)  # fmt: skip
            seconds[str(sample)] = time.perf_counter() - started
            pair = (models[0].predict, models[1].predict)
            scores[str(sample)] = score_daily(full, {"m": pair}, options.holdout_days, {})["m"]

        benchmark.pedantic(lambda: fit(options.sample_skus), rounds=1, iterations=1)
        fit(0)
    finally:
        conn.close()
    sampled, everything = scores[str(options.sample_skus)], scores["0"]
    cost = sampled.overall / everything.overall - 1
    benchmark.extra_info.update(
        kind="train",
        label=f"replenishment on a {options.sample_skus}-SKU sample vs all {SKUS:,} "
        "(2 stores): accuracy cost",
        median_s=benchmark.stats.stats.median,
        rounds=1,
        wape_sample=sampled.overall,
        wape_all=everything.overall,
        wape_cost_relative=cost,
        pinball_p90_sample=sampled.extra["pinball_p90"],
        pinball_p90_all=everything.extra["pinball_p90"],
        train_s_sample=seconds[str(options.sample_skus)],
        train_s_all=seconds["0"],
    )
    _say(f"sampling cost: WAPE {sampled.overall:.4f} (sample) vs {everything.overall:.4f} "
         f"(all SKUs), {cost:+.1%}; pinball P90 {sampled.extra['pinball_p90']:.4f} vs "
         f"{everything.extra['pinball_p90']:.4f}; training {seconds[str(options.sample_skus)]:.0f}"
         f" s vs {seconds['0']:.0f} s")  # fmt: skip
    assert cost < 0.05, "the sample costs more than 5 % WAPE: raise train_sample_skus"
