"""One feature definition: the edge (mirror) and the hub (synced DailyOutcome messages)
compute identical features; features never look past their origin."""

from __future__ import annotations

import contextlib
import warnings
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from edge_agent.clock import FixedClock
from edge_agent.mirror import open_mirror
from edge_agent.mirror.panels import daily_panel, hourly_panel, store_days
from edge_agent.simulation import run_simulation
from models import features as F
from models.panels import (
    day_from_outcome,
    hourly_panel_from_days,
    outcome_from_day,
    panel_from_days,
)
from storeedge.v1 import outcome_pb2

END = date(2027, 1, 2)  # the window holds Thanksgiving and Christmas (closed)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "store.db"
    mirror = open_mirror(path, clock=FixedClock(datetime(2027, 1, 3, 12, tzinfo=UTC)))
    run_simulation(mirror, store_id="S001", skus=120, days=150, seed=5, end_date=END)
    yield mirror
    mirror.close()


def _hub_days(mirror, start: date, end: date):
    """What the hub sees: each store-day serialized on the edge, parsed at the hub."""
    days = []
    for facts in store_days(mirror, start, end):
        wire = outcome_from_day("S001", facts).SerializeToString()
        days.append(day_from_outcome(outcome_pb2.DailyOutcome.FromString(wire)))
    return days


def test_edge_and_hub_compute_identical_features(simulated):
    start = END - timedelta(days=149)
    edge = daily_panel(simulated, start, END)
    hub = panel_from_days(_hub_days(simulated, start, END))
    assert edge.skus == hub.skus and len(edge.skus) >= 120
    for name in ("sales", "price", "promo", "closed", "holiday", "event", "category"):
        np.testing.assert_array_equal(getattr(edge, name), getattr(hub, name), err_msg=name)
    assert edge.holiday.any() and edge.closed.any() and np.isnan(edge.sales).any()
    assert edge.promo.any() and (np.nanstd(edge.price, axis=1) > 0).any()  # price changes
    for origin in (60, 100, 121):
        horizons = range(1, 29)
        np.testing.assert_array_equal(
            F.daily_features(edge, origin, horizons), F.daily_features(hub, origin, horizons)
        )
        days = np.full(len(edge.skus), 9)
        np.testing.assert_array_equal(
            F.protection_features(edge, origin, days), F.protection_features(hub, origin, days)
        )
    hourly_edge = hourly_panel(simulated, start, END)
    hourly_hub = hourly_panel_from_days(_hub_days(simulated, start, END))
    np.testing.assert_array_equal(
        F.hourly_features(hourly_edge, 120, range(1, 8)),
        F.hourly_features(hourly_hub, 120, range(1, 8)),
    )


def test_outcomes_carry_each_days_receipts_waste_and_other_adjustments(simulated):
    # What the hub's order outcomes read (received units, waste): the mirror's deliveries
    # and stock adjustments per SKU and day, through the wire.
    start, end = END - timedelta(days=41), END
    expected: dict[tuple[str, str], list[float]] = {}
    for sku, day, qty in simulated.conn.execute(
        "SELECT sku, business_date, qty FROM deliveries WHERE business_date BETWEEN ? AND ?",
        (start.isoformat(), end.isoformat()),
    ):
        expected.setdefault((sku, day), [0.0, 0.0, 0.0])[0] += qty
    for sku, day, qty, reason in simulated.conn.execute(
        "SELECT sku, business_date, qty, reason FROM stock_adjustments "
        "WHERE business_date BETWEEN ? AND ?",
        (start.isoformat(), end.isoformat()),
    ):
        row = expected.setdefault((sku, day), [0.0, 0.0, 0.0])
        if reason in ("waste", "damage"):
            row[1] -= qty  # written off: a negative adjustment, reported as units gone
        else:
            row[2] += qty
    got = {
        (s.sku, d.day.isoformat()): [s.receipts, s.waste, s.adjustments]
        for d in _hub_days(simulated, start, end)
        for s in d.skus
        if (s.receipts, s.waste, s.adjustments) != (0.0, 0.0, 0.0)
    }
    kept = {key: value for key, value in expected.items() if value != [0.0, 0.0, 0.0]}
    assert got.keys() == kept.keys()
    for key, value in kept.items():
        assert got[key] == pytest.approx(value), key
    totals = np.array(list(kept.values())).sum(axis=0)
    assert (totals[:2] > 0).all() and (np.array(list(kept.values()))[:, 2] != 0).any(), totals


