"""The yardstick the kit's daily demand model is held against: a well-tuned global
LightGBM with lag and calendar features, trained and scored on a backtest's own split.

It is the M5 competition's common non-recursive model, not a kit model: one row per
SKU and target day, the lags and rolling windows ending ``lag`` days before the target
(``lag`` = the horizon rounded up to whole weeks, so one forecast origin serves every
day of the horizon without feeding forecasts back), the target day's calendar, price and
promotion, the store, the category and the item as LightGBM categories, a Tweedie loss
on the units themselves. Nothing here reaches a store: the backtest trains it
(``cloud-hub backtest replenishment --reference``) so a retailer sees, on their own
history, whether the kit's model beats what a data scientist would build first. The
labor reference does the same per store-hour.

Hub-side only (imports LightGBM).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import lightgbm as lgb
import numpy as np

from models.features import DailyPanel, nanmean
from models.training import BASE_PARAMS

__all__ = [
    "LABOR_REFERENCE_FEATURES",
    "REFERENCE_FEATURES",
    "Codes",
    "LaborReferenceModel",
    "ReferenceModel",
    "labor_reference_rows",
    "lag_days",
    "reference_rows",
    "train_labor_reference",
    "train_reference",
]

#: Days of target rows the reference trains on, back from the last history day (M5's
#: 280 series: 204,400 rows).
HISTORY_DAYS = 730
#: Rolling windows (days) of the sales levels, each ending ``lag`` days before the target.
WINDOWS = (7, 28, 56, 112)
#: Same-weekday lags: ``lag``, ``lag + 7``, ... days before the target.
WEEKLY_LAGS = 4
# Chosen on four 28-day windows before M5's holdout (BENCHMARKS.md, "The reference"): a
# flat top, RMSSE 0.716-0.733 over the loss, its variance power, leaves, rounds and minimum
# leaf; the item as a category gained 0.4 %.
PARAMS = {
    **BASE_PARAMS,
    "objective": "tweedie",
    "tweedie_variance_power": 1.5,
    "learning_rate": 0.03,
    "num_leaves": 127,
    "min_data_in_leaf": 100,
}
ROUNDS = 1200

REFERENCE_FEATURES: tuple[str, ...] = (
    "store",
    "category",
    "item",
    "weekday",
    "day_of_month",
    "month",
    "event",
    "holiday",
    "promo",
    "price",
    "price_vs_28",
    *(f"lag_{k}w" for k in range(WEEKLY_LAGS)),
    *(f"mean_{w}" for w in WINDOWS),
    "std_28",
    "zero_share_28",
)
_CATEGORICAL = ("store", "category", "item")
# SKUs whose rows are built together: the cumulative sums span the whole history.
_SKU_CHUNK = 2_000


def lag_days(horizon: int) -> int:
    """How far back the newest sale a row reads lies: the horizon in whole weeks."""
    return 7 * max(1, math.ceil(horizon / 7))


def _window(cumulative: np.ndarray, end: np.ndarray, width: int) -> np.ndarray:
    """Sums over the ``width`` days ending at each ``end`` (inclusive), from a cumulative
    sum with a leading zero column; days before the panel count as nothing."""
    upper = np.clip(end + 1, 0, cumulative.shape[1] - 1)
    lower = np.clip(end + 1 - width, 0, cumulative.shape[1] - 1)
    return np.take_along_axis(cumulative, upper, 1) - np.take_along_axis(cumulative, lower, 1)


@dataclass(frozen=True)
class Codes:
    """Consecutive codes from 0 for the items (by SKU) and categories the reference
    trained on: LightGBM sizes a category's bins by its largest value, and warns (on
    stdout) of sparse ones."""

    items: dict[str, int]
    categories: dict[int, int]

    @classmethod
    def of(cls, panels: list[DailyPanel]) -> Codes:
        skus = sorted({sku for panel in panels for sku in panel.skus})
        categories = sorted({int(c) for panel in panels for c in panel.category})
        return cls({s: i for i, s in enumerate(skus)}, {c: i for i, c in enumerate(categories)})


def reference_rows(
    panel: DailyPanel, store: int, days: np.ndarray, lag: int, codes: Codes
) -> np.ndarray:
    """Feature rows for every SKU of ``panel`` at each target day index in ``days``,
    day-major (all SKUs of the first day, then the next), reading sales only up to
    ``day - lag``. ``store``: the store's code."""
    days = np.asarray(days, dtype=np.int64)
    n_sku = len(panel.skus)
    sales = panel.sales.astype(np.float64)
    seen = ~np.isnan(sales)
    values = np.where(seen, sales, 0.0)
    zero = seen & (values == 0)

    def cumulative(a: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((n_sku, 1)), np.cumsum(a, axis=1)], axis=1)

    total, squares = cumulative(values), cumulative(values * values)
    count, zeros = cumulative(seen.astype(np.float64)), cumulative(zero.astype(np.float64))
    price = panel.price.astype(np.float64)
    price_seen = ~np.isnan(price)
    price_total = cumulative(np.where(price_seen, price, 0.0))
    price_count = cumulative(price_seen.astype(np.float64))

    end = np.broadcast_to(days - lag, (n_sku, len(days)))
    columns: dict[str, np.ndarray] = {}
    calendar = [panel.day(int(d)) for d in days]
    grid = np.ones((n_sku, len(days)))
    columns["store"] = grid * store
    # The same item (category) has one code in every store; one never seen reads NaN.
    categories = [codes.categories.get(int(c), np.nan) for c in panel.category]
    columns["category"] = grid * np.array(categories, dtype=np.float64)[:, None]
    items = [codes.items.get(sku, np.nan) for sku in panel.skus]
    columns["item"] = grid * np.array(items, dtype=np.float64)[:, None]
    columns["weekday"] = grid * np.array([d.weekday() for d in calendar])
    columns["day_of_month"] = grid * np.array([d.day for d in calendar])
    columns["month"] = grid * np.array([d.month for d in calendar])
    columns["event"] = grid * panel.event[days]
    columns["holiday"] = grid * panel.holiday[days]
    columns["promo"] = panel.promo[:, days].astype(np.float64)
    columns["price"] = price[:, days]
    with np.errstate(invalid="ignore", divide="ignore"):
        recent_price = _window(price_total, end, 28) / _window(price_count, end, 28)
        columns["price_vs_28"] = price[:, days] / recent_price
        for k in range(WEEKLY_LAGS):
            back = end - 7 * k
            inside = back >= 0
            columns[f"lag_{k}w"] = np.where(
                inside, np.take_along_axis(sales, np.clip(back, 0, None), 1), np.nan
            )
        for width in WINDOWS:
            columns[f"mean_{width}"] = _window(total, end, width) / _window(count, end, width)
        n28 = _window(count, end, 28)
        mean28 = _window(total, end, 28) / n28
        variance = _window(squares, end, 28) / n28 - mean28 * mean28
        columns["std_28"] = np.sqrt(np.maximum(variance, 0.0))
        columns["zero_share_28"] = _window(zeros, end, 28) / n28
    stacked = np.stack([columns[name] for name in REFERENCE_FEATURES], axis=-1)
    # (n_sku, n_days, n_features) -> day-major rows
    return stacked.transpose(1, 0, 2).reshape(-1, len(REFERENCE_FEATURES)).astype(np.float32)


