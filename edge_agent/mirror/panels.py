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

import functools
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from edge_agent.mirror import windows
from edge_agent.mirror.db import Mirror, read_once
from models.features import DailyPanel, HourlyPanel
from models.panels import SkuDay, StoreDay, category_code

__all__ = [
    "daily_panel",
    "daily_panel_from_rows",
    "hourly_panel",
    "latest_on_hand",
    "store_days",
]

latest_on_hand = windows.latest_on_hand


#: A product row as the panels read it: (effective_from, status, category, price).
ProductRow = tuple[str, str, str, float | None]


def _product_history(mirror: Mirror) -> dict[str, list[ProductRow]]:
    """sku -> [(effective_from, status, category, price)] in date order."""
    history: dict[str, list[ProductRow]] = {}
    with read_once(mirror.conn):
        for sku, effective, status, category, price in mirror.conn.execute(
            "SELECT sku, effective_from, status, category, price FROM products "
            "ORDER BY sku, effective_from"
        ):
            history.setdefault(sku, []).append((effective, status, category, price))
    return history


#: A promotion as the panels read it: (sku, start, end, promo_price, discount_pct), dates
#: as text.
Promotion = tuple[str, str, str, float | None, float | None]


def _promotions(mirror: Mirror, first: str, last: str) -> list[Promotion]:
    """The promotions overlapping ``first .. last``, by SKU, start date and id: of two that
    overlap, the later one's price holds."""
    with read_once(mirror.conn):
        return mirror.conn.execute(
            "SELECT sku, start_date, end_date, promo_price, discount_pct FROM promotions "
            "WHERE end_date >= ? AND start_date <= ? ORDER BY sku, start_date, promo_id",
            (first, last),
        ).fetchall()


def _announced_price(promotion: Promotion, regular: float | None) -> float | None:
    """The price a promotion announces: its ``promo_price``, else ``discount_pct`` off the
    regular price; None when it says neither (the regular price holds)."""
    promo_price, discount = promotion[3], promotion[4]
    if promo_price is not None:
        return promo_price
    if discount is not None and regular is not None:
        return regular * (1.0 - discount / 100.0)
    return None


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
    promotions: dict[str, list[Promotion]] = {}
    for promotion in _promotions(mirror, first, last):
        promotions.setdefault(promotion[0], []).append(promotion)
    movements = _stock_movements(mirror, first, last)
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
            current = _in_force(rows, text)
            listed = current is not None and current[1] == "active"
            category = (current or rows[0])[2]
            units, returns, price, promo, on_hand = sold.get(sku, (None,) * 5)
            regular = current[3] if current is not None else None
            on_promo, day_price = bool(promo), regular
            for promotion in promotions.get(sku, ()):
                if promotion[1] <= text <= promotion[2]:
                    on_promo = True
                    # Known in advance: the day's price unless its daily row says one.
                    announced = _announced_price(promotion, regular)
                    day_price = announced if announced is not None else day_price
            receipts, waste, adjustments = movements.get((sku, text), (0.0, 0.0, 0.0))
            skus.append(
                SkuDay(
                    sku=sku,
                    category=category,
                    listed=listed or units is not None,
                    units=float(units) if units is not None else 0.0,
                    returns=float(returns or 0.0),
                    price=float(price if price is not None else (day_price or 0.0)),
                    promo=on_promo,
                    on_hand=float(on_hand) if on_hand is not None else float("nan"),
                    receipts=receipts,
                    waste=waste,
                    adjustments=adjustments,
                )
            )
        yield StoreDay(
            day=day,
            closed=status == "closed",
            holiday=(name or "holiday") if status == "holiday" else "",
            event=(name or "event") if status == "event" else "",
            skus=skus,
            hours=hours.get(text, {}),
        )
        day += timedelta(days=1)


#: Adjustment reasons that write stock off as waste (docs/FORMATS.md); the others are
#: counts and corrections, kept apart as ``adjustments``.
WASTE_REASONS = ("waste", "damage")