def test_panel_marks_closed_days_and_unlisted_skus_as_unobserved(simulated):
    start = END - timedelta(days=149)
    panel = daily_panel(simulated, start, END)
    closed = simulated.conn.execute(
        "SELECT date FROM store_calendar WHERE status = 'closed' AND date BETWEEN ? AND ?",
        (start.isoformat(), END.isoformat()),
    ).fetchall()
    for (day,) in closed:
        assert np.isnan(panel.sales[:, panel.index(date.fromisoformat(day))]).all()
    assert panel.closed.sum() == len(closed)
    launched = simulated.conn.execute(
        "SELECT sku, MIN(effective_from) FROM products GROUP BY sku HAVING MIN(effective_from) > ?",
        (start.isoformat(),),
    ).fetchall()
    for sku, first in launched:
        i = panel.skus.index(sku)
        assert np.isnan(panel.sales[i, : panel.index(date.fromisoformat(first))]).all()


def _toy_panel(n_sku: int = 5, n_days: int = 120, seed: int = 0) -> F.DailyPanel:
    rng = np.random.default_rng(seed)
    sales = rng.poisson(3, size=(n_sku, n_days)).astype(np.float32)
    sales[0, :100] = np.nan  # a new SKU: listed on day 100
    sales[1, 60:] = np.nan  # delisted on day 60
    closed = np.zeros(n_days, dtype=bool)
    closed[[30, 95]] = True
    sales[:, closed] = np.nan
    return F.DailyPanel(
        skus=[f"S{i}" for i in range(n_sku)],
        start=date(2026, 1, 5),
        sales=sales,
        price=np.full((n_sku, n_days), 2.0, dtype=np.float32),
        promo=np.zeros((n_sku, n_days), dtype=np.float32),
        closed=closed,
        holiday=np.zeros(n_days, dtype=bool),
        category=np.arange(n_sku),
    )


def test_features_do_not_look_past_the_origin():
    panel = _toy_panel()
    origin = 90
    before = F.daily_features(panel, origin, range(1, 15))
    protection_before = F.protection_features(panel, origin, np.full(5, 7))
    panel.sales[:, origin + 1 :] = 1000.0  # what happens after the origin
    np.testing.assert_array_equal(before, F.daily_features(panel, origin, range(1, 15)))
    np.testing.assert_array_equal(
        protection_before, F.protection_features(panel, origin, np.full(5, 7))
    )


def test_new_and_delisted_skus_get_finite_features():
    panel = _toy_panel()
    rows = F.daily_features(panel, 101, [1])
    assert np.isfinite(rows).all()
    history = rows[:, F.DAILY_FEATURES.index("history_days")]
    assert history[0] == 2  # listed on day 100, origin 101
    assert rows[0, F.DAILY_FEATURES.index("mean_28")] == pytest.approx(
        np.nanmean(panel.sales[0, 100:102])
    )
    assert rows[1, F.DAILY_FEATURES.index("days_since_sale")] >= 40  # delisted 42 days ago


