"""The ROI statement: what the kit is worth, net of what it costs, with its range.

Two kinds of impact, never added together:

- **direct** (money): lost sales recovered at margin, holding cost, waste, labor hours,
  from a *lift* file (the kit against a baseline policy, per store-day with 95 %
  intervals; shape in docs/OUTCOMES.md), scaled to the fleet (stores x days per year).
  Without a lift file these lines say "not measured": nothing is invented;
- **enabling** (not money): decision speed (time from decision to approval) and the
  exceptions people handled, from the hub's outcome metrics (:mod:`cloud_hub.outcomes`).

Costs come from a TOML file (:class:`Costs`; example: docs/roi-costs.example.toml).
Every figure carries its formula, its inputs and where they came from; the money lines
and the payback are a low / central / high range from the lift's 95 % interval.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloud_hub import outcomes
from cloud_hub.errors import ReportError
from storeedge.settings import load_toml, validation_problems

__all__ = [
    "DIRECT_LINES",
    "Costs",
    "Lift",
    "all_metric_rows",
    "fleet_size",
    "load_costs",
    "load_lift",
    "roi_statement",
    "statement_lines",
]

SCENARIOS = ("low", "central", "high")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Licences(_Strict):
    per_store_per_year: float = Field(ge=0, description="Licence fee per store and year.")


class Hardware(_Strict):
    per_store: float = Field(ge=0, description="One-off hardware cost per store (the edge box).")


class Effort(_Strict):
    person_days: float = Field(ge=0, description="Person-days of effort.")
    day_rate: float = Field(ge=0, description="Cost of one person-day.")


class Rates(_Strict):
    labor_cost_per_hour: float | None = Field(
        default=None, ge=0, description="Loaded cost of one staff hour (values labor hours)."
    )


class Fleet(_Strict):
    stores: int | None = Field(
        default=None, ge=1, description="Stores to scale to (default: the hub's registry)."
    )


class Costs(_Strict):
    """The costs file (TOML); every amount in ``currency``."""

    currency: str = Field(default="EUR", min_length=1, max_length=8)
    days_per_year: int = Field(default=364, ge=1, le=366, description="Trading days a year.")
    horizon_years: int = Field(default=3, ge=1, le=20, description="Years the net adds up.")
    licences: Licences
    hardware: Hardware
    integration: Effort = Field(description="One-off integration effort.")
    operations: Effort = Field(description="Operations effort per year.")
    rates: Rates = Rates()
    fleet: Fleet = Fleet()


class Estimate(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    mean: float
    ci95: tuple[float, float]


class LiftMetric(BaseModel):
    model_config = ConfigDict(extra="allow")
    unit: Literal["share", "units", "currency", "hours"]
    per: Literal["store_day"]
    higher_is_better: bool
    kit: Estimate
    baseline: Estimate
    baseline_tuned: Estimate | None = None
    lift: Estimate
    lift_vs_tuned: Estimate | None = None


class Lift(BaseModel):
    """The lift file: the kit against a baseline policy (simulated or shadow)."""

    model_config = ConfigDict(extra="allow")
    kind: Literal["simulated", "shadow_did"]
    source: dict[str, Any]
    metrics: dict[str, LiftMetric]


def load_costs(path: Path) -> Costs:
    """Read and check a costs file; errors name the file and the bad key."""
    return load_toml(path, Costs, what="costs file", error=ReportError,
                     hint="fix what it names; every key is explained in "
                     "docs/roi-costs.example.toml")  # fmt: skip


def load_lift(path: Path) -> Lift:
    """Read and check a lift file (JSON; shape in docs/OUTCOMES.md)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ReportError(f"cannot read the lift file {path}: {exc.strerror}",
                          hint="pass the JSON the lift computation wrote, or leave "
                          "--lift out (direct impact is then 'not measured')") from exc  # fmt: skip
    except json.JSONDecodeError as exc:
        raise ReportError(f"lift file {path} is not JSON: {exc}",
                          hint="pass the JSON the lift computation wrote") from exc  # fmt: skip
    try:
        return Lift.model_validate(data)
    except ValidationError as exc:
        raise ReportError(
            f"invalid lift file {path}: {validation_problems(exc)}",
            hint="see the lift file's shape in docs/OUTCOMES.md",
        ) from exc


# -- the hub's side -------------------------------------------------------------------------


