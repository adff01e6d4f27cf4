"""Lift of the kit's ordering against the store's previous process, on the simulator.

For each seed (and store) the simulator draws one world (:func:`edge_agent.simulate.replay`):
true demand, shocks, promotions, prices, lead times, shrink and cycle counts. The world
runs under two ordering processes, both starting from the same history:

- **baseline**: the store's previous process (the simulator's old process: min/max
  reorder points on the supplier's fixed order days, whole cases, a stock-up before
  promotions), with the min/max levels scaled as the scenario says;
- **kit**: from the go-live day on, the edge cycle's ordering: on each order day, the
  due SKUs' protection-interval features (``cycle._protection_features``, the
  ``models.features`` definitions) are scored by the real ONNX protection model
  (``models.runtime``), the cycle's order rule sets each SKU's order-up-to level
  (``cycle.order_levels``: service level by margin, shelf-life cap, the policy's
  ``[service_level]``), minus the position (on hand + on order), in whole cases
  (``cycle.order_cases``), and the policy blocks what it would block.

Before go-live both arms are the same process (the history the kit's features read);
every metric covers go-live .. end only. A third arm, **baseline_tuned**, scales the
baseline's min and max by one factor, found by bisection, until its mean inventory value
matches the kit's within 2 %: lift at the same stock. Intervals are 95 % Student-t
intervals over seeds; lifts are the per-seed paired differences (kit minus baseline).

The output is the lift JSON contract (``kind = "simulated"``), every figure per store
and day.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge_agent import cycle
from edge_agent.errors import ConfigError, EdgeAgentError
from edge_agent.policy import Policy
from edge_agent.simulate import OldProcess, Replay, SimConfig, replay
from models import features as F
from models.metrics import mean_ci95
from models.panels import category_code
from storeedge.settings import load_toml

__all__ = [
    "METRICS",
    "SEGMENTS",
    "BaselinePolicy",
    "LiftScenario",
    "load_scenario",
    "simulated_lift",
    "t_interval",
]

#: name -> (unit, higher_is_better), in report order.
METRICS: dict[str, tuple[str, bool]] = {
    "stockout_rate": ("share", False),
    "lost_sales_units": ("units", False),
    "lost_sales_value": ("currency", False),
    "lost_margin_value": ("currency", False),
    "avg_inventory_units": ("units", False),
    "avg_inventory_value": ("currency", False),
    "holding_cost_value": ("currency", False),
    "waste_units": ("units", False),
    "waste_value": ("currency", False),
    "orders_placed": ("units", False),
}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TUNE_TOLERANCE = 0.02  # tuned baseline's inventory value within 2 % of the kit's
_TUNE_STEPS = 40


# Two-sided 95 % Student-t quantiles, df 1..30; beyond, the Cornish-Fisher term.
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaselinePolicy(_Strict):
    """The store's previous process: the simulator's min/max levels (a static, somewhat
    wrong rate estimate per SKU), scaled, on a fixed order schedule."""

    min_scale: float = Field(1.0, gt=0, description="reorder point x this")
    max_scale: float = Field(1.0, gt=0, description="order-up-to level x this")
    order_weekdays: list[str] | None = Field(
        None, description="order only on these weekdays (of the supplier's); None: all of them"
    )
    promo_stockup: bool = Field(True, description="raise min/max the week before a promotion")

    @field_validator("order_weekdays")
    @classmethod
    def _weekdays(cls, value: list[str] | None) -> list[str] | None:
        for day in value or []:
            if day not in _WEEKDAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(_WEEKDAYS)}")
        return value


class LiftScenario(_Strict):
    """``[baseline]`` plus the cost of holding stock (TOML, see docs/OUTCOMES.md)."""

    baseline: BaselinePolicy = BaselinePolicy()
    holding_rate: float = Field(0.25, ge=0, le=5, description="annual, of inventory at cost")


def load_scenario(path: Path | None) -> LiftScenario:
    """The scenario in ``path`` (TOML), or the documented defaults when None."""
    if path is None:
        return LiftScenario()
    return load_toml(path, LiftScenario, what="lift scenario", error=ConfigError,
                     hint="see the Lift section of docs/OUTCOMES.md")  # fmt: skip


# -- statistics -----------------------------------------------------------------------------------
def t_interval(values: Sequence[float]) -> dict[str, Any]:
    """Mean and 95 % Student-t interval of ``values`` (one per seed)."""
    if len(values) < 2:
        raise EdgeAgentError("an interval needs at least two seeds", hint="pass --seeds 1,2,3")
    return mean_ci95(values)


# -- the processes --------------------------------------------------------------------------------
class _Recorded(OldProcess):
    """A process that fingerprints the demand it is asked to serve (pairing is checked)."""

    def __init__(self, rng: np.random.Generator, cat: Any, cal: Any) -> None:
        super().__init__(rng, cat, cal)
        self.digest = hashlib.sha256()
        self.today = -1

    def receive(self, day: int) -> None:
        self.today = day  # receive opens every trading day, before order and trade
        super().receive(day)

    def trade(self, demand, shrink, damage, returns, vanish=None):  # type: ignore[no-untyped-def]
        self.digest.update(np.ascontiguousarray(demand).tobytes())
        self.digest.update(np.ascontiguousarray(shrink).tobytes())
        return super().trade(demand, shrink, damage, returns, vanish)


class _Baseline(_Recorded):
    """The old process, switched to the scenario's (or tuned) levels at go-live."""

    def __init__(self, rng, cat, cal, *, go_live: int, policy: BaselinePolicy,
                 factor: float) -> None:  # fmt: skip
        super().__init__(rng, cat, cal)
        self.go_live = go_live
        self.policy = policy
        self.factor = factor
        self.switched = False

    def order(self, day: int, allowed: np.ndarray, promo_soon: np.ndarray) -> None:
        if day >= self.go_live and not self.switched:
            self._switch()
        if self.switched:
            weekdays = self.policy.order_weekdays
            if weekdays is not None and _WEEKDAYS[int(self.cal.weekday[day])] not in weekdays:
                return
            if not self.policy.promo_stockup:
                promo_soon = np.zeros_like(promo_soon)
        super().order(day, allowed, promo_soon)

    def _switch(self) -> None:
        from dataclasses import replace

        cat, p, k = self.cat, self.policy, self.factor
        s_min = np.maximum(np.rint(cat.s_min * p.min_scale * k), 0).astype(np.int64)
        s_max = np.maximum(np.rint(cat.s_max * p.max_scale * k), s_min + 1).astype(np.int64)
        self.cat = replace(cat, s_min=s_min, s_max=s_max)
        self.bump = np.ceil(0.8 * s_min).astype(np.int64)
        self.switched = True