def test_nan_reductions_are_numpys_bit_for_bit():
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        values = rng.gamma(0.5, 3.0, size=(40, 60)).astype(dtype)
        values[rng.random(values.shape) < 0.4] = np.nan
        values[0] = np.nan  # nothing observed
        values[1, 1:] = np.nan  # one observation: no variance with ddof 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for view in (values, values[:, -14:], values[:, ::3]):
                mean, var = np.nanmean(view, axis=1), np.nanvar(view, axis=1, ddof=1)
                median = np.nanmedian(view, axis=1, keepdims=True)
                ours = F.nanmean(view, axis=1, default=np.nan)
                assert ours.dtype == mean.dtype and np.array_equal(ours, mean, equal_nan=True)
                ours = F._nanvar(view, axis=1, ddof=1, default=np.nan)
                assert ours.dtype == var.dtype and np.array_equal(ours, var, equal_nan=True)
                ours = F.nanmedian(view, keepdims=True)
                assert ours.dtype == median.dtype
                assert np.array_equal(ours, median, equal_nan=True)
                std = np.nan_to_num(np.nanstd(view, axis=1))
                assert np.array_equal(F._nanstd(view, axis=1), std)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_features_of_new_skus_closed_days_and_unseen_hours_warn_nothing(monkeypatch):
    # The agent computes features in threads, where catch_warnings cannot silence numpy's
    # "Mean of empty slice": it saves and restores the process-wide filters, so one
    # thread's exit drops the "ignore" of a thread still computing. Features must not
    # raise the warnings in the first place; here no local silencing works at all.
    monkeypatch.setattr(warnings, "catch_warnings", contextlib.nullcontext)
    monkeypatch.setattr(warnings, "simplefilter", lambda *args, **kwargs: None)
    panel = _toy_panel()
    assert np.isfinite(F.daily_features(panel, 101, [1, 7])).all()
    F.protection_features(panel, 101, np.array([3, 5, 2, 4, 6]))
    traffic = np.tile(np.arange(24, dtype=np.float32), (2, 43, 1))
    traffic[1, :30] = np.nan  # a store that opened four weeks before the origin
    traffic[:, :, :6] = np.nan  # hours never traded
    closed = np.zeros(43, bool)
    closed[20] = True
    traffic[:, closed] = np.nan
    hourly = F.HourlyPanel(date(2026, 1, 5), traffic, closed, np.zeros(43, bool))
    assert np.isfinite(F.hourly_features(hourly, 40, [1, 2])).all()
    sales = np.ones((3, 24 * 20), dtype=np.float32)
    sales[0] = 0.0  # never sold
    sales[1, : 24 * 15] = np.nan  # listed five days ago
    shelf = F.SkuHourPanel(date(2026, 1, 5), sales, np.zeros_like(sales), np.ones_like(sales))
    assert np.isfinite(F.availability_features(shelf)).all()


def test_naive_scale_is_m5s_over_two_years_from_the_first_sale():
    origin = F.SCALE_DAYS + 100
    n_days = origin + 3
    sales = np.zeros((4, n_days), dtype=np.float32)
    sales[0, origin - 4 : origin + 1] = [1, 3, np.nan, 2, 4]  # unobserved: no pairs
    sales[2, :] = 2.0  # a constant rate moves nothing
    sales[3, 50] = 9.0  # before the window: counts for nothing
    sales[3, origin - 2] = 1.0
    panel = F.DailyPanel(
        skus=["A", "B", "C", "D"],
        start=date(2024, 1, 1),
        sales=sales,
        price=np.ones_like(sales),
        promo=np.zeros_like(sales),
        closed=np.zeros(n_days, dtype=bool),
        holiday=np.zeros(n_days, dtype=bool),
        category=np.zeros(4, dtype=int),
    )
    rows = F.daily_features(panel, origin, [1, 2])
    scale = rows[:4, F.DAILY_FEATURES.index("naive_scale")]
    # changes 1 -> 3 and 2 -> 4; never sold and constant: 1; 1 -> 0 -> 0 from its sale
    np.testing.assert_allclose(scale, [2.0, 1.0, 1.0, np.sqrt(0.5)], rtol=1e-6)
    for name in F.PER_SCALE:
        np.testing.assert_allclose(
            rows[:, F.DAILY_FEATURES.index(f"{name}_per_scale")],
            rows[:, F.DAILY_FEATURES.index(name)] / np.tile(scale, 2),
            rtol=1e-6,
            err_msg=name,
        )


