"""The decision cycle: score every active SKU and store-hour, propose, decide by policy.

One cycle for business day ``as_of`` (the origin is the day before: the last day
whose sales are known):

- **orders**, for SKUs whose supplier takes orders on that weekday (before the
  cutoff when the cycle runs on the day itself): the protection model gives the
  90th percentile of total demand over the protection interval (lead time + days
  until the next order day), modeled directly; the order rule (:func:`order_levels`)
  turns it into the SKU's order-up-to level at its own service level (newsvendor:
  margin against holding cost, or the policy's level for its category), capped for
  perishables by what sells before the order expires; minus on hand, open orders
  and the kit's own orders not yet received; rounded up to case packs. Each order
  also carries the protection mean model's expected demand over the interval (the
  forecast the hub scores orders by), when the store has that model;
- **staffing**, per trading hour: transactions forecast by the labor model,
  staff needed at a configurable productivity, against the schedule;
- **shelf checks**: every active SKU the system says is in stock is scored by the
  availability model at the last trading hour of the origin day (checks are done
  at the next opening) from its hourly sales (:mod:`edge_agent.mirror.hours`);
  those above the model's decision threshold, ranked by probability, up to the
  daily cap, plus a small random share of the scored SKUs that keeps the
  availability labels unbiased. Each check carries the model's input row, so the
  hub retrains on what was served. A store without sales lines for that day (daily
  exports only) has no hourly sales: the cycle falls back to a rule on daily sales
  gaps (model ``zero_sales_gap``) and says so (``shelf_checks`` in the result).

Closed days produce no decisions. Every proposal goes through the policy and
the decision lifecycle (:mod:`edge_agent.decisions`): re-running a cycle for the
same day changes nothing that is no longer pending and never orders twice.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import time as timer
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from edge_agent import decisions
from edge_agent.errors import EdgeAgentError, ModelRefused
from edge_agent.mirror import hours as hour_windows
from edge_agent.mirror.db import Mirror
from edge_agent.mirror.panels import daily_panel, hourly_panel, latest_on_hand
from edge_agent.policy import Policy, ServiceLevel
from models import SERVED_MODELS
from models import features as F
from models.runtime import OnnxModel
from storeedge import failpoints, signing
from storeedge.v1 import decision_pb2

__all__ = [
    "SERVED_MODELS",
    "CycleResult",
    "ModelSet",
    "OrderLevels",
    "decision_threshold",
    "load_models",
    "order_cases",
    "order_levels",
    "run_cycle",
    "serving",
    "verify_model",
    "with_model",
]

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The features read 365 days back from the origin (mean_365; days_since_sale and
# history_days are capped at 365); 35 more let history_days reach its cap despite closed
# days, as it does in training on the full history.
_HISTORY_DAYS = 400
_LOOKAHEAD_DAYS = 28
_FEATURE_CHUNK = 4096  # SKUs whose features are computed together (bounds the copies)
# The availability features read 14 days of expectation before the scored day.
_AVAILABILITY_DAYS = 15
_AVAILABILITY_CHUNK = 1024  # SKUs per availability feature chunk (~25 MB of copies)
_PRICE_DAYS = 56  # the SKU's usual price (the median), as the hub's ratio uses
TRANSACTIONS_PER_STAFF_HOUR = 20.0


@dataclass
class ModelSet:
    protection: OnnxModel
    daily: OnnxModel
    labor: OnnxModel
    versions: dict[str, str]
    availability: OnnxModel | None = None  # None: shelf checks fall back to the rule
    availability_threshold: float = 0.5  # the manifest's decision_threshold
    # None: orders carry no expected demand (a models folder from before the model)
    protection_mean: OnnxModel | None = None

    def release(self) -> None:
        """Every model drops its session until it next predicts (the agent, once a cycle
        is done: it idles most of the day)."""
        for attribute in _FIELDS.values():
            if (model := getattr(self, attribute)) is not None:
                model.release()


#: The models the cycle serves, each a ModelSet field (what the hub may swap).
_FIELDS = {"replenishment_protection_p90": "protection", "replenishment_daily": "daily",
           "labor": "labor", "availability": "availability",
           "replenishment_protection_mean": "protection_mean"}  # fmt: skip
assert tuple(_FIELDS) == SERVED_MODELS
#: Served models the cycle never runs: the daily mean model is kept only to compare a new
#: version with in its shadow run, so it holds no session between runs (12 MiB idle).
_ON_DEMAND = frozenset({"replenishment_daily"})
#: Served models a store may lack: the cycle runs without them (a models folder made
#: before the model existed keeps serving after an upgrade).
_OPTIONAL = frozenset({"replenishment_protection_mean"})


def serving(models: ModelSet, name: str) -> OnnxModel | None:
    """The session serving ``name`` in ``models``."""
    return getattr(models, _FIELDS[name])


def with_model(models: ModelSet, name: str, model: OnnxModel, manifest: Any) -> ModelSet:
    """A copy of ``models`` serving ``model`` as ``name``, at its manifest's version (and,
    for availability, with its manifest's decision threshold: the two travel together)."""
    from dataclasses import replace

    extra = {}
    if name in _ON_DEMAND:
        model = model.on_demand()
    if name == "availability":
        extra["availability_threshold"] = decision_threshold(manifest)
    return replace(models, **{_FIELDS[name]: model}, **extra,
                   versions={**models.versions, name: manifest.version})  # fmt: skip


