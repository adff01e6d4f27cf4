"""The one feature definition, shared by edge inference and hub training.

Every feature is a pure function of arrays: a daily panel (SKU x day: units
sold, price, promotion, plus the store calendar), an hourly panel (store x day
x hour: transactions) and an hourly SKU panel (SKU x hour: units, promotion).
The edge fills the arrays from its SQLite mirror, the hub from the DailyOutcome
messages the stores synced; both call the functions here, so what a model was
trained on is what it is served. :data:`FEATURE_SPEC_HASH` changes whenever a
feature's name, order or parameters change, and model manifests carry it.

Conventions: days are integer indexes into the panel; an *origin* is the last
day whose sales are known; a forecast is for ``origin + h`` (h >= 1). NaN means
"not observed" (store closed, SKU not yet listed or delisted). Future days may
carry calendar, price and promotion (known in advance), never sales.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = [
    "AVAILABILITY_FEATURES",
    "DAILY_FEATURES",
    "FEATURE_SPEC",
    "FEATURE_SPEC_HASH",
    "HOURLY_FEATURES",
    "PER_SCALE",
    "PROTECTION_FEATURES",
    "SCALE_DAYS",
    "DailyPanel",
    "HourlyPanel",
    "SkuHourPanel",
    "availability_features",
    "availability_features_at",
    "daily_features",
    "days_window",
    "hourly_features",
    "nanmean",
    "nanmedian",
    "protection_features",
]

FEATURE_VERSION = 5
_EPS = 1e-3
PROFILE_WEEKS = 5
PROFILE_SHAPE_WEEKS = 8
PROFILE_OUTLIER = 0.25
PROFILE_SMOOTH = 0.2
PROFILE_GROUP_MAX = 0.5
PROFILE_GROUP_GAP = 0.15
PROFILE_LEVEL_DAYS = 28
PROFILE_LEVEL_WEIGHT = 0.5
# The naive scale's window: two years (one year's scale scored 0.7026-0.705 on the two
# validation windows, no better than before it; two years 0.6974-0.7006, BENCHMARKS.md).
SCALE_DAYS = 730

DAILY_FEATURES = (
    "horizon", "dow", "doy_sin", "doy_cos", "holiday", "holiday_near", "event", "promo",
    "price_ratio", "promo_share_28", "category", "mean_7", "mean_28", "mean_56", "std_28",
    "zero_share_28", "days_since_sale", "history_days", "trend_7_28", "last",
    "same_weekday_1", "same_weekday_4", "weekday_ratio", "mean_14", "mean_sold_56",
    "event_lift", "lag_2", "lag_3", "lag_4", "lag_5", "lag_6", "lag_7", "yoy_ratio",
    "mean_365", "mean_sold_365", "naive_scale",
)  # fmt: skip
# The demand levels again in units of the SKU's naive scale (RMSSE's denominator): the
# daily model learns sales / naive_scale, and these let one tree serve every volume.
PER_SCALE = (
    "mean_7", "mean_28", "mean_56", "std_28", "last", "same_weekday_1", "same_weekday_4",
    "mean_14", "mean_sold_56", "lag_2", "lag_3", "lag_4", "lag_5", "lag_6", "lag_7",
    "mean_365", "mean_sold_365",
)  # fmt: skip
_PER_SCALE_AT = [DAILY_FEATURES.index(name) for name in PER_SCALE]
DAILY_FEATURES += tuple(f"{name}_per_scale" for name in PER_SCALE)
PROTECTION_FEATURES = (
    "protection_days", "category", "mean_7", "mean_28", "mean_56", "std_28",
    "zero_share_28", "days_since_sale", "history_days", "trend_7_28", "expected_total",
    "promo_days", "holiday_days", "closed_days", "price_ratio",
)  # fmt: skip
HOURLY_FEATURES = (
    "horizon", "hour", "dow", "holiday", "same_hour_1", "same_hour_4", "hour_mean_7",
    "day_total_7", "day_total_28", "trend_7_28", "weekday_ratio", "hour_share", "profile",
)  # fmt: skip
AVAILABILITY_FEATURES = (
    "hour", "dow", "zero_run", "expected_hour", "expected_run", "p_zero_run",
    "sold_today", "expected_today", "today_ratio", "daily_level_7", "zero_rate_hour",
    "promo", "price_ratio", "sales_last_3h", "sales_last_6h", "last_sale_hour_yesterday",
    "sold_yesterday", "last_sale_hour_7d", "hours_to_usual_last_sale", "log_p_quiet_run",
    "expected_run_share", "expected_rest_share", "stopped_share_7d",
)  # fmt: skip

FEATURE_SPEC = {
    "version": FEATURE_VERSION,
    "daily": DAILY_FEATURES,
    "protection": PROTECTION_FEATURES,
    "hourly": HOURLY_FEATURES,
    "availability": AVAILABILITY_FEATURES,
    "windows": {"short": 7, "month": 28, "long": 56, "weeks": 4, "cap_days": 365},
    # naive_scale: the root mean square of day-to-day changes over the last SCALE_DAYS,
    # from the SKU's first sale in them (days not observed are skipped); 1 when nothing
    # moved.
    "naive_scale": {"days": SCALE_DAYS, "of": "rms of day-to-day changes since the first sale"},
    # The labor profile: a day total times an hour shape. The total is the mean of the
    # same-weekday days over PROFILE_WEEKS, without the days more than PROFILE_OUTLIER off
    # their median (holidays, swapped working days), moved halfway to the recent level
    # (the median ratio of the last PROFILE_LEVEL_DAYS days' totals to their weekday's
    # typical total). The shape is those days' hour shares over PROFILE_SHAPE_WEEKS, mixed
    # with the shape of the weekdays of the same trade group (busy days vs the others) as
    # far as the weekdays' noise against their real spread says, at most PROFILE_GROUP_MAX.
    "labor_profile": {
        "weeks": PROFILE_WEEKS,
        "shape_weeks": PROFILE_SHAPE_WEEKS,
        "outlier": PROFILE_OUTLIER,
        "smooth": PROFILE_SMOOTH,
        "group_max": PROFILE_GROUP_MAX,
        "group_lean": "noise / (noise + spread)",
        "group_gap": PROFILE_GROUP_GAP,
        "level_days": PROFILE_LEVEL_DAYS,
        "level_weight": PROFILE_LEVEL_WEIGHT,
    },
}
FEATURE_SPEC_HASH = hashlib.sha256(json.dumps(FEATURE_SPEC, sort_keys=True).encode()).hexdigest()[
    :16
]


# -- panels ------------------------------------------------------------------------------------
@dataclass
class DailyPanel:
    """SKU x day arrays over ``start .. start + n_days - 1``."""

    skus: list[str]
    start: date
    sales: np.ndarray  # (n_sku, n_days) float, NaN = not observed
    price: np.ndarray  # (n_sku, n_days) float, NaN = unknown
    promo: np.ndarray  # (n_sku, n_days) float 0/1
    closed: np.ndarray  # (n_days,) bool: the store does not trade
    holiday: np.ndarray  # (n_days,) bool: a public holiday (trading)
    category: np.ndarray  # (n_sku,) int codes
    event: np.ndarray | None = None  # (n_days,) bool: a known demand event (payday, SNAP)

    def __post_init__(self) -> None:
        n_sku, n_days = self.sales.shape
        if self.event is None:
            self.event = np.zeros(n_days, dtype=bool)
        for name in ("price", "promo"):
            if getattr(self, name).shape != (n_sku, n_days):
                raise ValueError(f"DailyPanel.{name} must be shaped {(n_sku, n_days)}")
        for name in ("closed", "holiday", "event"):
            if getattr(self, name).shape != (n_days,):
                raise ValueError(f"DailyPanel.{name} must be shaped {(n_days,)}")
        if self.category.shape != (n_sku,) or len(self.skus) != n_sku:
            raise ValueError("DailyPanel.skus and .category must have one entry per SKU")

    @property
    def n_days(self) -> int:
        return int(self.sales.shape[1])

    def take(self, rows: Sequence[int] | np.ndarray) -> DailyPanel:
        """The panel of the SKUs at ``rows`` only (the store's calendar unchanged)."""
        rows = np.asarray(rows, dtype=int)
        return DailyPanel([self.skus[i] for i in rows], self.start, self.sales[rows],
                          self.price[rows], self.promo[rows], self.closed, self.holiday,
                          self.category[rows], self.event)  # fmt: skip

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def index(self, day: date) -> int:
        return (day - self.start).days


@dataclass
class HourlyPanel:
    """Store x day x hour transactions (NaN outside trading hours or not observed)."""

    start: date
    traffic: np.ndarray  # (n_series, n_days, 24)
    closed: np.ndarray  # (n_days,) bool
    holiday: np.ndarray  # (n_days,) bool


@dataclass
class SkuHourPanel:
    """SKU x hour sales in time order (hour index = day * 24 + hour of day)."""

    start: date
    sales: np.ndarray  # (n_sku, n_days * 24), NaN = not observed
    promo: np.ndarray  # (n_sku, n_days * 24) 0/1
    price_ratio: np.ndarray  # (n_sku, n_days * 24): price / regular price (1 = regular)

    def take(self, rows: Sequence[int] | np.ndarray) -> SkuHourPanel:
        """The panel of the SKUs at ``rows`` only."""
        rows = np.asarray(rows, dtype=int)
        return SkuHourPanel(self.start, self.sales[rows], self.promo[rows], self.price_ratio[rows])


# -- helpers ------------------------------------------------------------------------------------
# Public where the agent's cycle and the reference model compute what the features do.
# The nan-reductions below are numpy's, without their warnings on empty or all-NaN slices
# (expected here: new SKUs, closed days). warnings.catch_warnings() cannot silence them: it
# swaps process-wide state, and the agent computes features in threads. Results are
# numpy's bit for bit (same sums, same division).
def nanmean(values: np.ndarray, axis: int = -1, default: float = 0.0) -> np.ndarray:
    """np.nanmean over ``axis``; ``default`` where nothing is observed."""
    observed = ~np.isnan(values)
    count = observed.sum(axis=axis)
    total = np.where(observed, values, 0).sum(axis=axis)
    return np.divide(total, count, out=np.full(total.shape, default, total.dtype), where=count > 0)


def _nanvar(values: np.ndarray, axis: int = -1, ddof: int = 0, default: float = 0.0) -> np.ndarray:
    """np.nanvar over ``axis``; ``default`` where fewer than ``ddof + 1`` are observed."""
    observed = ~np.isnan(values)
    count = observed.sum(axis=axis, keepdims=True)
    filled = np.where(observed, values, 0)
    total = filled.sum(axis=axis, keepdims=True)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    deviation = np.where(observed, filled - mean, 0)
    square = (deviation * deviation).sum(axis=axis)
    dof = count.squeeze(axis) - ddof
    return np.divide(square, dof, out=np.full(square.shape, default, square.dtype), where=dof > 0)


def _nanstd(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """np.nanstd over ``axis``; 0 where nothing is observed."""
    return np.sqrt(_nanvar(values, axis))


def nanmedian(values: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """np.nanmedian of a 2-D array's rows; NaN for a row with nothing observed."""
    some = ~np.isnan(values).all(axis=1)
    shape = (len(values), 1) if keepdims else len(values)
    out = np.full(shape, np.nan, np.result_type(values.dtype, np.float16))
    out[some] = np.nanmedian(values[some], axis=1, keepdims=keepdims)
    return out


def days_window(values: np.ndarray, end: int, length: int) -> np.ndarray:
    """Columns ``end - length + 1 .. end`` (inclusive), NaN-padded before the panel starts."""
    start = end - length + 1
    if start >= 0:
        return values[..., start : end + 1]
    pad = np.full((*values.shape[:-1], -start), np.nan, dtype=values.dtype)
    return np.concatenate([pad, values[..., : end + 1]], axis=-1)


def _weekday(panel_start: date, index: np.ndarray | int) -> np.ndarray:
    return (np.asarray(index) + panel_start.weekday()) % 7


def _doy(panel_start: date, index: np.ndarray | int) -> np.ndarray:
    first = panel_start.timetuple().tm_yday - 1
    return (np.asarray(index) + first) % 365.25


@dataclass(frozen=True)
class _SkuState:
    """Per-SKU statistics at an origin, shared by every horizon."""

    mean_7: np.ndarray
    mean_28: np.ndarray
    mean_56: np.ndarray
    std_28: np.ndarray
    zero_share_28: np.ndarray
    days_since_sale: np.ndarray
    history_days: np.ndarray
    trend: np.ndarray
    last: np.ndarray
    price_28: np.ndarray
    promo_share_28: np.ndarray
    mean_14: np.ndarray
    mean_sold_56: np.ndarray
    event_lift: np.ndarray
    lags: np.ndarray  # (n_sku, 6): sales at origin-1 .. origin-6


def _sku_state(panel: DailyPanel, origin: int) -> _SkuState:
    sales = panel.sales
    w56 = days_window(sales, origin, 56)
    w28, w7 = w56[:, -28:], w56[:, -7:]
    mean_7, mean_28, mean_56 = nanmean(w7), nanmean(w28), nanmean(w56)
    observed_28 = np.sum(~np.isnan(w28), axis=1)
    zeros_28 = np.sum(w28 == 0, axis=1)
    zero_share = np.where(observed_28 > 0, zeros_28 / np.maximum(observed_28, 1), 1.0)
    history = sales[:, : origin + 1]
    sold = np.nan_to_num(history, nan=0.0) > 0
    any_sold = sold.any(axis=1)
    last_sale = history.shape[1] - 1 - np.argmax(sold[:, ::-1], axis=1)
    days_since = np.where(any_sold, origin - last_sale, 365).clip(0, 365)
    history_days = np.minimum(np.sum(~np.isnan(history), axis=1), 365)
    last = sales[:, origin]
    sold_56 = np.where(w56 > 0, w56, np.nan)
    events = days_window(panel.event.astype(float)[None, :], origin, 56)[0]
    on_event = nanmean(w56[:, events == 1], default=np.nan)
    off_event = nanmean(w56[:, events == 0], default=np.nan)
    event_lift = (np.where(np.isnan(on_event), mean_56, on_event) + _EPS) / (
        np.where(np.isnan(off_event), mean_56, off_event) + _EPS
    )
    lags = w56[:, -7:-1][:, ::-1]
    return _SkuState(
        mean_7=mean_7,
        mean_28=mean_28,
        mean_56=mean_56,
        std_28=_nanstd(w28),
        zero_share_28=zero_share,
        days_since_sale=days_since.astype(float),
        history_days=history_days.astype(float),
        trend=(mean_7 + _EPS) / (mean_28 + _EPS),
        last=np.where(np.isnan(last), mean_7, last),
        price_28=nanmean(days_window(panel.price, origin, 28), default=np.nan),
        promo_share_28=nanmean(days_window(panel.promo, origin, 28)),
        mean_14=nanmean(w56[:, -14:]),
        mean_sold_56=nanmean(sold_56),
        event_lift=event_lift,
        lags=np.where(np.isnan(lags), mean_7[:, None], lags),
    )


def _long_levels(sales: np.ndarray, origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The daily rows' long-window columns: the 365-day mean and mean of selling days (a
    long-run level lets the model expect demand back after a supply gap) and the naive
    scale. Apart from :func:`_sku_state` because only the daily rows read them: the
    protection rows (every decision cycle) would pay for two years of copies per SKU."""
    w365 = days_window(sales, origin, 365)
    return (
        nanmean(w365),
        nanmean(np.where(w365 > 0, w365, np.nan)),
        _naive_scale(days_window(sales, origin, SCALE_DAYS)),
    )


def _naive_scale(window: np.ndarray) -> np.ndarray:
    """Root mean square of the day-to-day changes from each row's first sale on (M5's
    RMSSE scale over the window; pairs with an unobserved day are skipped); 1 where
    nothing moved (never sold, or a constant rate), so every row has a positive scale."""
    filled = np.nan_to_num(window, nan=0.0)
    started = np.cumsum(filled > 0, axis=1) > 0
    valid = started & ~np.isnan(window)
    pairs = valid[:, 1:] & valid[:, :-1]
    change = np.where(pairs, np.diff(filled, axis=1), 0.0)
    count = pairs.sum(axis=1)
    square = np.sum(change * change, axis=1) / np.maximum(count, 1)
    return np.where(square > 0, np.sqrt(square), 1.0)


def _level_columns(panel: DailyPanel, state: _SkuState) -> list[np.ndarray]:
    """Category and demand level, spread and intermittency: the columns the daily and the
    protection features share, in the order both list them."""
    return [
        panel.category.astype(float),
        state.mean_7,
        state.mean_28,
        state.mean_56,
        state.std_28,
        state.zero_share_28,
        state.days_since_sale,
        state.history_days,
        state.trend,
    ]


def _same_weekday(panel: DailyPanel, origin: int, target: int, weeks: int) -> np.ndarray:
    """Sales on the same weekday as ``target``, the last ``weeks`` such days up to origin."""
    back = ((target - origin + 6) // 7) * 7  # first multiple of 7 that lands at or before origin
    days = _same_weekdays(target - back, weeks)
    if days.size == 0:
        return np.full((panel.sales.shape[0], 1), np.nan)
    return panel.sales[:, days]


def _year_over_year(panel: DailyPanel, origin: int, target: int) -> np.ndarray:
    """Last year's change from the origin's month to the target week (seasonal ramps)."""
    then_target, then_origin = target - 364, origin - 364
    if then_origin - 27 < 0:
        return np.ones(panel.sales.shape[0])
    around = nanmean(panel.sales[:, then_target - 3 : then_target + 4], default=np.nan)
    before = nanmean(panel.sales[:, then_origin - 27 : then_origin + 1], default=np.nan)
    ratio = (around + 0.1) / (before + 0.1)
    return np.where(np.isfinite(ratio), ratio, 1.0)


def _price_ratio(panel: DailyPanel, price_28: np.ndarray, day: int) -> np.ndarray:
    price = panel.price[:, day]
    ratio = price / price_28
    return np.where(np.isfinite(ratio), ratio, 1.0)


# -- daily (replenishment) ------------------------------------------------------------------------
def daily_features(panel: DailyPanel, origin: int, horizons: Sequence[int]) -> np.ndarray:
    """Rows for every SKU and horizon: shape (n_sku * len(horizons), len(DAILY_FEATURES)),
    SKU-major within each horizon block (row = h_index * n_sku + sku_index)."""
    if not 0 <= origin < panel.n_days:
        raise ValueError(f"origin {origin} is outside the panel (0..{panel.n_days - 1})")
    state = _sku_state(panel, origin)
    mean_365, mean_sold_365, naive_scale = _long_levels(panel.sales, origin)
    n_sku = len(panel.skus)
    blocks = []
    for h in horizons:
        target = origin + h
        if target >= panel.n_days:
            raise ValueError(f"horizon {h} from origin {origin} is past the panel's last day")
        same = _same_weekday(panel, origin, target, 8)
        same_4 = nanmean(same[:, :4], default=np.nan)
        same_4 = np.where(np.isnan(same_4), state.mean_28, same_4)
        same_1 = same[:, 0]
        weekday_mean = nanmean(same, default=np.nan)
        ratio = (np.where(np.isnan(weekday_mean), state.mean_56, weekday_mean) + _EPS) / (
            state.mean_56 + _EPS
        )
        doy = _doy(panel.start, target) / 365.25 * 2 * np.pi
        near = panel.holiday[max(target - 1, 0) : target + 2].any()
        columns = [
            np.full(n_sku, h),
            np.full(n_sku, _weekday(panel.start, target)),
            np.full(n_sku, np.sin(doy)),
            np.full(n_sku, np.cos(doy)),
            np.full(n_sku, float(panel.holiday[target])),
            np.full(n_sku, float(near)),
            np.full(n_sku, float(panel.event[target])),
            np.nan_to_num(panel.promo[:, target], nan=0.0),
            _price_ratio(panel, state.price_28, target),
            state.promo_share_28,
            *_level_columns(panel, state),
            state.last,
            np.where(np.isnan(same_1), same_4, same_1),
            same_4,
            ratio,
            state.mean_14,
            state.mean_sold_56,
            state.event_lift,
            *state.lags.T,
            _year_over_year(panel, origin, target),
            mean_365,
            mean_sold_365,
            naive_scale,
        ]
        block = np.column_stack(columns)
        blocks.append(np.hstack([block, block[:, _PER_SCALE_AT] / naive_scale[:, None]]))
    return np.vstack(blocks).astype(np.float32)


def daily_targets(panel: DailyPanel, origin: int, horizons: Sequence[int]) -> np.ndarray:
    """Units sold at origin + h, in the row order of :func:`daily_features`."""
    return np.concatenate([panel.sales[:, origin + h] for h in horizons]).astype(np.float32)


# -- protection interval (order-up-to quantile) ---------------------------------------------------
def protection_features(panel: DailyPanel, origin: int, protection_days: np.ndarray) -> np.ndarray:
    """One row per SKU: demand over days origin+1 .. origin+P (P per SKU: lead time plus
    review period), so the quantile of the *total* is modeled directly."""
    protection_days = np.asarray(protection_days, dtype=int)
    n_sku = len(panel.skus)
    if protection_days.shape != (n_sku,):
        raise ValueError("protection_days needs one value per SKU")
    if protection_days.min(initial=1) < 1:
        raise ValueError("protection_days must be at least 1")
    last_needed = origin + int(protection_days.max(initial=1))
    if last_needed >= panel.n_days:
        raise ValueError(f"the panel ends before origin + {int(protection_days.max())}")
    state = _sku_state(panel, origin)
    longest = int(protection_days.max())
    days = np.arange(1, longest + 1)
    inside = days[None, :] <= protection_days[:, None]  # (n_sku, longest)
    expected = np.zeros((n_sku, longest))
    for i, h in enumerate(days):
        same = nanmean(_same_weekday(panel, origin, origin + h, 4), default=np.nan)
        expected[:, i] = np.where(np.isnan(same), state.mean_28, same)
    window = slice(origin + 1, origin + longest + 1)
    closed = np.broadcast_to(panel.closed[window], (n_sku, longest))
    holiday = np.broadcast_to(panel.holiday[window], (n_sku, longest))
    promo = np.nan_to_num(panel.promo[:, window], nan=0.0)
    price = panel.price[:, window] / state.price_28[:, None]
    price = np.where(np.isfinite(price), price, 1.0)
    columns = [
        protection_days.astype(float),
        *_level_columns(panel, state),
        np.sum(np.where(inside & ~closed, expected, 0.0), axis=1),
        np.sum(inside * promo, axis=1),
        np.sum(inside & holiday, axis=1),
        np.sum(inside & closed, axis=1),
        np.sum(inside * price, axis=1) / protection_days,
    ]
    return np.column_stack(columns).astype(np.float32)


def protection_targets(panel: DailyPanel, origin: int, protection_days: np.ndarray) -> np.ndarray:
    """Total units sold over origin+1 .. origin+P per SKU (NaN when no day was observed)."""
    longest = int(np.max(protection_days))
    window = panel.sales[:, origin + 1 : origin + longest + 1]
    inside = np.arange(1, longest + 1)[None, :] <= np.asarray(protection_days)[:, None]
    values = np.where(inside, window, np.nan)
    observed = np.any(~np.isnan(values), axis=1)
    return np.where(observed, np.nansum(values, axis=1), np.nan).astype(np.float32)


# -- hourly (labor) -------------------------------------------------------------------------------
def hourly_features(panel: HourlyPanel, origin: int, horizons: Sequence[int]) -> np.ndarray:
    """Rows for every series, horizon day and hour: shape (n_series * len(horizons) * 24,
    len(HOURLY_FEATURES)), ordered (horizon, series, hour)."""
    traffic = panel.traffic
    n_series, n_days, _ = traffic.shape
    if not 0 <= origin < n_days:
        raise ValueError(f"origin {origin} is outside the panel (0..{n_days - 1})")
    w28 = days_window(np.moveaxis(traffic, 2, 1), origin, 28)  # (series, 24, 28)
    daily_total = np.nansum(traffic, axis=2)
    daily_total = np.where(np.all(np.isnan(traffic), axis=2), np.nan, daily_total)
    total_7 = nanmean(days_window(daily_total, origin, 7))
    total_28 = nanmean(days_window(daily_total, origin, 28))
    hour_mean_7 = nanmean(w28[:, :, -7:])  # (series, 24)
    hour_share = (hour_mean_7 + _EPS) / (hour_mean_7.sum(axis=1, keepdims=True) + 24 * _EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = traffic / np.where(daily_total > 0, daily_total, np.nan)[:, :, None]
    group_shapes, lean = _group_shapes(shares, daily_total, panel.start, origin)
    hours = np.arange(24)
    level = 1.0 + PROFILE_LEVEL_WEIGHT * (_recent_level(daily_total, origin) - 1.0)
    blocks = []
    for h in horizons:
        target = origin + h
        if target >= n_days:
            raise ValueError(f"horizon {h} from origin {origin} is past the panel's last day")
        back = ((target - origin + 6) // 7) * 7
        days = _same_weekdays(target - back, 4)
        same = traffic[:, days, :] if days.size else np.full((n_series, 1, 24), np.nan)
        same_4 = nanmean(same, axis=1, default=np.nan)  # (series, 24)
        same_4 = np.where(np.isnan(same_4), hour_mean_7, same_4)
        same_1 = np.where(np.isnan(same[:, 0, :]), same_4, same[:, 0, :])
        dow = _weekday(panel.start, target)
        total = _typical_total(daily_total, target - back, np.nansum(hour_mean_7, axis=1))
        shape = _typical_shape(shares, daily_total, target - back, group_shapes[:, dow])
        profile = _profile(shape, group_shapes[:, dow], lean[:, dow], hour_share)
        profile *= (total * level)[:, None]
        day_totals = daily_total[:, days] if days.size else np.full((n_series, 1), np.nan)
        weekday_ratio = (nanmean(day_totals, default=np.nan) + _EPS) / (total_28 + _EPS)
        weekday_ratio = np.where(np.isnan(weekday_ratio), 1.0, weekday_ratio)
        for s in range(n_series):
            blocks.append(
                np.column_stack(
                    [
                        np.full(24, h),
                        hours,
                        np.full(24, dow),
                        np.full(24, float(panel.holiday[target])),
                        same_1[s],
                        same_4[s],
                        hour_mean_7[s],
                        np.full(24, total_7[s]),
                        np.full(24, total_28[s]),
                        np.full(24, (total_7[s] + _EPS) / (total_28[s] + _EPS)),
                        np.full(24, weekday_ratio[s]),
                        hour_share[s],
                        profile[s],
                    ]
                )
            )
    return np.vstack(blocks).astype(np.float32)


def _typical_days(daily_total: np.ndarray, days: np.ndarray) -> np.ndarray:
    """(series, len(days)) bool: the observed days among ``days`` whose total is at most
    :data:`PROFILE_OUTLIER` off their median (every observed day if none is)."""
    totals = daily_total[:, days]  # NaN = closed
    median = nanmedian(totals, keepdims=True)
    typical = np.abs(totals / np.where(median > 0, median, 1.0) - 1.0) <= PROFILE_OUTLIER
    typical |= ~(median > 0)  # nothing to compare against: keep every observed day
    typical &= ~np.isnan(totals)
    typical[~typical.any(axis=1)] = True
    return typical


def _recent_level(daily_total: np.ndarray, origin: int) -> np.ndarray:
    """Per series, the median over the last :data:`PROFILE_LEVEL_DAYS` days up to the
    origin of each day's total divided by its weekday's typical total (the mean of the
    typical days among the :data:`PROFILE_WEEKS` same weekdays before it): how far trade
    has moved from the weekday profile, robust to a holiday. 1 where nothing compares."""
    ratios = []
    unknown = np.full(daily_total.shape[0], np.nan, dtype=daily_total.dtype)
    for day in range(max(origin - PROFILE_LEVEL_DAYS + 1, 0), origin + 1):
        base = _typical_total(daily_total, day - 7, unknown)
        ratios.append(daily_total[:, day] / np.where(base > 0, base, np.nan))
    if not ratios:
        return np.ones(daily_total.shape[0])
    level = nanmedian(np.column_stack(ratios))
    return np.where(np.isfinite(level), level, 1.0)


def _same_weekdays(last: int, weeks: int) -> np.ndarray:
    days = last - 7 * np.arange(weeks)
    return days[days >= 0]


def _typical_total(daily_total: np.ndarray, last: int, fallback: np.ndarray) -> np.ndarray:
    """Per series, the mean total of the target's weekday over the last
    :data:`PROFILE_WEEKS` such days up to ``last`` (inclusive), leaving out the days more
    than :data:`PROFILE_OUTLIER` off their median: a holiday or a swapped working day
    would otherwise distort that weekday for weeks. ``fallback`` where none is observed."""
    days = _same_weekdays(last, PROFILE_WEEKS)
    if days.size == 0:
        return fallback
    typical = _typical_days(daily_total, days)
    total = nanmean(np.where(typical, daily_total[:, days], np.nan), default=np.nan)
    return np.where(np.isnan(total), fallback, total)


def _typical_shape(
    shares: np.ndarray, daily_total: np.ndarray, last: int, fallback: np.ndarray
) -> np.ndarray:
    """(series, 24): the mean hour shares of the typical days (as in :func:`_typical_total`)
    among the target's weekday over :data:`PROFILE_SHAPE_WEEKS`: a day's shape moves less
    than its total, so it is averaged over more weeks. ``fallback`` where none is observed."""
    days = _same_weekdays(last, PROFILE_SHAPE_WEEKS)
    if days.size == 0:
        return fallback
    typical = _typical_days(daily_total, days)
    shape = nanmean(
        np.where(typical[:, :, None], shares[:, days, :], np.nan), axis=1, default=np.nan
    )
    return np.where(np.isnan(shape), fallback, shape)


def _group_shapes(
    shares: np.ndarray, daily_total: np.ndarray, start: date, origin: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each weekday, the mean hour shape over the last 28 days of the weekdays in its
    trade group (series, 7, 24), and how far its own shape should lean on it (series, 7).
    The weekdays are split in two at the largest step between their mean totals if that
    step exceeds :data:`PROFILE_GROUP_GAP` (a weekend's busy days and the working days,
    whichever days those are for the store); else one group. The lean is a shrinkage
    weight, noise / (noise + spread), measured over :data:`PROFILE_SHAPE_WEEKS`: noise is
    the variance of the weekday's own mean shape (its days' spread over their count),
    spread is how much the group's weekdays really differ (their means' variance less
    that noise). Noisy hours and alike weekdays lean on the group; distinct weekdays
    keep their own shape."""
    days = np.arange(max(origin - 7 * PROFILE_SHAPE_WEEKS + 1, 0), origin + 1)
    day_dow = _weekday(start, days)
    n_series = shares.shape[0]
    weekday_shape = np.full((n_series, 7, 24), np.nan)  # the last 28 days
    weekday_total = np.full((n_series, 7), np.nan)
    long_shape = np.full((n_series, 7, 24), np.nan)  # the shape window
    noise = np.full((n_series, 7), np.nan)
    groups = np.full((n_series, 7, 24), np.nan)
    lean = np.zeros((n_series, 7))
    for w in range(7):
        on = days[day_dow == w]
        recent = on[on > origin - 28]
        if recent.size:
            weekday_shape[:, w] = nanmean(shares[:, recent, :], axis=1, default=np.nan)
            weekday_total[:, w] = nanmean(daily_total[:, recent], default=np.nan)
        if on.size:
            values = shares[:, on, :]
            count = np.sum(~np.isnan(values[:, :, 0]), axis=1)
            long_shape[:, w] = nanmean(values, axis=1, default=np.nan)
            variance = _nanvar(values, axis=1, ddof=1, default=np.nan)
            spread = nanmean(variance, axis=1, default=np.nan)
            noise[:, w] = np.where(count >= 2, spread / np.maximum(count, 1), np.nan)
    for s in range(n_series):
        seen = np.flatnonzero(np.isfinite(weekday_total[s]) & (weekday_total[s] > 0))
        busy = np.zeros(7, bool)
        if seen.size > 1:
            order = seen[np.argsort(weekday_total[s, seen])]
            steps = weekday_total[s, order[1:]] / weekday_total[s, order[:-1]]
            if steps.max() > 1.0 + PROFILE_GROUP_GAP:
                busy[order[np.argmax(steps) + 1 :]] = True
        for w in range(7):
            members = seen[busy[seen] == busy[w]]
            if members.size == 0:
                continue
            groups[s, w] = nanmean(weekday_shape[s, members].T, default=np.nan)
            measured = members[np.isfinite(noise[s, members])]
            if measured.size < 2 or not np.isfinite(noise[s, w]):
                continue
            variance = _nanvar(long_shape[s, measured], axis=0, ddof=1, default=np.nan)
            between = float(nanmean(variance, default=np.nan))
            real = max(between - float(np.mean(noise[s, measured])), 0.0)
            own = noise[s, w]
            lean[s, w] = own / (own + real) if own + real > 0 else 0.0
    return groups, lean


def _profile(
    shape: np.ndarray, group_shape: np.ndarray, lean: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """The hour shape of the target day's profile (the labor model's scale, times the day's
    expected total: it learns the ratio to it). The weekday's typical shape
    (:func:`_typical_shape`), each hour smoothed with its neighbours, mixed with its trade
    group's shape by the weekday's lean on it (:func:`_group_shapes`), at most
    :data:`PROFILE_GROUP_MAX`: a noisy hour of one weekday borrows from the hours and days
    like it, a weekday unlike the others keeps its own. Weeks, outlier share, the cap and
    the level were chosen on forecast origins inside the training part only
    (FreshRetailNet, BENCHMARKS.md)."""
    padded = np.pad(shape, ((0, 0), (1, 1)), mode="edge")
    # An hour the store does not trade in (NaN) does not blank its neighbours.
    before = np.where(np.isnan(padded[:, :-2]), shape, padded[:, :-2])
    after = np.where(np.isnan(padded[:, 2:]), shape, padded[:, 2:])
    smoothed = (1 - 2 * PROFILE_SMOOTH) * shape + PROFILE_SMOOTH * (before + after)
    group = np.where(np.isnan(group_shape), smoothed, group_shape)
    weight = np.minimum(lean[:, None], PROFILE_GROUP_MAX)
    mixed = (1 - weight) * smoothed + weight * group
    mixed = np.where(np.isnan(mixed), fallback, mixed)
    total = mixed.sum(axis=1, keepdims=True)
    return mixed / np.where(total > 0, total, 1.0)


def hourly_targets(panel: HourlyPanel, origin: int, horizons: Sequence[int]) -> np.ndarray:
    """Transactions in the row order of :func:`hourly_features`."""
    return np.concatenate(
        [panel.traffic[s, origin + h, :] for h in horizons for s in range(panel.traffic.shape[0])]
    ).astype(np.float32)


# -- availability (off-shelf detection) ---------------------------------------------------------
def availability_features(panel: SkuHourPanel) -> np.ndarray:
    """One row per SKU-hour (SKU-major, time order): is the SKU off the shelf in this hour,
    judged from sales gaps against the sales expected from history. Uses sales up to and
    including the hour, and only days before the current one for expectations; never any
    stock-out flag. Shape (n_sku * n_hours, len(AVAILABILITY_FEATURES))."""
    sales = np.nan_to_num(panel.sales.astype(float), nan=0.0)
    n_sku, n_hours = sales.shape
    if n_hours % 24:
        raise ValueError("SkuHourPanel.sales must hold whole days (a multiple of 24 hours)")
    n_days = n_hours // 24
    by_day = sales.reshape(n_sku, n_days, 24)
    # Expected sales per hour of day from the previous 14 days (never the current day).
    cumulative = np.concatenate([np.zeros((n_sku, 1, 24)), np.cumsum(by_day, axis=1)], axis=1)
    sold = (by_day > 0).astype(float)
    cumulative_sold = np.concatenate([np.zeros((n_sku, 1, 24)), np.cumsum(sold, axis=1)], axis=1)
    days = np.arange(n_days)
    first = np.maximum(days - 14, 0)
    span = np.maximum(days - first, 1)[None, :, None]
    expected_hour = (cumulative[:, days, :] - cumulative[:, first, :]) / span
    sell_rate_hour = (cumulative_sold[:, days, :] - cumulative_sold[:, first, :]) / span
    no_history = (days == 0)[None, :, None]
    expected_hour = np.where(no_history, 0.0, expected_hour)
    expected_flat = expected_hour.reshape(n_sku, n_hours)
    # Zero-sales runs ending at each hour, what the history expected over them, and how
    # likely a run this long is while the shelf is stocked: the sum over its hours of
    # log P(no sale in that hour), P from how often that hour sold in the previous 14 days
    # (units-free, unlike expected units; capped so one hour never makes a run certain).
    log_quiet = np.log(1.0 - np.minimum(sell_rate_hour, 0.95)).reshape(n_sku, n_hours)
    run = np.zeros((n_sku, n_hours))
    expected_run = np.zeros((n_sku, n_hours))
    log_p_run = np.zeros((n_sku, n_hours))
    current = np.zeros(n_sku)
    current_expected = np.zeros(n_sku)
    current_log_p = np.zeros(n_sku)
    for t in range(n_hours):
        zero = sales[:, t] <= 0
        current = np.where(zero, current + 1, 0.0)
        current_expected = np.where(zero, current_expected + expected_flat[:, t], 0.0)
        current_log_p = np.where(zero, current_log_p + log_quiet[:, t], 0.0)
        run[:, t] = current
        expected_run[:, t] = current_expected
        log_p_run[:, t] = current_log_p
    # The run and the rest of the day as shares of the day's expected sales.
    expected_day = expected_hour.sum(axis=2, keepdims=True)
    rest_share = (expected_day - np.cumsum(expected_hour, axis=2)) / (expected_day + _EPS)
    expected_day_flat = np.repeat(expected_day[:, :, 0], 24, axis=1)
    sold_today = np.cumsum(by_day, axis=2).reshape(n_sku, n_hours)
    expected_today = np.cumsum(expected_hour, axis=2).reshape(n_sku, n_hours)
    daily = by_day.sum(axis=2)
    daily_cum = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(daily, axis=1)], axis=1)
    first7 = np.maximum(days - 7, 0)
    level_7 = (daily_cum[:, days] - daily_cum[:, first7]) / np.maximum(days - first7, 1)
    hour_of_day = np.tile(np.arange(24), n_days)
    dow = _weekday(panel.start, np.repeat(days, 24))
    # Sales in the last hours, and when sales usually stop: a shelf that sold out
    # yesterday evening, or stops selling hours before its usual last sale, is suspect.
    running = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(sales, axis=1)], axis=1)
    ends = np.arange(1, n_hours + 1)
    last_3h = running[:, ends] - running[:, np.maximum(ends - 3, 0)]
    last_6h = running[:, ends] - running[:, np.maximum(ends - 6, 0)]
    sold_hours = by_day > 0
    last_sale = np.where(sold_hours.any(axis=2), 23 - np.argmax(sold_hours[:, :, ::-1], axis=2), -1)
    before = np.concatenate([np.full((n_sku, 1), -1), last_sale[:, :-1]], axis=1)
    sold_before = np.concatenate([np.zeros((n_sku, 1)), daily[:, :-1]], axis=1)
    last_sale_cum = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(last_sale, axis=1)], axis=1)
    usual_last = (last_sale_cum[:, days] - last_sale_cum[:, first7]) / np.maximum(days - first7, 1)
    usual_last = np.repeat(usual_last, 24, axis=1)
    # On how many of the previous 7 days had sales stopped before this hour of the day.
    stopped = (last_sale[:, :, None] < np.arange(24)[None, None, :]).astype(float)
    stopped_cum = np.concatenate([np.zeros((n_sku, 1, 24)), np.cumsum(stopped, axis=1)], axis=1)
    stopped_share = (stopped_cum[:, days, :] - stopped_cum[:, first7, :]) / np.maximum(
        days - first7, 1
    )[None, :, None]
    columns = [
        np.broadcast_to(hour_of_day, (n_sku, n_hours)),
        np.broadcast_to(dow, (n_sku, n_hours)),
        run,
        expected_flat,
        expected_run,
        np.exp(-expected_run),
        sold_today,
        expected_today,
        (sold_today + _EPS) / (expected_today + _EPS),
        np.repeat(level_7, 24, axis=1),
        1.0 - sell_rate_hour.reshape(n_sku, n_hours),
        np.nan_to_num(panel.promo, nan=0.0),
        np.nan_to_num(panel.price_ratio, nan=1.0),
        last_3h,
        last_6h,
        np.repeat(before, 24, axis=1),
        np.repeat(sold_before, 24, axis=1),
        usual_last,
        usual_last - hour_of_day[None, :],
        log_p_run,
        expected_run / (expected_day_flat + _EPS),
        rest_share.reshape(n_sku, n_hours),
        stopped_share.reshape(n_sku, n_hours),
    ]
    return np.stack([np.asarray(c, dtype=float).reshape(-1) for c in columns], axis=1).astype(
        np.float32
    )