def test_the_edges_daily_rows_read_two_years_for_the_naive_scale(tmp_path):
    """The cycle's panel holds 400 days; the daily model's rows (scored in the shadow
    check) read the SCALE_DAYS the hub's full history gives, so both scales agree."""
    from edge_agent.model_updates import shadow_features

    mirror = open_mirror(
        tmp_path / "long.db", clock=FixedClock(datetime(2027, 1, 3, 12, tzinfo=UTC))
    )
    run_simulation(mirror, store_id="S001", skus=6, days=F.SCALE_DAYS + 80, seed=3, end_date=END)
    edge = shadow_features(mirror, "replenishment_daily", 5)
    hub = panel_from_days(_hub_days(mirror, END - timedelta(days=F.SCALE_DAYS + 79), END))
    # One more day (the forecast's) so the hub can place horizon 1 after its last sales day.
    n_sku = len(hub.skus)
    hub = F.DailyPanel(hub.skus, hub.start, *(np.hstack([a, np.full((n_sku, 1), np.nan, a.dtype)])
                       for a in (hub.sales, hub.price, hub.promo)),
                       *(np.append(a, False) for a in (hub.closed, hub.holiday)),
                       hub.category, np.append(hub.event, False))  # fmt: skip
    rows = F.daily_features(hub.take(range(5)), hub.n_days - 2, [1])
    scaled = [i for i, name in enumerate(F.DAILY_FEATURES) if "scale" in name]
    assert edge is not None and edge.shape == rows.shape
    np.testing.assert_array_equal(edge[:, scaled], rows[:, scaled])
    as_of = END + timedelta(days=1)  # the cycle's own 400 days give other scales
    short = daily_panel(mirror, as_of - timedelta(days=400), as_of, sku_limit=5)
    one_year = F.daily_features(short, short.n_days - 2, [1])
    assert not np.array_equal(one_year[:, scaled], rows[:, scaled])
    mirror.close()


def test_protection_targets_sum_the_interval_and_features_count_closed_days():
    panel = _toy_panel()
    days = np.array([3, 5, 7, 9, 11])
    target = F.protection_targets(panel, 90, days)
    for i, p in enumerate(days):
        window = panel.sales[i, 91 : 91 + p]
        expected = np.nansum(window) if np.any(~np.isnan(window)) else np.nan
        assert target[i] == pytest.approx(expected, nan_ok=True)
    rows = F.protection_features(panel, 90, days)
    closed = rows[:, F.PROTECTION_FEATURES.index("closed_days")]
    assert list(closed) == [0, 1, 1, 1, 1]  # day 95 is closed; only the 3-day window misses it


def test_availability_features_use_no_future_and_no_labels():
    rng = np.random.default_rng(1)
    sales = rng.poisson(0.5, size=(3, 10 * 24)).astype(np.float32)
    panel = F.SkuHourPanel(
        start=date(2026, 3, 2),
        sales=sales,
        promo=np.zeros_like(sales),
        price_ratio=np.ones_like(sales),
    )
    rows = F.availability_features(panel)
    assert rows.shape == (3 * 240, len(F.AVAILABILITY_FEATURES))
    cut = 150
    later = sales.copy()
    later[:, cut + 1 :] = 9.0
    changed = F.availability_features(
        F.SkuHourPanel(panel.start, later, panel.promo, panel.price_ratio)
    )
    for sku in range(3):
        block = slice(sku * 240, sku * 240 + cut + 1)
        np.testing.assert_array_equal(rows[block], changed[block])
    run = rows[:, F.AVAILABILITY_FEATURES.index("zero_run")].reshape(3, 240)
    for sku in range(3):
        expected, current = [], 0
        for value in sales[sku]:
            current = current + 1 if value <= 0 else 0
            expected.append(current)
        assert list(run[sku]) == expected