def decision_threshold(manifest: Any) -> float:
    """The availability model's ``decision_threshold`` (its manifest's metric), in (0, 1);
    :class:`ModelRefused` when it has none."""
    threshold = manifest.metrics.get("decision_threshold")
    if threshold is None or not 0.0 < threshold < 1.0:
        raise ModelRefused(f"model availability: {manifest.version}: the manifest has no "
                           "decision_threshold in (0, 1)",
                           hint="install an availability model built by cloud-hub",
                           model="availability")  # fmt: skip
    return float(threshold)


def verify_model(
    name: str,
    blob: bytes,
    manifest: Any,
    trust: Mapping[str, signing.TrustedKey] | None,
) -> tuple[OnnxModel, Any]:
    """One model checked as safe to serve: (session, manifest), or :class:`ModelRefused`.

    ``manifest`` is the signed manifest's bytes (checked against ``trust``) or, for the
    shipped models only (``trust`` None), a parsed ``ModelManifest``. Then: the manifest
    names this model, its feature spec is this agent's, the ONNX bytes match its
    sha256, onnxruntime loads the graph, and a probe row gives finite outputs.
    """

    def refuse(reason: str, hint: str = "") -> ModelRefused:
        return ModelRefused(f"model {name}: {reason}", hint=hint, model=name)

    if isinstance(manifest, bytes):
        if trust is None:
            raise refuse("signed, but this store trusts no hub key",
                         "give the agent a --trust file (`cloud-hub keys public`)")  # fmt: skip
        try:
            manifest = signing.verify_manifest(manifest, trust, what="signature")
        except signing.SignatureError as exc:
            raise refuse(exc.message, exc.hint) from None
    version = manifest.version
    if manifest.name and manifest.name != name:
        raise refuse(f"the manifest is for model {manifest.name}, not {name}")
    if manifest.feature_spec_hash != F.FEATURE_SPEC_HASH:
        raise refuse(f"{version} was built on features {manifest.feature_spec_hash}, this "
                     f"agent computes {F.FEATURE_SPEC_HASH}",
                     "install models built for this agent release")  # fmt: skip
    if hashlib.sha256(blob).hexdigest() != manifest.sha256:
        raise refuse(f"{version}: the ONNX file does not match the manifest's sha256 "
                     "(corrupted or truncated)")  # fmt: skip
    try:
        model = OnnxModel(blob)
        probe = model.predict(np.zeros((1, model.n_features), dtype=np.float32))
    except Exception as exc:  # onnxruntime raises its own types; any failure refuses
        raise refuse(f"{version}: onnxruntime cannot run it: {exc}") from None
    if not np.isfinite(probe).all():
        raise refuse(f"{version}: its outputs are not finite numbers")
    if name == "availability":
        decision_threshold(manifest)  # it decides nothing without one
    return model, manifest


def load_models(directory: Path, trust: Mapping[str, signing.TrustedKey] | None = None) -> ModelSet:
    """Load the serving models, refusing any that is not safe to serve.

    With ``trust`` (the store's trusted hub keys), each model needs a
    ``<name>.signed.binpb`` signed by one of them, and the manifest inside it is the
    one that counts. Always the checks of :func:`verify_model`. A refusal raises
    :class:`ModelRefused` naming the model and the reason.
    """
    from google.protobuf import json_format

    from storeedge.v1 import model_pb2

    versions: dict[str, str] = {}
    loaded: dict[str, OnnxModel] = {}
    threshold = 0.5
    for name in SERVED_MODELS:
        if name in _OPTIONAL and not (directory / f"{name}.onnx").exists():
            log.warning("model %s: not in %s; orders carry no expected demand", name, directory)
            continue

        def refuse(reason: str, hint: str = "", name: str = name) -> ModelRefused:
            return ModelRefused(f"model {name}: {reason}", hint=hint, model=name)

        manifest: Any
        try:
            blob = (directory / f"{name}.onnx").read_bytes()
            if trust is None:
                text = (directory / f"{name}.manifest.json").read_text()
                manifest = json_format.Parse(text, model_pb2.ModelManifest())
            else:
                manifest = (directory / f"{name}.signed.binpb").read_bytes()
        except FileNotFoundError as exc:
            if trust is not None and str(exc.filename).endswith(".signed.binpb"):
                raise refuse(f"unsigned (no {name}.signed.binpb in {directory})",
                             "sign the models with `cloud-hub models sign`") from None  # fmt: skip
            raise refuse(f"missing in {directory}", "point --models at the kit's models") from None
        except OSError as exc:
            raise refuse(f"cannot read it in {directory}: {exc.strerror}") from None
        model, parsed = verify_model(name, blob, manifest, trust)
        if name == "availability":
            threshold = decision_threshold(parsed)
        loaded[name] = model.on_demand() if name in _ON_DEMAND else model
        versions[name] = parsed.version
    return ModelSet(loaded["replenishment_protection_p90"], loaded["replenishment_daily"],
                    loaded["labor"], versions, loaded["availability"], threshold,
                    loaded.get("replenishment_protection_mean"))  # fmt: skip


