"""Retraining at the hub on what the stores synced, and the champion/challenger decision.

``retrain(db, "replenishment" | "labor" | "availability", ...)``:

1. **Read** the hub's ``records`` table. Replenishment and labor read the stores'
   ``DailyOutcome`` records: per store and business day the newest revision (all its
   parts), decoded into the same panels the edge computes its features from
   (:mod:`models.panels` semantics: NaN sales when closed or not listed, price 0 =
   unknown). Availability reads the shelf-check decisions' logged feature rows
   (``Decision.shelf_check.availability_features``, what the store served) labelled by
   the stores' ``ShelfCheckResult`` (FOUND = on shelf, MISSING = off shelf,
   NOT_CHECKED ignored), the random share of checks included.
2. **Sample** (replenishment): at most ``sample_skus`` SKUs per store, stratified by
   category (:mod:`cloud_hub.synced`). Training and backtest use the same sample.
3. **Train** with the shared features and :mod:`models.training` on everything before
   the last ``holdout_days`` days of each store, export ONNX (parity-checked).
   The challenger that is registered is this model (no refit on the holdout), so the
   numbers in its manifest are those of the bytes stores would serve.
4. **Backtest** challenger and champion (the registry's ONNX, run with onnxruntime)
   on the same held-out days per store. Error: WAPE of the daily mean (replenishment),
   WAPE per store-hour (labor), log loss (availability); lower is better.
5. **Decide**: promote only if the challenger's overall error is at least ``margin``
   below the champion's AND, on every ring's stores (ring from the store registry),
   not above the champion's by more than ``tolerance`` (relative). Replenishment's P90
   artifacts ride with the mean model; their pinball loss must also stay within the
   tolerance overall. The decision and its numbers go into the hub audit log.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cloud_hub import hub_audit, hubdb
from cloud_hub.errors import TrainingError
from cloud_hub.model_registry import FAMILIES, ModelRegistry
from cloud_hub.registry import DEFAULT_RING, Registry
from cloud_hub.synced import Progress, StorePanel, read_store_panels
from models import features as F
from models.runtime import OnnxModel
from storeedge.v1 import decision_pb2, model_pb2, shelf_check_pb2

__all__ = ["Score", "TrainOptions", "decide", "retrain", "score_daily", "score_protection_mean"]

MODELS = tuple(FAMILIES)
#: Days of history the daily features need before the first training origin.
_FEATURE_HISTORY_DAYS = 28


@dataclass(frozen=True)
class TrainOptions:
    margin: float = 0.02
    tolerance: float = 0.05
    holdout_days: int = 28
    sample_skus: int = 500
    origins: int = 16
    horizon_stride: int = 4
    #: Older origins in the forecast day's season, every earlier year (0: off).
    season_weeks: int = 10
    #: Daily rows replenishment trains on at most (memory: about 1 KB each at the peak);
    #: beyond it, a stratified share of each store's sampled SKUs.
    train_rows: int = 1_500_000
    #: LightGBM threads. One by default: the hub keeps a core for ingest, and on a busy
    #: 2-core box two OpenMP threads spin-wait and ran 4-18 x slower than one.
    threads: int = 1
    actor: str = "cloud-hub"
    #: Tests only: permute the training targets (a challenger that must lose).
    shuffle_targets: bool = False


# -- the decision ---------------------------------------------------------------------------------
@dataclass
class Score:
    """Error of one model on the held-out days: overall and per ring (lower is better)."""

    overall: float
    rings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.overall, "rings": self.rings, **self.extra}


def decide(
    challenger: Score,
    champion: Score | None,
    *,
    margin: float,
    tolerance: float,
    guards: tuple[str, ...] = (),
) -> tuple[bool, list[str]]:
    """Promote? And why (or why not), one reason per check."""
    if champion is None or not math.isfinite(champion.overall):
        return False, ["the champion could not be scored on these features: promote by hand"]
    if not math.isfinite(challenger.overall):
        return False, ["the challenger has no finite error on the held-out days"]
    reasons, ok = [], True
    needed = champion.overall * (1 - margin)
    better = challenger.overall <= needed
    ok &= better
    reasons.append(
        f"overall error {challenger.overall:.4f} vs champion {champion.overall:.4f}: "
        + ("better" if better else "not better")
        + f" by the margin {margin:.1%}"
    )
    for ring, value in sorted(challenger.rings.items()):
        ref = champion.rings.get(ring)
        if ref is None or not math.isfinite(ref) or not math.isfinite(value):
            continue
        if value > ref * (1 + tolerance):
            ok = False
            reasons.append(
                f"ring {ring}: error {value:.4f} vs champion {ref:.4f}, worse "
                f"beyond the tolerance {tolerance:.1%}"
            )
    for name in guards:
        value, ref = challenger.extra.get(name), champion.extra.get(name)
        if value is not None and ref is not None and value > ref * (1 + tolerance):
            ok = False
            reasons.append(
                f"{name} {value:.4f} vs champion {ref:.4f}: worse beyond the "
                f"tolerance {tolerance:.1%}"
            )
    return ok, reasons


class _Errors:
    """Absolute errors and actuals summed per store, for WAPE per ring and overall."""

    def __init__(self) -> None:
        self.num: dict[str, float] = defaultdict(float)
        self.den: dict[str, float] = defaultdict(float)

    def add(self, store: str, actual: np.ndarray, forecast: np.ndarray) -> None:
        seen = ~np.isnan(actual)
        self.num[store] += float(np.abs(actual[seen] - forecast[seen]).sum())
        self.den[store] += float(np.abs(actual[seen]).sum())

    def score(self, rings: dict[str, str], extra: dict[str, float] | None = None) -> Score:
        def ratio(stores: list[str]) -> float:
            den = sum(self.den[s] for s in stores)
            return sum(self.num[s] for s in stores) / den if den > 0 else float("nan")

        by_ring: dict[str, list[str]] = defaultdict(list)
        for store in self.num:
            by_ring[rings.get(store, DEFAULT_RING)].append(store)
        return Score(ratio(list(self.num)), {r: ratio(s) for r, s in by_ring.items()}, extra or {})


# -- training per model ---------------------------------------------------------------------------
@dataclass
class _Challenger:
    trained: list[Any]  # models.training.Trained, one per artifact
    samples: list[np.ndarray]  # rows for the parity check, per artifact
    challenger: Score
    champion: Score | None
    window: tuple[date, date]
    volume: dict[str, float]
    guards: tuple[str, ...] = ()
    extra_metrics: dict[str, float] = field(default_factory=dict)


def _champion_models(
    registry: ModelRegistry, model: str
) -> tuple[str, list[OnnxModel] | None] | None:
    """The champion's version and its sessions; no sessions when it was built on another
    feature spec (its inputs would mean other things: it cannot be scored here)."""
    names = FAMILIES[model]
    champions = [registry.champion(n) for n in names]
    if any(c is None for c in champions):
        return None
    version = champions[0].version  # type: ignore[union-attr]
    if any(c.manifest.get("featureSpecHash") != F.FEATURE_SPEC_HASH for c in champions):  # type: ignore[union-attr]
        return version, None
    return version, [
        OnnxModel(registry.get(n, c.version)[0])
        for n, c in zip(names, champions, strict=True)  # type: ignore[union-attr]
    ]


def _safe_predict(model: OnnxModel | None, rows: np.ndarray) -> np.ndarray | None:
    """Champion predictions, or None when it was built on other features (cannot score)."""
    if model is None or model.n_features != rows.shape[1]:
        return None
    return model.predict(rows)


Predict = Callable[[np.ndarray], "np.ndarray | None"]


def score_daily(
    stores: list[StorePanel],
    predictors: dict[str, tuple[Predict, Predict] | None],
    holdout: int,
    rings: dict[str, str],
) -> dict[str, Score | None]:
    """Backtest daily mean and P90 predictors on each store's last ``holdout`` days, from
    one origin, with the sales after it hidden from the features: WAPE of the mean per
    store, ring and overall, and the P90's mean pinball loss. A predictor answering None
    (another feature spec) gets no score."""
    from cloud_hub.backtest import _history_panel

    horizons = list(range(1, holdout + 1))
    errors = {who: _Errors() for who in predictors}
    pinball = {who: [0.0, 0.0] for who in predictors}
    for store in stores:
        panel = store.panel
        assert panel is not None
        last_history = panel.n_days - 1 - holdout
        rows = F.daily_features(_history_panel(panel, last_history), last_history, horizons)
        actual = F.daily_targets(panel, last_history, horizons)
        closed = np.repeat(panel.closed[last_history + 1 :], len(panel.skus))
        seen = ~np.isnan(actual)
        for who, pair in predictors.items():
            if pair is None:
                continue
            mean, high = pair[0](rows), pair[1](rows)
            if mean is None or high is None:
                continue
            mean = np.where(closed, 0.0, np.maximum(mean, 0.0))
            high = np.maximum(np.where(closed, 0.0, high), mean)
            errors[who].add(store.store_id, actual, mean)
            diff = actual[seen] - high[seen]
            pinball[who][0] += float(np.maximum(0.9 * diff, -0.1 * diff).sum())
            pinball[who][1] += float(seen.sum())
    scores: dict[str, Score | None] = {}
    for who in predictors:
        total, count = pinball[who]
        scores[who] = (
            errors[who].score(rings, {"pinball_p90": total / max(count, 1.0)})
            if errors[who].num
            else None
        )
    return scores


def score_protection_mean(
    stores: list[StorePanel], predictors: dict[str, Predict | None], holdout: int, days: int = 7
) -> dict[str, float | None]:
    """WAPE of expected-demand predictors (the protection mean model) on each store's total
    sales over its first ``min(days, holdout)`` held-out days, from the features of the day
    before them (the sales after it hidden), computed once for all predictors. None for a
    predictor that cannot score (another feature spec, or None), or when nothing sold."""
    from cloud_hub.backtest import _history_panel

    days = min(days, holdout)
    error = dict.fromkeys(predictors, 0.0)
    sold = 0.0
    able = {who for who, predict in predictors.items() if predict is not None}
    for store in stores:
        panel = store.panel
        assert panel is not None
        origin = panel.n_days - 1 - holdout
        rows = F.protection_features(_history_panel(panel, origin), origin,
                                     np.full(len(panel.skus), days))  # fmt: skip
        actual = panel.sales[:, origin + 1 : origin + 1 + days]
        seen = ~np.isnan(actual).all(axis=1)
        total = np.nansum(actual, axis=1)[seen]
        sold += float(total.sum())
        for who in list(able):
            forecast = predictors[who](rows)  # type: ignore[misc]
            if forecast is None:
                able.discard(who)
                continue
            error[who] += float(np.abs(total - np.maximum(forecast[seen], 0.0)).sum())
    return {who: error[who] / sold if who in able and sold > 0 else None for who in predictors}


def _replenishment(
    db_conn: Any,
    champion: list[OnnxModel] | None,
    rings: dict[str, str],
    options: TrainOptions,
    progress: Progress,
) -> _Challenger:
    from cloud_hub.backtest import _history_panel

    holdout = options.holdout_days
    needed = _FEATURE_HISTORY_DAYS + 2 * holdout + 1
    stores = read_store_panels(db_conn, sample_skus=options.sample_skus, progress=progress)
    if not stores:
        raise TrainingError(
            "train replenishment: the hub holds no daily outcomes (DailyOutcome records)",
            hint="stores send them once their days are over (`edge-agent run` syncs them); "
            "check `cloud-hub status --db HUBDB`",
        )
    usable = [
        s for s in stores if s.panel is not None and s.panel.n_days >= needed and len(s.panel.skus)
    ]
    if not usable:
        longest = max(s.closed.shape[0] for s in stores)
        raise TrainingError(
            f"train replenishment: too little history: the longest store has {longest} days "
            f"of daily outcomes, {needed} are needed ({holdout} held out, {holdout} ahead, "
            f"{_FEATURE_HISTORY_DAYS} for features)",
            hint="let the stores sync more days, or lower --holdout-days",
        )
    panels = [s.panel for s in usable]
    # Each store keeps its own calendar: the last `holdout` days of each are held out.
    started = time.perf_counter()
    progress(
        f"training {len(FAMILIES['replenishment'])} artifacts on {len(usable)} stores, "
        f"{sum(len(p.skus) for p in panels)} series"
    )
    training = panels
    if options.shuffle_targets:  # the targets, not the backtest: a challenger that must lose
        rng = np.random.default_rng(7)
        training = [
            F.DailyPanel(
                p.skus,
                p.start,
                rng.permutation(p.sales.reshape(-1)).reshape(p.sales.shape),
                p.price,
                p.promo,
                p.closed,
                p.holiday,
                p.category,
                p.event,
            )
            for p in panels
        ]
    trained, train_series = _train_aligned(training, holdout, options, progress)
    progress(f"trained in {time.perf_counter() - started:.1f} s; backtesting")
    history = _history_panel(panels[0], panels[0].n_days - 1 - holdout)
    days = np.full(len(panels[0].skus), min(7, holdout))
    origin = panels[0].n_days - 1 - holdout
    daily_rows = F.daily_features(history, origin, list(range(1, holdout + 1)))[:5000]
    protection_rows = F.protection_features(history, origin, days)[:5000]
    rows_of = {"daily": daily_rows, "protection": protection_rows}
    samples = [rows_of[t.spec.feature_set] for t in trained]  # parity rows per artifact
    predictors: dict[str, tuple[Predict, Predict] | None] = {
        "challenger": (trained[0].predict, trained[1].predict),
        "champion": None,
    }
    if champion:
        mean_model, high_model = champion[0], champion[1]
        predictors["champion"] = (
            lambda rows: _safe_predict(mean_model, rows),
            lambda rows: _safe_predict(high_model, rows),
        )
    scores = score_daily(usable, predictors, holdout, rings)
    # Orders' expected demand: the protection mean model, guarded like the daily P90.
    at = FAMILIES["replenishment"].index("replenishment_protection_mean")
    expected: dict[str, Predict | None] = {"challenger": trained[at].predict, "champion": None}
    if champion:
        expected_model = champion[at]
        expected["champion"] = lambda rows: _safe_predict(expected_model, rows)
    for who, wape in score_protection_mean(usable, expected, holdout).items():
        score = scores.get(who)
        if score is not None and wape is not None:
            score.extra["protection_wape"] = wape
    first = min(p.start for p in panels)
    end = max(p.start + timedelta(days=p.n_days - 1 - holdout) for p in panels)
    return _Challenger(
        trained,
        samples,
        scores["challenger"],
        scores["champion"],
        (first, end),  # type: ignore[arg-type]
        {
            "stores": len(usable),
            "series": sum(len(p.skus) for p in panels),
            "train_series": train_series,
            "skus_total": sum(s.skus_total for s in usable),
            "days": max(p.n_days for p in panels),
        },
        guards=("pinball_p90", "protection_wape"),
    )


def _train_aligned(
    panels: list[F.DailyPanel], holdout: int, options: TrainOptions, progress: Progress
) -> tuple[list[Any], int]:
    """The four models and how many series they trained on. train_replenishment wants one
    ``last_history`` for all panels: align the stores on their last day (each store's own
    last ``holdout`` days are hidden); past ``train_rows`` rows, train on a stratified share
    of each store's SKUs."""
    from cloud_hub.backtest import train_replenishment, training_sample

    width = max(p.n_days for p in panels)
    aligned = []
    for p in panels:
        pad = width - p.n_days
        if pad == 0:
            aligned.append(p)
            continue

        def left(a: np.ndarray, fill: float, pad: int = pad) -> np.ndarray:
            block = np.full((*a.shape[:-1], pad), fill, dtype=a.dtype)
            return np.concatenate([block, a], axis=-1)

        aligned.append(
            F.DailyPanel(
                skus=p.skus,
                start=p.start - timedelta(days=pad),
                sales=left(p.sales, np.nan),
                price=left(p.price, np.nan),
                promo=left(p.promo, 0.0),
                closed=left(p.closed, False),
                holiday=left(p.holiday, False),
                category=p.category,
                event=left(p.event, False),
            )
        )
    last_history = width - 1 - holdout
    training, stride = training_sample(
        aligned,
        last_history,
        holdout,
        budget=options.train_rows,
        origins=options.origins,
        season_weeks=options.season_weeks,
        stride=options.horizon_stride,
    )
    series = sum(len(p.skus) for p in training)
    if training is not aligned:
        progress(f"{series} of {sum(len(p.skus) for p in aligned)} series train, "
                 f"within {options.train_rows:,} rows")  # fmt: skip
    trained = train_replenishment(
        training,
        last_history,
        holdout,
        None,
        options.origins,
        threads=options.threads,
        horizon_stride=stride,
        season_weeks=options.season_weeks,
    )
    return list(trained), series