_PAD = cycle._HISTORY_DAYS  # panel columns before the simulated start
_LOOK = cycle._LOOKAHEAD_DAYS


@dataclass
class _KitInputs:
    """What the kit's mirror would hold of one world, as padded (sku, day) arrays."""

    regular: np.ndarray  # regular price where listed (the products rows), NaN elsewhere
    announced: np.ndarray  # the regular price, or a promotion's on its days (known ahead)
    realized: np.ndarray  # the day's own price where it traded, else the announced one
    promo: np.ndarray  # the promotions rows (known ahead)
    closed: np.ndarray
    holiday: np.ndarray
    event: np.ndarray
    category: np.ndarray  # codes
    category_names: np.ndarray
    order_days: list[tuple[str, ...]]  # per SKU, the supplier's weekdays
    start: date  # the calendar day of padded column 0

    @classmethod
    def of(cls, world: Replay) -> _KitInputs:
        cal, cat, days = world.cal, world.cat, world.cfg.days
        n, width = cat.n, _PAD + days + _LOOK + 1
        regular = np.full((n, width), np.nan, dtype=np.float32)  # float32, as the mirror
        listed = world.listed.T
        regular[:, _PAD : _PAD + days] = np.where(listed, world.regular.T, np.nan)
        still = listed[:, -1:]  # past the end: as on the last day
        regular[:, _PAD + days :] = np.where(still, world.regular.T[:, -1:], np.nan)
        # As the mirror's panel prices a day: its daily row's price, else the promotion's
        # (in start order: a later one holds), else the regular price.
        announced = regular.copy()
        promo = np.zeros((n, width), dtype=np.float32)
        pr = cat.promos
        for k in np.argsort(pr.start, kind="stable").tolist():
            span = slice(_PAD + int(pr.start[k]), min(width, _PAD + int(pr.end[k]) + 1))
            promo[pr.sku[k], span] = 1.0
            announced[pr.sku[k], span] = pr.price[k]
        realized = announced.copy()
        realized[:, _PAD : _PAD + days] = np.where(world.active.T, world.price.T,
                                                   announced[:, _PAD : _PAD + days])  # fmt: skip
        closed = np.zeros(width, dtype=bool)
        horizon = min(cal.horizon, width - _PAD)
        closed[_PAD : _PAD + horizon] = ~cal.is_open[:horizon]
        holiday = np.zeros(width, dtype=bool)
        index = {iso: i for i, iso in enumerate(cal.iso.tolist())}
        for iso, status, *_ in cal.rows:
            if status == "holiday" and iso in index and _PAD + index[iso] < width:
                holiday[_PAD + index[iso]] = True
        names = world.category_names
        bits = cat.order_bits.tolist()
        order_days = [tuple(_WEEKDAYS[w] for w in range(7) if (b >> w) & 1) for b in bits]
        return cls(regular=regular, announced=announced, realized=realized, promo=promo,
                   closed=closed,
                   holiday=holiday, event=np.zeros(width, dtype=bool),
                   category=np.array([category_code(c) for c in names.tolist()]),
                   category_names=names, order_days=order_days,
                   start=world.cfg.start_date - timedelta(days=_PAD))  # fmt: skip


