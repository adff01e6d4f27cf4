"""Baseline forecasters and the zero-run availability rule, as pure numpy functions.

Daily data is shaped ``(n_series, n_days)``, hourly labor data ``(n_series, n_days, 24)``; in both
``history`` is the training part in time order and the forecast covers ``horizon`` days from a
single origin, the day after the last history day. NaN in ``history`` means "not observed"
(store closed, item not listed). Days before the start of ``history`` count as unobserved.
Every baseline returns finite values: where nothing usable is observed it forecasts 0.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from models.metrics import _f1_at_thresholds

__all__ = [
    "ZeroRunRule",
    "flat_quantile",
    "hourly_moving_average",
    "hourly_seasonal_naive",
    "moving_average",
    "seasonal_naive",
    "zero_run_lengths",
]

HOURS_PER_DAY = 24
DAYS_PER_WEEK = 7
_DEFAULT_MIN_RUN_CANDIDATES = range(1, 49)


def _positive_int(name: str, value: int, minimum: int = 1) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _daily(history: object) -> np.ndarray:
    h = np.asarray(history, dtype=float)
    if h.ndim != 2:
        raise ValueError(f"history must be 2-D (n_series, n_days), got shape {h.shape}")
    return h


def _hourly(history: object) -> np.ndarray:
    h = np.asarray(history, dtype=float)
    if h.ndim != 3 or h.shape[2] != HOURS_PER_DAY:
        raise ValueError(f"history must be (n_series, n_days, 24), got shape {h.shape}")
    return h


def _take_days(h: np.ndarray, days: np.ndarray) -> np.ndarray:
    """``h[:, days]`` where negative day indices (before the history) read as NaN."""
    if h.shape[1] == 0:
        return np.full((h.shape[0], *days.shape, *h.shape[2:]), np.nan)
    out = h[:, np.clip(days, 0, None)]
    out[:, days < 0] = np.nan
    return out


def _seasonal_naive_days(h: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Seasonal naive along axis 1 of ``h`` (any trailing axes are carried along)."""
    n_days = h.shape[1]
    last = n_days - season + np.arange(horizon) % season
    value = _take_days(h, last)
    previous = _take_days(h, last - season)
    value = np.where(np.isnan(value), previous, value)
    return np.nan_to_num(value, nan=0.0)


def seasonal_naive(history: object, horizon: int, season: int = 7) -> np.ndarray:
    """Seasonal naive forecast, shape ``(n_series, horizon)``.

    Forecast day ``j`` (0-based from the origin) takes ``history[:, n - season + j % season]``,
    i.e. the last ``season`` days repeated. If that value is NaN it falls back to the same
    position one season earlier (``n - 2 * season + j % season``), then to 0.
    """
    h = _daily(history)
    horizon = _positive_int("horizon", horizon, minimum=0)
    season = _positive_int("season", season)
    return _seasonal_naive_days(h, horizon, season)


def moving_average(history: object, horizon: int, window: int = 28) -> np.ndarray:
    """NaN-mean of the last ``window`` days of history, repeated: ``(n_series, horizon)``.

    The window is calendar days (unobserved days inside it are skipped, not replaced); the
    forecast is 0 for a series with no observed day in the window.
    """
    h = _daily(history)
    horizon = _positive_int("horizon", horizon, minimum=0)
    window = _positive_int("window", window)
    recent = h[:, -window:]
    observed = ~np.isnan(recent)
    count = observed.sum(axis=1)
    total = np.where(observed, recent, 0.0).sum(axis=1)
    level = np.divide(total, count, out=np.zeros(h.shape[0]), where=count > 0)
    return np.repeat(level[:, None], horizon, axis=1)


def flat_quantile(history: object, horizon: int, q: float = 0.9, window: int = 56) -> np.ndarray:
    """Per series the ``q``-quantile of its last ``window`` *observed* days, repeated.

    The window counts observed (non-NaN) days backwards from the end of history, so a series with
    closed days reaches further back. Quantile uses numpy's ``'linear'`` method. The forecast is
    0 for a series with no observed day. Shape ``(n_series, horizon)``.
    """
    h = _daily(history)
    horizon = _positive_int("horizon", horizon, minimum=0)
    window = _positive_int("window", window)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    observed = ~np.isnan(h)
    # Number of observed days from each day to the end of history (inclusive).
    from_end = np.cumsum(observed[:, ::-1], axis=1)[:, ::-1]
    keep = observed & (from_end <= window)
    level = np.zeros(h.shape[0])
    rows = keep.any(axis=1)
    if rows.any():
        first_col = int(np.argmax(keep.any(axis=0)))
        values = np.where(keep, h, np.nan)[rows, first_col:]
        level[rows] = np.nanquantile(values, q, axis=1, method="linear")
    return np.repeat(level[:, None], horizon, axis=1)