def _labor(
    db_conn: Any,
    champion: list[OnnxModel] | None,
    rings: dict[str, str],
    options: TrainOptions,
    progress: Progress,
) -> _Challenger:
    from cloud_hub.backtest import train_labor

    holdout = min(options.holdout_days, 7)  # labor plans a week ahead
    stores = read_store_panels(db_conn, skus=False, progress=progress)
    if not stores or all(np.isnan(s.traffic).all() for s in stores):
        raise TrainingError(
            "train labor: the hub holds no hourly transactions (the hours of DailyOutcome records)",
            hint="stores send them with each finished day; check `cloud-hub status`",
        )
    first = min(s.start for s in stores)
    last = max(s.start + timedelta(days=len(s.closed) - 1) for s in stores)
    n_days = (last - first).days + 1
    needed = 28 + 2 * holdout + 1
    if n_days < needed:
        raise TrainingError(
            f"train labor: too little history: {n_days} days of hourly transactions, "
            f"{needed} are needed ({holdout} held out, {holdout} for choosing rounds, 28 for "
            "features)",
            hint="let the stores sync more days, or lower --holdout-days",
        )
    traffic = np.full((len(stores), n_days, 24), np.nan, dtype=np.float32)
    for i, store in enumerate(stores):
        offset = (store.start - first).days
        traffic[i, offset : offset + len(store.closed)] = store.traffic
    if options.shuffle_targets:
        rng = np.random.default_rng(7)
        train_part = traffic.copy()
        train_part[:, : n_days - holdout] = rng.permutation(
            traffic[:, : n_days - holdout].reshape(-1)
        ).reshape(traffic[:, : n_days - holdout].shape)
    else:
        train_part = traffic
    last_history = n_days - 1 - holdout
    progress(f"training labor on {len(stores)} stores, {n_days} days")
    model, panel = train_labor(train_part, first, last_history, holdout, threads=options.threads)
    if options.shuffle_targets:
        hidden = traffic.copy()
        hidden[:, last_history + 1 :, :] = np.nan
        panel = F.HourlyPanel(first, hidden, panel.closed, panel.holiday)
    horizons = list(range(1, holdout + 1))
    rows = F.hourly_features(panel, last_history, horizons)
    actual = traffic[:, last_history + 1 :, :]
    errors = {"challenger": _Errors(), "champion": _Errors()}
    outputs = {
        "challenger": model.predict(rows),
        "champion": _safe_predict(champion[0], rows) if champion else None,
    }
    for who, predicted in outputs.items():
        if predicted is None:
            continue
        forecast = np.maximum(
            predicted.reshape(len(horizons), len(stores), 24).transpose(1, 0, 2), 0
        )
        for i, store in enumerate(stores):
            errors[who].add(store.store_id, actual[i].reshape(-1), forecast[i].reshape(-1))
    scores = {w: errors[w].score(rings) if errors[w].num else None for w in errors}
    return _Challenger(
        [model],
        [rows[:5000]],
        scores["challenger"],
        scores["champion"],  # type: ignore[arg-type]
        (first, first + timedelta(days=last_history)),
        {"stores": len(stores), "series": len(stores), "days": n_days},
    )