def availability_features_at(
    panel: SkuHourPanel, hour: int | None = None, *, chunk: int = 2048
) -> np.ndarray:
    """The rows of :func:`availability_features` for one hour of the panel (default: its
    last), one per SKU: shape (n_sku, len(AVAILABILITY_FEATURES)), the same float32 values.

    What the edge serves: it scores one hour of every SKU, and the full function's
    per-hour arrays for 15 days of 30,000 SKUs would take gigabytes. The day-level sums
    are the full function's, over the same arrays, in the same order (so equal to the
    bit; tests/unit/test_features.py holds the two together); the runs ending at the
    hour are sequential sums over the hours of each run instead of a loop over every
    hour. SKUs are taken ``chunk`` at a time, which bounds the copies; SKUs without a
    sale up to the hour (many, in a long tail) share one row but for promotion and price,
    computed once."""
    n_sku, n_hours = panel.sales.shape
    if n_hours % 24:
        raise ValueError("SkuHourPanel.sales must hold whole days (a multiple of 24 hours)")
    t = n_hours - 1 if hour is None else int(hour)
    if not 0 <= t < n_hours:
        raise ValueError(f"hour {t} is outside the panel (0..{n_hours - 1})")
    out = np.empty((n_sku, len(AVAILABILITY_FEATURES)), dtype=np.float32)
    sold = np.flatnonzero((panel.sales[:, : t + 1] > 0).any(axis=1))  # NaN is no sale
    quiet = np.setdiff1d(np.arange(n_sku), sold, assume_unique=True)
    size = max(1, chunk)
    for a in range(0, len(sold), size):
        rows = sold[a : a + size]
        out[rows] = _availability_hour(panel, rows, t)
    if quiet.size:
        zero = np.zeros((1, n_hours), dtype=np.float32)
        row = _availability_hour(SkuHourPanel(panel.start, zero, zero, zero + 1.0), slice(0, 1), t)
        out[quiet] = row
        column = AVAILABILITY_FEATURES.index
        out[quiet, column("promo")] = np.nan_to_num(panel.promo[quiet, t], nan=0.0)
        out[quiet, column("price_ratio")] = np.nan_to_num(panel.price_ratio[quiet, t], nan=1.0)
    return out