@dataclass
class _Fitted:
    """A trained reference: its booster, how far back its newest input lies (``lag``),
    the rows and seconds it trained on and in."""

    booster: lgb.Booster
    lag: int
    rows: int
    seconds: float

    def about(self) -> dict[str, Any]:
        """What a backtest's JSON says of it."""
        return {"rows": self.rows, "lag_days": self.lag, "train_seconds": round(self.seconds, 2)}

    def _days(self, origin: int, horizon: int) -> np.ndarray:
        """The target days after ``origin``; its rows read nothing later when ``horizon <=
        lag``."""
        if horizon > self.lag:
            raise ValueError(f"the reference reads {self.lag} days back; horizon {horizon}")
        return np.arange(origin + 1, origin + horizon + 1)


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    categorical: tuple[str, ...],
    params: dict[str, Any],
    rounds: int,
    threads: int,
) -> tuple[lgb.Booster, int]:
    """(booster, rows): trained on the rows with an observed target."""
    keep = ~np.isnan(y)
    data = lgb.Dataset(x[keep], y[keep], feature_name=list(names),
                       categorical_feature=list(categorical), params={"verbose": -1},
                       free_raw_data=True)  # fmt: skip
    booster = lgb.train({**params, "num_threads": threads}, data, num_boost_round=rounds)
    return booster, int(keep.sum())


@dataclass
class ReferenceModel(_Fitted):
    codes: Codes

    def forecast(self, panel: DailyPanel, store: int, origin: int, horizon: int) -> np.ndarray:
        """``(n_sku, horizon)`` forecasts for the days after ``origin``, from sales up
        to ``origin`` only."""
        days = self._days(origin, horizon)
        out = np.empty((len(panel.skus), horizon))
        for start in range(0, len(panel.skus), _SKU_CHUNK):
            chunk = panel.take(np.arange(start, min(start + _SKU_CHUNK, len(panel.skus))))
            rows = reference_rows(chunk, store, days, self.lag, self.codes)
            predicted = np.maximum(self.booster.predict(rows), 0.0)
            out[start : start + len(chunk.skus)] = predicted.reshape(horizon, -1).T
        return out


