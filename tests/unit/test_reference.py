"""The reference model's rows: the lag and calendar features a data scientist would build,
each window ending ``lag`` days before the target day and nothing later read."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from models import features as F
from models import reference as R


def _panel(n_days: int = 90) -> F.DailyPanel:
    rng = np.random.default_rng(3)
    sales = rng.poisson(2.0, (3, n_days)).astype(np.float32)
    sales[2, :30] = np.nan  # listed from day 30 on
    closed = np.zeros(n_days, bool)
    closed[50] = True
    sales[:, closed] = np.nan
    price = np.full((3, n_days), 4.0, np.float32)
    price[0, 60:] = 3.0  # a price cut, known in advance
    event = np.zeros(n_days, bool)
    event[70] = True
    return F.DailyPanel(["A", "B", "C"], date(2025, 1, 6), sales, price, np.zeros_like(sales),
                        closed, np.zeros(n_days, bool), np.array([5, 5, 9]), event)  # fmt: skip


CODES = R.Codes({"A": 0, "B": 1}, {5: 0})


def _column(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[:, R.REFERENCE_FEATURES.index(name)]


def test_rows_read_the_windows_ending_lag_days_before_the_target():
    panel = _panel()
    days, lag = np.array([64, 70]), 14
    rows = R.reference_rows(panel, 2, days, lag, CODES)
    assert rows.shape == (len(days) * 3, len(R.REFERENCE_FEATURES))
    sales = panel.sales.astype(float)
    for k, day in enumerate(days):
        at = rows[k * 3 : (k + 1) * 3]  # day-major: the three SKUs of one day together
        end = day - lag
        np.testing.assert_array_equal(_column(at, "lag_0w"), sales[:, end])
        np.testing.assert_array_equal(_column(at, "lag_3w"), sales[:, end - 21])
        for width in R.WINDOWS:
            window = sales[:, max(0, end - width + 1) : end + 1]
            expected = np.nanmean(window, axis=1)
            np.testing.assert_allclose(_column(at, f"mean_{width}"), expected, rtol=1e-5)
        window = sales[:, end - 27 : end + 1]
        np.testing.assert_allclose(_column(at, "std_28"), np.nanstd(window, axis=1), rtol=1e-4)
        zero_share = np.sum(window == 0, axis=1) / np.sum(~np.isnan(window), axis=1)
        np.testing.assert_allclose(_column(at, "zero_share_28"), zero_share, rtol=1e-5)
        when = panel.day(int(day))
        assert set(_column(at, "weekday")) == {when.weekday()}
        assert set(_column(at, "day_of_month")) == {when.day}
        assert set(_column(at, "store")) == {2}
        # C and its category were never seen in training
        np.testing.assert_array_equal(_column(at, "category"), [0, 0, np.nan])
        np.testing.assert_array_equal(_column(at, "item"), [0, 1, np.nan])
    # The price cut on day 60 is known for day 64: SKU A at 3.0 against 4.0 before.
    np.testing.assert_allclose(_column(rows[:3], "price_vs_28"), [0.75, 1.0, 1.0], rtol=1e-6)
    assert list(_column(rows[3:], "event")) == [1, 1, 1]


def test_rows_of_one_origins_horizon_read_nothing_after_the_origin():
    panel = _panel()
    origin, lag = 60, 14
    days = np.arange(origin + 1, origin + lag + 1)
    before = R.reference_rows(panel, 0, days, lag, CODES)
    panel.sales[:, origin + 1 :] = 99.0
    np.testing.assert_array_equal(before, R.reference_rows(panel, 0, days, lag, CODES))


def test_lag_covers_the_horizon_in_whole_weeks():
    assert [R.lag_days(h) for h in (1, 7, 8, 14, 28, 30)] == [7, 7, 14, 14, 28, 35]


def test_the_model_forecasts_from_one_origin_and_refuses_a_horizon_past_its_lag(monkeypatch, capfd):
    panel = _panel()
    model = R.train_reference([panel], [0], 75, 14, budget=10_000, rounds=20)
    # LightGBM's own log goes to stdout, where --json writes: it must stay quiet there.
    assert capfd.readouterr().out == ""
    assert model.lag == 14 and 0 < model.rows <= 3 * 76
    forecast = model.forecast(panel, 0, 75, 14)
    assert forecast.shape == (3, 14) and np.all(forecast >= 0)
    monkeypatch.setattr(R, "_SKU_CHUNK", 2)  # a large store's SKUs, a chunk at a time
    np.testing.assert_array_equal(model.forecast(panel, 0, 75, 14), forecast)
    with pytest.raises(ValueError, match="horizon 15"):
        model.forecast(panel, 0, 75, 15)


def test_labor_rows_read_the_same_hour_weeks_back_and_nothing_after_the_origin():
    rng = np.random.default_rng(5)
    traffic = rng.poisson(20.0, (2, 60, 24)).astype(np.float32)
    traffic[:, :, :6] = np.nan  # closed at night
    first, origin, lag = date(2024, 3, 4), 52, 7
    days = np.arange(origin + 1, origin + lag + 1)
    rows = R.labor_reference_rows(traffic, first, days, lag)
    assert rows.shape == (2 * lag * 24, len(R.LABOR_REFERENCE_FEATURES))
    cube = rows.reshape(2, lag, 24, -1)  # store x day x hour
    names = R.LABOR_REFERENCE_FEATURES
    for j, day in enumerate(days):
        np.testing.assert_array_equal(cube[:, j, :, names.index("lag_0w")], traffic[:, day - 7])
        np.testing.assert_array_equal(cube[:, j, :, names.index("lag_2w")], traffic[:, day - 21])
        totals = np.nansum(traffic[:, day - 7], axis=1)
        np.testing.assert_allclose(cube[:, j, 0, names.index("day_total")], totals, rtol=1e-6)
        weekday = (first + timedelta(days=int(day))).weekday()
        assert set(cube[:, j, :, names.index("weekday")].ravel()) == {weekday}
    changed = traffic.copy()
    changed[:, origin + 1 :] = 99.0
    np.testing.assert_array_equal(rows, R.labor_reference_rows(changed, first, days, lag))
    model = R.train_labor_reference(traffic, first, origin, lag)
    assert model.forecast(traffic, first, origin, lag).shape == (2, lag, 24)