@dataclass
class CycleResult:
    as_of: date
    closed: bool
    decisions: list[decisions.DecisionRow] = field(default_factory=list)
    expired: int = 0
    seconds: float = 0.0
    # Which model chose the shelf checks, and why the rule did when it did.
    shelf_checks: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "closed": self.closed,
            "expired": self.expired,
            "seconds": round(self.seconds, 3),
            "shelf_checks": self.shelf_checks,
            "decisions": [
                {
                    "id": d.decision_id,
                    "kind": d.kind,
                    "state": d.state,
                    "confidence": d.confidence,
                    "value": d.value,
                    "quantity": d.quantity,
                    "sku": d.sku,
                    "hour": d.hour,
                    "model_version": d.model_version,
                    "rule": d.rule,
                }
                for d in self.decisions
            ],
        }


@dataclass(frozen=True, slots=True)
class _Product:
    """What the cycle needs of a SKU's product row in force (30,000 of them: kept small)."""

    category: str
    case_pack: float
    unit_cost: float
    lead_time: int
    order_days: tuple[str, ...]
    cutoff: str | None
    price: float = 0.0  # regular price; 0: unknown
    shelf_life: int = 0  # days; 0: not perishable (or unknown)


def _products(mirror: Mirror, as_of: date) -> dict[str, _Product]:
    """The product attributes in force on ``as_of`` for active SKUs."""
    latest: dict[str, tuple] = {}
    for row in mirror.conn.execute(
        "SELECT sku, category, case_pack, unit_cost, price, lead_time_days, order_days, "
        "order_cutoff, status, CASE WHEN perishable THEN COALESCE(shelf_life_days, 0) ELSE 0 "
        "END FROM products WHERE effective_from <= ? "
        "ORDER BY sku, effective_from",
        (as_of.isoformat(),),
    ):
        latest[row[0]] = row  # the last row effective by as_of is in force
    weekdays: dict[str | None, tuple[str, ...]] = {}  # a few distinct values, shared
    products = {}
    for sku, category, case_pack, cost, price, lead, days, cutoff, status, life in latest.values():
        if status != "active":
            continue
        if days not in weekdays:
            weekdays[days] = tuple((days or ",".join(WEEKDAYS)).split(","))
        products[sku] = _Product(category, case_pack or 1.0, cost or price or 0.0,
                                 int(lead or 1), weekdays[days], cutoff, float(price or 0.0),
                                 life)  # fmt: skip
    return products


def _protection_days(order_days: tuple[str, ...], weekday: int, lead_time: int) -> int:
    """Lead time plus the days until the next order day (the review period)."""
    for gap in range(1, 8):
        if WEEKDAYS[(weekday + gap) % 7] in order_days:
            return max(1, lead_time + gap)
    return lead_time + 7


def _stock_positions(mirror: Mirror, as_of: date) -> tuple[dict, dict, dict]:
    """On hand (latest), open orders and the kit's own live orders not yet received."""
    # The latest reported on-hand of each SKU within the last 21 days before as_of.
    on_hand = latest_on_hand(mirror, as_of - timedelta(days=21), as_of)
    # An order placed on or after as_of was not known that morning (a replay of past days
    # reads a later snapshot of the open orders); an export without order dates counts.
    open_orders = dict(mirror.conn.execute(
        "SELECT sku, SUM(qty) FROM open_orders WHERE status = 'open' AND expected_date >= ? "
        "AND (order_date IS NULL OR order_date < ?) GROUP BY sku",
        (as_of.isoformat(), as_of.isoformat())).fetchall())  # fmt: skip
    own = dict(mirror.conn.execute(
        "SELECT sku, SUM(quantity) FROM decisions WHERE kind = 'order' AND state IN "
        "('auto', 'approved', 'overridden', 'submitted', 'confirmed') AND order_date < ? "
        "AND order_date >= ? GROUP BY sku",
        (as_of.isoformat(), (as_of - timedelta(days=14)).isoformat())).fetchall())  # fmt: skip
    return on_hand, open_orders, own


