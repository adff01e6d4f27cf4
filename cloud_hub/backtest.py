"""Backtests of the kit's models on a retailer's own history.

Each backtest reads a file by header name, trains on everything before the last
``holdout_days`` days, forecasts (or detects) the holdout from one origin, and
scores the model beside baselines with the same metrics. Nothing of the holdout
reaches training or features: a test changes the held-out actuals and checks
that not one forecast moves.

Files:
- replenishment: ``store_id,sku,date,units[,price,promo,category]`` (one row per store,
  SKU and day; missing days of a listed SKU count as zero sales, days on which a
  store sold nothing at all as closed), optionally ``--calendar`` rows
  ``[store_id,]date,status[,name]`` (status closed, holiday or event); a large file
  trains on a sample of its SKUs (``TRAIN_ROWS``) and is scored on all of them;
- labor: ``store_id,timestamp`` per transaction, or ``store_id,date,hour,transactions``;
- availability: ``store_id,sku,date,hour,units,stockout[,price,promo]``;
  ``stockout`` is only the label, never a feature; a large file trains on a sample of
  its SKUs (``AVAILABILITY_TRAIN_ROWS``) and is scored on all of them, a chunk of SKUs
  at a time.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cloud_hub.errors import BacktestError
from cloud_hub.synced import stratified_sample
from models import baselines, metrics
from models import features as F
from models.panels import category_code
from models.reference import train_labor_reference, train_reference
from models.training import MODEL_SPECS, Trained, train
from storeedge.headers import normalize_header

__all__ = [
    "BACKTESTS",
    "backtest_availability",
    "backtest_labor",
    "backtest_origins",
    "backtest_replenishment",
    "history_needed",
    "read_daily_sales",
    "read_hourly_skus",
    "read_transactions",
    "rounds_for",
    "train_labor",
    "train_replenishment",
    "training_sample",
]

#: Daily training rows a replenishment backtest stays within (M5's 280 series train on
#: 470,400 in full; a store of 30,000 SKUs would need 50 million: tens of GB).
TRAIN_ROWS = 600_000
# The availability backtest's budget, in SKU-hours before the holdout (FreshRetailNet's
# store: 97,680), and how many SKUs' hourly features are computed together.
AVAILABILITY_TRAIN_ROWS = 3_000_000
_HOURLY_CHUNK = 1_000
#: Older training origins kept in season: within this many weeks of the forecast origin's
#: time of year, in every earlier year; 0 = the newest weeks only (BENCHMARKS.md,
#: "Replenishment: earlier years' season").
SEASON_WEEKS = 10
#: The mean models' boosting rounds follow the weeks of history they learn from (the
#: training origins with an observed target): their spec's rounds from
#: :data:`FULL_ROUNDS_WEEKS` weeks on, a proportional share below, at least
#: :data:`MIN_ROUNDS_SHARE` of them. On M5 files of 210 days, one year and two years the
#: daily model scored best at 120, 120-400 and 400-600 of its 600, on five years at 600; the
#: protection mean's WAPE fell 3.0 / 0.9 / 2.5 % at a fifth / 0.375 / 0.56 of its 400
#: (BENCHMARKS.md, "Replenishment: rounds by the weeks of history"). The P90 models keep
#: theirs: their pinball loss did not move with the rounds.
FULL_ROUNDS_WEEKS = 120
MIN_ROUNDS_SHARE = 0.2
_ROUNDS_BY_WEEKS = ("replenishment_daily", "replenishment_protection_mean")
#: Rows the protection P90 (the order-up-to quantile) learns from at most: one per SKU and
#: day of each training week, thinned to every 2nd..7th day beyond this.
PROTECTION_ROWS = 400_000
_WIDTH = len(F.AVAILABILITY_FEATURES)
#: Metrics whose ratio model / baseline says how much better the model did (lower is
#: better for the errors, higher for the detection scores).
_COMPARED = ("rmsse", "wape", "pinball_p90", "f1", "auc_pr")

#: The backtest files' own aliases, besides the POS exports' (storeedge.headers).
_NAMES = {"qty": "units", "quantity": "units", "sales": "units", "sell_price": "price"}


# -- reading ---------------------------------------------------------------------------------------
@contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOWrapper]:
    try:
        with (
            path.open("rb") as raw,
            gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else nullcontext(raw) as binary,
            io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as handle,
        ):
            yield handle
    except OSError as exc:
        raise BacktestError(f"cannot read {path}: {exc}", hint="check the path") from None


def _header(first_line: str) -> tuple[str, list[str]]:
    """A file's delimiter and its column names, normalized as ``edge-agent ingest`` does
    (docs/FORMATS.md), from its first line."""
    delimiter = max((",", ";", "\t", "|"), key=first_line.count)
    names = next(csv.reader([first_line], delimiter=delimiter), [])
    return delimiter, [normalize_header(h, _NAMES) for h in names]


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows by normalized header name; a clear error when a required column is missing."""
    with _open_text(path) as handle:
        delimiter, header = _header(handle.readline())
        missing = [c for c in required if c not in header]
        if missing:
            raise BacktestError(
                f"{path}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})",
                hint=f"the file needs {', '.join(required)}",
            )
        for line_no, values in enumerate(csv.reader(handle, delimiter=delimiter), start=2):
            if values:
                yield line_no, dict(zip(header, values, strict=False))