class _Kit(_Recorded):
    """The old process until go-live, then the edge cycle's orders on each order day."""

    def __init__(self, rng, cat, cal, *, go_live: int, inputs: _KitInputs,
                 models: cycle.ModelSet, policy: Policy) -> None:  # fmt: skip
        super().__init__(rng, cat, cal)
        self.go_live, self.inputs, self.models, self.policy = go_live, inputs, models, policy
        width = inputs.regular.shape[1]
        self.sales = np.full((cat.n, width), np.nan, dtype=np.float32)  # NaN: not observed
        self.blocked = 0
        self.forecasts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rule: dict[str, list] = {}  # segment -> [levels set, sum of levels, capped]
        self.seconds = 0.0

    def trade(self, demand, shrink, damage, returns, vanish=None):  # type: ignore[no-untyped-def]
        sold, broken = super().trade(demand, shrink, damage, returns, vanish)
        day = self.today  # a trading day: every SKU listed today has a daily_sales row
        listed = ~np.isnan(self.inputs.regular[:, _PAD + day])
        self.sales[:, _PAD + day] = np.where(listed, sold / self.cat.scale, np.nan)
        return sold, broken

    def order(self, day: int, allowed: np.ndarray, promo_soon: np.ndarray) -> None:
        if day < self.go_live:
            super().order(day, allowed, promo_soon)
            return
        started = time.perf_counter()
        self._kit_order(day, allowed)
        self.seconds += time.perf_counter() - started

    def _kit_order(self, day: int, allowed: np.ndarray) -> None:
        inputs, cat = self.inputs, self.cat
        weekday = int(self.cal.weekday[day])
        due = np.flatnonzero(allowed)
        if not due.size:
            return
        # The cycle's panel for as_of = day: 400 days back, 28 ahead; origin = yesterday.
        cols = slice(day, day + _PAD + _LOOK + 1)
        origin = _PAD - 1
        # Past days at the price they traded at; coming ones at the announced price.
        price = np.where(np.arange(_PAD + _LOOK + 1) <= origin,
                         inputs.realized[due, cols], inputs.announced[due, cols])  # fmt: skip
        panel = F.DailyPanel(
            skus=[str(s) for s in cat.sku[due]], start=inputs.start + timedelta(days=day),
            sales=self.sales[due, cols], price=price, promo=inputs.promo[due, cols],
            closed=inputs.closed[cols], holiday=inputs.holiday[cols],
            category=inputs.category[due], event=inputs.event[cols],
        )  # fmt: skip
        protection = np.array([
            cycle._protection_days(inputs.order_days[s], weekday, int(cat.lead[s]))
            for s in due.tolist()])  # fmt: skip
        features = cycle._protection_features(panel, np.arange(due.size), origin, protection)
        p90 = np.maximum(self.models.protection.predict(features), 0.0)
        self.forecasts.append((day, due, p90, protection))
        confidence = cycle._confidence(features, F.PROTECTION_FEATURES)
        scale = cat.scale[due]
        regular = np.nan_to_num(inputs.regular[due, _PAD + day]).astype(float)
        unit_cost = self._unit_cost(due, day)
        levels = cycle.order_levels(
            features, p90, unit_cost=unit_cost, price=regular, shelf_life=cat.life[due],
            lead_time=cat.lead[due], protection=protection,
            categories=inputs.category_names[due], settings=self.policy.service_level,
        )  # fmt: skip
        fresh = cat.life[due] > 0
        for segment, mask in (("perishable", fresh), ("shelf_stable", ~fresh)):
            counts = self.rule.setdefault(segment, [0, 0.0, 0])
            counts[0] += int(mask.sum())
            counts[1] += float(levels.service_level[mask].sum())
            counts[2] += int(levels.capped[mask].sum())
        position = (self.system[due] + self.on_order[due]) / scale
        case_pack = cat.case_pack[due] / scale
        cases = cycle.order_cases(levels.order_up_to, position, case_pack)
        place = []
        for k in np.flatnonzero(cases > 0).tolist():
            quantity = float(cases[k] * case_pack[k])
            verdict = self.policy.evaluate(
                "order", quantity=quantity, value=quantity * float(unit_cost[k]),
                confidence=float(confidence[k]),
                category=str(inputs.category_names[due[k]]),
            )  # fmt: skip
            if verdict.outcome == "blocked":
                self.blocked += 1
                continue
            place.append(k)  # auto, or pending: an approver is assumed to approve it
        if place:
            k = np.array(place)
            self.place(day, due[k], cases[k] * cat.case_pack[due[k]])

    def _unit_cost(self, rows: np.ndarray, day: int) -> np.ndarray:
        """The products row's unit cost: the regular price x the cost ratio, in cents."""
        regular = np.nan_to_num(self.inputs.regular[rows, _PAD + day]).astype(float)
        return np.round(regular * self.cat.cost_ratio[rows], 2)


