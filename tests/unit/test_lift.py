"""Simulated lift: the kit's orders against the store's previous process, on the simulator.

One module-scoped run (1 store x 150 SKUs, 400 days of history, 56 evaluated days, five
seeds, the shipped ONNX models, the baseline tuned to the kit's inventory) takes a few
seconds; each test checks one property of it a user would check.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from edge_agent import cli
from edge_agent.cycle import load_models
from edge_agent.errors import ConfigError, EdgeAgentError
from edge_agent.lift import METRICS, load_scenario, simulated_lift, t_interval
from edge_agent.simulate import SimConfig, generate, replay
from models import BOOTSTRAP_DIR

SEEDS = [1, 2, 3, 4, 5]
SIZE = {"stores": 1, "skus": 150, "days": 56, "history_days": 400}


@pytest.fixture(scope="module")
def models():
    return load_models(BOOTSTRAP_DIR)


@pytest.fixture(scope="module")
def lift(models) -> dict:
    return simulated_lift(**SIZE, seeds=SEEDS, models=models)


def test_the_document_follows_the_lift_contract(lift: dict) -> None:
    assert lift["kind"] == "simulated"
    assert lift["source"]["seeds"] == SEEDS
    assert set(lift["metrics"]) == set(METRICS)
    for name, entry in lift["metrics"].items():
        assert entry["unit"] in {"share", "units", "currency", "hours"}, name
        assert entry["per"] == "store_day" and entry["higher_is_better"] is False
        for arm in ("kit", "baseline", "baseline_tuned", "lift", "lift_vs_tuned"):
            assert isinstance(entry[arm]["mean"], float), (name, arm)
            assert len(entry[arm]["ci95"]) == 2, (name, arm)
    json.dumps(lift)  # plain JSON all through


def test_paired_seeds_serve_identical_demand_to_every_arm(lift: dict) -> None:
    digests = lift["source"]["demand_digests"]
    for seed in SEEDS:
        assert digests[str(seed)]["kit"] == digests[str(seed)]["baseline"], seed
    assert len({digests[str(s)]["kit"] for s in SEEDS}) == len(SEEDS)  # seeds differ


def test_intervals_bracket_the_means_and_lifts_are_paired_differences(lift: dict) -> None:
    for name, entry in lift["metrics"].items():
        for arm in ("kit", "baseline", "baseline_tuned", "lift", "lift_vs_tuned"):
            lo, hi = entry[arm]["ci95"]
            assert lo <= entry[arm]["mean"] <= hi, (name, arm)
        per_seed = entry["per_seed"]
        kit, base, tuned = (np.array(per_seed[k]) for k in ("kit", "baseline", "baseline_tuned"))
        assert entry["kit"]["mean"] == pytest.approx(kit.mean())
        assert entry["lift"]["mean"] == pytest.approx((kit - base).mean())
        assert entry["lift_vs_tuned"]["mean"] == pytest.approx((kit - tuned).mean())
        # Paired: the interval of the differences, not of two independent means.
        assert entry["lift"]["ci95"] == pytest.approx(t_interval(kit - base)["ci95"])


def test_the_tuned_baseline_holds_the_kits_inventory(lift: dict) -> None:
    tuning = lift["source"]["tuning"]
    assert tuning["matched"], tuning
    inventory = lift["metrics"]["avg_inventory_value"]
    kit, tuned = inventory["kit"]["mean"], inventory["baseline_tuned"]["mean"]
    assert abs(tuned / kit - 1) <= 0.02


def test_the_kit_has_fewer_stockouts_no_more_lost_sales_or_waste_at_the_same_inventory(
    lift: dict,
) -> None:
    """The issue's acceptance check, on the simulator's ground truth (true demand), against
    the baseline tuned to the kit's inventory: stock-outs lower (the interval below 0),
    lost units and waste not higher (mean differences <= 0)."""
    metrics = lift["metrics"]
    stockouts = metrics["stockout_rate"]
    assert stockouts["lift_vs_tuned"]["ci95"][1] < 0, stockouts["lift_vs_tuned"]
    assert stockouts["lift"]["ci95"][1] < 0, stockouts  # vs the store's process as it was
    assert metrics["lost_sales_units"]["lift_vs_tuned"]["mean"] <= 0, metrics["lost_sales_units"]
    assert metrics["waste_value"]["lift_vs_tuned"]["mean"] <= 0, metrics["waste_value"]
    inventory = metrics["avg_inventory_value"]
    assert inventory["kit"]["mean"] <= inventory["baseline_tuned"]["mean"] * 1.02


def test_the_baseline_is_the_process_that_wrote_the_stores_history() -> None:
    cfg = SimConfig(store_id="S001", skus=40, days=120, seed=11, end_date=dt.date(2025, 3, 31),
                    line_days=0)  # fmt: skip
    sold: dict[str, float] = defaultdict(float)
    for batch in generate(cfg):
        if batch.kind == "daily_sales":
            for row in batch.rows:
                sold[row[1]] += row[3]
    replayed: dict[str, float] = {}
    for world in replay(cfg):
        stock = world.run(world.process())
        for j, sku in enumerate(world.cat.sku.tolist()):
            units = stock.sold[:, j][world.active[:, j]] / world.cat.scale[j]
            replayed[sku] = float(units.sum())
    assert replayed.keys() == sold.keys()
    for sku, units in sold.items():
        assert replayed[sku] == pytest.approx(units, abs=0.05), sku


def test_t_interval_is_students() -> None:
    out = t_interval([1.0, 2.0, 3.0])
    assert out["mean"] == 2.0
    assert out["ci95"] == pytest.approx([2.0 - 4.303 / 3**0.5, 2.0 + 4.303 / 3**0.5])
    with pytest.raises(EdgeAgentError, match="two seeds"):
        t_interval([1.0])


def test_a_bad_scenario_names_the_field(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('holding_rate = 0.2\n[baseline]\nmin_scale = 1.2\norder_weekdays = ["mon"]\n')
    scenario = load_scenario(good)
    assert scenario.baseline.min_scale == 1.2 and scenario.holding_rate == 0.2
    bad = tmp_path / "bad.toml"
    bad.write_text('[baseline]\norder_weekdays = ["funday"]\n')
    with pytest.raises(ConfigError, match=r"baseline\.order_weekdays.*funday"):
        load_scenario(bad)
    with pytest.raises(EdgeAgentError, match="distinct seeds"):
        simulated_lift(**SIZE, seeds=[1], models=None)  # type: ignore[arg-type]


def test_the_command_writes_the_same_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "lift.json"
    code = cli.main(["lift", "--skus", "30", "--days", "14", "--history-days", "120",
                     "--seeds", "1,2", "--no-tune", "--json", "--out", str(out)])  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed == json.loads(out.read_text())
    assert printed["kind"] == "simulated" and printed["source"]["tuning"] is None
    assert printed["metrics"]["stockout_rate"]["baseline_tuned"] is None


def test_segments_split_the_store_and_waste_is_perishable(lift: dict) -> None:
    for name in ("lost_sales_units", "avg_inventory_value", "waste_units", "orders_placed"):
        entry = lift["metrics"][name]
        parts = sum(entry["segments"][seg]["kit"]["mean"] for seg in entry["segments"])
        assert parts == pytest.approx(entry["kit"]["mean"]), name
    rates = lift["metrics"]["stockout_rate"]
    low, high = sorted(rates["segments"][s]["kit"]["mean"] for s in rates["segments"])
    assert low <= rates["kit"]["mean"] <= high
    assert lift["metrics"]["waste_units"]["segments"]["shelf_stable"]["kit"]["mean"] == 0.0


def test_the_served_p90_covers_about_nine_in_ten_true_demands(lift: dict) -> None:
    """The protection model checked on the simulator's ground truth: the kit's order-up-to
    levels are P90s of demand over the protection interval."""
    for segment, coverage in lift["source"]["kit_p90_coverage"].items():
        assert coverage["forecasts"] > 500, segment
        assert 0.8 <= coverage["covered"] <= 0.98, (segment, coverage)


def test_the_scenario_changes_the_baseline_and_only_the_baseline(models, tmp_path: Path) -> None:
    small = {"stores": 1, "skus": 40, "days": 28, "history_days": 120, "seeds": [1, 2],
             "models": models, "tune": False}  # fmt: skip
    plain = simulated_lift(**small)
    scenario = tmp_path / "lift.toml"
    scenario.write_text("[baseline]\nmin_scale = 2.0\nmax_scale = 2.0\n")
    doubled = simulated_lift(**small, scenario=load_scenario(scenario))
    stock = "avg_inventory_units"
    assert doubled["metrics"][stock]["kit"] == plain["metrics"][stock]["kit"]
    assert (
        doubled["metrics"][stock]["baseline"]["mean"]
        > 1.3 * (plain["metrics"][stock]["baseline"]["mean"])
    )
    assert doubled["source"]["baseline"]["min_scale"] == 2.0


def test_the_kit_arm_reports_what_its_order_rule_set(lift: dict) -> None:
    """Service levels within the policy's bounds; only perishables are capped by shelf life."""
    rule = lift["source"]["kit_order_rule"]
    for segment in ("perishable", "shelf_stable"):
        assert rule[segment]["levels"] > 500, segment
        assert 0.5 <= rule[segment]["mean_service_level"] <= 0.95 + 1e-9, (segment, rule)
    assert rule["shelf_stable"]["capped_share"] == 0.0
    assert rule["perishable"]["capped_share"] > 0.0