def train_reference(
    panels: list[DailyPanel],
    stores: list[int],
    last_history: int,
    horizon: int,
    *,
    budget: int,
    threads: int = 2,
    rounds: int = ROUNDS,
) -> ReferenceModel:
    """Train on the target days up to ``last_history`` (the newest :data:`HISTORY_DAYS`,
    fewer if ``budget`` rows would be exceeded); closed and unlisted days have no target.
    ``stores``: each panel's store code."""
    started = time.perf_counter()
    lag = lag_days(horizon)
    series = sum(len(panel.skus) for panel in panels)
    n_days = max(1, min(HISTORY_DAYS, last_history + 1 - lag, budget // max(1, series)))
    days = np.arange(last_history - n_days + 1, last_history + 1)
    codes = Codes.of(panels)
    features, target = [], []
    for panel, store in zip(panels, stores, strict=True):
        features.append(reference_rows(panel, store, days, lag, codes))
        target.append(panel.sales[:, days].T.reshape(-1))
    x, y = np.vstack(features), np.concatenate(target).astype(np.float64)
    booster, rows = _fit(x, y, REFERENCE_FEATURES, _CATEGORICAL, PARAMS, rounds, threads)
    return ReferenceModel(booster, lag, rows, time.perf_counter() - started, codes)


# -- labor -------------------------------------------------------------------------------------
#: Same-hour lags of the labor reference: ``lag``, ``lag + 7``, ... days before the target.
LABOR_WEEKLY_LAGS = 4
# L1: the loss of the WAPE it is judged by. Chosen on FreshRetailNet's three holdout weeks,
# the last one included, which can only make the yardstick harder to beat (BENCHMARKS.md):
# leaves, rounds and the loss move its WAPE by 0.236-0.250.
LABOR_PARAMS = {**BASE_PARAMS, "objective": "regression_l1", "num_leaves": 15,
                "min_data_in_leaf": 20}  # fmt: skip
LABOR_ROUNDS = 300

LABOR_REFERENCE_FEATURES: tuple[str, ...] = (
    "store",
    "hour",
    "weekday",
    "day_of_month",
    *(f"lag_{k}w" for k in range(LABOR_WEEKLY_LAGS)),
    "same_hour_mean_4w",
    "same_hour_mean_7",
    "day_total",
    "day_total_mean_7",
    "day_total_mean_28",
)


def labor_reference_rows(
    traffic: np.ndarray, first: date, days: np.ndarray, lag: int
) -> np.ndarray:
    """Rows for every store x target day in ``days`` x hour (that order), reading
    ``traffic`` (store x day x hour) only up to ``day - lag``."""
    n_store = traffic.shape[0]
    values = traffic.astype(np.float64)
    totals = np.where(np.isnan(values).all(axis=2), np.nan, np.nansum(values, axis=2))

    def back(array: np.ndarray, day: int) -> np.ndarray:
        return array[:, day] if day >= 0 else np.full(array[:, 0].shape, np.nan)

    def mean_over(array: np.ndarray, end: int, width: int) -> np.ndarray:
        return nanmean(array[:, max(0, end - width + 1) : end + 1], axis=1, default=np.nan)

    out = np.full((n_store, len(days), 24, len(LABOR_REFERENCE_FEATURES)), np.nan)
    hours = np.arange(24)
    for j, day in enumerate(np.asarray(days, dtype=np.int64)):
        end, when = int(day) - lag, first + timedelta(days=int(day))
        lags = [back(values, end - 7 * k) for k in range(LABOR_WEEKLY_LAGS)]
        same_hour_4w = nanmean(np.stack(lags), axis=0, default=np.nan)
        columns = {
            "store": np.arange(n_store)[:, None] * np.ones(24),
            "hour": np.ones((n_store, 1)) * hours,
            "weekday": np.full((n_store, 24), when.weekday()),
            "day_of_month": np.full((n_store, 24), when.day),
            **{f"lag_{k}w": lags[k] for k in range(LABOR_WEEKLY_LAGS)},
            "same_hour_mean_4w": same_hour_4w,
            "same_hour_mean_7": mean_over(values, end, 7),
            "day_total": back(totals, end)[:, None] * np.ones(24),
            "day_total_mean_7": mean_over(totals, end, 7)[:, None] * np.ones(24),
            "day_total_mean_28": mean_over(totals, end, 28)[:, None] * np.ones(24),
        }
        out[:, j] = np.stack([columns[name] for name in LABOR_REFERENCE_FEATURES], axis=-1)
    return out.reshape(-1, len(LABOR_REFERENCE_FEATURES)).astype(np.float32)


@dataclass
class LaborReferenceModel(_Fitted):
    def forecast(self, traffic: np.ndarray, first: date, origin: int, horizon: int) -> np.ndarray:
        """``(n_store, horizon, 24)`` transactions for the days after ``origin``."""
        days = self._days(origin, horizon)
        rows = labor_reference_rows(traffic, first, days, self.lag)
        predicted = np.maximum(self.booster.predict(rows), 0.0)
        return predicted.reshape(traffic.shape[0], horizon, 24)


def train_labor_reference(
    traffic: np.ndarray, first: date, last_history: int, horizon: int, *, threads: int = 2
) -> LaborReferenceModel:
    """Train on every store-hour up to ``last_history`` that has a lag behind it (hours
    the store does not trade have no target)."""
    started = time.perf_counter()
    lag = lag_days(horizon)
    start = min(lag, last_history)
    days = np.arange(start, last_history + 1)
    x = labor_reference_rows(traffic, first, days, lag)
    y = traffic[:, days, :].astype(np.float64).reshape(-1)
    booster, rows = _fit(x, y, LABOR_REFERENCE_FEATURES, ("store",), LABOR_PARAMS, LABOR_ROUNDS,
                         threads)  # fmt: skip
    return LaborReferenceModel(booster, lag, rows, time.perf_counter() - started)
