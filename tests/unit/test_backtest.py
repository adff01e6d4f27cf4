"""Backtests: no leakage from the holdout, clear errors on bad files."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from cloud_hub import backtest
from cloud_hub.errors import BacktestError
from models import features as F


def _daily_file(path: Path, holdout_value: float | None = None, days: int = 150) -> Path:
    rng = np.random.default_rng(4)
    start = date(2025, 1, 6)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "sku", "date", "units", "price"])
        for store in ("A", "B"):
            for sku in range(12):
                base = 1 + sku % 5
                for d in range(days):
                    units = rng.poisson(base * (1.5 if d % 7 in (5, 6) else 1.0))
                    if holdout_value is not None and d >= days - 14:
                        units = holdout_value * (sku + 1)
                    writer.writerow([store, f"SKU{sku}", start + timedelta(d), units, 2.5])
    return path


def test_replenishment_forecasts_ignore_the_held_out_actuals(tmp_path: Path):
    plain = backtest.backtest_replenishment(
        _daily_file(tmp_path / "a.csv"), 14, include_forecasts=True, reference=True
    )
    changed = backtest.backtest_replenishment(
        _daily_file(tmp_path / "b.csv", 999.0), 14, include_forecasts=True, reference=True
    )
    for name in ("mean", "p90", "protection_p90", "protection_mean", "lgbm_lags"):
        np.testing.assert_array_equal(plain["forecasts"][name], changed["forecasts"][name])
    for method in ("model", "lgbm_lags"):
        assert plain["methods"][method]["rmsse"] != changed["methods"][method]["rmsse"]
    assert plain["reference"]["lag_days"] == 14 and plain["reference"]["rows"] > 0


def test_a_large_file_trains_on_a_sample_and_scores_every_series(tmp_path: Path, monkeypatch):
    # 24 series x 7 weekly origins x 14 horizons = 2,352 rows; a budget of 400 gives every
    # 4th horizon of a stratified sample of each store's SKUs, and still scores all 24.
    path = _daily_file(tmp_path / "a.csv", days=100)
    full = backtest.backtest_replenishment(path, 14)
    assert (full["train_series"], full["train_horizon_stride"]) == (24, 1)
    monkeypatch.setattr(backtest, "TRAIN_ROWS", 400)
    small = backtest.backtest_replenishment(path, 14, include_forecasts=True)
    assert small["train_horizon_stride"] == 4
    assert 2 <= small["train_series"] < 24
    assert small["train_rows"] <= 400 < full["train_rows"]
    assert small["series"] == 24 and small["forecasts"]["mean"].shape == (24, 14)
    assert np.isfinite(small["methods"]["model"]["rmsse"])


def test_training_origins_add_earlier_years_same_season_only():
    last_history = 4 * 364 + 100  # over four years of history
    origins = backtest._training_origins(last_history, 28, count=60, season_weeks=10)
    weekly = list(range(last_history - 28, 27, -7))
    assert origins[:60] == weekly[:60]  # the newest 60 weeks, all seasons
    older = origins[60:]
    assert older and len(set(origins)) == len(origins)
    for years_back in (2, 3, 4):
        # every weekly origin within 10 weeks of the forecast origin's day, that year
        centre = last_history - 364 * years_back
        season = [o for o in weekly[60:] if abs(o - centre) <= 70]
        assert season and set(season) <= set(older)
    for origin in older:
        days = (last_history - origin) % 364
        assert min(days, 364 - days) <= 70 and origin >= 28
    # half a year off is never used once out of the newest 60 weeks
    assert not any(abs(o - (last_history - 364 * 2 - 182)) < 28 for o in older)
    # a history of one year: the newest weeks only
    assert backtest._training_origins(400, 28) == list(range(372, 27, -7))


def test_the_daily_p90_trains_on_the_newest_weeks_the_mean_on_the_season_too(tmp_path: Path):
    stores, *_ = backtest.read_daily_sales(_daily_file(tmp_path / "a.csv", days=800))
    panels = [s.panel for s in stores]
    last = panels[0].n_days - 1 - 14
    seasonal = backtest.train_replenishment(panels, last, 14, 7, origins=20, threads=1)
    newest = backtest.train_replenishment(panels, last, 14, 7, origins=20, threads=1,
                                          season_weeks=0)  # fmt: skip
    per_origin = 24 * 14  # series x horizons
    assert newest[0].rows == newest[1].rows == 20 * per_origin
    # 10 weeks either side of the origin's day a year back (21 weekly origins) and two
    # years back (15: history starts 4 weeks after the first of them)
    assert seasonal[0].rows == (20 + 36) * per_origin
    assert seasonal[1].rows == 20 * per_origin  # the daily P90: the newest 20 only
    # protection mean: one row per SKU and weekly origin; protection P90: per SKU and day
    # of each of those weeks (the origin and the six days before, from day 28 on)
    assert seasonal[3].rows == (20 + 36) * 24
    weekly = backtest._training_origins(last, 14, 20)
    every_day = {o - d for o in weekly for d in range(7) if o - d >= 28}
    assert seasonal[2].rows == len(every_day) * 24 > 6 * seasonal[3].rows
    # the mean models' rounds follow the weeks they learn from (full at 120 weeks, a fifth
    # at least); the P90 models keep their spec's
    assert newest[0].booster.num_trees() == 120  # 20 weeks
    assert seasonal[0].booster.num_trees() == 5 * 56
    assert seasonal[1].booster.num_trees() == 300


def test_the_mean_models_count_only_weeks_with_sales_known(tmp_path: Path):
    # the hub pads a store's panels to the chain's longest history with unknown sales
    stores, *_ = backtest.read_daily_sales(_daily_file(tmp_path / "a.csv", days=800))
    panels = [s.panel for s in stores]
    last = panels[0].n_days - 1 - 14
    known_from = last - 40 * 7
    for panel in panels:
        panel.sales[:, :known_from] = np.nan
    daily = backtest.train_replenishment(panels, last, 14, 7, origins=60, threads=1)[0]
    origins = backtest._training_origins(last, 14, 60)
    weeks = len([o for o in origins if o + 14 >= known_from])  # some target day known
    assert weeks < len(origins)
    assert daily.booster.num_trees() == 5 * weeks


def test_the_protection_p90_thins_its_days_to_stay_within_its_row_budget():
    weekly = list(range(400, 27, -7))
    assert backtest._protection_origins(weekly, 10) == list(range(400, 27, -1))
    budget = backtest.PROTECTION_ROWS
    thinned = backtest._protection_origins(weekly, budget // 150)  # 150 days fit, not 373
    assert len(thinned) * (budget // 150) <= budget and set(weekly) <= set(thinned)
    assert backtest._protection_origins(weekly, budget) == weekly  # the weekly origins alone


def test_rounds_follow_the_weeks_for_the_mean_models_only():
    daily, protection_mean = "replenishment_daily", "replenishment_protection_mean"
    assert [backtest.rounds_for(daily, w) for w in (1, 24, 45, 120, 500)] == [
        120, 120, 225, 600, 600]  # fmt: skip
    assert [backtest.rounds_for(protection_mean, w) for w in (1, 45, 120)] == [80, 150, 400]
    for p90 in ("replenishment_daily_p90", "replenishment_protection_p90"):
        assert backtest.rounds_for(p90, 1) == backtest.MODEL_SPECS[p90].rounds


def _hourly_files(
    tmp_path: Path, holdout_value: float | None, flip_labels: bool = False
) -> tuple[Path, Path]:
    rng = np.random.default_rng(9)
    start, days = date(2025, 3, 3), 49
    hourly, totals = tmp_path / "hourly.csv", tmp_path / "tx.csv"
    sums: dict[tuple[date, int], float] = {}
    with hourly.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "sku", "date", "hour", "units", "stockout"])
        for sku in range(6):
            out = False
            for d in range(days):
                for hour in range(24):
                    out = (rng.random() < 0.2) if not out else (rng.random() < 0.7)
                    units = 0.0 if out or hour < 7 else float(rng.poisson(1.2))
                    stockout = int(out)
                    if holdout_value is not None and d >= days - 7:
                        units, stockout = holdout_value, 1
                    if flip_labels and d >= days - 7:
                        stockout = 1 - stockout
                    day = start + timedelta(d)
                    writer.writerow(["S1", f"P{sku}", day, hour, units, stockout])
                    sums[(day, hour)] = sums.get((day, hour), 0.0) + units
    with totals.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store_id", "date", "hour", "transactions"])
        for (day, hour), value in sorted(sums.items()):
            writer.writerow(["S1", day, hour, value])
    return hourly, totals


def test_labor_and_availability_ignore_the_held_out_actuals(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    hourly_a, totals_a = _hourly_files(tmp_path / "a", None)
    hourly_b, totals_b = _hourly_files(tmp_path / "b", 7.0)
    labor_a = backtest.backtest_labor(totals_a, 7, include_forecasts=True, reference=True)
    labor_b = backtest.backtest_labor(totals_b, 7, include_forecasts=True, reference=True)
    # Forecast cells exist where actuals do; both files trade in the same hours.
    for name in ("transactions", "lgbm_lags"):
        np.testing.assert_array_equal(
            np.nan_to_num(labor_a["forecasts"][name]), np.nan_to_num(labor_b["forecasts"][name])
        )
    assert labor_a["methods"]["lgbm_lags"]["wape"] != labor_b["methods"]["lgbm_lags"]["wape"]
    avail_a = backtest.backtest_availability(hourly_a, 7, include_forecasts=True)["forecasts"]
    avail_b = backtest.backtest_availability(hourly_b, 7, include_forecasts=True)["forecasts"]
    assert avail_a["off_shelf_probability"].shape == avail_b["off_shelf_probability"].shape
    # Detection at an hour may use that hour's sales (what a store sees), but training
    # never sees the holdout: the model's threshold and run rule come from training only.
    a = backtest.backtest_availability(hourly_a, 7)
    b = backtest.backtest_availability(hourly_b, 7)
    assert a["methods"]["model"]["threshold"] == b["methods"]["model"]["threshold"]
    assert (
        a["methods"]["zero_run_rule"]["min_run_hours"]
        == b["methods"]["zero_run_rule"]["min_run_hours"]
    )


def test_a_large_hourly_file_trains_on_a_sample_and_scores_every_sku(
    tmp_path: Path, monkeypatch, capsys
):
    hourly, _ = _hourly_files(tmp_path, None)
    full = backtest.backtest_availability(hourly, 7, include_forecasts=True)
    assert full["skus"] == full["train_skus"] == 6
    monkeypatch.setattr(backtest, "_HOURLY_CHUNK", 4)  # features a few SKUs at a time
    chunked = backtest.backtest_availability(hourly, 7, include_forecasts=True)
    assert chunked["methods"] == full["methods"]
    # 6 SKUs x 42 days x 24 hours = 6,048 training hours; a budget of 3,000 trains on 3.
    monkeypatch.setattr(backtest, "AVAILABILITY_TRAIN_ROWS", 3_000)
    small = backtest.backtest_availability(hourly, 7, include_forecasts=True)
    assert small["train_skus"] == 3 and small["train_rows"] == 3 * 42 * 24
    assert small["skus"] == 6
    assert small["forecasts"]["off_shelf_probability"].shape == (6 * 7 * 24,)
    assert 0 < small["methods"]["model"]["f1"] <= 1
    from cloud_hub.cli import main as hub

    assert hub(["backtest", "availability", "--hourly", str(hourly), "--holdout-days", "7"]) == 0
    assert "(a sample: 3 of 6 SKUs)" in capsys.readouterr().out


def test_bad_inputs_name_the_problem(tmp_path: Path):
    missing = tmp_path / "m.csv"
    missing.write_text("store_id,sku,day,units\nA,1,2025-01-01,3\n")
    with pytest.raises(BacktestError, match=r"missing column.*date"):
        backtest.backtest_replenishment(missing, 7)
    short = _daily_file(tmp_path / "short.csv", days=40)
    with pytest.raises(BacktestError, match="cannot hold 14 holdout days"):
        backtest.backtest_replenishment(short, 14)
    bad = tmp_path / "bad.csv"
    bad.write_text("store_id,sku,date,units\nA,1,2025-01-01,three\n")
    with pytest.raises(BacktestError, match=r"bad.csv:2: units 'three'"):
        backtest.backtest_replenishment(bad, 7)
    with pytest.raises(BacktestError, match="cannot read"):
        backtest.backtest_labor(tmp_path / "nope.csv", 7)


def test_labor_serves_the_profile_when_history_is_too_short_to_check_the_trees():
    # 38 days of history: too few to hold out a week of training origins for the twin check, so the
    # model is the profile itself (a constant ratio of 1), not 300 unchecked rounds.
    rng = np.random.default_rng(3)
    usual = np.array([0] * 8 + [2, 4, 6, 6, 5, 4, 4, 5, 6, 5, 3, 2] + [0] * 4, np.float32)
    traffic = rng.poisson(np.tile(usual, (1, 46, 1))).astype(np.float32)
    model, panel = backtest.train_labor(traffic, date(2026, 1, 5), 38, 7, threads=1)
    rows = F.hourly_features(panel, 38, range(1, 8))
    profile = rows[:, F.HOURLY_FEATURES.index("profile")]
    np.testing.assert_allclose(model.predict(rows), profile, rtol=1e-6)


def _cut(source: Path, target: Path, last: str, column: int) -> Path:
    """``source`` without the rows after day ``last`` (ISO dates compare as text)."""
    with source.open(newline="") as handle, target.open("w", newline="") as out:
        rows = csv.reader(handle)
        writer = csv.writer(out)
        writer.writerow(next(rows))
        writer.writerows(row for row in rows if row[column] <= last)
    return target


def _same_scores(a: dict, b: dict) -> None:
    keys = ("holdout", "origin", "train_rows", "methods")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_each_earlier_origin_is_the_backtest_of_the_file_ending_with_its_holdout(tmp_path: Path):
    daily = _daily_file(tmp_path / "daily.csv", days=120)
    rolled = backtest.backtest_origins("replenishment", daily, 14, 3)
    runs = rolled["origins"]
    assert [run["holdout"] for run in runs] == [
        ["2025-03-25", "2025-04-07"],
        ["2025-04-08", "2025-04-21"],
        ["2025-04-22", "2025-05-05"],
    ]  # oldest first, back to back, the newest the file's own last 14 days
    _same_scores(runs[-1], backtest.backtest_replenishment(daily, 14))
    oldest = _cut(daily, tmp_path / "cut.csv", runs[0]["holdout"][1], column=2)
    _same_scores(runs[0], backtest.backtest_replenishment(oldest, 14))
    # The summary: each method's spread, and the model's ratio to each baseline per origin.
    rmsse = [run["methods"]["model"]["rmsse"] for run in runs]
    assert rolled["summary"]["methods"]["model"]["rmsse"] == {
        "median": sorted(rmsse)[1], "min": min(rmsse), "max": max(rmsse)}  # fmt: skip
    ratio = rolled["summary"]["ratios"]["model/snaive"]["rmsse"]
    assert ratio["values"] == [r["methods"]["model"]["rmsse"] / r["methods"]["snaive"]["rmsse"]
                               for r in runs]  # fmt: skip
    assert set(rolled["summary"]["ratios"]) == {"model/snaive", "model/ma28", "model/flat_p90"}
    assert set(rolled["summary"]["ratios"]["model/flat_p90"]) == {"pinball_p90"}


def test_rolling_origins_for_labor_and_availability_and_from_the_cli(
    tmp_path: Path, capsys, monkeypatch
):
    import json

    from cloud_hub.cli import main as hub

    hourly, totals = _hourly_files(tmp_path, None)
    availability = backtest.backtest_origins("availability", hourly, 7, 2)
    first = availability["origins"][0]
    oldest = _cut(hourly, tmp_path / "cut.csv", first["holdout"][1], column=2)
    _same_scores(first, backtest.backtest_availability(oldest, 7))
    assert set(availability["summary"]["ratios"]) == {"model/zero_run_rule"}
    # 42 days cannot hold a week's holdout and a training origin 28 days in whose week of
    # targets ends before it (it failed deep in training before).
    short = _cut(totals, tmp_path / "short.csv", "2025-04-13", column=1)
    with pytest.raises(BacktestError, match="42 days cannot hold 7 holdout days and 36 days"):
        backtest.backtest_labor(short, 7)
    # 49 days of transactions: labor needs 35 days of history, so four 3-day holdouts fit;
    # asked for five, it says so before training anything.
    with monkeypatch.context() as patched:
        patched.setitem(backtest.BACKTESTS, "labor", lambda *a, **k: pytest.fail("trained"))
        with pytest.raises(BacktestError, match="holds at most 4 origins of 3 holdout days"):
            backtest.backtest_origins("labor", totals, 3, 5)
    args = ["backtest", "labor", "--transactions", str(totals), "--holdout-days", "3"]
    assert hub([*args, "--origins", "2", "--json"]) == 0
    labor = json.loads(capsys.readouterr().out)
    assert [run["holdout"] for run in labor["origins"]] == [
        ["2025-04-15", "2025-04-17"], ["2025-04-18", "2025-04-20"]]  # fmt: skip
    assert hub([*args, "--origins", "2"]) == 0
    text = capsys.readouterr().out
    assert "over 2 origins (holdouts 2025-04-15 .. 2025-04-20)" in text
    assert "model/snaive" in text and "model/ma28" in text


def test_a_transactions_file_is_told_apart_by_its_header_whatever_its_delimiter(tmp_path: Path):
    # One row per transaction, semicolon-separated with a BOM (a spreadsheet's export):
    # read by timestamp, like the comma file, not taken for date,hour,transactions rows.
    rows = ["S1;2025-03-03T09:15:00", "S1;2025-03-03T09:40:00", "S1;2025-03-04T17:05:00"]
    path = tmp_path / "tx.csv"
    path.write_text("\ufeffStore_ID;Timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    stores, traffic, first = backtest.read_transactions(path)
    assert (stores, first, traffic.shape) == (["S1"], date(2025, 3, 3), (1, 2, 24))
    assert (traffic[0, 0, 9], traffic[0, 1, 17], np.nansum(traffic)) == (2, 1, 3)


def test_a_daily_file_is_read_by_header_name_as_pos_exports_are(tmp_path: Path):
    # A spreadsheet's export: pipe-separated, other column names and order, decimal commas.
    plain = _daily_file(tmp_path / "plain.csv", days=40)
    other = tmp_path / "other.csv"
    with plain.open() as src, other.open("w") as dst:
        next(src)
        dst.write("Sell-Price|Date|Article|Sales|Store\n")
        for line in src:
            store, sku, day, units, price = line.strip().split(",")
            dst.write(f"{price.replace('.', ',')}|{day}|{sku}|{units}|{store}\n")
    expected, first, last = backtest.read_daily_sales(plain)
    got, got_first, got_last = backtest.read_daily_sales(other)
    assert (got_first, got_last) == (first, last)
    assert [s.store for s in got] == [s.store for s in expected] == ["A", "B"]
    for ours, theirs in zip(got, expected, strict=True):
        assert ours.panel.skus == theirs.panel.skus
        np.testing.assert_array_equal(ours.panel.sales, theirs.panel.sales)
        np.testing.assert_array_equal(ours.panel.price, theirs.panel.price)