def _running_days(values: np.ndarray) -> np.ndarray:
    """``concatenate([0, cumsum(values, axis=1)], axis=1)`` for (sku, day, hour) values,
    returned day-major (day, sku, hour): the same sequential sums (each day added to the
    running total in turn, from 0.0), one whole (sku, hour) slice at a time, which is
    several times faster than numpy's cumsum along a middle axis."""
    n_sku, n_days, n_hours = values.shape
    out = np.empty((n_days + 1, n_sku, n_hours))
    out[0] = 0.0
    for k in range(n_days):
        np.add(out[k], values[:, k, :], out=out[k + 1])
    return out


def _availability_hour(panel: SkuHourPanel, rows: slice | np.ndarray, t: int) -> np.ndarray:
    """:func:`availability_features_at` for the SKUs in ``rows`` (same formulas; only the
    scored day's or hour's slice of each is computed where the feature reads no more)."""
    sales = panel.sales[rows].astype(float)
    if not np.isfinite(sales).all():  # the common case needs no second copy
        sales = np.nan_to_num(sales, nan=0.0)
    n_sku, n_hours = sales.shape
    n_days = n_hours // 24
    d, h = divmod(t, 24)
    by_day = sales.reshape(n_sku, n_days, 24)
    positive = sales > 0
    sold_hours = positive.reshape(n_sku, n_days, 24)
    cumulative = _running_days(by_day)  # day-major from here on: (day, sku, hour)
    cumulative_sold = _running_days(sold_hours.astype(float))
    # Expected units and the share of days sold, per hour, from the previous 14 days.
    expected_hour = np.empty((d + 1, n_sku, 24))
    sell_rate_hour = np.empty((d + 1, n_sku, 24))
    for k in range(d + 1):
        first, span = max(k - 14, 0), max(min(k, 14), 1)
        for out, running_total in ((expected_hour, cumulative), (sell_rate_hour, cumulative_sold)):
            np.subtract(running_total[k], running_total[first], out=out[k])
            np.divide(out[k], span, out=out[k])
    del cumulative, cumulative_sold
    expected_hour[0] = 0.0  # the first day has no history
    # The zero-sales run ending at t: the hours after the last sale up to t. Its sums add
    # the run's hours one by one from 0.0 in time order, as the full function's loop
    # does; SKUs sorted by the run's start, so each hour adds to those whose run has begun.
    selling = positive[:, : t + 1]
    any_sale = selling.any(axis=1)
    last_sale_hour = np.where(any_sale, t - np.argmax(selling[:, ::-1], axis=1), -1)
    run = (t - last_sale_hour).astype(float)
    order = np.argsort(last_sale_hour, kind="stable")
    begun = np.searchsorted(last_sale_hour[order], np.arange(t + 1), side="left")
    expected_sum = np.zeros(n_sku)
    log_p_sum = np.zeros(n_sku)
    for k in range(int(last_sale_hour[order[0]]) + 1, t + 1):
        c = int(begun[k])  # SKUs whose last sale was before hour k
        if c == 0:
            continue
        rows_k, (day_k, hour_k) = order[:c], divmod(k, 24)
        expected_sum[:c] += expected_hour[day_k, rows_k, hour_k]
        log_p_sum[:c] += np.log(1.0 - np.minimum(sell_rate_hour[day_k, rows_k, hour_k], 0.95))
    expected_run = np.empty(n_sku)
    log_p_run = np.empty(n_sku)
    expected_run[order], log_p_run[order] = expected_sum, log_p_sum
    expected_day = expected_hour[d].sum(axis=1)  # rows of 24 summed as the full function does
    expected_cum = np.cumsum(expected_hour[d], axis=1)
    rest_share = (expected_day - expected_cum[:, h]) / (expected_day + _EPS)
    sold_today = np.cumsum(by_day[:, d, :], axis=1)[:, h]
    expected_today = expected_cum[:, h]
    daily = by_day.sum(axis=2)
    daily_cum = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(daily, axis=1)], axis=1)
    first7 = max(d - 7, 0)
    level_7 = (daily_cum[:, d] - daily_cum[:, first7]) / max(d - first7, 1)
    end = t + 1
    running = np.cumsum(sales[:, :end], axis=1)
    since = [running[:, end - 1 - k] if end - k > 0 else np.zeros(n_sku) for k in (3, 6)]
    last_sale = np.where(sold_hours.any(axis=2), 23 - np.argmax(sold_hours[:, :, ::-1], axis=2), -1)
    before = last_sale[:, d - 1] if d > 0 else np.full(n_sku, -1)
    sold_before = daily[:, d - 1] if d > 0 else np.zeros(n_sku)
    last_sale_cum = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(last_sale, axis=1)], axis=1)
    usual_last = (last_sale_cum[:, d] - last_sale_cum[:, first7]) / max(d - first7, 1)
    # On how many of the previous 7 days had sales stopped before this hour of the day.
    stopped = (last_sale < h).astype(float)
    stopped_cum = np.concatenate([np.zeros((n_sku, 1)), np.cumsum(stopped, axis=1)], axis=1)
    stopped_share = (stopped_cum[:, d] - stopped_cum[:, first7]) / max(d - first7, 1)
    columns = [
        np.full(n_sku, h),
        np.full(n_sku, _weekday(panel.start, d)),
        run,
        expected_hour[d][:, h],
        expected_run,
        np.exp(-expected_run),
        sold_today,
        expected_today,
        (sold_today + _EPS) / (expected_today + _EPS),
        level_7,
        1.0 - sell_rate_hour[d][:, h],
        np.nan_to_num(panel.promo[rows, t], nan=0.0),
        np.nan_to_num(panel.price_ratio[rows, t], nan=1.0),
        running[:, end - 1] - since[0],
        running[:, end - 1] - since[1],
        before,
        sold_before,
        usual_last,
        usual_last - h,
        log_p_run,
        expected_run / (expected_day + _EPS),
        rest_share,
        stopped_share,
    ]
    return np.stack([np.asarray(c, dtype=float) for c in columns], axis=1).astype(np.float32)
