"""The ROI statement from a known lift file and costs file, worked out by hand, and the
errors a bad costs or lift file gets (naming the file and the key)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cloud_hub import roi
from cloud_hub.cli import main as hub_cli
from cloud_hub.errors import ReportError
from cloud_hub.registry import Registry

EXAMPLE_COSTS = Path(__file__).resolve().parents[2] / "docs" / "roi-costs.example.toml"

COSTS = """
currency = "EUR"
days_per_year = 364
horizon_years = 2
[licences]
per_store_per_year = 100
[hardware]
per_store = 300
[integration]
person_days = 5
day_rate = 100
[operations]
person_days = 2
day_rate = 100
"""


def _metric(lift: float, ci: tuple[float, float], unit: str = "currency") -> dict:
    return {"unit": unit, "per": "store_day", "higher_is_better": False,
            "kit": {"mean": 1.0, "ci95": [0.5, 1.5]}, "baseline": {"mean": 1.0 - lift,
                                                                   "ci95": [0.0, 3.0]},
            "baseline_tuned": None, "lift": {"mean": lift, "ci95": list(ci)},
            "lift_vs_tuned": None}  # fmt: skip


LIFT = {
    "kind": "simulated",
    "source": {"seeds": [1, 2, 3, 4, 5], "days": 56},
    "metrics": {
        # The kit loses 2 less margin per store-day (1 .. 3), holds 0.5 more (0.2 .. 0.8)
        # and wastes 0.25 less (0 .. 0.5).
        "lost_margin_value": _metric(-2.0, (-3.0, -1.0)),
        "holding_cost_value": _metric(0.5, (0.2, 0.8)),
        "waste_value": _metric(-0.25, (-0.5, 0.0)),
        "stockout_rate": _metric(-0.03, (-0.04, -0.02), unit="share"),
    },
}


@pytest.fixture
def hub(tmp_path):
    db = tmp_path / "hub.db"
    with Registry(db) as registry:
        registry.add_store("S001")
        registry.add_store("S002")
    conn = sqlite3.connect(db)
    yield conn
    conn.close()


def _files(tmp_path: Path, costs: str = COSTS, lift: dict | None = None) -> tuple[Path, Path]:
    costs_file = tmp_path / "costs.toml"
    costs_file.write_text(costs)
    lift_file = tmp_path / "lift.json"
    lift_file.write_text(json.dumps(LIFT if lift is None else lift))
    return costs_file, lift_file


def test_payback_and_range_from_a_known_lift_and_costs(hub, tmp_path):
    costs_file, lift_file = _files(tmp_path)
    doc = roi.roi_statement(hub, roi.load_costs(costs_file), costs_path=costs_file,
                            lift=roi.load_lift(lift_file), lift_path=lift_file)  # fmt: skip
    assert doc["fleet"] == {"stores": 2, "source": "hub registry: active stores (store_registry)"}
    lines = {line["name"]: line for line in doc["direct"]}
    scale = 2 * 364  # stores x days
    assert lines["lost_margin_recovered"]["annual"] == pytest.approx(
        {"low": 1 * scale, "central": 2 * scale, "high": 3 * scale})  # fmt: skip
    # Holding more stock is a cost: a negative saving, whose worst end is 0.8 a store-day.
    assert lines["holding_cost_saved"]["annual"] == pytest.approx(
        {"low": -0.8 * scale, "central": -0.5 * scale, "high": -0.2 * scale})  # fmt: skip
    assert lines["waste_saved"]["annual"] == pytest.approx(
        {"low": 0.0, "central": 0.25 * scale, "high": 0.5 * scale})  # fmt: skip
    assert lines["labor_hours_saved"]["status"] == "not measured"
    assert "labor_hours" in lines["labor_hours_saved"]["why"]
    assert "lift file" in lines["lost_margin_recovered"]["source"]
    assert "lost_margin_value" in lines["lost_margin_recovered"]["source"]
    # Total 145.6 / 1,274 / 2,402.4; costs: one-off 2 x 300 + 5 x 100 = 1,100, yearly
    # 2 x 100 + 2 x 100 = 400.
    assert doc["direct_total"]["annual"] == pytest.approx(
        {"low": 145.6, "central": 1274.0, "high": 2402.4})  # fmt: skip
    assert (doc["costs"]["one_off_total"], doc["costs"]["yearly_total"]) == (1100.0, 400.0)
    assert doc["net_yearly"] == pytest.approx({"low": -254.4, "central": 874.0, "high": 2002.4})
    payback = doc["payback_months"]
    assert payback["low"] is None  # the pessimistic end never pays the running costs back
    assert payback["central"] == pytest.approx(12 * 1100 / 874)
    assert payback["high"] == pytest.approx(12 * 1100 / 2002.4)
    assert doc["horizon_net"]["central"] == pytest.approx(2 * 874 - 1100)
    text = "\n".join(roi.statement_lines(doc))
    assert "never / 15.1 months / 6.6 months" in text


def test_without_a_lift_the_direct_lines_are_not_measured(hub, tmp_path):
    costs_file, _ = _files(tmp_path)
    doc = roi.roi_statement(hub, roi.load_costs(costs_file), costs_path=costs_file)
    assert {line["status"] for line in doc["direct"]} == {"not measured"}
    assert all(line["annual"] is None for line in doc["direct"])
    assert doc["direct_total"] is None and doc["payback_months"] is None
    assert doc["costs"]["one_off_total"] == 1100.0  # the costs are still stated
    assert "not measured: no direct impact measured" in "\n".join(roi.statement_lines(doc))


def test_labor_hours_are_valued_only_with_a_rate_and_the_fleet_can_be_set(hub, tmp_path):
    lift = {**LIFT, "metrics": {"labor_hours": _metric(-0.5, (-1.0, 0.0), unit="hours")}}
    costs_file, lift_file = _files(tmp_path, lift=lift)
    doc = roi.roi_statement(hub, roi.load_costs(costs_file), costs_path=costs_file,
                            lift=roi.load_lift(lift_file), lift_path=lift_file)  # fmt: skip
    assert doc["direct"][3]["status"] == "not valued"
    assert "labor_cost_per_hour" in doc["direct"][3]["why"]
    costs_file.write_text(COSTS + "[rates]\nlabor_cost_per_hour = 20\n[fleet]\nstores = 10\n")
    doc = roi.roi_statement(hub, roi.load_costs(costs_file), costs_path=costs_file,
                            lift=roi.load_lift(lift_file), lift_path=lift_file)  # fmt: skip
    assert doc["fleet"] == {"stores": 10, "source": "costs file: fleet.stores"}
    assert doc["direct"][3]["annual"] == pytest.approx(
        {"low": 0.0, "central": 0.5 * 20 * 10 * 364, "high": 1.0 * 20 * 10 * 364})  # fmt: skip


def test_the_shipped_example_costs_file_loads():
    costs = roi.load_costs(EXAMPLE_COSTS)
    assert costs.licences.per_store_per_year > 0 and costs.integration.person_days > 0


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (COSTS.replace("per_store = 300", "per_stor = 300"), "hardware.per_stor"),
        (COSTS.replace("day_rate = 100\n[operations]", "day_rate = -5\n[operations]"),
         "integration.day_rate"),
        (COSTS.replace("[licences]\nper_store_per_year = 100\n", ""), "licences"),
        (COSTS.replace("days_per_year = 364", "days_per_year = 'many'"), "days_per_year"),
        (COSTS + "[hardware\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_costs_file_is_refused_naming_the_key(tmp_path, text, named):
    costs_file, _ = _files(tmp_path, costs=text)
    with pytest.raises(ReportError) as caught:
        roi.load_costs(costs_file)
    assert named in caught.value.message and str(costs_file) in caught.value.message
    assert "roi-costs.example.toml" in caught.value.hint


def test_a_bad_lift_file_is_refused_naming_the_key(tmp_path):
    broken = json.loads(json.dumps(LIFT))
    del broken["metrics"]["waste_value"]["lift"]["ci95"]
    _, lift_file = _files(tmp_path, lift=broken)
    with pytest.raises(ReportError, match=r"metrics\.waste_value\.lift\.ci95"):
        roi.load_lift(lift_file)
    lift_file.write_text(json.dumps(LIFT).replace('"mean": -2.0', '"mean": NaN'))
    with pytest.raises(ReportError, match=r"metrics\.lost_margin_value\.lift\.mean"):
        roi.load_lift(lift_file)


def test_a_money_line_needs_a_money_metric(hub, tmp_path):
    lift = {**LIFT, "metrics": {"waste_value": _metric(-3.0, (-4.0, -2.0), unit="units")}}
    costs_file, lift_file = _files(tmp_path, lift=lift)
    doc = roi.roi_statement(hub, roi.load_costs(costs_file), costs_path=costs_file,
                            lift=roi.load_lift(lift_file), lift_path=lift_file)  # fmt: skip
    waste = {line["name"]: line for line in doc["direct"]}["waste_saved"]
    assert waste["status"] == "not measured" and "in units, not currency" in waste["why"]


def test_roi_command_prints_the_statement_and_errors_name_the_key(hub, tmp_path, capsys):
    costs_file, lift_file = _files(tmp_path)
    db = str(tmp_path / "hub.db")
    code = hub_cli(["roi", "--db", db, "--costs", str(costs_file), "--lift", str(lift_file),
                    "--json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["payback_months"]["central"] == pytest.approx(12 * 1100 / 874)
    costs_file.write_text(COSTS.replace("[operations]", "[operation]"))
    code = hub_cli(["roi", "--db", db, "--costs", str(costs_file)])
    err = capsys.readouterr().err
    assert code == 2 and "operation" in err and "hint:" in err


def test_metric_rows_add_up_as_one_row():
    """outcomes.combine: sums summed, ratios from the sums, review time weighted by count."""
    from cloud_hub import outcomes

    def row(**values):
        base = {name: 0 for name, _ in outcomes._SUMS}
        base.update(review_seconds_mean=None, review_seconds_max=None)
        return {**base, **values}

    a = row(decisions=4, auto=3, approved=1, sku_days=10, stockout_days=1, reviewed=1,
            review_seconds_mean=600.0, review_seconds_max=600.0, forecasts=2, abs_error=3.0,
            actual=10.0)  # fmt: skip
    b = row(decisions=6, auto=2, rejected=4, sku_days=30, stockout_days=6, reviewed=3,
            review_seconds_mean=200.0, review_seconds_max=400.0, forecasts=1, abs_error=1.0,
            actual=30.0)  # fmt: skip
    total = outcomes.combine([a, b])
    assert (total["decisions"], total["rows"], total["share_auto"]) == (10, 2, 0.5)
    assert total["stockout_rate"] == pytest.approx(7 / 40)  # not the mean of 0.1 and 0.2
    assert total["wape"] == pytest.approx(4 / 40)
    assert total["review_seconds_mean"] == pytest.approx((600 + 3 * 200) / 4)
    assert total["review_seconds_max"] == 600.0
    assert outcomes.combine([])["stockout_rate"] is None
