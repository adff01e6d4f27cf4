"""Shadow difference-in-differences: stores in policy ``mode = "shadow"`` against stores
executing the kit's decisions, before vs after the kit went live, from synced outcomes.

Where the hub learns it (the decision record itself carries no mode):

- **mode**: each decision's audit record (``DECISION_CREATED``, synced and chain-verified
  into ``audit_entries``) has the attribute ``mode`` = ``execute`` or ``shadow``. A store
  is in the shadow group when all its decisions say shadow, in the executing group when
  none do; a store that switched is left out (listed in ``source.mixed``).
- **went live**: the business date of the store's first decision.

Per store, from ``outcome_sku_days`` (newest revision) on the days with outcomes
(closed days, per ``outcome_parts``, left out), in ``window_days`` before and after go-live:

- ``stockout_rate``: listed SKU-days with end-of-day on-hand <= 0 / listed SKU-days whose
  on-hand is known (the outcome join's stock-out rule, docs/OUTCOMES.md);
- ``avg_inventory_units``: sum of max(on-hand, 0) over listed SKUs, per store-day.

The lift JSON (``kind = "shadow_did"``): ``kit`` / ``baseline`` are the executing and
shadow groups' mean after-minus-before changes (t-intervals over stores), ``lift`` the
difference of the two (Welch interval), ``baseline_tuned`` and ``lift_vs_tuned`` null.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np

from cloud_hub.errors import HubStorageError
from models.metrics import mean_ci95, t975
from storeedge.v1 import audit_pb2

__all__ = ["SHADOW_METRICS", "shadow_did", "store_modes"]

SHADOW_METRICS = {"stockout_rate": "share", "avg_inventory_units": "units"}


def _welch(a: list[float], b: list[float]) -> dict[str, Any]:
    """Mean of a minus mean of b, 95 % Welch interval (two independent groups)."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    diff = float(xa.mean() - xb.mean())
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / max(va**2 / (xa.size - 1) + vb**2 / (xb.size - 1), 1e-300)
    half = t975(df) * se
    return {"mean": diff, "ci95": [diff - half, diff + half]}


def store_modes(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per store: its decisions' policy modes (counts) and first business date."""
    out: dict[str, dict[str, Any]] = {}
    created = audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED
    for store_id, payload in conn.execute("SELECT store_id, payload FROM audit_entries"):
        record = audit_pb2.AuditRecord.FromString(payload)
        if record.event_type != created or not record.business_date:
            continue
        entry = out.setdefault(store_id, {"modes": defaultdict(int), "first": None})
        entry["modes"][record.attributes.get("mode", "execute")] += 1
        if entry["first"] is None or record.business_date < entry["first"]:
            entry["first"] = record.business_date
    return out


def _store_periods(conn: sqlite3.Connection, store_id: str, live: date,
                   window_days: int) -> dict[str, dict[str, float]] | None:  # fmt: skip
    first = (live - timedelta(days=window_days)).isoformat()
    last = (live + timedelta(days=window_days - 1)).isoformat()
    closed = {d for (d,) in conn.execute(
        "SELECT DISTINCT date FROM outcome_parts WHERE store_id = ? AND closed = 1 "
        "AND date BETWEEN ? AND ?", (store_id, first, last))}  # fmt: skip
    sums: dict[str, dict[str, float]] = {
        p: {"known": 0.0, "out": 0.0, "units": 0.0, "days": 0.0} for p in ("before", "after")
    }
    seen_days: dict[str, set[str]] = {"before": set(), "after": set()}
    for day, on_hand in conn.execute(
        "SELECT date, on_hand FROM outcome_sku_days WHERE store_id = ? AND listed = 1 "
        "AND date BETWEEN ? AND ?", (store_id, first, last)):  # fmt: skip
        if day in closed:
            continue
        period = "before" if day < live.isoformat() else "after"
        seen_days[period].add(day)
        if on_hand is None:
            continue
        s = sums[period]
        s["known"] += 1
        s["out"] += on_hand <= 0
        s["units"] += max(on_hand, 0.0)
    if not all(s["known"] for s in sums.values()):
        return None  # a period without outcomes: this store cannot be compared
    return {
        p: {"stockout_rate": s["out"] / s["known"],
            "avg_inventory_units": s["units"] / len(seen_days[p])}
        for p, s in sums.items()
    }  # fmt: skip


def shadow_did(conn: sqlite3.Connection, *, window_days: int = 28) -> dict[str, Any]:
    """The shadow-vs-executing difference-in-differences, as the lift JSON."""
    if window_days < 7:
        raise HubStorageError(f"window_days must be at least 7, got {window_days}")
    groups: dict[str, dict[str, dict[str, dict[str, float]]]] = {"kit": {}, "baseline": {}}
    mixed, without = [], []
    for store_id, entry in sorted(store_modes(conn).items()):
        modes = entry["modes"]
        if modes.get("shadow") and len(modes) > 1:
            mixed.append(store_id)
            continue
        group = "baseline" if modes.get("shadow") else "kit"
        periods = _store_periods(conn, store_id, date.fromisoformat(entry["first"]), window_days)
        if periods is None:
            without.append(store_id)
            continue
        periods["went_live"] = entry["first"]  # type: ignore[assignment]
        groups[group][store_id] = periods
    for group, name in (("kit", "executing"), ("baseline", "shadow")):
        if len(groups[group]) < 2:
            raise HubStorageError(
                f"{len(groups[group])} {name} store(s) with outcomes before and after going "
                f"live: a difference-in-differences needs at least two per group",
                hint="put some stores in policy mode = \"shadow\" and sync their outcomes",
            )  # fmt: skip
    metrics = {}
    for name, unit in SHADOW_METRICS.items():
        change = {
            g: [s["after"][name] - s["before"][name] for s in groups[g].values()]
            for g in ("kit", "baseline")
        }
        metrics[name] = {
            "unit": unit, "per": "store_day", "higher_is_better": False,
            "kit": mean_ci95(change["kit"]), "baseline": mean_ci95(change["baseline"]),
            "baseline_tuned": None,
            "lift": _welch(change["kit"], change["baseline"]), "lift_vs_tuned": None,
            "levels": {g: {p: float(np.mean([s[p][name] for s in groups[g].values()]))
                           for p in ("before", "after")} for g in ("kit", "baseline")},
        }  # fmt: skip
    return {
        "kind": "shadow_did",
        "source": {
            "window_days": window_days,
            "executing_stores": sorted(groups["kit"]),
            "shadow_stores": sorted(groups["baseline"]),
            "went_live": {s: p["went_live"] for g in groups.values() for s, p in g.items()},
            "mixed": mixed,
            "without_outcomes": without,
            "mode_from": "DECISION_CREATED audit records' attribute mode",
            "went_live_from": "the business date of the store's first decision",
            "interval": "kit/baseline: t over stores of after - before; lift: Welch",
        },
        "metrics": metrics,
    }