def all_metric_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every metric row of the hub (:func:`cloud_hub.outcomes.metrics`, page by page)."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = outcomes.metrics(conn, after=after, limit=1000)
        rows.extend(page)
        if len(page) < 1000:
            return rows
        last = page[-1]
        after = (last["week"], last["store_id"], last["category"], last["model_version"])


def fleet_size(conn: sqlite3.Connection, costs: Costs) -> tuple[int, str]:
    """Stores to scale to, and where that number came from."""
    if costs.fleet.stores is not None:
        return costs.fleet.stores, "costs file: fleet.stores"
    for table, query, source in (
        ("store_registry", "SELECT COUNT(*) FROM store_registry WHERE status = 'active'",
         "hub registry: active stores (store_registry)"),
        ("stores", "SELECT COUNT(*) FROM stores", "hub: stores that synced (stores table)"),
    ):  # fmt: skip
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone():  # fmt: skip
            count = conn.execute(query).fetchone()[0]
            if count:
                return int(count), source
    raise ReportError("no stores to scale the ROI to: the hub's registry is empty",
                      hint="register the stores (`cloud-hub stores add`) or set "
                      "[fleet] stores = N in the costs file")  # fmt: skip


# -- the statement --------------------------------------------------------------------------

#: Direct lines: (name, label, lift metric, how to value one unit of it).
DIRECT_LINES = (
    ("lost_margin_recovered", "Lost sales recovered, at margin", "lost_margin_value", "currency"),
    ("holding_cost_saved", "Holding cost saved", "holding_cost_value", "currency"),
    ("waste_saved", "Waste avoided", "waste_value", "currency"),
    ("labor_hours_saved", "Labor hours saved", "labor_hours", "labor_cost_per_hour"),
)


def _range(low: float, central: float, high: float) -> dict[str, float]:
    return {"low": low, "central": central, "high": high}


def _direct_line(
    name: str, label: str, metric_name: str, valued_by: str, lift: Lift | None,
    lift_path: Path | None, costs: Costs, stores: int,
) -> dict[str, Any]:  # fmt: skip
    line: dict[str, Any] = {"name": name, "label": label, "kind": "direct",
                            "lift_metric": metric_name, "unit": costs.currency}  # fmt: skip
    metric = lift.metrics.get(metric_name) if lift else None
    if lift is None or metric is None:
        why = "no lift file given (--lift)" if lift is None else (
            f"the lift file has no {metric_name!r} metric")  # fmt: skip
        return {**line, "status": "not measured", "annual": None, "why": why}
    wanted = "hours" if valued_by == "labor_cost_per_hour" else "currency"
    if metric.unit != wanted:
        why = f"the lift file's {metric_name!r} is in {metric.unit}, not {wanted}"
        return {**line, "status": "not measured", "annual": None, "why": why}
    # Saved = baseline - kit when lower is better; the 95 % interval's ends give the range.
    sign = 1.0 if metric.higher_is_better else -1.0
    ends = sorted((sign * metric.lift.ci95[0], sign * metric.lift.ci95[1]))
    saved = _range(ends[0], sign * metric.lift.mean, ends[1])
    rate, rate_name = 1.0, ""
    if valued_by == "labor_cost_per_hour":
        if costs.rates.labor_cost_per_hour is None:
            return {**line, "status": "not valued", "annual": None,
                    "per_store_day": saved, "metric_unit": metric.unit,
                    "why": "set [rates] labor_cost_per_hour in the costs file to value "
                    "the hours"}  # fmt: skip
        rate, rate_name = costs.rates.labor_cost_per_hour, " x rates.labor_cost_per_hour"
    scale = stores * costs.days_per_year
    annual = {k: v * rate * scale for k, v in saved.items()}
    against = f"{'+' if sign > 0 else '-'}lift"
    return {
        **line, "status": "measured", "annual": annual, "per_store_day": saved,
        "metric_unit": metric.unit,
        "formula": f"{against}({metric_name}) per store-day{rate_name} x stores x days_per_year;"
        " low/high from the lift's 95 % interval",
        "inputs": {"lift": metric.lift.model_dump(), "kit": metric.kit.model_dump(),
                   "baseline": metric.baseline.model_dump(),
                   "lift_vs_tuned": metric.lift_vs_tuned.model_dump()
                   if metric.lift_vs_tuned else None,
                   "rate": rate, "stores": stores, "days_per_year": costs.days_per_year},
        "source": f"lift file {lift_path}: metrics.{metric_name} ({lift.kind})",
    }  # fmt: skip