_LABELS = {
    shelf_check_pb2.SHELF_CHECK_STATUS_FOUND: 0.0,
    shelf_check_pb2.SHELF_CHECK_STATUS_MISSING: 1.0,
}


def _availability(
    db_conn: Any,
    champion: list[OnnxModel] | None,
    rings: dict[str, str],
    options: TrainOptions,
    progress: Progress,
) -> _Challenger:
    from models import metrics
    from models.training import MODEL_SPECS, train

    labels: dict[str, float] = {}
    for (payload,) in db_conn.execute(
        "SELECT payload FROM records WHERE record_type = 'shelf_check'"
    ):
        result = shelf_check_pb2.ShelfCheckResult.FromString(payload)
        if result.status in _LABELS:
            labels[result.decision_id] = _LABELS[result.status]
    width = len(F.AVAILABILITY_FEATURES)
    rows, ys, stores, days = [], [], [], []
    random_checks = 0  # the unbiased share: drawn at random, not ranked by the model
    for store_id, record_id, payload in db_conn.execute(
        "SELECT store_id, record_id, payload FROM records WHERE record_type = 'decision'"
    ):
        if record_id not in labels:
            continue
        decision = decision_pb2.Decision.FromString(payload)
        values = decision.shelf_check.availability_features
        if decision.WhichOneof("detail") != "shelf_check" or len(values) != width:
            continue
        rows.append(np.asarray(values, dtype=np.float32))
        ys.append(labels[record_id])
        stores.append(store_id)
        days.append(date.fromisoformat(decision.business_date))
        random_checks += decision.shelf_check.random_sample
    progress(
        f"availability: {len(rows)} labelled shelf checks with logged features "
        f"({len(labels)} results)"
    )
    minimum = 200
    if len(rows) < minimum or len(set(ys)) < 2:
        raise TrainingError(
            f"train availability: {len(rows)} shelf checks with logged features and a FOUND or "
            f"MISSING result ({int(sum(ys))} missing), at least {minimum} with both outcomes "
            "are needed",
            hint="stores log features with each shelf-check decision and sync "
            "staff results (`edge-agent tasks complete`); wait for more checks",
        )
    x, y = np.vstack(rows), np.asarray(ys)
    store_arr, day_arr = np.asarray(stores), np.asarray(days)
    newest = {s: max(d for s2, d in zip(stores, days, strict=True) if s2 == s) for s in set(stores)}
    cutoff = np.asarray([newest[s] - timedelta(days=options.holdout_days) for s in stores])
    held = day_arr > cutoff
    if held.all() or not held.any() or len(set(y[~held])) < 2:
        raise TrainingError(
            f"train availability: the last {options.holdout_days} days hold {int(held.sum())} of "
            f"{len(y)} labelled checks: training or backtest would be empty or one-sided",
            hint="lower --holdout-days or wait for more checks",
        )
    target = y[~held]
    if options.shuffle_targets:
        target = np.random.default_rng(7).permutation(target)
    model = train(MODEL_SPECS["availability"], x[~held], target, threads=options.threads)

    def log_loss(p: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return float(-(truth * np.log(p) + (1 - truth) * np.log(1 - p)).sum()), float(len(truth))

    outputs = {
        "challenger": model.predict(x[held]),
        "champion": _safe_predict(champion[0], x[held]) if champion else None,
    }
    scores: dict[str, Score | None] = {}
    for who, p in outputs.items():
        if p is None:
            scores[who] = None
            continue
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for ring in {rings.get(s, DEFAULT_RING) for s in store_arr[held]}:
            mask = np.asarray([rings.get(s, DEFAULT_RING) == ring for s in store_arr[held]])
            loss, n = log_loss(p[mask], y[held][mask])
            sums[ring] = [loss, n]
        total = sum(v[0] for v in sums.values()) / sum(v[1] for v in sums.values())
        scores[who] = Score(
            total, {r: v[0] / v[1] for r, v in sums.items()}, {"auc_pr": metrics.auc_pr(y[held], p)}
        )
    _, best_f1 = metrics.best_f1_threshold(y[held], outputs["challenger"])
    return _Challenger(
        [model],
        [x[:5000]],
        scores["challenger"],
        scores["champion"],  # type: ignore[arg-type]
        (min(days), max(day_arr[~held])),
        {
            "stores": len(set(stores)),
            "series": len(y),
            "days": len(set(days)),
            "random_checks": random_checks,
        },
        extra_metrics={"decision_threshold": float(best_f1) / 2},
    )


_TRAINERS = {"replenishment": _replenishment, "labor": _labor, "availability": _availability}


# -- the whole run -------------------------------------------------------------------------------
def retrain(
    db: Path, signing_dir: Path, model: str, options: TrainOptions, progress: Progress | None = None
) -> dict[str, Any]:
    """Train a challenger for ``model``, register it (signed), backtest it against the
    champion, promote it if it wins; every step audited. Returns the ``--json`` document."""
    from models.training import ONNX_OPSET, export_onnx, parity, sha256_hex

    if model not in _TRAINERS:
        raise TrainingError(f"train: unknown model {model!r}", hint=f"one of: {', '.join(MODELS)}")
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    with Registry(db) as store_registry:
        rings = {entry.store_id: entry.ring for entry in store_registry.stores()}
    conn = hubdb.connect(db)
    try:
        with ModelRegistry(db, signing_dir) as registry:
            registry.ensure_bootstrap(actor=options.actor)
            champ = _champion_models(registry, model)
            parent = champ[0] if champ else ""
            result = _TRAINERS[model](conn, champ[1] if champ else None, rings, options, say)
            promoted, reasons = decide(
                result.challenger,
                result.champion,
                margin=options.margin,
                tolerance=options.tolerance,
                guards=result.guards,
            )
            version = registry.next_version(model, datetime.now(UTC).date().isoformat())
            say(f"exporting ONNX for {model} {version}")
            metrics: dict[str, float] = {
                **_flat("backtest.challenger", result.challenger),
                **_flat("backtest.champion", result.champion),
                **{f"data.{k}": float(v) for k, v in result.volume.items()},
                "backtest.holdout_days": float(options.holdout_days),
                "backtest.margin": options.margin,
                "backtest.tolerance": options.tolerance,
                **result.extra_metrics,
            }
            entries = []
            for trained, sample in zip(result.trained, result.samples, strict=True):
                onnx = export_onnx(trained)
                check = parity(trained, onnx, sample)
                if not check.ok:
                    raise TrainingError(
                        f"train {model}: {trained.spec.name}: ONNX and LightGBM disagree ({check})"
                    )
                manifest = model_pb2.ModelManifest(
                    name=trained.spec.name,
                    version=version,
                    sha256=sha256_hex(onnx),
                    feature_spec_hash=F.FEATURE_SPEC_HASH,
                    training_window_start=result.window[0].isoformat(),
                    training_window_end=result.window[1].isoformat(),
                    training_rows=trained.rows,
                    metrics=metrics
                    | {"parity.share_within_tolerance": check.share_within_tolerance},
                    parent_version=parent,
                    opset=ONNX_OPSET,
                    min_agent_version="0.1.0",
                    inputs=["features"],
                    outputs=["probabilities" if trained.spec.objective == "binary" else "variable"],
                    provenance=f"hub retraining, {result.volume['stores']} stores' synced records",
                    feature_names=list(_feature_names(trained.spec.feature_set)),
                )
                manifest.created_at.FromDatetime(datetime.now(UTC))
                entries.append((manifest, onnx))
            numbers = {
                "challenger": result.challenger.as_dict(),
                "champion": result.champion.as_dict() if result.champion else None,
                "margin": options.margin,
                "tolerance": options.tolerance,
                "holdout_days": options.holdout_days,
                "data": result.volume,
                "reasons": reasons,
            }
            registry.register(entries, actor=options.actor, detail={"model": model})
            with hubdb.immediate(registry.conn) as write:
                hub_audit.append(
                    write,
                    actor=options.actor,
                    action="model.promotion_decided" if promoted else "model.promotion_refused",
                    subject=f"{model}@{version}",
                    detail={"promoted": promoted, **numbers},
                )
            if promoted:
                registry.promote(
                    model,
                    version,
                    actor=options.actor,
                    reason="beat the champion in the backtest",
                    detail={
                        "error": result.challenger.overall,
                        "champion_error": result.champion.overall if result.champion else None,
                    },
                )
            champions = {n: registry.champion(n) for n in FAMILIES[model]}
    finally:
        conn.close()
    say(
        f"{model} {version}: "
        + ("PROMOTED" if promoted else "not promoted")
        + "; "
        + "; ".join(reasons)
        + f" ({time.perf_counter() - started:.1f} s)"
    )
    first_champion = champions[FAMILIES[model][0]]
    return {
        "model": model,
        "version": version,
        "promoted": promoted,
        "reasons": reasons,
        "metrics": numbers,
        "champion": {
            "version": first_champion.version if first_champion else None,
            "artifacts": {n: c.version if c else None for n, c in champions.items()},
        },
        "parent_version": parent,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _flat(prefix: str, score: Score | None) -> dict[str, float]:
    if score is None:
        return {}
    out = {f"{prefix}.error": score.overall}
    out |= {f"{prefix}.ring.{ring}": value for ring, value in score.rings.items()}
    out |= {f"{prefix}.{k}": v for k, v in score.extra.items()}
    return {k: float(v) for k, v in out.items() if math.isfinite(v)}


def _feature_names(feature_set: str) -> tuple[str, ...]:
    return {
        "daily": F.DAILY_FEATURES,
        "protection": F.PROTECTION_FEATURES,
        "hourly": F.HOURLY_FEATURES,
        "availability": F.AVAILABILITY_FEATURES,
    }[feature_set]