def test_availability_run_likelihood_and_stopped_share():
    # One SKU that sells at 10:00 and 18:00 every day, then goes quiet from day 8 on.
    days = 10
    sales = np.zeros((1, days * 24), dtype=np.float32)
    for d in range(days):
        if d < 8:
            sales[0, d * 24 + 10] = 1.0
            sales[0, d * 24 + 18] = 1.0
    panel = F.SkuHourPanel(date(2026, 3, 2), sales, np.zeros_like(sales), np.ones_like(sales))
    rows = F.availability_features(panel).reshape(days * 24, -1)
    column = {name: rows[:, i] for i, name in enumerate(F.AVAILABILITY_FEATURES)}
    day8 = 8 * 24
    # Hours 10 and 18 always sold before (rate 1, capped at 0.95): each quiet one of them
    # adds log(0.05); the other hours never sold and add nothing.
    assert column["log_p_quiet_run"][day8 + 9] == pytest.approx(0.0)
    assert column["log_p_quiet_run"][day8 + 10] == pytest.approx(np.log(0.05), rel=1e-5)
    assert column["log_p_quiet_run"][day8 + 19] == pytest.approx(2 * np.log(0.05), rel=1e-5)
    # Half the day's expected sales fall at 10:00, so after it the rest is one half.
    assert column["expected_rest_share"][day8 + 10] == pytest.approx(0.5, rel=1e-3)
    assert column["expected_run_share"][day8 + 10] == pytest.approx(0.5, rel=1e-3)
    # Sales stopped after 18:00 on each of the previous 7 days: before 19:00 never.
    assert column["stopped_share_7d"][day8 + 18] == 0.0
    assert column["stopped_share_7d"][day8 + 19] == 1.0
    # Day 9 looks back on day 8, which sold nothing: stopped before every hour.
    assert column["stopped_share_7d"][9 * 24 + 5] == pytest.approx(1 / 7)


def test_labor_profile_leaves_out_a_holiday_on_the_same_weekday():
    # Five weeks of the same traffic; one day, four weeks before the target's weekday, is a
    # holiday with three times the usual trade. The profile the labor model scales by
    # forecasts the usual day; a plain same-weekday mean would carry the holiday for weeks.
    n_days = 43
    usual = np.zeros(24, dtype=np.float32)
    usual[8:20] = [2, 4, 6, 6, 5, 4, 4, 5, 6, 5, 3, 2]
    traffic = np.tile(usual, (1, n_days, 1))
    origin, horizon = 40, 2
    holiday = origin + horizon - 28
    traffic[0, holiday] = 3 * usual
    panel = F.HourlyPanel(date(2026, 1, 5), traffic, np.zeros(n_days, bool), np.zeros(n_days, bool))
    rows = F.hourly_features(panel, origin, [horizon])
    profile = rows[:, F.HOURLY_FEATURES.index("profile")]
    assert profile.sum() == pytest.approx(usual.sum(), rel=1e-3)
    same_4 = rows[:, F.HOURLY_FEATURES.index("same_hour_4")]
    assert same_4.sum() == pytest.approx(1.5 * usual.sum(), rel=1e-3)  # (3 + 1 + 1 + 1) / 4


def _week_traffic(start: date, n_days: int, shape_of) -> np.ndarray:
    """(1, n_days, 24) traffic whose day follows ``shape_of(weekday)``."""
    days = [shape_of((start + timedelta(d)).weekday()) for d in range(n_days)]
    return np.array(days, dtype=np.float32)[None]