def _number(row: dict[str, str], column: str, path: Path, line: int) -> float:
    text = (row.get(column) or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise BacktestError(f"{path}:{line}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BacktestError(f"{path}:{line}: {column} is {text!r}")
    return value


def _day(row: dict[str, str], column: str, path: Path, line: int) -> date:
    text = (row.get(column) or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BacktestError(f"{path}:{line}: {column} {text!r} is not a date") from None


def _calendar(path: Path | None) -> dict[tuple[str, date], str]:
    """(store or "*", day) -> status."""
    if path is None:
        return {}
    out = {}
    for line, row in _rows(path, ("date", "status")):
        status = row["status"].strip().lower()
        if status not in ("closed", "holiday", "event", "open"):
            raise BacktestError(
                f"{path}:{line}: status {status!r} is not closed/holiday/event/open"
            )
        out[(row.get("store_id", "").strip() or "*", _day(row, "date", path, line))] = status
    return out


# -- replenishment ---------------------------------------------------------------------------------
@dataclass
class _StoreSeries:
    store: str
    panel: F.DailyPanel


class _Rows:
    """One store-SKU's rows as compact arrays (a file of millions of rows stays small):
    days (or hours: day ordinal x 24 + hour), units, price, promo and, for hourly files,
    the stock-out label."""

    __slots__ = ("days", "price", "promo", "stockout", "units")

    def __init__(self) -> None:
        self.days, self.units = array("i"), array("f")
        self.price, self.promo, self.stockout = array("f"), array("f"), array("f")


def read_daily_sales(
    path: Path,
    calendar_path: Path | None = None,
    holdout_days: int = 0,
    *,
    until: date | None = None,
) -> tuple[list[_StoreSeries], date, date]:
    """One panel per store. A day on which a store sold nothing at all counts as closed
    in the history; in the holdout only the calendar says so (it is known in advance).
    ``until``: rows after that day are left out, as if the file ended there."""
    calendar = _calendar(calendar_path)
    last_kept = date.max.toordinal() if until is None else until.toordinal()
    sales: dict[str, dict[str, _Rows]] = defaultdict(lambda: defaultdict(_Rows))
    categories: dict[str, str] = {}
    first, last = date.max.toordinal(), date.min.toordinal()
    for line, row in _rows(path, ("store_id", "sku", "date", "units")):
        sku = row["sku"].strip()
        if row.get("category", "").strip():
            categories[sku] = row["category"].strip()
        day = _day(row, "date", path, line).toordinal()
        if day > last_kept:
            continue
        price = _number(row, "price", path, line) if row.get("price", "").strip() else np.nan
        promo = _number(row, "promo", path, line) if row.get("promo", "").strip() else 0.0
        units = _number(row, "units", path, line)
        rows = sales[row["store_id"].strip()][sku]
        rows.days.append(day)
        rows.units.append(units)
        rows.price.append(price)
        rows.promo.append(promo)
        first, last = min(first, day), max(last, day)
    if not sales:
        raise BacktestError(f"{path}: no rows{_up_to(until)}",
                            hint="the file needs one row per store, SKU, day")  # fmt: skip
    first_day, last_day = date.fromordinal(first), date.fromordinal(last)
    n_days = last - first + 1
    series = []
    for store in sorted(sales):
        skus = sorted(sales[store])
        grid = np.full((len(skus), n_days), np.nan, dtype=np.float32)
        price = np.full_like(grid, np.nan)
        promo = np.zeros_like(grid)
        for i, sku in enumerate(skus):
            rows = sales[store].pop(sku)
            j = np.frombuffer(rows.days, dtype=np.int32) - first
            # A repeated store-SKU-day: the later row wins, as a later correction would.
            grid[i, j] = np.frombuffer(rows.units, dtype=np.float32)
            price[i, j] = np.frombuffer(rows.price, dtype=np.float32)
            promo[i, j] = np.frombuffer(rows.promo, dtype=np.float32)
            gap = np.isnan(grid[i]) & (np.arange(n_days) >= j.min())
            grid[i, gap] = 0.0
        status = [
            calendar.get((store, first_day + timedelta(d)))
            or calendar.get(("*", first_day + timedelta(d)))
            for d in range(n_days)
        ]
        silent = np.nansum(grid, axis=0) == 0
        silent[n_days - holdout_days :] = False
        closed = np.array([s == "closed" for s in status]) | silent
        grid[:, closed] = np.nan
        series.append(
            _StoreSeries(
                store,
                F.DailyPanel(
                    skus=skus,
                    start=first_day,
                    sales=grid,
                    price=price,
                    promo=promo,
                    closed=closed,
                    holiday=np.array([s == "holiday" for s in status]),
                    category=np.array([category_code(categories.get(sku, "")) for sku in skus]),
                    event=np.array([s == "event" for s in status]),
                ),
            )
        )
    return series, first_day, last_day


def history_needed(kind: str, holdout_days: int) -> int:
    """Days of history a ``kind`` backtest needs before its holdout: its longest feature
    window and, for the forecasts, room for one training origin with 28 days behind it
    and ``holdout_days`` of targets after it."""
    window = {"replenishment": 56, "labor": 35, "availability": 14}[kind]
    return window if kind == "availability" else max(window, 29 + holdout_days)


def _up_to(until: date | None) -> str:
    return "" if until is None else f" up to {until.isoformat()}"


def _check_holdout(path: Path, n_days: int, holdout_days: int, history_days: int) -> None:
    if holdout_days < 1 or n_days - holdout_days < history_days:
        raise BacktestError(
            f"{path}: {n_days} days cannot hold {holdout_days} holdout days and "
            f"{history_days} days of history",
            hint="use a smaller --holdout-days or a longer file",
        )


def _training_origins(
    last_history: int, horizon: int, count: int = 60, season_weeks: int = SEASON_WEEKS
) -> list[int]:
    """Weekly origins whose targets (up to ``horizon`` days ahead) stay inside history: the
    newest ``count``, then every older one within ``season_weeks`` of the forecast origin's
    time of year (52-week years, so weekdays line up), as far back as history goes; with
    ``season_weeks`` 0, the newest only."""
    newest = last_history - horizon
    weekly = list(range(newest, 27, -7))
    recent, older = weekly[:count], weekly[count:]
    if season_weeks <= 0:
        return recent

    def weeks_off_season(origin: int) -> float:
        days = (last_history - origin) % 364
        return min(days, 364 - days) / 7

    return recent + [o for o in older if weeks_off_season(o) <= season_weeks]


def backtest_replenishment(
    daily_sales: Path,
    holdout_days: int,
    *,
    calendar: Path | None = None,
    protection_days: int = 7,
    include_forecasts: bool = False,
    until: date | None = None,
    reference: bool = False,
) -> dict[str, Any]:
    """Daily demand (mean and P90) and protection-interval P90 and mean vs seasonal naive,
    ma28 and a flat 90th percentile of the last 56 days. ``until``: the file read as if it ended
    that day (the holdout its last days). ``reference``: also train and score
    :mod:`models.reference`, a plain global LightGBM with lag and calendar features on the
    same split and training sample (method ``lgbm_lags``)."""
    started = time.perf_counter()
    stores, first_day, last_day = read_daily_sales(daily_sales, calendar, holdout_days,
                                                   until=until)  # fmt: skip
    n_days = (last_day - first_day).days + 1
    _check_holdout(daily_sales, n_days, holdout_days, history_needed("replenishment", holdout_days))
    last_history = n_days - 1 - holdout_days
    horizons = list(range(1, holdout_days + 1))
    protection = min(protection_days, holdout_days)
    training, stride = training_sample([s.panel for s in stores], last_history, holdout_days)
    mean_model, p90_model, protection_model, protection_mean_model = train_replenishment(
        training, last_history, holdout_days, protection, horizon_stride=stride
    )
    if reference:
        yardstick = train_reference(
            [_history_panel(panel, last_history) for panel in training],
            list(range(len(training))), last_history, holdout_days, budget=TRAIN_ROWS)  # fmt: skip
    actual, history, forecast, upper = [], [], [], []
    protection_upper, protection_mean, reference_forecasts = [], [], []
    for code, store in enumerate(stores):
        panel = store.panel
        history_only = _history_panel(panel, last_history)
        rows = F.daily_features(history_only, last_history, horizons)
        n_sku = len(panel.skus)
        closed = panel.closed[last_history + 1 :]
        mean = np.maximum(mean_model.predict(rows), 0).reshape(len(horizons), n_sku).T
        high = np.maximum(p90_model.predict(rows), 0).reshape(len(horizons), n_sku).T
        mean[:, closed], high[:, closed] = 0.0, 0.0  # a closed store sells nothing
        forecast.append(mean)
        upper.append(np.maximum(high, mean))
        if reference:
            reference_forecast = yardstick.forecast(history_only, code, last_history, holdout_days)
            reference_forecast[:, closed] = 0.0
            reference_forecasts.append(reference_forecast)
        days = np.full(n_sku, protection)
        protection_rows = F.protection_features(history_only, last_history, days)
        protection_upper.append(protection_model.predict(protection_rows))
        protection_mean.append(np.maximum(protection_mean_model.predict(protection_rows), 0))
        actual.append(panel.sales[:, last_history + 1 :])
        history.append(panel.sales[:, : last_history + 1])
    actual_m, history_m = np.vstack(actual), np.vstack(history)
    forecast_m, upper_m = np.vstack(forecast), np.vstack(upper)
    protection_actual = np.nansum(actual_m[:, :protection], axis=1)
    protection_seen = np.any(~np.isnan(actual_m[:, :protection]), axis=1)
    snaive = baselines.seasonal_naive(history_m, holdout_days)
    ma28 = baselines.moving_average(history_m, holdout_days)
    flat = baselines.flat_quantile(history_m, holdout_days)
    flat_protection = np.nansum(flat[:, :protection], axis=1)
    seen_protection_actual = protection_actual[protection_seen]

    def scores(point: np.ndarray, total: np.ndarray | None = None) -> dict[str, float]:
        """The daily point forecast's scores, and those of its protection-interval total
        (by default the daily forecasts' sum over the interval's days)."""
        if total is None:
            total = np.nansum(point[:, :protection], axis=1)
        seen_actual = seen_protection_actual[:, None]
        seen_total = total[protection_seen][:, None]
        return {
            "wape": metrics.wape(actual_m, point),
            "rmsse": metrics.rmsse(actual_m, point, history_m),
            "bias": metrics.bias(actual_m, point),
            "protection_wape": metrics.wape(seen_actual, seen_total),
            "protection_bias": metrics.bias(seen_actual, seen_total),
        }

    seen_protection_upper = np.concatenate(protection_upper)[protection_seen]
    seen_flat_protection = flat_protection[protection_seen]
    result = {
        "kind": "replenishment",
        "methods": {
            "model": {
                **scores(forecast_m, np.concatenate(protection_mean)),
                "p90_coverage": metrics.coverage(actual_m, upper_m),
                "pinball_p90": metrics.pinball(actual_m, upper_m, 0.9),
                "protection_p90_coverage": metrics.coverage(
                    seen_protection_actual, seen_protection_upper
                ),
                "protection_pinball_p90": metrics.pinball(
                    seen_protection_actual, seen_protection_upper, 0.9
                ),
            },
            "snaive": scores(snaive),
            "ma28": scores(ma28),
            "flat_p90": {
                "p90_coverage": metrics.coverage(actual_m, flat),
                "pinball_p90": metrics.pinball(actual_m, flat, 0.9),
                "protection_p90_coverage": metrics.coverage(
                    seen_protection_actual, seen_flat_protection
                ),
                "protection_pinball_p90": metrics.pinball(
                    seen_protection_actual, seen_flat_protection, 0.9
                ),
            },
        },
        **_about(first_day, last_history, holdout_days, mean_model.rows, started),
        "series": int(actual_m.shape[0]),
        "train_series": sum(len(panel.skus) for panel in training),
        "train_horizon_stride": stride,
        "stores": len(stores),
        "protection_days": protection,
    }
    if reference:
        result["methods"]["lgbm_lags"] = scores(np.vstack(reference_forecasts))
        result["reference"] = yardstick.about()
    if include_forecasts:  # for tests and notebooks; not JSON
        result["forecasts"] = {"mean": forecast_m, "p90": upper_m,
                               "protection_p90": np.concatenate(protection_upper),
                               "protection_mean": np.concatenate(protection_mean)}  # fmt: skip
        if reference:
            result["forecasts"]["lgbm_lags"] = np.vstack(reference_forecasts)
    return result


def training_sample(
    panels: list[F.DailyPanel],
    last_history: int,
    horizon: int,
    *,
    budget: int | None = None,
    origins: int = 60,
    season_weeks: int = SEASON_WEEKS,
    stride: int | None = None,
) -> tuple[list[F.DailyPanel], int]:
    """What the replenishment models train on, kept within ``budget`` daily rows
    (:data:`TRAIN_ROWS` by default): with no ``stride`` given, a large file first gives each
    training origin every k-th horizon only (k <= 4), then trains on a stratified sample of
    each store's SKUs (by category, at least one of each). Every series is still forecast
    and scored; the JSON says how many trained. ``origins`` and ``season_weeks`` as
    :func:`train_replenishment` takes them."""
    budget = TRAIN_ROWS if budget is None else budget
    series = sum(len(panel.skus) for panel in panels)
    count = len(_training_origins(last_history, horizon, origins, season_weeks))
    every_horizon = series * count * horizon
    if stride is None:
        if every_horizon <= budget:
            return panels, 1
        stride = min(4, math.ceil(every_horizon / budget))
    per_series = sum(len(_origin_horizons(k, horizon, stride)) for k in range(count))
    share = budget / (series * per_series)
    if share >= 1:
        return panels, stride
    sampled = []
    for store, panel in enumerate(panels):
        categories = [str(c) for c in panel.category]
        keep = set(stratified_sample(str(store), panel.skus, categories,
                                     max(1, math.floor(share * len(panel.skus)))))  # fmt: skip
        sampled.append(panel.take([i for i, sku in enumerate(panel.skus) if sku in keep]))
    return sampled, stride


def train_replenishment(
    panels: list[F.DailyPanel],
    last_history: int,
    horizon: int,
    protection_days: int | None = None,
    origins: int = 60,
    threads: int = 2,
    horizon_stride: int = 1,
    season_weeks: int = SEASON_WEEKS,
) -> tuple[Trained, Trained, Trained, Trained]:
    """The four replenishment models trained on days up to ``last_history``: daily mean,
    daily P90 (horizons 1..horizon), protection-interval P90 and mean. With ``protection_days``
    None the interval varies per SKU and origin (2..14 days), as lead times do. ``origins``:
    how many weekly forecast origins (newest first) give training rows, and
    ``season_weeks`` adds the older ones that near the forecast origin's time of year (the
    daily mean and the protection models learn from those too; the daily P90, whose pinball
    they made worse, from the newest only; the protection P90 from every day of each
    training week, :func:`_protection_origins`); ``threads``:
    LightGBM's (1 for small data: two threads on a busy 2-core box run several times
    slower); ``horizon_stride`` k: each origin gives rows for every k-th horizon only, the
    offset turning with the origin, so every horizon is still learnt from k times fewer
    (and less redundant) rows."""
    x_daily, y_daily, x_prot, y_prot = [], [], [], []
    groups, n_groups = [], 0  # one per SKU and origin: the daily model's RMSSE groups
    recent = []  # rows from the newest ``origins`` weeks (the daily P90 learns from those)
    known = set()  # training origins with an observed target: the mean models' weeks
    on_week = []  # protection rows at a weekly origin (the protection mean learns from those)
    training_origins = _training_origins(last_history, horizon, origins, season_weeks)
    protection_origins = _protection_origins(
        training_origins, sum(len(panel.skus) for panel in panels)
    )
    weekly = set(training_origins)
    for panel in panels:
        history_only = _history_panel(panel, last_history)
        n_sku = len(panel.skus)
        for k, origin in enumerate(training_origins):
            horizons = _origin_horizons(k, horizon, horizon_stride)
            x_daily.append(F.daily_features(history_only, origin, horizons))
            y_daily.append(F.daily_targets(history_only, origin, horizons))
            if not np.isnan(y_daily[-1]).all():
                known.add(origin)
            recent.append(np.full(n_sku * len(horizons), k < origins))
            groups.append(np.tile(np.arange(n_groups, n_groups + n_sku), len(horizons)))
            n_groups += n_sku
        for origin in protection_origins:
            if protection_days is None:
                days = 2 + (np.arange(n_sku) + origin) % 13
            else:
                days = np.full(n_sku, protection_days)
            x_prot.append(F.protection_features(history_only, origin, days))
            y_prot.append(F.protection_targets(history_only, origin, days))
            on_week.append(np.full(n_sku, origin in weekly))
    features, target = np.vstack(x_daily), np.concatenate(y_daily)
    protection_rows, protection_target = np.vstack(x_prot), np.concatenate(y_prot)
    weekly_rows = np.concatenate(on_week)
    p90_rows = np.concatenate(recent)
    weeks = len(known)
    return (
        train(
            MODEL_SPECS["replenishment_daily"],
            features,
            target,
            groups=np.concatenate(groups),
            threads=threads,
            rounds=rounds_for("replenishment_daily", weeks),
        ),
        train(
            MODEL_SPECS["replenishment_daily_p90"],
            features[p90_rows],
            target[p90_rows],
            threads=threads,
        ),
        train(
            MODEL_SPECS["replenishment_protection_p90"],
            protection_rows,
            protection_target,
            threads=threads,
        ),
        train(
            MODEL_SPECS["replenishment_protection_mean"],
            protection_rows[weekly_rows],
            protection_target[weekly_rows],
            threads=threads,
            rounds=rounds_for("replenishment_protection_mean", weeks),
        ),
    )


def _protection_origins(training_origins: list[int], series: int) -> list[int]:
    """The protection P90's training origins, newest first: every day of each training week
    (its origin and the six days before), or every 2nd..7th day where ``series`` SKUs would
    give more than :data:`PROTECTION_ROWS` rows (every 7th: the weekly origins alone). One
    row per SKU and week is few for an order-up-to quantile: on M5 files of 210 days its
    7-day pinball loss fell 11 %, on five years 3.5 % (BENCHMARKS.md)."""
    for step in range(1, 8):
        days = {o - d for o in training_origins for d in range(0, 7, step) if o - d >= 28}
        if series * len(days) <= PROTECTION_ROWS or step == 7:
            break
    return sorted(days, reverse=True)


def rounds_for(model: str, weeks: int) -> int:
    """Boosting rounds for the replenishment ``model`` trained on ``weeks`` weekly origins
    with an observed target: the spec's for a P90 model or from :data:`FULL_ROUNDS_WEEKS`
    weeks on, else a share in proportion, at least :data:`MIN_ROUNDS_SHARE`. A short
    history's few weeks are few independent samples of the chain's week-to-week swings,
    which the later rounds learn by heart."""
    rounds = MODEL_SPECS[model].rounds
    if model not in _ROUNDS_BY_WEEKS:
        return rounds
    return round(rounds * min(1.0, max(MIN_ROUNDS_SHARE, weeks / FULL_ROUNDS_WEEKS)))


def _origin_horizons(k: int, horizon: int, stride: int) -> list[int]:
    """The horizons the k-th training origin gives rows for: every ``stride``-th of
    1..horizon, the offset turning with the origin (all of them if the offset is past
    the last)."""
    every = list(range(1, horizon + 1))
    return every[k % stride :: stride] or every


def _history_panel(panel: F.DailyPanel, last_history: int) -> F.DailyPanel:
    """The panel with every sale after ``last_history`` hidden: what a forecaster knew."""
    sales = panel.sales.copy()
    sales[:, last_history + 1 :] = np.nan
    return F.DailyPanel(panel.skus, panel.start, sales, panel.price, panel.promo, panel.closed,
                        panel.holiday, panel.category, panel.event)  # fmt: skip


def _about(
    first_day: date, last_history: int, holdout: int, rows: int, started: float
) -> dict[str, Any]:
    origin = first_day + timedelta(days=last_history)
    return {
        "origin": origin.isoformat(),
        "holdout_days": holdout,
        "holdout": [
            (origin + timedelta(days=1)).isoformat(),
            (origin + timedelta(days=holdout)).isoformat(),
        ],
        "train_rows": rows,
        "feature_spec": F.FEATURE_SPEC_HASH,
        "seconds": round(time.perf_counter() - started, 2),
    }


# -- labor -------------------------------------------------------------------------------------
def read_transactions(
    path: Path, *, until: date | None = None
) -> tuple[list[str], np.ndarray, date]:
    """(stores, transactions per store x day x hour, first day); ``until`` as in
    :func:`read_daily_sales`."""
    last_kept = date.max if until is None else until
    per_transaction = _per_transaction(path)
    counts: dict[str, dict[tuple[date, int], float]] = defaultdict(lambda: defaultdict(float))
    if per_transaction:
        for line, row in _rows(path, ("store_id", "timestamp")):
            try:
                stamp = datetime.fromisoformat(row["timestamp"].strip())
            except ValueError:
                raise BacktestError(f"{path}:{line}: timestamp {row['timestamp']!r}") from None
            if stamp.date() <= last_kept:
                counts[row["store_id"].strip()][(stamp.date(), stamp.hour)] += 1
    else:
        for line, row in _rows(path, ("store_id", "date", "hour", "transactions")):
            hour = int(_number(row, "hour", path, line))
            if not 0 <= hour <= 23:
                raise BacktestError(f"{path}:{line}: hour {hour} is outside 0..23")
            key = (_day(row, "date", path, line), hour)
            if key[0] <= last_kept:
                counts[row["store_id"].strip()][key] += _number(row, "transactions", path, line)
    if not counts:
        raise BacktestError(f"{path}: no rows{_up_to(until)}")
    first = min(d for c in counts.values() for d, _ in c)
    last = max(d for c in counts.values() for d, _ in c)
    stores = sorted(counts)
    traffic = np.full((len(stores), (last - first).days + 1, 24), np.nan, dtype=np.float32)
    for s, store in enumerate(stores):
        trading = sorted({h for _, h in counts[store]})
        traffic[s][:, trading] = 0.0  # an hour the store trades in, with no sale, had none
        for (day, hour), value in counts[store].items():
            traffic[s, (day - first).days, hour] = value
    return stores, traffic, first


def _per_transaction(path: Path) -> bool:
    """True for a transactions file of ``store_id,timestamp`` rows (one per transaction)."""
    with _open_text(path) as probe:
        return "timestamp" in _header(probe.readline())[1]


def train_labor(
    traffic: np.ndarray, first: date, last_history: int, horizon: int, threads: int = 2
) -> tuple[Trained, F.HourlyPanel]:
    """The labor model on days up to ``last_history``; also the panel with later days hidden.

    The number of boosting rounds is chosen like early stopping: a twin trained on the
    origins whose targets end before the last ``horizon`` training days forecasts those
    days from their origin, and the round count with the lowest WAPE there is used;
    if the profile feature alone did better on those days, or the history is too short
    for that check, the model serves the profile (a ratio of 1: on FreshRetailNet's 62
    days of one store the trees lost to it on the training-part origins, BENCHMARKS.md)."""
    n_days = traffic.shape[1]
    hidden = traffic.copy()
    hidden[:, last_history + 1 :, :] = np.nan
    panel = F.HourlyPanel(first, hidden, np.zeros(n_days, bool), np.zeros(n_days, bool))
    horizons = list(range(1, horizon + 1))

    def rows(newest: int) -> tuple[np.ndarray, np.ndarray]:
        origins = range(newest, 27, -1)
        x = np.vstack([F.hourly_features(panel, o, horizons) for o in origins])
        return x, np.concatenate([F.hourly_targets(panel, o, horizons) for o in origins])

    spec = MODEL_SPECS["labor"]
    assert spec.scale_column is not None
    x, y = rows(last_history - horizon)
    check = last_history - horizon  # its targets are the last training days
    if check - horizon > 27:
        twin = train(spec, *rows(check - horizon), threads=threads)
        x_check = F.hourly_features(panel, check, horizons)
        y_check = F.hourly_targets(panel, check, horizons)
        seen = ~np.isnan(y_check)
        errors = [
            np.abs(twin.predict(x_check, r)[seen] - y_check[seen]).sum()
            for r in range(1, spec.rounds + 1)
        ]
        profile_error = np.abs(x_check[:, spec.scale_column][seen] - y_check[seen]).sum()
        if min(errors) < profile_error:
            return train(spec, x, y, rounds=1 + int(np.argmin(errors)), threads=threads), panel
    # Too little history to check the trees, or they lost to the profile: every target
    # set to its profile gives one tree, a constant ratio of exactly 1.
    return train(spec, x, x[:, spec.scale_column].copy(), rounds=1, threads=threads), panel


def backtest_labor(
    transactions: Path,
    holdout_days: int,
    *,
    include_forecasts: bool = False,
    until: date | None = None,
    reference: bool = False,
) -> dict[str, Any]:
    """Transactions per store-hour vs the same hour last week and the 4-week same-hour mean;
    ``until`` and ``reference`` (method ``lgbm_lags``) as in :func:`backtest_replenishment`."""
    started = time.perf_counter()
    stores, traffic, first = read_transactions(transactions, until=until)
    n_days = traffic.shape[1]
    _check_holdout(transactions, n_days, holdout_days, history_needed("labor", holdout_days))
    last_history = n_days - 1 - holdout_days
    model, panel = train_labor(traffic, first, last_history, holdout_days)
    horizons = list(range(1, holdout_days + 1))
    predicted = model.predict(F.hourly_features(panel, last_history, horizons))
    forecast = predicted.reshape(len(horizons), len(stores), 24).transpose(1, 0, 2)
    actual = traffic[:, last_history + 1 :, :]
    history = traffic[:, : last_history + 1, :]
    forecast = np.where(np.isnan(actual), np.nan, np.maximum(forecast, 0))

    def scores(point: np.ndarray) -> dict[str, float]:
        flat_actual = actual.reshape(len(stores), -1)
        flat_point = np.nan_to_num(point.reshape(len(stores), -1))
        return {
            "wape": metrics.wape(flat_actual, flat_point),
            "rmsse": metrics.rmsse(flat_actual, flat_point, history.reshape(len(stores), -1)),
            "bias": metrics.bias(flat_actual, flat_point),
        }

    result = {
        "kind": "labor",
        "methods": {
            "model": scores(forecast),
            "snaive": scores(baselines.hourly_seasonal_naive(history, holdout_days)),
            "ma28": scores(baselines.hourly_moving_average(history, holdout_days)),
        },
        **_about(first, last_history, holdout_days, model.rows, started),
        "stores": len(stores),
    }
    if include_forecasts:
        result["forecasts"] = {"transactions": forecast}
    if reference:
        yardstick = train_labor_reference(panel.traffic, first, last_history, holdout_days)
        reference_forecast = yardstick.forecast(panel.traffic, first, last_history, holdout_days)
        reference_forecast = np.where(np.isnan(actual), np.nan, reference_forecast)
        result["methods"]["lgbm_lags"] = scores(reference_forecast)
        result["reference"] = yardstick.about()
        if include_forecasts:
            result["forecasts"]["lgbm_lags"] = reference_forecast
    return result


# -- availability -----------------------------------------------------------------------------
def read_hourly_skus(
    path: Path, *, until: date | None = None
) -> tuple[list[F.SkuHourPanel], list[np.ndarray], int]:
    """(panel per store, stock-out labels per store, days); ``until`` as in
    :func:`read_daily_sales`."""
    last_kept = (date.max.toordinal() if until is None else until.toordinal()) * 24 + 23
    records: dict[str, dict[str, _Rows]] = defaultdict(lambda: defaultdict(_Rows))
    first, last = 2**31, -1  # hour indexes: day ordinal x 24 + hour
    for line, row in _rows(path, ("store_id", "sku", "date", "hour", "units", "stockout")):
        hour = int(_number(row, "hour", path, line))
        if not 0 <= hour <= 23:
            raise BacktestError(f"{path}:{line}: hour {hour} is outside 0..23")
        price = _number(row, "price", path, line) if row.get("price", "").strip() else 1.0
        promo = _number(row, "promo", path, line) if row.get("promo", "").strip() else 0.0
        at = _day(row, "date", path, line).toordinal() * 24 + hour
        if at > last_kept:
            continue
        rows = records[row["store_id"].strip()][row["sku"].strip()]
        rows.days.append(at)
        rows.units.append(_number(row, "units", path, line))
        rows.stockout.append(_number(row, "stockout", path, line))
        rows.price.append(price)
        rows.promo.append(promo)
        first, last = min(first, at), max(last, at)
    if not records:
        raise BacktestError(f"{path}: no rows{_up_to(until)}")
    first_day = first // 24
    n_days = last // 24 - first_day + 1
    panels, labels = [], []
    for store in sorted(records):
        skus = sorted(records[store])
        sales = np.zeros((len(skus), n_days * 24), dtype=np.float32)
        label = np.full_like(sales, np.nan)
        price = np.ones_like(sales)
        promo = np.zeros_like(sales)
        for i, sku in enumerate(skus):
            rows = records[store].pop(sku)
            t = np.frombuffer(rows.days, dtype=np.int32) - first_day * 24
            # A repeated store-SKU-hour: the later row wins, as a later correction would.
            sales[i, t] = np.frombuffer(rows.units, dtype=np.float32)
            label[i, t] = np.frombuffer(rows.stockout, dtype=np.float32)
            price[i, t] = np.frombuffer(rows.price, dtype=np.float32)
            promo[i, t] = np.frombuffer(rows.promo, dtype=np.float32)
        # Prices become ratios to the SKU's usual (median) price: 1 = regular, < 1 = discount.
        usual = np.nanmedian(price, axis=1, keepdims=True)
        ratio = np.where(usual > 0, price / np.where(usual > 0, usual, 1.0), 1.0)
        panels.append(F.SkuHourPanel(date.fromordinal(first_day), sales, promo,
                                     ratio.astype(np.float32)))  # fmt: skip
        labels.append(label)
    return panels, labels, n_days


def train_availability(
    panels: list[F.SkuHourPanel],
    labels: list[np.ndarray],
    cut: int,
    sample: list[np.ndarray] | None = None,
) -> tuple[Trained, float]:
    """The availability model on hours before ``cut``, and its decision threshold, from a
    twin model trained without the last training week and scored on it (a threshold
    picked on the model's own training rows would be overconfident). For calibrated
    probabilities the F1-best threshold is half the best F1 reachable (Lipton, Elkan and
    Naryanaswamy, 2014): the threshold is half the twin's best F1 on that week, which is
    steadier than the twin's own F1-best cut-off (that one moves with a week's few
    hundred positives; on the two weeks before the holdout it cost 1.5-3.5 % of F1).
    ``sample``: per store, the SKU rows to train on (by default
    :func:`_availability_sample`'s)."""
    validation_start = max(cut - 7 * 24, cut // 2)
    xs, ys = [], []
    sample = _availability_sample(labels, cut) if sample is None else sample
    for panel, label, rows in zip(panels, labels, sample, strict=True):
        for part, part_label in _sku_chunks(panel, label, rows):
            features = F.availability_features(part).reshape(len(part_label), -1, _WIDTH)
            xs.append(features[:, :cut].reshape(-1, _WIDTH))
            ys.append(part_label[:, :cut].reshape(-1))
    x, y = np.vstack(xs), np.concatenate(ys)
    del xs
    fit = np.tile(np.arange(cut) < validation_start, len(y) // cut)  # SKU-major, by hour
    spec = MODEL_SPECS["availability"]
    twin = train(spec, x[fit], y[fit])
    _, best_f1 = metrics.best_f1_threshold(y[~fit], twin.predict(x[~fit]))
    return train(spec, x, y), float(best_f1) / 2


def _availability_sample(labels: list[np.ndarray], cut: int) -> list[np.ndarray]:
    """Per store, the SKUs the availability model trains on: all of them, or a sample
    (the same share of each store, picked by a hash of store and SKU) when they would
    give more than :data:`AVAILABILITY_TRAIN_ROWS` SKU-hours. Every SKU is still scored."""
    share = AVAILABILITY_TRAIN_ROWS / max(1, sum(len(label) for label in labels) * cut)
    chosen = []
    for store, label in enumerate(labels):
        names = [str(i) for i in range(len(label))]
        if share < 1:
            names = stratified_sample(str(store), names, ["*"] * len(names),
                                      max(1, round(share * len(names))))  # fmt: skip
        chosen.append(np.sort(np.array(names, dtype=int)))
    return chosen


def _sku_chunks(
    panel: F.SkuHourPanel, label: np.ndarray, rows: np.ndarray | None = None
) -> Iterator[tuple[F.SkuHourPanel, np.ndarray]]:
    """The SKUs at ``rows`` (all by default) a chunk at a time: hourly features of a large
    store would not fit in memory at once."""
    rows = np.arange(len(label)) if rows is None else rows
    for a in range(0, len(rows), _HOURLY_CHUNK):
        part = rows[a : a + _HOURLY_CHUNK]
        yield panel.take(part), label[part]


def backtest_availability(
    hourly: Path,
    holdout_days: int,
    *,
    include_forecasts: bool = False,
    until: date | None = None,
) -> dict[str, Any]:
    """Off-shelf detection from sales gaps vs the zero-sales-run rule tuned on training;
    ``until`` as in :func:`backtest_replenishment`."""
    started = time.perf_counter()
    panels, labels, n_days = read_hourly_skus(hourly, until=until)
    _check_holdout(hourly, n_days, holdout_days, history_needed("availability", holdout_days))
    cut = (n_days - holdout_days) * 24
    sample = _availability_sample(labels, cut)
    model, threshold = train_availability(panels, labels, cut, sample)
    scores, truth = [], []
    for panel, label in zip(panels, labels, strict=True):
        for part, part_label in _sku_chunks(panel, label):
            rows = F.availability_features(part).reshape(len(part_label), n_days * 24, _WIDTH)
            scores.append(model.predict(rows[:, cut:].reshape(-1, _WIDTH)))
            truth.append(part_label[:, cut:].reshape(-1))
    scores_test, y_test = np.concatenate(scores), np.concatenate(truth)
    rule = baselines.ZeroRunRule().fit(
        np.vstack([p.sales[:, :cut] for p in panels]), np.vstack([lab[:, :cut] for lab in labels])
    )
    runs = np.concatenate(
        [baselines.zero_run_lengths(p.sales)[:, cut:].reshape(-1) for p in panels]
    ).astype(float)
    precision, recall, f1 = metrics.precision_recall_f1(y_test, scores_test, threshold)
    rule_p, rule_r, rule_f1 = metrics.precision_recall_f1(y_test, runs, float(rule.min_run))
    first = panels[0].start
    result = {
        "kind": "availability",
        "methods": {
            "model": {
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "auc_pr": metrics.auc_pr(y_test, scores_test),
                "threshold": threshold,
            },
            "zero_run_rule": {
                "precision": rule_p,
                "recall": rule_r,
                "f1": rule_f1,
                "auc_pr": metrics.auc_pr(y_test, runs),
                "min_run_hours": rule.min_run,
            },
        },
        **_about(first, n_days - 1 - holdout_days, holdout_days, model.rows, started),
        "skus": int(sum(len(lab) for lab in labels)),
        "train_skus": int(sum(len(rows) for rows in sample)),
        "label_share": float(np.nanmean(y_test)),
    }
    if include_forecasts:
        result["forecasts"] = {"off_shelf_probability": scores_test}
    return result


# -- rolling origins ---------------------------------------------------------------------------
def backtest_origins(
    kind: str, source: Path, holdout_days: int, origins: int, **options: Any
) -> dict[str, Any]:
    """The ``kind`` backtest from ``origins`` successive forecast origins, ``holdout_days``
    apart: the newest scores the file's last days, each earlier one the days just before
    the next one's holdout, trained on everything before its own holdout (the file read as
    if it ended with that holdout: nothing later reaches it). One origin is a noisy judge
    (BENCHMARKS.md: on M5 the replenishment model's RMSSE over seasonal naive's moves
    0.735-0.793 from one 28-day month to the next); ``summary`` gives each method's
    metrics and the model's ratio to each baseline over the origins: median, min, max.
    ``options`` go to the backtest (``calendar``, ``protection_days``)."""
    run = BACKTESTS[kind]
    if origins < 1:
        raise BacktestError(f"--origins {origins}: need at least 1 forecast origin",
                            hint="--origins 1 is the plain backtest")  # fmt: skip
    first, last = _span(kind, source)
    needed = history_needed(kind, holdout_days)
    fits = ((last - first).days + 1 - needed) // holdout_days
    if origins > fits:
        raise BacktestError(
            f"{source}: {first} .. {last} holds at most {max(fits, 0)} "
            f"origin{'' if fits == 1 else 's'} of {holdout_days} holdout days after {needed} "
            f"days of history, not {origins}",
            hint=f"use --origins {fits} or fewer, or a shorter --holdout-days" if fits >= 1
            else "use a longer file or a shorter --holdout-days",
        )  # fmt: skip
    # Oldest first; the newest reads the whole file (no row is after its last day).
    results = [run(source, holdout_days, until=last - timedelta(days=k * holdout_days), **options)
               for k in reversed(range(origins))]  # fmt: skip
    return {"kind": kind, "holdout_days": holdout_days, "origins": results,
            "summary": _summary(results)}  # fmt: skip


def _span(kind: str, source: Path) -> tuple[date, date]:
    """The first and last day of a backtest file, from its date (or timestamp) column
    alone: how many origins fit is known before any model trains."""
    column = "timestamp" if kind == "labor" and _per_transaction(source) else "date"
    first, last = date.max, date.min
    for line, row in _rows(source, (column,)):
        day = _day(row, column, source, line)
        first, last = min(first, day), max(last, day)
    if first > last:
        raise BacktestError(f"{source}: no rows")
    return first, last


#: The backtest of each model kind, by the name the CLI takes.
BACKTESTS: dict[str, Callable[..., dict[str, Any]]] = {
    "replenishment": backtest_replenishment,
    "labor": backtest_labor,
    "availability": backtest_availability,
}


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": float(np.median(values)), "min": float(min(values)),
            "max": float(max(values))}  # fmt: skip


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each method's numeric metrics over the origins, and model / baseline ratios."""
    methods: dict[str, dict[str, Any]] = {}
    for name, scores in results[0]["methods"].items():
        methods[name] = {}
        for metric in scores:
            values = [r["methods"][name].get(metric) for r in results]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                methods[name][metric] = _spread(values)
    ratios: dict[str, dict[str, Any]] = {}
    for name in methods:
        if name == "model":
            continue
        for metric in _COMPARED:
            pairs = [(r["methods"]["model"].get(metric), r["methods"][name].get(metric))
                     for r in results]  # fmt: skip
            if all(isinstance(a, float) and isinstance(b, float) and b > 0 for a, b in pairs):
                per_origin = [a / b for a, b in pairs]
                ratios.setdefault(f"model/{name}", {})[metric] = {
                    **_spread(per_origin), "values": per_origin}  # fmt: skip
    return {"methods": methods, "ratios": ratios}