def _stock_movements(
    mirror: Mirror, first: str, last: str
) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(sku, day) -> (receipts, waste, other adjustments) from ``first`` to ``last``: the
    day's deliveries, its waste and damage write-offs (positive: units gone; a reversal
    of one nets out) and its other adjustments, signed."""
    movements: dict[tuple[str, str], list[float]] = {}
    for sku, day, received in mirror.conn.execute(
        "SELECT sku, business_date, SUM(qty) FROM deliveries "
        "WHERE business_date BETWEEN ? AND ? GROUP BY sku, business_date",
        (first, last),
    ):
        movements.setdefault((sku, day), [0.0, 0.0, 0.0])[0] = float(received)
    marks = ", ".join("?" * len(WASTE_REASONS))
    for sku, day, written_off, other in mirror.conn.execute(
        f"SELECT sku, business_date, -SUM(CASE WHEN reason IN ({marks}) THEN qty ELSE 0 END), "
        f"SUM(CASE WHEN reason IN ({marks}) THEN 0 ELSE qty END) FROM stock_adjustments "
        "WHERE business_date BETWEEN ? AND ? GROUP BY sku, business_date",
        (*WASTE_REASONS, *WASTE_REASONS, first, last),
    ):
        row = movements.setdefault((sku, day), [0.0, 0.0, 0.0])
        row[1], row[2] = float(written_off) + 0.0, float(other)  # + 0.0: no -0.0
    return {key: (r[0], r[1], r[2]) for key, r in movements.items()}


def _in_force(rows: list[ProductRow], day: str) -> ProductRow | None:
    """The product row in force on ``day``: the last effective by then (None: none yet)."""
    effective = [r for r in rows if r[0] <= day]
    return effective[-1] if effective else None


def _calendar_flags(mirror: Mirror, start: date, n_days: int) -> dict[str, np.ndarray]:
    flags = {name: np.zeros(n_days, dtype=bool) for name in ("closed", "holiday", "event")}
    end = start + timedelta(days=n_days - 1)
    for day, status in mirror.conn.execute(
        "SELECT date, status FROM store_calendar WHERE date BETWEEN ? AND ?",
        (start.isoformat(), end.isoformat()),
    ):
        if status in flags:
            flags[status][(date.fromisoformat(day) - start).days] = True
    return flags


def daily_panel(
    mirror: Mirror, start: date, end: date, *, sku_limit: int | None = None
) -> DailyPanel:
    """The edge's panel from ``start`` to ``end``, read straight into arrays (the first
    ``sku_limit`` SKUs in SKU order only, when given).

    The same arrays as ``panel_from_days(list(store_days(...)))`` (a test holds them
    equal), without building an object per SKU and day. The daily rows come from the
    packed sales windows when they cover ``start`` (:mod:`edge_agent.mirror.windows`),
    else from ``daily_sales``; both give identical panels (tested).
    """
    if windows.covers(mirror, start):
        return _panel(mirror, start, end, windows.fill_days, sku_limit)
    return daily_panel_from_rows(mirror, start, end, sku_limit=sku_limit)


def daily_panel_from_rows(
    mirror: Mirror, start: date, end: date, *, sku_limit: int | None = None
) -> DailyPanel:
    """:func:`daily_panel` read from the ``daily_sales`` rows themselves."""
    return _panel(mirror, start, end, _fill_from_rows, sku_limit)


def _fill_from_rows(
    mirror: Mirror,
    start: date,
    index: dict[str, int],
    sales: np.ndarray,
    price: np.ndarray,
    promo: np.ndarray,
) -> None:
    """:func:`windows.fill_days`, from the ``daily_sales`` rows."""
    n_days = sales.shape[1]
    end = start + timedelta(days=n_days - 1)
    flat_sales, flat_price, flat_promo = sales.reshape(-1), price.reshape(-1), promo.reshape(-1)
    columns = {(start + timedelta(days=j)).isoformat(): j for j in range((end - start).days + 1)}
    # A sequential scan: the window is most of the table, and going through the date
    # index would fetch each row by a random seek (3.5x slower at 12 M rows).
    cursor = mirror.conn.execute(
        "SELECT sku, date, units, price, promo FROM daily_sales NOT INDEXED "
        "WHERE date BETWEEN ? AND ?",
        (start.isoformat(), end.isoformat()),
    )
    # In chunks, scattered into the arrays as they come: memory stays bounded by the
    # arrays, not by millions of row tuples.
    while chunk := cursor.fetchmany(100_000):
        rows = [r for r in chunk if r[0] in index]
        if not rows:
            continue
        n = len(rows)
        i = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=n)
        j = np.fromiter((columns[r[1]] for r in rows), dtype=np.int64, count=n)
        at = i * n_days + j  # flat positions: faster than 2-D fancy indexing
        flat_sales[at] = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
        row_price = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
        priced = ~np.isnan(row_price)  # a row's own price wins over the regular one
        flat_price[at[priced]] = row_price[priced]
        flat_promo[at] = np.array([bool(r[4]) for r in rows])


class _PromotionCells(NamedTuple):
    cells: np.ndarray  # flat (SKU, day) positions of the promotion days
    priced: np.ndarray  # those with an announced price, each once
    price: np.ndarray  # that price: of the later-starting promotion where two overlap


def _promotion_cells(
    mirror: Mirror,
    products: dict[str, list[ProductRow]],
    index: dict[str, int],
    column: Callable[[str], int],
    start: date,
    n_days: int,
) -> _PromotionCells:
    """The panel's promotion days and the prices they announce, as flat positions into
    (SKU, day) arrays: vectorised, as a store runs tens of thousands of promotions."""
    last = (start + timedelta(days=n_days - 1)).isoformat()
    rows = [r for r in _promotions(mirror, start.isoformat(), last) if r[0] in index]
    count = len(rows)
    owner = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=count)
    first = np.fromiter((max(0, column(r[1])) for r in rows), dtype=np.int64, count=count)
    final = np.fromiter((min(n_days - 1, column(r[2])) for r in rows), dtype=np.int64, count=count)
    value = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
    days = final - first + 1
    begins = np.cumsum(days) - days
    cells = np.repeat(owner * n_days + first, days) + np.arange(int(days.sum()))
    cells -= np.repeat(begins, days)
    price = np.repeat(value, days)
    for k in np.flatnonzero(np.isnan(value)).tolist():  # a discount off the row in force
        if rows[k][4] is not None:
            for d in range(int(days[k])):
                day = (start + timedelta(days=int(first[k]) + d)).isoformat()
                row = _in_force(products[rows[k][0]], day)
                announced = _announced_price(rows[k], row[3] if row is not None else None)
                price[begins[k] + d] = np.nan if announced is None else announced
    priced = ~np.isnan(price)
    at, price = cells[priced], price[priced]
    # Rows come by SKU and start: a promotion overlaps an earlier one of its SKU when it
    # starts before the latest end so far (a running maximum of SKU x days + end).
    reach = np.maximum.accumulate(owner * n_days + final)
    if (owner[1:] * n_days + first[1:] <= reach[:-1]).any():  # keep each day's last price
        _, newest = np.unique(at[::-1], return_index=True)
        keep = len(at) - 1 - newest
        at, price = at[keep], price[keep]
    return _PromotionCells(cells, at, price)


def _panel(
    mirror: Mirror,
    start: date,
    end: date,
    fill: Callable[..., None],
    sku_limit: int | None = None,
) -> DailyPanel:
    n_days = (end - start).days + 1
    products = _product_history(mirror)
    skus = sorted(products)[:sku_limit]
    index = {sku: i for i, sku in enumerate(skus)}
    n_sku = len(skus)
    # float32 throughout, written in place: at 30,000 SKUs x 428 days each array is 51 MB.
    listed = np.zeros((n_sku, n_days), dtype=bool)
    price = np.full((n_sku, n_days), np.nan, dtype=np.float32)  # the regular price first
    category = np.zeros(n_sku, dtype=np.int64)
    last = end.isoformat()

    @functools.cache  # dates repeat a lot: product and promotion rows share them
    def column(day: str) -> int:
        return (date.fromisoformat(day) - start).days

    for i, sku in enumerate(skus):
        rows = products[sku]
        in_force = rows[0]
        for row in rows:  # later rows overwrite from their start
            effective, status, _, regular = row
            j = max(0, column(effective))
            if j < n_days:
                listed[i, j:] = status == "active"
                price[i, j:] = regular if regular is not None else np.nan
            if effective <= last:
                in_force = row
        category[i] = category_code(in_force[2])
    # Promotions are known in advance: their price holds on their days (over the regular
    # price), unless a daily row says the day's own price (fill, below).
    promoted = _promotion_cells(mirror, products, index, column, start, n_days)
    del products  # 28 MB of row tuples at 30,000 SKUs, not needed past this point
    price.reshape(-1)[promoted.priced] = promoted.price
    sales = np.full((n_sku, n_days), np.nan, dtype=np.float32)  # NaN until a row says
    promo = np.zeros((n_sku, n_days), dtype=np.float32)
    fill(mirror, start, index, sales, price, promo)  # the daily rows, over those prices
    promo.reshape(-1)[promoted.cells] = 1.0
    flags = _calendar_flags(mirror, start, n_days)
    # Observed: listed or a row, and the store open; a listed day without a row sold 0.
    listed &= np.isnan(sales)
    sales[listed] = 0.0
    sales[:, flags["closed"]] = np.nan
    with np.errstate(invalid="ignore"):
        # NaN stays NaN; the mask reuses listed's array (13 MB at 30,000 SKUs), as does
        # one comparison instead of ~(price > 0)'s two temporaries.
        price[np.less_equal(price, 0, out=listed)] = np.nan
    del listed
    return DailyPanel(
        skus=skus,
        start=start,
        sales=sales,
        price=price,
        promo=promo,
        closed=flags["closed"],
        holiday=flags["holiday"],
        category=category,
        event=flags["event"],
    )


def hourly_panel(mirror: Mirror, start: date, end: date) -> HourlyPanel:
    """The store's transactions per day and hour, as ``hourly_panel_from_days`` builds it."""
    n_days = (end - start).days + 1
    flags = _calendar_flags(mirror, start, n_days)
    traffic = np.full((1, n_days, 24), np.nan, dtype=np.float32)
    for day, hour, transactions in mirror.conn.execute(
        "SELECT date, hour, transactions FROM store_hourly WHERE date BETWEEN ? AND ?",
        (start.isoformat(), end.isoformat()),
    ):
        j = (date.fromisoformat(day) - start).days
        if not flags["closed"][j]:
            traffic[0, j, int(hour)] = transactions
    return HourlyPanel(start=start, traffic=traffic, closed=flags["closed"],
                       holiday=flags["holiday"])  # fmt: skip