def run_cycle(
    mirror: Mirror,
    models: ModelSet,
    policy: Policy,
    as_of: date | None = None,
    *,
    shelf_seed: int = 0,
) -> CycleResult:
    """One cycle for business day ``as_of`` (default: the day after the last sales day)."""
    started = timer.perf_counter()
    store = mirror.require_store()
    if as_of is None:
        last = mirror.conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
        if last is None:
            raise EdgeAgentError("the mirror has no sales yet", hint="ingest POS exports first")
        as_of = date.fromisoformat(last) + timedelta(days=1)
    expired = len(decisions.expire_due(mirror))
    failpoints.hit("cycle.after_expire")
    calendar = mirror.conn.execute(
        "SELECT status FROM store_calendar WHERE date = ?", (as_of.isoformat(),)
    ).fetchone()
    if calendar is not None and calendar[0] == "closed":
        return CycleResult(as_of, True, expired=expired, seconds=timer.perf_counter() - started)
    start = as_of - timedelta(days=_HISTORY_DAYS)
    end = as_of + timedelta(days=_LOOKAHEAD_DAYS)
    panel = daily_panel(mirror, start, end)
    origin = panel.index(as_of) - 1
    panel.sales[:, origin + 1 :] = np.nan  # nothing after the origin is known yet
    products = _products(mirror, as_of)
    result = CycleResult(as_of, False, expired=expired)
    now_local = mirror.clock.now().astimezone(store.tz)
    positions = _stock_positions(mirror, as_of)
    # One transaction per kind: a cycle's thousands of decisions commit together (a kill
    # before the commit leaves none of them, and the re-run makes them all).
    with mirror.transaction():
        result.decisions += _orders(mirror, models, policy, panel, origin, as_of, products,
                                    now_local, positions)  # fmt: skip
    failpoints.hit("cycle.after_commit")
    # What shelf checks need of the daily panel; the panel (three 400-day SKU x day
    # arrays) is freed before the hourly window is read, which bounds the peak.
    source, reason, scored_day = _shelf_source(mirror, models, panel.day(origin))
    shelf = _ShelfInputs.of(panel, origin, panel.index(scored_day), source != "availability")
    del panel
    with mirror.transaction():
        result.decisions += _staffing(mirror, models, policy, start, as_of)
    failpoints.hit("cycle.after_commit")
    result.shelf_checks = {"model": source, "scored_day": scored_day.isoformat(),
                           **({"fallback": reason} if reason else {})}  # fmt: skip
    with mirror.transaction():
        if source == "availability":
            result.decisions += _shelf_checks(mirror, models, policy, shelf, as_of, products,
                                              shelf_seed, positions[0])  # fmt: skip
        else:
            result.decisions += _shelf_checks_rule(policy, mirror, shelf, as_of, products,
                                                   shelf_seed, positions[0], reason)  # fmt: skip
    failpoints.hit("cycle.after_commit")
    result.seconds = timer.perf_counter() - started
    return result


