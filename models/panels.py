"""Store-day facts and the panels built from them, shared by edge and hub.

A :class:`StoreDay` holds what one store knows about one business day: per SKU
units sold, returns, price, promotion, listing, end-of-day stock and the day's stock
movements (receipts, waste, other adjustments); the calendar; hourly traffic. The
features read the sales side only; the hub's outcome joins read the stock side.
The edge reads store-days from its mirror; the hub decodes them from the
DailyOutcome messages the stores synced (:func:`day_from_outcome`, the inverse
of :func:`outcome_from_day`). Both build panels with :func:`panel_from_days`,
so the hub trains on the very arrays the edge computes its features from.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import numpy as np

from models.features import DailyPanel, HourlyPanel
from storeedge.v1 import outcome_pb2

__all__ = [
    "SkuDay",
    "StoreDay",
    "category_code",
    "day_from_outcome",
    "hourly_panel_from_days",
    "outcome_from_day",
    "panel_from_days",
]


def category_code(category: str) -> int:
    """A stable small integer per category name, the same at every store and at the hub."""
    return zlib.crc32(category.encode()) % 997


@dataclass
class SkuDay:
    sku: str
    category: str
    listed: bool
    units: float
    returns: float
    price: float
    promo: bool
    on_hand: float
    #: Units received from suppliers (the day's deliveries).
    receipts: float = 0.0
    #: Units written off as waste or damage (positive: units gone).
    waste: float = 0.0
    #: Other stock adjustments (counts, theft, returns to stock, other), signed.
    adjustments: float = 0.0


@dataclass
class StoreDay:
    day: date
    closed: bool
    holiday: str
    event: str
    skus: list[SkuDay]
    hours: dict[int, int]


def outcome_from_day(store_id: str, facts: StoreDay) -> outcome_pb2.DailyOutcome:
    """The DailyOutcome message of one store-day (id sequence and timestamps are the
    outbox's to set)."""
    message = outcome_pb2.DailyOutcome(
        business_date=facts.day.isoformat(),
        store_closed=facts.closed,
        holiday=facts.holiday,
        event=facts.event,
        part=1,
        part_count=1,
    )
    message.id.store_id = store_id
    for sku in facts.skus:
        message.skus.add(
            sku=sku.sku,
            category=sku.category,
            listed=sku.listed,
            units_sold=sku.units,
            returns=sku.returns,
            price=sku.price,
            promo=sku.promo,
            on_hand=sku.on_hand,
            receipts=sku.receipts,
            waste=sku.waste,
            adjustments=sku.adjustments,
        )
    for hour, transactions in sorted(facts.hours.items()):
        message.hours.add(hour=hour, transactions=transactions)
    return message


def day_from_outcome(message: outcome_pb2.DailyOutcome) -> StoreDay:
    """The store-day a DailyOutcome carries (the hub's side of :func:`outcome_from_day`)."""
    return StoreDay(
        day=date.fromisoformat(message.business_date),
        closed=message.store_closed,
        holiday=message.holiday,
        event=message.event,
        skus=[
            SkuDay(
                sku=s.sku,
                category=s.category,
                listed=s.listed,
                units=s.units_sold,
                returns=s.returns,
                price=s.price,
                promo=s.promo,
                on_hand=s.on_hand,
                receipts=s.receipts,
                waste=s.waste,
                adjustments=s.adjustments,
            )
            for s in message.skus
        ],
        hours={h.hour: h.transactions for h in message.hours},
    )


def panel_from_days(days: list[StoreDay]) -> DailyPanel:
    """A DailyPanel over consecutive store-days: NaN sales on closed days and for SKUs not
    listed; prices of 0 (unknown) are NaN."""
    if not days:
        raise ValueError("a panel needs at least one day")
    for previous, current in pairwise(days):
        if (current.day - previous.day).days != 1:
            raise ValueError(f"store-days must be consecutive: {previous.day} then {current.day}")
    skus = sorted({s.sku for d in days for s in d.skus})
    index = {sku: i for i, sku in enumerate(skus)}
    n_sku, n_days = len(skus), len(days)
    sales = np.full((n_sku, n_days), np.nan, dtype=np.float32)
    price = np.full((n_sku, n_days), np.nan, dtype=np.float32)
    promo = np.zeros((n_sku, n_days), dtype=np.float32)
    category = np.zeros(n_sku, dtype=np.int64)
    for j, facts in enumerate(days):
        for s in facts.skus:
            i = index[s.sku]
            category[i] = category_code(s.category)
            price[i, j] = s.price if s.price > 0 and math.isfinite(s.price) else np.nan
            promo[i, j] = float(s.promo)
            if s.listed and not facts.closed:
                sales[i, j] = s.units
    return DailyPanel(
        skus=skus,
        start=days[0].day,
        sales=sales,
        price=price,
        promo=promo,
        closed=np.array([d.closed for d in days]),
        holiday=np.array([bool(d.holiday) for d in days]),
        category=category,
        event=np.array([bool(d.event) for d in days]),
    )


def hourly_panel_from_days(days: list[StoreDay]) -> HourlyPanel:
    """One store's transactions per day and hour (NaN for hours without a record and on
    closed days)."""
    traffic = np.full((1, len(days), 24), np.nan, dtype=np.float32)
    for j, facts in enumerate(days):
        if facts.closed:
            continue
        for hour, transactions in facts.hours.items():
            traffic[0, j, hour] = transactions
    return HourlyPanel(
        start=days[0].day,
        traffic=traffic,
        closed=np.array([d.closed for d in days]),
        holiday=np.array([bool(d.holiday) for d in days]),
    )