def _enabling(rows: list[dict[str, Any]], stores: int) -> list[dict[str, Any]]:
    total = outcomes.combine(rows)
    weeks = sorted({r["week"] for r in rows})
    source = "hub outcome metrics: no rows"
    if rows:
        source = (f"hub outcome metrics: {len(rows)} rows (week x store x category x model), "
                  f"weeks {weeks[0]} .. {weeks[-1]}")  # fmt: skip
    people = total["approved"] + total["rejected"] + total["overridden"]
    store_weeks = len({(r["week"], r["store_id"]) for r in rows})
    lines = [
        {"name": "decisions", "label": "Decisions made", "value": total["decisions"],
         "unit": "decisions", "formula": "sum of decisions over the metric rows",
         "inputs": {"rows": len(rows)}},
        {"name": "auto_executed", "label": "Executed without a person (auto)",
         "value": total["auto"], "share": total["share_auto"], "unit": "decisions",
         "formula": "sum of auto; share = auto / decisions",
         "inputs": {"auto": total["auto"], "decisions": total["decisions"]}},
        {"name": "exceptions_handled", "label": "Exceptions handled by people",
         "value": people, "share": people / total["decisions"] if total["decisions"] else None,
         "per_store_week": people / store_weeks if store_weeks else None,
         "unit": "decisions", "formula": "approved + rejected + overridden; per store-week "
         "over the (week, store) pairs with decisions",
         "inputs": {k: total[k] for k in ("approved", "rejected", "overridden")}
         | {"store_weeks": store_weeks}},
        {"name": "time_to_approval", "label": "Decision speed: time from decision to approval",
         "value": total["review_seconds_mean"], "max": total["review_seconds_max"],
         "unit": "seconds", "formula": "mean (and max) of review_seconds over reviewed "
         "decisions (first approve/reject/override - recorded_at)",
         "inputs": {"reviewed": total["reviewed"]}},
    ]  # fmt: skip
    for line in lines:
        line.update(kind="enabling", source=source,
                    status="measured" if total["decisions"] else "not measured")  # fmt: skip
    if total["reviewed"] == 0:
        lines[-1]["status"] = "not measured"
    return lines