def test_labor_profile_borrows_its_shape_from_the_busy_days_whichever_they_are():
    # A store whose busy days are Friday and Saturday (trade peaks in the evening) and
    # whose working days peak in the morning; Friday's own hours are noisy. Friday's
    # profile borrows from Saturday, not from the working days: its evening holds what a
    # busy day's evening holds, and its total is Friday's.
    start = date(2026, 1, 5)  # a Monday
    evening, morning = np.zeros(24), np.zeros(24)
    evening[16:22] = [4, 6, 8, 8, 6, 4]
    morning[7:13] = [3, 5, 6, 5, 3, 2]
    rng = np.random.default_rng(3)

    def shape_of(weekday: int) -> np.ndarray:
        if weekday == 4:  # Friday: busy, noisy hours
            return 2 * evening * rng.uniform(0.5, 1.5, 24)
        return 2 * evening if weekday == 5 else morning

    n_days = 63
    traffic = _week_traffic(start, n_days, shape_of)
    traffic[0, 20] = np.nan  # a closed day (a Saturday) is not observed
    panel = F.HourlyPanel(start, traffic, np.zeros(n_days, bool), np.zeros(n_days, bool))
    origin = 56  # a Monday: horizon 4 is a Friday
    rows = F.hourly_features(panel, origin, [4, 1])
    profile = rows[:, F.HOURLY_FEATURES.index("profile")].reshape(2, 24)
    friday, monday = profile
    assert np.isfinite(profile).all()
    assert friday[7:13].sum() < 0.01 * friday.sum()  # nothing borrowed from the mornings
    assert friday[16:22].sum() / friday.sum() > 0.9
    fridays = np.nansum(traffic[0, origin + 4 - 7 * np.arange(1, 6)], axis=1)
    assert friday.sum() == pytest.approx(fridays.mean(), rel=0.05)
    assert monday[7:13].sum() / monday.sum() > 0.9
    assert monday.sum() == pytest.approx(morning.sum(), rel=1e-3)


def test_labor_profile_keeps_a_weekday_shape_unlike_the_others():
    # Each working day peaks at its own hour, the same every week (no noise): the weekday's
    # own shape is exact, the group's an average of five peaks. Monday keeps its own.
    start = date(2026, 1, 5)  # a Monday

    def shape_of(weekday: int) -> np.ndarray:
        day = np.zeros(24)
        if weekday < 5:
            day[9 + 2 * weekday] = 10
        else:
            day[10:18] = 6
        return day

    traffic = _week_traffic(start, 64, shape_of)
    panel = F.HourlyPanel(start, traffic, np.zeros(64, bool), np.zeros(64, bool))
    rows = F.hourly_features(panel, 62, [1])  # a Monday
    monday = rows[:, F.HOURLY_FEATURES.index("profile")]
    assert monday[8:11].sum() == pytest.approx(monday.sum(), rel=1e-3)  # its peak, smoothed
    assert monday.sum() == pytest.approx(10, rel=1e-3)


def test_labor_profile_of_an_even_week_is_one_group():
    # Every day trades alike (Wednesday 5 % more): one group, one hour shape for every day,
    # each day's total its own; the hours the store does not trade in stay empty.
    start = date(2026, 1, 5)
    usual = np.zeros(24)
    usual[8:20] = [2, 4, 6, 6, 5, 4, 4, 5, 6, 5, 3, 2]
    traffic = _week_traffic(start, 40, lambda weekday: usual * (1.05 if weekday == 2 else 1.0))
    traffic[:, :, :7] = np.nan  # hours the store never trades in
    panel = F.HourlyPanel(start, traffic, np.zeros(40, bool), np.zeros(40, bool))
    rows = F.hourly_features(panel, 35, [1, 2, 3])
    profile = rows[:, F.HOURLY_FEATURES.index("profile")].reshape(3, 24)
    assert np.isfinite(profile).all()
    assert profile[:, :7].sum() < 1e-3 * profile.sum()
    shapes = profile / profile.sum(axis=1, keepdims=True)
    assert shapes[0] == pytest.approx(shapes[1], abs=1e-6)
    assert shapes[1] == pytest.approx(shapes[2], abs=1e-6)
    assert profile.sum(axis=1) == pytest.approx(usual.sum() * np.array([1.0, 1.05, 1.0]), rel=1e-3)