# -- metrics --------------------------------------------------------------------------------------
@dataclass
class _Totals:
    """Sums over one seed's stores (then divided into per store-day figures)."""

    sku_days: float = 0.0
    stockout_days: float = 0.0
    store_days: float = 0.0
    sums: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + float(value)

    def per_store_day(self) -> dict[str, float]:
        out = {"stockout_rate": self.stockout_days / max(self.sku_days, 1.0)}
        for name in METRICS:
            if name != "stockout_rate":
                out[name] = self.sums.get(name, 0.0) / max(self.store_days, 1.0)
        return out


#: Metrics are also kept apart for perishables (shelf life: waste) and the rest.
SEGMENTS = ("all", "perishable", "shelf_stable")


def _measure(world: Replay, stock: Any, go_live: int, holding_rate: float,
             totals: dict[str, _Totals]) -> None:  # fmt: skip
    fresh = world.cat.life > 0
    for segment, columns in (("all", slice(None)), ("perishable", np.flatnonzero(fresh)),
                             ("shelf_stable", np.flatnonzero(~fresh))):  # fmt: skip
        _measure_columns(world, stock, go_live, holding_rate, columns,
                         totals.setdefault(segment, _Totals()))  # fmt: skip


def _measure_columns(world: Replay, stock: Any, go_live: int, holding_rate: float,
                     columns: slice | np.ndarray, totals: _Totals) -> None:  # fmt: skip
    cat, days = world.cat, world.cfg.days
    totals.store_days += days - go_live
    w = (slice(go_live, days), columns)
    if isinstance(columns, np.ndarray) and not columns.size:
        return
    scale, cost_ratio = cat.scale[columns], cat.cost_ratio[columns]
    active = world.active[w]
    demand, sold = world.demand[w].astype(np.float64), stock.sold[w].astype(np.float64)
    unmet = np.where(active, demand - sold, 0.0) / scale
    cost = world.regular[w] * cost_ratio  # the products row's unit cost
    shelf = stock.shelf[w] / scale
    waste = stock.waste[w] / scale
    inventory_value = float((shelf * cost).sum())
    totals.sku_days += float(active.sum())
    totals.stockout_days += float((active & (unmet > 0)).sum())
    totals.add("lost_sales_units", unmet.sum())
    totals.add("lost_sales_value", (unmet * world.price[w]).sum())
    totals.add("lost_margin_value", (unmet * (world.price[w] - cost)).sum())
    totals.add("avg_inventory_units", shelf.sum())
    totals.add("avg_inventory_value", inventory_value)
    totals.add("holding_cost_value", inventory_value * holding_rate / 365.0)
    totals.add("waste_units", waste.sum())
    totals.add("waste_value", (waste * cost).sum())
    placed = stock.orders.day >= go_live
    if isinstance(columns, np.ndarray):
        placed &= np.isin(stock.orders.sku, columns)
    totals.add("orders_placed", int(placed.sum()))


