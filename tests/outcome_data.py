"""Synthetic daily outcomes written into a hub database through its ingest path
(:meth:`SqliteHubStorage.ingest`, the same call `cloud-hub serve` makes per batch), fast
enough for the retraining benchmark (10 stores x 5,000 SKUs x 730 days)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from cloud_hub.storage import Incoming, open_storage
from models.panels import SkuDay, StoreDay, outcome_from_day

__all__ = ["write_outcomes"]


def write_outcomes(
    hub_db: Path,
    *,
    stores: int,
    skus: int,
    days: int,
    seed: int = 1,
    end: date = date(2026, 6, 28),
    categories: int = 8,
) -> None:
    """Per store and day a DailyOutcome (one part): negative-binomial-ish demand around a
    per-SKU base with a weekly profile, promotions lifting sales, hourly traffic."""
    rng = np.random.default_rng(seed)
    storage = open_storage(hub_db)
    first = end - timedelta(days=days - 1)
    weekly = np.array([0.8, 0.85, 0.9, 1.0, 1.2, 1.45, 0.8])
    profile = np.zeros(24)
    profile[8:21] = np.array([2, 4, 6, 7, 9, 8, 6, 6, 7, 9, 10, 7, 4])
    try:
        for s in range(stores):
            store_id = f"S{s + 1:03d}"
            base = rng.gamma(0.8, 2.5, skus) * (0.6 + 0.8 * rng.random())
            price = np.round(rng.uniform(0.5, 12.0, skus), 2)
            template = outcome_from_day(
                store_id,
                StoreDay(
                    first,
                    False,
                    "",
                    "",
                    [
                        SkuDay(
                            f"SKU{i:05d}",
                            f"cat{i % categories}",
                            True,
                            0.0,
                            0.0,
                            float(price[i]),
                            False,
                            5.0,
                        )
                        for i in range(skus)
                    ],
                    {},
                ),
            )
            batch = []
            for d in range(days):
                day = first + timedelta(days=d)
                promo = rng.random(skus) < 0.05
                mean = base * weekly[day.weekday()] * np.where(promo, 1.8, 1.0)
                units = rng.poisson(rng.gamma(4.0, mean / 4.0)).astype(float)
                message = template
                message.business_date = day.isoformat()
                message.revision = 1
                message.id.sequence = d + 1
                for row, u, p in zip(message.skus, units.tolist(), promo.tolist(), strict=True):
                    row.units_sold = u
                    row.promo = p
                del message.hours[:]
                level = units.sum() / 3.0
                for hour in range(8, 21):
                    message.hours.add(
                        hour=hour, transactions=int(rng.poisson(level * profile[hour] / 85.0))
                    )
                batch.append(
                    Incoming(
                        store_id,
                        "outcome",
                        f"{store_id}:outcome:{d + 1}",
                        message.SerializeToString(deterministic=True),
                    )
                )
                if len(batch) == 50:
                    storage.ingest(batch)
                    batch = []
            if batch:
                storage.ingest(batch)
    finally:
        storage.close()
