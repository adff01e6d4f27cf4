"""What the models read from the mirror: store-day facts and daily panels.

The mirror's side of :mod:`models.panels`: the edge builds its panels from the
store-days read here, and the DailyOutcome messages it syncs carry the same
store-days, from which the hub builds the very same panels.

Per SKU and day: a SKU is *listed* on a day when its latest product row
effective on or before that day is active. On a listed, trading day without a
sales row the SKU sold nothing (POS exports omit zero rows); on a closed day or
when not listed, nothing was observed (NaN in panels).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from edge_agent.mirror.db import Mirror
from models.features import DailyPanel
from models.panels import SkuDay, StoreDay, panel_from_days

__all__ = ["daily_panel", "store_days"]


def _product_history(mirror: Mirror) -> dict[str, list[tuple[str, str, str, float | None]]]:
    """sku -> [(effective_from, status, category, price)] in date order."""
    history: dict[str, list[tuple[str, str, str, float | None]]] = {}
    for sku, effective, status, category, price in mirror.conn.execute(
        "SELECT sku, effective_from, status, category, price FROM products "
        "ORDER BY sku, effective_from"
    ):
        history.setdefault(sku, []).append((effective, status, category, price))
    return history


def store_days(mirror: Mirror, start: date, end: date) -> Iterator[StoreDay]:
    """The facts of each day from ``start`` to ``end`` (inclusive), every known SKU."""
    products = _product_history(mirror)
    calendar = {
        day: (status, name or "")
        for day, status, name in mirror.conn.execute(
            "SELECT date, status, name FROM store_calendar WHERE date BETWEEN ? AND ?",
            (start.isoformat(), end.isoformat()),
        )
    }
    first, last = start.isoformat(), end.isoformat()
    sales: dict[str, dict[str, tuple]] = {}
    for sku, day, units, returns, price, promo, on_hand in mirror.conn.execute(
        "SELECT sku, date, units, returns, price, promo, on_hand FROM daily_sales "
        "WHERE date BETWEEN ? AND ?",
        (first, last),
    ):
        sales.setdefault(day, {})[sku] = (units, returns, price, promo, on_hand)
    promotions: dict[str, list[tuple[str, str]]] = {}
    for sku, promo_start, promo_end in mirror.conn.execute(
        "SELECT sku, start_date, end_date FROM promotions WHERE end_date >= ? AND start_date <= ?",
        (first, last),
    ):
        promotions.setdefault(sku, []).append((promo_start, promo_end))
    hours: dict[str, dict[int, int]] = {}
    for day, hour, transactions in mirror.conn.execute(
        "SELECT date, hour, transactions FROM store_hourly WHERE date BETWEEN ? AND ?",
        (first, last),
    ):
        hours.setdefault(day, {})[int(hour)] = int(transactions)
    day = start
    while day <= end:
        text = day.isoformat()
        status, name = calendar.get(text, ("open", ""))
        sold = sales.get(text, {})
        skus = []
        for sku, rows in products.items():
            effective = [r for r in rows if r[0] <= text]
            current = effective[-1] if effective else None
            listed = current is not None and current[1] == "active"
            category = (current or rows[0])[2]
            units, returns, price, promo, on_hand = sold.get(sku, (None,) * 5)
            on_promo = bool(promo) or any(a <= text <= b for a, b in promotions.get(sku, ()))
            regular = current[3] if current is not None else None
            skus.append(
                SkuDay(
                    sku=sku,
                    category=category,
                    listed=listed or units is not None,
                    units=float(units) if units is not None else 0.0,
                    returns=float(returns or 0.0),
                    price=float(price if price is not None else (regular or 0.0)),
                    promo=on_promo,
                    on_hand=float(on_hand) if on_hand is not None else float("nan"),
                )
            )
        yield StoreDay(
            day=day,
            closed=status == "closed",
            holiday=name if status == "holiday" else "",
            event=name if status == "event" else "",
            skus=skus,
            hours=hours.get(text, {}),
        )
        day += timedelta(days=1)


def daily_panel(mirror: Mirror, start: date, end: date) -> DailyPanel:
    """The edge's panel: the mirror's facts from ``start`` to ``end``."""
    return panel_from_days(list(store_days(mirror, start, end)))