def test_feature_spec_hash_is_stable_and_names_are_unique():
    for names in (
        F.DAILY_FEATURES,
        F.PROTECTION_FEATURES,
        F.HOURLY_FEATURES,
        F.AVAILABILITY_FEATURES,
    ):
        assert len(names) == len(set(names))
    assert len(F.FEATURE_SPEC_HASH) == 16
    assert F.daily_features(_toy_panel(), 90, [1]).shape[1] == len(F.DAILY_FEATURES)
    assert F.protection_features(_toy_panel(), 90, np.full(5, 3)).shape[1] == len(
        F.PROTECTION_FEATURES
    )


# -- the edge's one-hour availability rows are the training rows --------------------------------
def _assert_hour_rows_equal(panel: F.SkuHourPanel, hours: list[int], chunk: int = 2048) -> None:
    full = F.availability_features(panel)
    n_sku, n_hours = panel.sales.shape
    full = full.reshape(n_sku, n_hours, len(F.AVAILABILITY_FEATURES))
    for hour in hours:
        served = F.availability_features_at(panel, hour, chunk=chunk)
        assert served.dtype == np.float32
        # Bit for bit: the model sees at the edge exactly what it was trained on.
        np.testing.assert_array_equal(served, full[:, hour], err_msg=f"hour {hour}")


def test_availability_hour_rows_equal_the_training_rows_on_freshretailnet(tmp_path):
    from cloud_hub.backtest import read_hourly_skus
    from cloud_hub.datasets import convert_freshretailnet
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "freshretailnet_store0").is_dir():
        pytest.fail(f"real data folder {SHARED_DATA} is absent (CI always has it)")
    hourly, _ = convert_freshretailnet(SHARED_DATA, tmp_path)
    panels, _, n_days = read_hourly_skus(hourly)
    panel = panels[0]
    # The edge's window: 15 days (14 of expectation and the scored day), at several hours;
    # and the whole history, so runs and levels reach back past the window.
    last = n_days * 24
    window = F.SkuHourPanel(
        panel.start + timedelta(days=n_days - 15),
        panel.sales[:, last - 15 * 24 :],
        panel.promo[:, last - 15 * 24 :],
        panel.price_ratio[:, last - 15 * 24 :],
    )
    _assert_hour_rows_equal(window, [0, 23, 14 * 24, 14 * 24 + 9, 15 * 24 - 1], chunk=17)
    _assert_hour_rows_equal(panel, [last - 1, last - 30, 5 * 24 + 21])


def test_availability_hour_rows_equal_on_new_skus_and_closed_days():
    days = 15
    rng = np.random.default_rng(3)
    sales = rng.poisson(0.4, size=(4, days * 24)).astype(np.float32)
    sales[0] = 0.0  # listed today: no history at all
    sales[1, : 12 * 24] = np.nan  # new three days ago: not observed before
    sales[:, 9 * 24 : 10 * 24] = 0.0  # the store was closed on day 9: no sales anywhere
    sales[2, -30:] = 0.0  # a run into the scored hour
    promo = np.zeros_like(sales)
    promo[3, -24:] = 1.0
    ratio = np.ones_like(sales)
    ratio[3, -24:] = 0.8
    ratio[2, -5:] = np.nan
    panel = F.SkuHourPanel(date(2026, 3, 2), sales, promo, ratio)
    _assert_hour_rows_equal(panel, [0, 5, 24, 9 * 24 + 20, 10 * 24, days * 24 - 1], chunk=3)
    one_day = F.SkuHourPanel(date(2026, 3, 2), sales[:, :24], promo[:, :24], ratio[:, :24])
    _assert_hour_rows_equal(one_day, [0, 23])
    with pytest.raises(ValueError, match="outside the panel"):
        F.availability_features_at(panel, days * 24)