def roi_statement(
    conn: sqlite3.Connection, costs: Costs, *, costs_path: Path,
    lift: Lift | None = None, lift_path: Path | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The ROI statement as one JSON-ready document (see the module's docstring)."""
    stores, stores_source = fleet_size(conn, costs)
    rows = all_metric_rows(conn) if rows is None else rows
    direct = [_direct_line(*spec, lift, lift_path, costs, stores) for spec in DIRECT_LINES]
    measured = [line for line in direct if line["status"] == "measured"]
    benefit = ({k: sum(line["annual"][k] for line in measured) for k in SCENARIOS}
               if measured else None)  # fmt: skip
    one_off = [
        {"name": "hardware", "label": "Hardware", "amount": costs.hardware.per_store * stores,
         "formula": "hardware.per_store x stores",
         "inputs": {"per_store": costs.hardware.per_store, "stores": stores}},
        {"name": "integration", "label": "Integration effort",
         "amount": costs.integration.person_days * costs.integration.day_rate,
         "formula": "integration.person_days x integration.day_rate",
         "inputs": costs.integration.model_dump()},
    ]  # fmt: skip
    yearly = [
        {"name": "licences", "label": "Licences",
         "amount": costs.licences.per_store_per_year * stores,
         "formula": "licences.per_store_per_year x stores",
         "inputs": {"per_store_per_year": costs.licences.per_store_per_year, "stores": stores}},
        {"name": "operations", "label": "Operations effort",
         "amount": costs.operations.person_days * costs.operations.day_rate,
         "formula": "operations.person_days x operations.day_rate (per year)",
         "inputs": costs.operations.model_dump()},
    ]  # fmt: skip
    for line in (*one_off, *yearly):
        line["source"] = f"costs file {costs_path}"
    one_off_total = sum(line["amount"] for line in one_off)
    yearly_total = sum(line["amount"] for line in yearly)
    net_yearly = payback = horizon_net = None
    if benefit is not None:
        net_yearly = {k: benefit[k] - yearly_total for k in SCENARIOS}
        # Never pays back when the yearly benefit does not cover the running costs: None.
        payback = {k: (12.0 * one_off_total / net_yearly[k] if net_yearly[k] > 0 else None)
                   for k in SCENARIOS}  # fmt: skip
        horizon_net = {k: costs.horizon_years * net_yearly[k] - one_off_total for k in SCENARIOS}
    lift_info = None
    if lift is not None:
        lift_info = {"file": str(lift_path), "kind": lift.kind, "source": lift.source,
                     "metrics": sorted(lift.metrics)}  # fmt: skip
    return {
        "currency": costs.currency,
        "days_per_year": costs.days_per_year,
        "horizon_years": costs.horizon_years,
        "fleet": {"stores": stores, "source": stores_source},
        "lift": lift_info,
        "direct": direct,
        "direct_total": None if benefit is None else {
            "annual": benefit, "lines": [line["name"] for line in measured],
            "formula": "sum of the measured direct lines per scenario (the ends added as if "
            "they moved together: wider than a joint interval, never narrower)"},
        "enabling": _enabling(rows, stores),
        "costs": {"one_off": one_off, "yearly": yearly, "one_off_total": one_off_total,
                  "yearly_total": yearly_total, "file": str(costs_path)},
        "net_yearly": net_yearly,
        "payback_months": payback,
        "horizon_net": horizon_net,
        "scenarios": "low / central / high: the pessimistic end, the mean and the optimistic "
        "end of the lift's 95 % interval",
    }  # fmt: skip


def _money(value: float | None, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f} {currency}"


def _months(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} months"


def statement_lines(doc: dict[str, Any]) -> list[str]:
    """The statement as text: each figure with its formula and source."""
    cur = doc["currency"]
    lines = [f"ROI statement for {doc['fleet']['stores']} stores ({doc['fleet']['source']}), "
             f"{doc['days_per_year']} days a year; amounts in {cur} per year",
             f"  scenarios: {doc['scenarios']}", "",
             f"{'DIRECT IMPACT (money)':<38} {'low':>16} {'central':>16} {'high':>16}"]  # fmt: skip
    for line in doc["direct"]:
        if line["status"] != "measured":
            lines.append(f"  {line['label']:<36} {line['status']}: {line['why']}")
            continue
        a = line["annual"]
        lines += [f"  {line['label']:<36} {_money(a['low'], cur):>16} "
                  f"{_money(a['central'], cur):>16} {_money(a['high'], cur):>16}",
                  f"      = {line['formula']}", f"      from {line['source']}"]  # fmt: skip
    total = doc["direct_total"]
    if total:
        a = total["annual"]
        lines.append(f"  {'Total direct':<36} {_money(a['low'], cur):>16} "
                     f"{_money(a['central'], cur):>16} {_money(a['high'], cur):>16}")  # fmt: skip
    lines += ["", "COSTS"]
    for line in (*doc["costs"]["one_off"], *doc["costs"]["yearly"]):
        when = "one-off" if line in doc["costs"]["one_off"] else "per year"
        lines.append(f"  {line['label'] + ' (' + when + ')':<36} {_money(line['amount'], cur):>16}"
                     f"   = {line['formula']}")  # fmt: skip
    lines += ["", "NET AND PAYBACK (low / central / high)"]
    if doc["net_yearly"] is None:
        lines.append("  not measured: no direct impact measured (pass --lift FILE)")
    else:
        n, p, h = doc["net_yearly"], doc["payback_months"], doc["horizon_net"]
        lines += [f"  net per year       {' / '.join(_money(n[k], cur) for k in SCENARIOS)}",
                  f"  payback            {' / '.join(_months(p[k]) for k in SCENARIOS)}",
                  f"  net over {doc['horizon_years']} years  "
                  f"{' / '.join(_money(h[k], cur) for k in SCENARIOS)}"]  # fmt: skip
    lines += ["", "ENABLING IMPACT (not money; not added to the above)"]
    for line in doc["enabling"]:
        value = line["value"]
        shown = "not measured" if line["status"] != "measured" or value is None else (
            f"{value / 60:.1f} min mean, {line['max'] / 60:.1f} min max"
            if line["unit"] == "seconds" else f"{value:,}")  # fmt: skip
        if line.get("share") is not None:
            shown += f" ({line['share']:.0%} of decisions)"
        lines.append(f"  {line['label']:<46} {shown}")
    lines.append(f"      from {doc['enabling'][0]['source']}")
    return lines
