"""The hub's reading of what stores synced: daily outcomes decoded into the panels the
edge computes its features from, fast enough for years of a large fleet.

Per store and business day the newest revision's parts are used (a correction replaces
the day). The panel follows :func:`models.panels.panel_from_days` exactly (NaN sales when
the store was closed or the SKU not listed; a price of 0 means unknown; a test holds the
two equal). With ``sample_skus`` only a stratified sample of the SKUs listed on the
store's newest day is decoded: each category keeps its share (at least one SKU), a fixed
hash of store and SKU picks within it. SKUs come in the same order every day, so their
positions are found once per part layout and only those rows are read.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from models import features as F
from models.panels import category_code
from storeedge.v1 import outcome_pb2

__all__ = ["StorePanel", "read_store_panels", "stratified_sample"]

Progress = Callable[[str], None]


@dataclass
class StorePanel:
    store_id: str
    panel: F.DailyPanel | None  # None when SKUs were not asked for
    traffic: np.ndarray  # (days, 24) transactions, NaN = no record
    closed: np.ndarray
    holiday: np.ndarray
    start: date
    skus_total: int


def _newest_revisions(conn: Any, store_id: str) -> dict[date, list[str]]:
    """Per business day the record ids of its newest revision's parts."""
    best: dict[date, tuple[int, dict[int, str]]] = {}
    for record_id, payload in conn.execute(
        "SELECT record_id, payload FROM records WHERE store_id = ? AND record_type = 'outcome'",
        (store_id,),
    ):
        message = outcome_pb2.DailyOutcome.FromString(payload)
        day = date.fromisoformat(message.business_date)
        revision, parts = best.get(day, (-1, {}))
        if message.revision > revision:
            best[day] = (message.revision, {message.part: record_id})
        elif message.revision == revision:
            parts[message.part] = record_id
    return {day: [parts[p] for p in sorted(parts)] for day, (_, parts) in best.items()}


def stratified_sample(
    store_id: str, skus: list[str], categories: list[str], limit: int
) -> list[str]:
    """At most ``limit`` SKUs, stratified by category: each category its proportional
    share (the largest remainders round up while the limit allows) and at least one, so
    more than ``limit`` only when there are more categories than that."""
    if limit <= 0 or limit >= len(skus):
        return sorted(skus)
    by_category: dict[str, list[str]] = defaultdict(list)
    for sku, category in zip(skus, categories, strict=True):
        by_category[category].append(sku)
    quota = {c: limit * len(members) / len(skus) for c, members in by_category.items()}
    take = {c: max(1, math.floor(q)) for c, q in quota.items()}
    room = limit - sum(take.values())
    short = sorted((c for c in quota if quota[c] > take[c]), key=lambda c: (take[c] - quota[c], c))
    for category in short[: max(room, 0)]:
        take[category] += 1
    chosen = []
    for category, members in by_category.items():
        ranked = sorted(members, key=lambda s: hashlib.sha256(f"{store_id}|{s}".encode()).digest())
        chosen += ranked[: take[category]]
    return sorted(chosen)


def _load(conn: Any, record_id: str) -> outcome_pb2.DailyOutcome:
    (payload,) = conn.execute(
        "SELECT payload FROM records WHERE record_id = ?", (record_id,)
    ).fetchone()
    return outcome_pb2.DailyOutcome.FromString(payload)


def read_store_panels(
    conn: Any, *, skus: bool = True, sample_skus: int = 0, progress: Progress | None = None
) -> list[StorePanel]:
    """One panel per store from its synced daily outcomes (see the module doc)."""
    stores = [
        s
        for (s,) in conn.execute(
            "SELECT DISTINCT store_id FROM records WHERE record_type = 'outcome' ORDER BY 1"
        )
    ]
    out = []
    for number, store_id in enumerate(stores, 1):
        started = time.perf_counter()
        days = _newest_revisions(conn, store_id)
        first, last = min(days), max(days)
        n_days = (last - first).days + 1
        traffic = np.full((n_days, 24), np.nan, dtype=np.float32)
        closed = np.zeros(n_days, bool)
        holiday = np.zeros(n_days, bool)
        event = np.zeros(n_days, bool)
        universe: list[str] = []
        newest = [_load(conn, r) for r in days[last]]
        universe = [s.sku for m in newest for s in m.skus if s.listed]
        categories = [s.category for m in newest for s in m.skus if s.listed]
        del newest
        chosen = stratified_sample(store_id, universe, categories, sample_skus) if skus else []
        index = {sku: i for i, sku in enumerate(chosen)}
        shape = (len(chosen), n_days)
        sales = np.full(shape, np.nan, dtype=np.float32)
        price = np.full(shape, np.nan, dtype=np.float32)
        promo = np.zeros(shape, dtype=np.float32)
        category = np.zeros(len(chosen), dtype=np.int64)
        # SKUs come in the same order every day: positions found once per part layout.
        layouts: dict[tuple[int, int], tuple[list[int], list[int], list[str]]] = {}
        for day, record_ids in days.items():
            j = (day - first).days
            for record_id in record_ids:
                message = _load(conn, record_id)
                closed[j], holiday[j] = message.store_closed, bool(message.holiday)
                event[j] = bool(message.event)
                if not message.store_closed:
                    for h in message.hours:
                        traffic[j, h.hour] = h.transactions
                if not chosen:
                    continue
                rows = message.skus
                key = (message.part, len(rows))
                layout = layouts.get(key)
                if layout is None or [rows[p].sku for p in layout[0]] != layout[2]:
                    names = [r.sku for r in rows]
                    positions = [p for p, name in enumerate(names) if name in index]
                    layout = (
                        positions,
                        [index[names[p]] for p in positions],
                        [names[p] for p in positions],
                    )
                    layouts[key] = layout
                    for p, i in zip(positions, layout[1], strict=True):
                        category[i] = category_code(rows[p].category)
                positions, at, _ = layout
                picked = [rows[p] for p in positions]
                listed = np.fromiter((r.listed for r in picked), bool, len(picked))
                units = np.fromiter((r.units_sold for r in picked), np.float32, len(picked))
                prices = np.fromiter((r.price for r in picked), np.float32, len(picked))
                target = np.asarray(at, dtype=np.int64)
                ok = listed & (not message.store_closed)
                sales[target[ok], j] = units[ok]
                price[target, j] = np.where((prices > 0) & np.isfinite(prices), prices, np.nan)
                promo[target, j] = np.fromiter((r.promo for r in picked), np.float32, len(picked))
        panel = None
        if skus:
            panel = F.DailyPanel(
                skus=chosen,
                start=first,
                sales=sales,
                price=price,
                promo=promo,
                closed=closed,
                holiday=holiday,
                category=category,
                event=event,
            )
        out.append(StorePanel(store_id, panel, traffic, closed, holiday, first, len(universe)))
        if progress:
            progress(
                f"read store {store_id} ({number}/{len(stores)}): {n_days} days, "
                f"{len(chosen) if skus else 0} of {len(universe)} SKUs, "
                f"{time.perf_counter() - started:.1f} s"
            )
    return out