def _confidence(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """How much history backs a forecast and how steady the SKU sells (0..1)."""
    history = rows[:, names.index("history_days")]
    mean = rows[:, names.index("mean_28")]
    spread = rows[:, names.index("std_28")]
    steadiness = 1.0 / (1.0 + spread / np.maximum(mean, 0.1))
    return np.clip(np.minimum(history / 56.0, 1.0) * (0.5 + 0.5 * steadiness), 0.0, 1.0)


# -- the order rule --------------------------------------------------------------------------------
_NORMAL = NormalDist()
_Z90 = _NORMAL.inv_cdf(0.9)
# z of a level by interpolation in a fine table: vectorised, no scipy on the edge.
_LEVELS = np.linspace(0.001, 0.999, 999)
_Z = np.array([_NORMAL.inv_cdf(float(p)) for p in _LEVELS])


@dataclass
class OrderLevels:
    """Per due SKU: what the order rule aims at and why (the decision's detail says it)."""

    order_up_to: np.ndarray  # the level the position is ordered up to (after the cap)
    p90: np.ndarray  # the protection model's P90 of demand over the protection interval
    service_level: np.ndarray  # the share of protection intervals the level should cover
    level_source: np.ndarray  # "newsvendor", "category" (policy) or "unknown_margin"
    shelf_life_cap: np.ndarray  # units that sell before the order expires; NaN: no cap
    cap_quantile: np.ndarray  # the quantile of that demand the cap is set at; NaN: no cap
    capped: np.ndarray  # bool: the cap lowered the level


def order_levels(
    features: np.ndarray,
    p90: np.ndarray,
    *,
    unit_cost: np.ndarray,
    price: np.ndarray,
    shelf_life: np.ndarray,
    lead_time: np.ndarray,
    protection: np.ndarray,
    categories: Any,
    settings: ServiceLevel,
) -> OrderLevels:
    """The order-up-to level per SKU, vectorised over the due SKUs.

    - **Level**: the newsvendor critical ratio ``margin / (margin + overage)``: margin
      is price minus unit cost (a sale lost); overage is holding a unit too many one
      review period (unit cost x ``holding_rate`` x review days / 365). Kept within
      ``[min, max]``; a category's level in the policy wins; without a cost or price
      the level is ``unknown_margin``. Expiry is the cap's job, not the ratio's.
    - **Quantity**: the model gives the P90 of demand over the protection interval; the
      level's quantile is that P90 moved by ``z(level) - z(0.9)`` standard deviations of
      the interval's total (a normal spread: the daily ``std_28`` x sqrt(open days)).
    - **Shelf-life cap** (perishables): no more than a quantile of demand over the lead
      time plus the shelf life (mean: the seasonal ``expected_total`` per open day;
      spread: ``std_28`` x sqrt(days)): the stock beyond that expires before it sells.
      The quantile is the expiry newsvendor's ``margin / price`` (a unit that sells in
      time earns its margin, one that expires loses its cost), ``shelf_life_unknown_margin``
      without a cost or price, or the policy's fixed ``shelf_life_quantile``. Never
      below one unit (a shelf that sold nothing for weeks still gets a case).
    """
    names = F.PROTECTION_FEATURES
    closed = features[:, names.index("closed_days")].astype(float)
    expected = np.maximum(features[:, names.index("expected_total")].astype(float), 0.0)
    std = np.maximum(features[:, names.index("std_28")].astype(float), 0.0)
    open_days = np.maximum(protection - closed, 1.0)
    review = np.maximum(protection - lead_time, 1.0)
    life = shelf_life.astype(float)
    fresh = life > 0
    margin = price - unit_cost
    known = (unit_cost > 0) & (price > 0) & (margin > 0)
    overage = unit_cost * settings.holding_rate * review / 365.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(known, margin / (margin + overage), settings.unknown_margin)
    level = np.where(known, np.clip(ratio, settings.min, settings.max), ratio)
    source = np.where(known, "newsvendor", "unknown_margin").astype(object)
    names_of = np.asarray(categories) if settings.categories else None
    for category, fixed in settings.categories.items():
        mine = names_of == category
        level[mine], source[mine] = fixed, "category"
    spread = std * np.sqrt(open_days)
    z = np.interp(level, _LEVELS, _Z)
    up_to = np.maximum(p90 + (z - _Z90) * spread, 0.0)
    cap, cap_quantile = np.full(len(p90), np.nan), np.full(len(p90), np.nan)
    if settings.shelf_life_cap:
        if settings.shelf_life_quantile == "newsvendor":
            with np.errstate(divide="ignore", invalid="ignore"):
                quantile = np.where(known, margin / price, settings.shelf_life_unknown_margin)
        else:
            quantile = np.full(len(p90), float(settings.shelf_life_quantile))
        horizon = lead_time + life  # the order's units must sell before this day
        z_cap = np.interp(quantile, _LEVELS, _Z)
        sellable = expected / open_days * horizon + z_cap * std * np.sqrt(horizon)
        cap = np.where(fresh, np.maximum(sellable, 1.0), np.nan)
        cap_quantile = np.where(fresh, quantile, np.nan)
    capped = fresh & (up_to > cap)  # NaN compares False: no cap
    up_to = np.where(capped, cap, up_to)
    return OrderLevels(up_to, p90, level, source, cap, cap_quantile, capped)


def order_cases(order_up_to: np.ndarray, position: np.ndarray, case_pack: np.ndarray) -> np.ndarray:
    """Whole cases that bring the position to the order-up-to level (0: no order)."""
    need = np.maximum(order_up_to - position, 0.0)
    return np.ceil(need / case_pack - 1e-9).astype(np.int64)


def _orders(mirror, models, policy, panel, origin, as_of, products, now_local, positions) -> list:
    weekday = as_of.weekday()
    index = {sku: i for i, sku in enumerate(panel.skus)}
    due = []
    cutoffs: dict[str, time] = {}
    for sku, p in products.items():
        if sku not in index or WEEKDAYS[weekday] not in p.order_days:
            continue
        cutoff = time.fromisoformat(p.cutoff) if p.cutoff else time(23, 59)
        if now_local >= datetime.combine(as_of, cutoff, now_local.tzinfo):
            continue  # this order day's cutoff has passed: the next order day orders
        due.append(sku)
        cutoffs[sku] = cutoff
    if not due:
        return []
    rows_idx = np.array([index[s] for s in due])
    protection = np.array([
        _protection_days(products[s].order_days, weekday, products[s].lead_time)
        for s in due])  # fmt: skip
    features = _protection_features(panel, rows_idx, origin, protection)
    p90 = np.maximum(models.protection.predict(features), 0.0)
    items = [products[s] for s in due]
    levels = order_levels(
        features, p90,
        unit_cost=np.array([p.unit_cost for p in items]), price=np.array([p.price for p in items]),
        shelf_life=np.array([p.shelf_life for p in items]),
        lead_time=np.array([p.lead_time for p in items]), protection=protection,
        categories=[p.category for p in items], settings=policy.service_level,
    )  # fmt: skip
    order_up_to = levels.order_up_to
    confidence = _confidence(features, F.PROTECTION_FEATURES)
    on_hand, open_orders, own = positions
    position = np.array([on_hand.get(s, 0.0) + open_orders.get(s, 0.0) + own.get(s, 0.0)
                         for s in due])  # fmt: skip
    cases = order_cases(order_up_to, position, np.array([p.case_pack for p in items]))
    ordered = np.flatnonzero(cases > 0)
    expected = np.zeros(len(due))
    expected_by = ""  # the version that gave the expected demand
    if models.protection_mean is not None and ordered.size:
        expected[ordered] = np.maximum(models.protection_mean.predict(features[ordered]), 0.0)
        expected_by = models.versions["replenishment_protection_mean"]
    store = mirror.require_store()
    proposals = []
    for k in ordered.tolist():
        sku, p = due[k], items[k]
        quantity = int(cases[k]) * p.case_pack
        detail = decision_pb2.OrderDetail(
            order_date=as_of.isoformat(), order_up_to=float(order_up_to[k]),
            on_hand=on_hand.get(sku, 0.0), open_orders=open_orders.get(sku, 0.0),
            pending_own_orders=own.get(sku, 0.0), case_pack=p.case_pack,
            protection_quantile=float(p90[k]), protection_days=int(protection[k]),
            forecast_mean=float(expected[k]), forecast_mean_version=expected_by,
            cutoff=p.cutoff or "",
            expected_delivery_date=(as_of + timedelta(days=p.lead_time)).isoformat(),
        )  # fmt: skip
        proposal = decisions.Proposal(
            kind="order", quantity=float(quantity), value=float(quantity * p.unit_cost),
            confidence=float(confidence[k]), business_date=as_of.isoformat(), sku=sku,
            category=p.category, order_date=as_of.isoformat(),
            model_name="replenishment_protection_p90",
            model_version=models.versions["replenishment_protection_p90"],
            feature_digest=hashlib.sha256(features[k].tobytes()).hexdigest()[:16],
            expires_at=datetime.combine(as_of, cutoffs[sku], store.tz), detail=detail,
            inputs={"order_up_to": f"{order_up_to[k]:.3f}", "position": f"{position[k]:.3f}",
                    "protection_days": str(int(protection[k])), **_level_inputs(levels, k)},
        )  # fmt: skip
        proposals.append(proposal)
    return decisions.record_many(mirror, proposals, policy)


def _level_inputs(levels: OrderLevels, k: int) -> dict[str, str]:
    """What the order rule did for one SKU (audited with the order; the model's P90 is the
    detail's ``protection_quantile``). Kept short: a cycle records thousands of them."""
    level = levels.service_level[k]
    rule = f"service level {level:.3f} ({levels.level_source[k]})"
    if not levels.capped[k]:
        return {"service_level": f"{level:.4f}", "order_rule": rule}
    cap, quantile = f"{levels.shelf_life_cap[k]:.3f}", f"{levels.cap_quantile[k]:.3f}"
    rule = f"{rule}, capped by shelf life at {cap} (quantile {quantile})"
    return {"service_level": f"{level:.4f}", "shelf_life_cap": cap,
            "shelf_life_quantile": quantile, "order_rule": rule}  # fmt: skip


def _protection_features(panel: F.DailyPanel, rows: np.ndarray, origin: int,
                         protection: np.ndarray) -> np.ndarray:  # fmt: skip
    """``protection_features`` of the panel's ``rows``, a chunk of SKUs at a time, so the
    copies a chunk makes stay small. Every feature is computed per SKU; each chunk also
    carries the SKU with the longest protection interval (its row dropped after), so
    every chunk sums over the same days as the whole batch would: identical features."""
    widest = int(np.argmax(protection))
    parts = []
    for a in range(0, len(rows), _FEATURE_CHUNK):
        take = np.append(rows[a : a + _FEATURE_CHUNK], rows[widest])
        days = np.append(protection[a : a + _FEATURE_CHUNK], protection[widest])
        parts.append(F.protection_features(panel.take(take), origin, days)[:-1])
    return np.concatenate(parts)


def _staffing(mirror, models, policy, start, as_of) -> list:
    hourly = hourly_panel(mirror, start, as_of)
    origin = hourly.traffic.shape[1] - 2  # as_of is the panel's last day: traffic unknown
    hourly.traffic[:, origin + 1 :, :] = np.nan
    if np.all(np.isnan(hourly.traffic[:, : origin + 1, :])):
        return []
    forecast = np.maximum(models.labor.predict(F.hourly_features(hourly, origin, [1])), 0.0)
    hours = mirror.conn.execute(
        "SELECT opens, closes FROM store_hours WHERE weekday = ?", (as_of.weekday(),)
    ).fetchone()
    opens, closes = hours or ("00:00", "23:59")
    first, last = int(opens[:2]), int(closes[:2]) - (closes[3:] == "00")
    scheduled = dict(mirror.conn.execute(
        "SELECT hour, SUM(staff) FROM labor_schedule WHERE date = ? GROUP BY hour",
        (as_of.isoformat(),)).fetchall())  # fmt: skip
    proposals = []
    for hour in range(first, last + 1):
        need = math.ceil(forecast[hour] / TRANSACTIONS_PER_STAFF_HOUR)
        planned = scheduled.get(hour, 0.0)
        gap = need - planned
        if gap == 0:
            continue
        detail = decision_pb2.StaffingDetail(hour=hour, forecast_transactions=float(forecast[hour]),
                                             recommended_staff=float(need),
                                             scheduled_staff=float(planned))  # fmt: skip
        # quantity: the staff the hour needs; value: staff-hours to add or remove.
        proposal = decisions.Proposal(
            kind="staffing", quantity=float(need), value=abs(float(gap)), confidence=0.8,
            business_date=as_of.isoformat(), hour=hour, model_name="labor",
            model_version=models.versions["labor"], detail=detail,
            inputs={"forecast_transactions": f"{forecast[hour]:.2f}"},
        )  # fmt: skip
        proposals.append(proposal)
    return decisions.record_many(mirror, proposals, policy)


@dataclass
class _ShelfInputs:
    """What the shelf checks need of the daily panel, kept once the panel is freed."""

    skus: list[str]
    scored_day: date
    promo: np.ndarray  # (n_sku,) the scored day's promotion flag
    price_ratio: np.ndarray  # (n_sku,) the scored day's price / the usual (median) price
    # The fallback rule's: mean daily units over 56 days, days since the last sale (-1:
    # never sold); computed only when the rule serves.
    rate: np.ndarray | None = None
    days_quiet: np.ndarray | None = None

    @classmethod
    def of(cls, panel: F.DailyPanel, origin: int, scored: int, rule: bool) -> _ShelfInputs:
        prices = F.days_window(panel.price, scored, _PRICE_DAYS)
        gaps = np.isnan(prices).any(axis=1)
        usual = np.empty(len(prices))
        usual[~gaps] = np.median(prices[~gaps], axis=1)  # nanmedian only where needed (slow)
        usual[gaps] = F.nanmedian(prices[gaps])  # no price at all: ratio 1 (regular)
        ratio = panel.price[:, scored] / usual
        inputs = cls(
            skus=list(panel.skus),
            scored_day=panel.day(scored),
            promo=np.nan_to_num(panel.promo[:, scored], nan=0.0),
            price_ratio=np.where(np.isfinite(ratio) & (usual > 0), ratio, 1.0),
        )
        if rule:
            sold = panel.sales[:, : origin + 1] > 0  # NaN (not observed) is no sale
            inputs.days_quiet = np.where(sold.any(axis=1), np.argmax(sold[:, ::-1], axis=1), -1)
            inputs.rate = F.nanmean(F.days_window(panel.sales, origin, 56))
        return inputs


def _shelf_source(mirror: Mirror, models: ModelSet, origin: date) -> tuple[str, str, date]:
    """(model, why the rule, the day scored): the last sales day up to the origin (after
    closed days, or when the newest exports are late, the shelf stands as that day left
    it); the availability model when that day has sales lines."""
    last = mirror.conn.execute(
        "SELECT MAX(date) FROM daily_sales WHERE date <= ?", (origin.isoformat(),)
    ).fetchone()[0]
    day = date.fromisoformat(last) if last else origin
    if models.availability is None:
        return "zero_sales_gap", "no availability model is loaded", day
    if not hour_windows.has_lines(mirror, day):
        why = (f"no sales lines for {day.isoformat()}: its hourly sales are unknown "
               "(a store sending daily exports only has none)")  # fmt: skip
        return "zero_sales_gap", why, day
    return "availability", "", day


def _last_trading_hour(mirror: Mirror, day: date) -> int:
    """The local hour of the day's last trading hour (the calendar's hours, else the week's)."""
    row = (
        mirror.conn.execute(
            "SELECT closes FROM store_calendar WHERE date = ? AND COALESCE(closes, '') != ''",
            (day.isoformat(),),
        ).fetchone()
        or mirror.conn.execute(
            "SELECT closes FROM store_hours WHERE weekday = ?", (day.weekday(),)
        ).fetchone()
    )
    closes = row[0] if row and row[0] else "24:00"
    hour = int(closes[:2]) - (closes[3:5] == "00")
    return min(max(hour, 0), 23)


def _shelf_checks(mirror, models, policy, shelf, as_of, products, seed, on_hand) -> list:
    """Phantom inventory, by the availability model at the origin day's last trading hour."""
    limits = policy.shelf_check
    cap = limits.daily_cap if limits.daily_cap is not None else 40
    n_random = round(cap * limits.random_share)
    rows = [i for i, sku in enumerate(shelf.skus)
            if sku in products and on_hand.get(sku, 0.0) > 0]  # fmt: skip
    if not rows or cap <= 0:
        return []
    skus = [shelf.skus[i] for i in rows]
    features, hour, scored = _availability_rows(mirror, shelf, rows)
    probability = _predict_availability(models.availability, features, scored)
    order = np.argsort(-probability, kind="stable")
    above = order[probability[order] >= models.availability_threshold]
    chosen = above[: max(0, cap - n_random)].tolist()
    rng = random.Random(f"{seed}:{as_of.isoformat()}")
    taken = set(chosen)
    others = [k for k in range(len(skus)) if k not in taken]
    randoms = sorted(rng.sample(others, min(len(others), n_random)))
    expected_run = features[:, F.AVAILABILITY_FEATURES.index("expected_run")]
    version = models.versions["availability"]
    proposals = [
        _shelf_check(as_of, skus[k], products[skus[k]], float(probability[k]),
                     float(expected_run[k]), on_hand.get(skus[k], 0.0), rank, random_sample,
                     model=("availability", version), features=features[k], hour=hour,
                     threshold=models.availability_threshold)
        for rank, k, random_sample in [(r, k, False) for r, k in enumerate(chosen, start=1)]
        + [(0, k, True) for k in randoms]
    ]  # fmt: skip
    return decisions.record_many(mirror, proposals, policy)


def _availability_rows(mirror: Mirror, shelf: _ShelfInputs,
                       rows: list[int]) -> tuple[np.ndarray, int, int]:  # fmt: skip
    """(availability features of ``shelf``'s ``rows`` at the scored day's last trading hour,
    that hour, its index in the hourly window): what the model scores (and what a model
    received from the hub is shadow-run on)."""
    hour = _last_trading_hour(mirror, shelf.scored_day)
    first = shelf.scored_day - timedelta(days=_AVAILABILITY_DAYS - 1)
    sales = hour_windows.hourly_sales(mirror, first, _AVAILABILITY_DAYS,
                                      {shelf.skus[i]: k for k, i in enumerate(rows)})  # fmt: skip
    # Promotion and price are the scored day's (the features read them at the scored hour
    # only): broadcast views, no copies.
    shape = sales.shape
    panel = F.SkuHourPanel(first, sales,
                           np.broadcast_to(shelf.promo[rows, None], shape),
                           np.broadcast_to(shelf.price_ratio[rows, None], shape))  # fmt: skip
    scored = (_AVAILABILITY_DAYS - 1) * 24 + hour
    return F.availability_features_at(panel, scored, chunk=_AVAILABILITY_CHUNK), hour, scored


def _predict_availability(model: OnnxModel, features: np.ndarray, scored: int) -> np.ndarray:
    """P(off shelf) per row. SKUs that sold nothing in the window (a long tail) have the
    same row but for promotion and price: each distinct row is scored once."""
    quiet = features[:, F.AVAILABILITY_FEATURES.index("zero_run")] > scored  # no sale at all
    probability = np.empty(len(features))
    if (~quiet).any():
        probability[~quiet] = model.predict(features[~quiet])
    if quiet.any():
        distinct, where = np.unique(features[quiet], axis=0, return_inverse=True)
        probability[quiet] = model.predict(distinct)[where.reshape(-1)]
    return probability


def _shelf_checks_rule(policy, mirror, shelf, as_of, products, seed, on_hand, reason) -> list:
    """The fallback without hourly sales: in stock by the system, yet no sale for longer
    than the SKU's daily rate makes plausible (P(no sale in the run) < 10 %)."""
    limits = policy.shelf_check
    cap = limits.daily_cap if limits.daily_cap is not None else 40
    assert shelf.rate is not None and shelf.days_quiet is not None
    candidates = []
    for i, sku in enumerate(shelf.skus):
        run = int(shelf.days_quiet[i])  # days without a sale up to the origin
        rate = float(shelf.rate[i])
        if sku not in products or on_hand.get(sku, 0.0) <= 0 or rate <= 0 or run < 0:
            continue
        expected = rate * run
        probability = 1.0 - math.exp(-expected)  # chance the shelf, not demand, explains it
        if probability >= 0.9:
            candidates.append((probability, sku, expected))
    candidates.sort(reverse=True)
    chosen = candidates[: max(0, cap - round(cap * limits.random_share))]
    rng = random.Random(f"{seed}:{as_of.isoformat()}")
    taken = {c[1] for c in chosen}
    others = [s for s in products if s not in taken]
    randoms = rng.sample(others, min(len(others), round(cap * limits.random_share)))
    rule = ("zero_sales_gap", "1")
    proposals = [
        _shelf_check(as_of, sku, products[sku], probability, expected, on_hand.get(sku, 0.0),
                     rank, False, model=rule, fallback=reason)
        for rank, (probability, sku, expected) in enumerate(chosen, start=1)
    ] + [_shelf_check(as_of, sku, products[sku], 0.0, 0.0, on_hand.get(sku, 0.0), 0, True,
                      model=rule, fallback=reason)
         for sku in randoms]  # fmt: skip
    return decisions.record_many(mirror, proposals, policy)


def _shelf_check(as_of, sku, product, probability, expected, on_hand, rank, random_sample, *,
                 model: tuple[str, str], features: np.ndarray | None = None,
                 hour: int | None = None, threshold: float | None = None,
                 fallback: str = "") -> decisions.Proposal:  # fmt: skip
    detail = decision_pb2.ShelfCheckDetail(system_on_hand=on_hand, expected_units=expected,
                                           off_shelf_probability=probability,
                                           random_sample=random_sample, rank=rank)  # fmt: skip
    inputs = {"random_sample": str(random_sample).lower(),
              "off_shelf_probability": repr(float(probability))}  # fmt: skip
    digest = ""
    if features is not None:
        detail.availability_features.extend(features.tolist())
        detail.scored_hour = hour or 0
        digest = hashlib.sha256(np.ascontiguousarray(features).tobytes()).hexdigest()[:16]
        inputs |= {"scored_hour": str(hour), "decision_threshold": repr(float(threshold))}
    if fallback:
        inputs["fallback"] = fallback
    # A random check is not the model's call: certain by design, so the policy never holds
    # back the control sample for a low probability (that would bias its labels).
    return decisions.Proposal(
        kind="shelf_check", quantity=1.0, value=0.0,
        confidence=1.0 if random_sample else probability,
        business_date=as_of.isoformat(), sku=sku, category=product.category,
        model_name=model[0], model_version=model[1], feature_digest=digest, detail=detail,
        inputs=inputs,
    )  # fmt: skip