# -- the experiment -------------------------------------------------------------------------------
@dataclass
class _Seed:
    seed: int
    worlds: list[Replay]
    # segment -> metric -> per store-day figure
    kit: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline: dict[str, dict[str, float]] = field(default_factory=dict)
    tuned: dict[str, dict[str, float]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    kit_seconds: float = 0.0
    # segment -> [P90 forecasts, of them covering the true demand]
    coverage: dict[str, list[int]] = field(default_factory=dict)
    blocked: int = 0
    rule: dict[str, list] = field(default_factory=dict)  # as _Kit.rule, over the seed's stores


def _run_baseline(item: _Seed, go_live: int, scenario: LiftScenario, factor: float,
                  record: str | None = None) -> dict[str, dict[str, float]]:  # fmt: skip
    totals: dict[str, _Totals] = {}
    digest = hashlib.sha256()
    for world in item.worlds:
        proc = world.process(
            partial(_Baseline, go_live=go_live, policy=scenario.baseline, factor=factor)
        )
        _measure(world, world.run(proc), go_live, scenario.holding_rate, totals)
        digest.update(proc.digest.digest())
    if record:
        item.digests[record] = digest.hexdigest()
    return {k: t.per_store_day() for k, t in totals.items()}


def _run_kit(item: _Seed, go_live: int, scenario: LiftScenario, models: cycle.ModelSet,
             policy: Policy) -> dict[str, dict[str, float]]:  # fmt: skip
    totals: dict[str, _Totals] = {}
    digest = hashlib.sha256()
    for world in item.worlds:
        proc = world.process(
            partial(_Kit, go_live=go_live, inputs=_KitInputs.of(world), models=models,
                    policy=policy)
        )  # fmt: skip
        _measure(world, world.run(proc), go_live, scenario.holding_rate, totals)
        digest.update(proc.digest.digest())
        item.kit_seconds += proc.seconds
        item.blocked += proc.blocked
        for segment, counts in proc.rule.items():
            total = item.rule.setdefault(segment, [0, 0.0, 0])
            for i, value in enumerate(counts):
                total[i] += value
        _p90_coverage(world, proc.forecasts, item.coverage)
    item.digests["kit"] = digest.hexdigest()
    return {k: t.per_store_day() for k, t in totals.items()}


def _p90_coverage(world: Replay, forecasts: list, coverage: dict[str, list[int]]) -> None:
    """How often the kit's order-up-to (the P90 of demand over the protection interval)
    covered the true demand of those days: the model checked on this world's ground truth."""
    demand = world.demand / world.cat.scale
    fresh = world.cat.life > 0
    cum = np.vstack([np.zeros(demand.shape[1]), np.cumsum(demand, axis=0)])
    for day, due, up_to, protection in forecasts:
        end = day + protection
        inside = end <= world.cfg.days  # the whole interval was simulated
        rows, ends = due[inside], end[inside]
        total = cum[ends, rows] - cum[day, rows]
        covered = total <= up_to[inside]
        for segment, mask in (("perishable", fresh[rows]), ("shelf_stable", ~fresh[rows])):
            counts = coverage.setdefault(segment, [0, 0])
            counts[0] += int(mask.sum())
            counts[1] += int((covered & mask).sum())


def _coverage_summary(items: list[_Seed]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for segment in SEGMENTS[1:]:
        n = sum(s.coverage.get(segment, [0, 0])[0] for s in items)
        hit = sum(s.coverage.get(segment, [0, 0])[1] for s in items)
        out[segment] = {"forecasts": n, "covered": hit / n if n else None}
    return out


def _rule_summary(items: list[_Seed]) -> dict[str, Any]:
    """What the order rule set on the kit's order days: the mean service level and the
    share of levels the shelf-life cap lowered, per segment."""
    out: dict[str, Any] = {}
    for segment in SEGMENTS[1:]:
        n = sum(s.rule.get(segment, [0, 0.0, 0])[0] for s in items)
        level = sum(s.rule.get(segment, [0, 0.0, 0])[1] for s in items)
        capped = sum(s.rule.get(segment, [0, 0.0, 0])[2] for s in items)
        out[segment] = {"levels": n, "mean_service_level": level / n if n else None,
                        "capped_share": capped / n if n else None}  # fmt: skip
    return out


def _tune(seeds: list[_Seed], go_live: int, scenario: LiftScenario) -> dict[str, Any]:
    """Scale the baseline's min and max by one factor until its mean inventory value is the
    kit's within 2 % (bisection on log(factor); inventory grows with the factor)."""
    target = float(np.mean([s.kit["all"]["avg_inventory_value"] for s in seeds]))

    def inventory(factor: float) -> float:
        for s in seeds:
            s.tuned = _run_baseline(s, go_live, scenario, factor)
        return float(np.mean([s.tuned["all"]["avg_inventory_value"] for s in seeds]))

    lo, hi = 1.0 / 16, 16.0
    factor, value, steps = 1.0, inventory(1.0), 1
    while abs(value / target - 1) > _TUNE_TOLERANCE and steps < _TUNE_STEPS:
        if value > target:
            hi = factor
        else:
            lo = factor
        factor = math.sqrt(lo * hi)
        value = inventory(factor)
        steps += 1
    matched = abs(value / target - 1) <= _TUNE_TOLERANCE
    return {"factor": factor, "steps": steps, "matched": matched,
            "inventory_value": value, "kit_inventory_value": target}  # fmt: skip


def _entry(items: list[_Seed], segment: str, name: str, *, tuned: bool) -> dict[str, Any]:
    """The arms' intervals over seeds and the paired lifts, for one metric of one segment."""
    kit = [s.kit[segment][name] for s in items]
    base = [s.baseline[segment][name] for s in items]
    entry: dict[str, Any] = {
        "kit": t_interval(kit), "baseline": t_interval(base), "baseline_tuned": None,
        "lift": t_interval([a - b for a, b in zip(kit, base, strict=True)]),
        "lift_vs_tuned": None, "per_seed": {"kit": kit, "baseline": base},
    }  # fmt: skip
    if tuned:
        tuned_values = [s.tuned[segment][name] for s in items]
        entry["baseline_tuned"] = t_interval(tuned_values)
        entry["lift_vs_tuned"] = t_interval([a - b for a, b in zip(kit, tuned_values, strict=True)])
        entry["per_seed"]["baseline_tuned"] = tuned_values
    return entry


def simulated_lift(
    *,
    stores: int,
    skus: int,
    days: int,
    seeds: Sequence[int],
    history_days: int = 400,
    scenario: LiftScenario | None = None,
    models: cycle.ModelSet,
    models_dir: str = "",
    policy: Policy | None = None,
    end_date: date = date(2025, 9, 30),
    tune: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The lift JSON (``kind = "simulated"``) of the kit against the baseline.

    ``days`` are evaluated after ``history_days`` of the old process (the history the
    kit's features read); store ``k`` of seed ``s`` is simulator seed ``1000 * s + k``.
    """
    scenario = scenario or LiftScenario()
    policy = policy or Policy()
    if len(set(seeds)) < 2 or len(set(seeds)) != len(seeds):
        raise EdgeAgentError(f"seeds {list(seeds)}: need two or more distinct seeds",
                             hint="pass --seeds 1,2,3,4,5")  # fmt: skip
    for name, value, least in (("stores", stores, 1), ("skus", skus, 1), ("days", days, 7),
                               ("history_days", history_days, 56)):  # fmt: skip
        if value < least:
            raise EdgeAgentError(f"{name} must be at least {least}, got {value}")
    if stores > 999:
        raise EdgeAgentError(f"stores must be at most 999, got {stores}")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    go_live = history_days
    items = []
    for seed in seeds:
        worlds = []
        for k in range(stores):
            cfg = SimConfig(store_id=f"S{k + 1:03d}", skus=skus, days=history_days + days,
                            seed=1000 * seed + k, end_date=end_date, chunk_skus=max(skus, 1),
                            line_days=0)  # fmt: skip
            worlds.extend(replay(cfg))
        item = _Seed(seed, worlds)
        item.baseline = _run_baseline(item, go_live, scenario, 1.0, record="baseline")
        item.kit = _run_kit(item, go_live, scenario, models, policy)
        say(f"lift: seed {seed}: stock-out rate kit {item.kit['all']['stockout_rate']:.4f}, "
            f"baseline {item.baseline['all']['stockout_rate']:.4f} "
            f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
        items.append(item)
    tuning = _tune(items, go_live, scenario) if tune else None
    if tuning:
        say(f"lift: baseline tuned x{tuning['factor']:.3f} in {tuning['steps']} runs "
            f"(matched: {tuning['matched']})")  # fmt: skip
    metrics = {}
    for name, (unit, better) in METRICS.items():
        entry = _entry(items, "all", name, tuned=tuning is not None)
        entry = {"unit": unit, "per": "store_day", "higher_is_better": better, **entry}
        # The same figures for perishables and the rest (extra keys of the contract).
        entry["segments"] = {
            seg: {k: v for k, v in _entry(items, seg, name, tuned=tuning is not None).items()
                  if k != "per_seed"}
            for seg in SEGMENTS[1:]
        }  # fmt: skip
        metrics[name] = entry
    end = end_date
    return {
        "kind": "simulated",
        "source": {
            "seeds": list(seeds),
            "stores": stores,
            "skus": skus,
            "days": days,
            "history_days": history_days,
            "evaluated": [(end - timedelta(days=days - 1)).isoformat(), end.isoformat()],
            "simulator_seed": "1000 * seed + store index",
            "baseline": scenario.baseline.model_dump(),
            "holding_rate": scenario.holding_rate,
            "tuning": tuning,
            "interval": "95% Student-t over seeds; lifts paired per seed",
            "models": dict(models.versions),
            "models_dir": models_dir,
            "policy_hash": policy.hash,
            "kit_orders_blocked_by_policy": sum(s.blocked for s in items),
            "kit_p90_coverage": _coverage_summary(items),
            "kit_order_rule": _rule_summary(items),
            "demand_digests": {str(s.seed): s.digests for s in items},
            "kit_order_seconds": round(sum(s.kit_seconds for s in items), 3),
            "seconds": round(time.perf_counter() - started, 3),
        },
        "metrics": metrics,
    }
