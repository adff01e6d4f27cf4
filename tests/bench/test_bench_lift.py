"""Benchmark: the simulated lift at a larger scale (2 stores x 300 SKUs, 84 evaluated days
after 400 days of history, five seeds, tuned baseline), recording the lift and run time.

``simulated_lift`` runs in this process with the shipped ONNX models, as
``edge-agent lift --stores 2 --skus 300 --days 84 --seeds 1,2,3,4,5`` does. The figure is
SKU-days simulated per second (both arms, the tuning runs included); the lift itself (kit
minus tuned baseline, 95 % t-intervals over seeds) goes into the details.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from edge_agent.cycle import load_models
from edge_agent.lift import simulated_lift
from models import BOOTSTRAP_DIR

pytestmark = pytest.mark.bench

STORES, SKUS, DAYS, HISTORY = 2, 300, 84, 400
SEEDS = [1, 2, 3, 4, 5]
TARGET_S = 300.0  # a lift estimate a person waits for: under five minutes on the edge box


def test_lift_simulated(benchmark) -> None:
    models = load_models(BOOTSTRAP_DIR)
    runs: list[dict[str, Any]] = []
    benchmark.pedantic(
        lambda: runs.append(simulated_lift(stores=STORES, skus=SKUS, days=DAYS,
                                           history_days=HISTORY, seeds=SEEDS, models=models)),
        rounds=1, iterations=1,
    )  # fmt: skip
    doc = runs[0]
    source, metrics = doc["source"], doc["metrics"]
    assert source["tuning"]["matched"], source["tuning"]
    median_s = benchmark.stats.stats.median
    runs_per_seed = 2 + source["tuning"]["steps"]  # baseline, kit, tuning runs
    sku_days = STORES * SKUS * (DAYS + HISTORY) * len(SEEDS) * runs_per_seed

    def lift(name: str, arm: str) -> str:
        entry = metrics[name][arm]
        return f"{entry['mean']:+.4f} [{entry['ci95'][0]:+.4f}, {entry['ci95'][1]:+.4f}]"

    benchmark.extra_info.update(
        kind="lift",
        label=f"edge-agent lift, {STORES} stores x {SKUS} SKUs x {DAYS} days after {HISTORY}, "
        f"{len(SEEDS)} seeds",
        unit="SKU-days/s",
        median_s=median_s,
        figure=sku_days / median_s,
        target=TARGET_S,
        target_text="< 5 min",
        met=median_s < TARGET_S,
        rounds=1,
        kit_order_seconds=source["kit_order_seconds"],
        tuning_factor=source["tuning"]["factor"],
        stockout_rate_lift=lift("stockout_rate", "lift"),
        stockout_rate_lift_vs_tuned=lift("stockout_rate", "lift_vs_tuned"),
        lost_sales_units_lift_vs_tuned=lift("lost_sales_units", "lift_vs_tuned"),
        avg_inventory_value_lift_vs_tuned=lift("avg_inventory_value", "lift_vs_tuned"),
        waste_value_lift_vs_tuned=lift("waste_value", "lift_vs_tuned"),
    )
    print(f"[bench] lift: {median_s:.1f} s; stock-out rate kit - tuned baseline "
          f"{lift('stockout_rate', 'lift_vs_tuned')}", file=sys.stderr, flush=True)  # fmt: skip