def hourly_seasonal_naive(history: object, horizon_days: int) -> np.ndarray:
    """Same hour, same weekday one week earlier: ``(n_series, horizon_days, 24)``.

    The last 7 days of history are repeated hour by hour; a NaN hour falls back to the same hour
    of the same weekday the week before, then to 0.
    """
    h = _hourly(history)
    horizon_days = _positive_int("horizon_days", horizon_days, minimum=0)
    return _seasonal_naive_days(h, horizon_days, DAYS_PER_WEEK)


def hourly_moving_average(history: object, horizon_days: int, weeks: int = 4) -> np.ndarray:
    """Same-hour, same-weekday NaN-mean over the last ``weeks`` weeks: ``(n_series, days, 24)``.

    Forecast day ``j`` and hour ``k`` is the NaN-mean of ``history[:, n - 7 * w + j % 7, k]`` for
    ``w = 1..weeks`` (days before the history are skipped); 0 where none of them is observed.
    """
    h = _hourly(history)
    horizon_days = _positive_int("horizon_days", horizon_days, minimum=0)
    weeks = _positive_int("weeks", weeks)
    n_days = h.shape[1]
    days = n_days - DAYS_PER_WEEK * np.arange(1, weeks + 1)[:, None] + np.arange(DAYS_PER_WEEK)
    values = _take_days(h, days)  # (n_series, weeks, 7, 24)
    observed = ~np.isnan(values)
    count = observed.sum(axis=1)
    total = np.where(observed, values, 0.0).sum(axis=1)
    profile = np.divide(total, count, out=np.zeros(count.shape), where=count > 0)
    return profile[:, np.arange(horizon_days) % DAYS_PER_WEEK]


def zero_run_lengths(sales: object) -> np.ndarray:
    """Length of the zero-sales run ending at each hour (inclusive), same shape, int64.

    Runs are counted along the last axis (time) and do not cross series; NaN sales count as zero;
    an hour that sold anything (any non-zero value) has run length 0. Fully vectorized.
    """
    s = np.asarray(sales, dtype=float)
    if s.ndim == 0:
        raise ValueError("sales must be at least 1-D (n_sku, n_hours)")
    sold = np.nan_to_num(s, nan=0.0) != 0
    hour = np.arange(s.shape[-1])
    last_sale = np.maximum.accumulate(np.where(sold, hour, -1), axis=-1)
    return np.where(sold, 0, hour - last_sale).astype(np.int64)


@dataclass
class ZeroRunRule:
    """Flag an hour as "not available" when its zero-sales run is at least ``min_run`` hours."""

    min_run: int | None = None
    train_f1: float = float("nan")

    def fit(
        self,
        sales: object,
        labels: object,
        candidates: Iterable[int] = _DEFAULT_MIN_RUN_CANDIDATES,
    ) -> ZeroRunRule:
        """Choose ``min_run`` among ``candidates`` maximising F1 on (sales, labels); return self.

        ``labels`` has the shape of ``sales`` with 1 = unavailable, 0 = available, NaN =
        unlabelled (excluded from F1, but the hour still counts for the run lengths). Ties in F1
        go to the smaller ``min_run``. F1 follows ``models.metrics.precision_recall_f1``.
        """
        s = np.asarray(sales, dtype=float)
        y = np.asarray(labels, dtype=float)
        if y.shape != s.shape:
            raise ValueError(f"labels has shape {y.shape}, expected {s.shape} (as sales)")
        cands = np.unique(np.fromiter((operator.index(c) for c in candidates), dtype=np.int64))
        if cands.size == 0 or cands[0] < 1:
            raise ValueError("candidates must be a non-empty collection of integers >= 1")
        labelled = ~np.isnan(y)
        if not np.isin(y[labelled], (0.0, 1.0)).all():
            raise ValueError("labels must contain only 0, 1 (or NaN for unlabelled)")
        runs = zero_run_lengths(s)[labelled].astype(float)
        f1 = _f1_at_thresholds(y[labelled].astype(bool), runs, cands.astype(float))
        best = int(np.argmax(f1))  # candidates ascending: first maximum = smallest min_run
        self.min_run = int(cands[best])
        self.train_f1 = float(f1[best])
        return self

    def predict(self, sales: object) -> np.ndarray:
        """Boolean array, same shape as ``sales``: ``zero_run_lengths(sales) >= min_run``."""
        if self.min_run is None:
            raise ValueError("min_run is not set: call fit() first or pass min_run")
        return zero_run_lengths(sales) >= self.min_run
