"""A small hub database with decisions, people's reviews and what followed, for the report
and ROI tests: two registered stores, three ISO weeks, two categories, two model versions
of each model, orders (some approved, rejected or overridden after a wait), staffing
hours and shelf checks, and the daily outcomes that cover every order's window. Records
go through the hub's real ingest (:meth:`SqliteHubStorage.ingest`); the join runs when a
command reads the database (as `cloud-hub report` does)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from cloud_hub.registry import Registry
from cloud_hub.storage import Incoming, open_storage
from storeedge.v1 import common_pb2, decision_pb2, outcome_pb2, shelf_check_pb2

__all__ = ["FIRST_DAY", "SKUS", "STORES", "write_hub"]

S = decision_pb2
STORES = ("S001", "S002")
#: A Monday: the decisions' days fall in ISO weeks 2026-W28 .. 2026-W30.
FIRST_DAY = date(2026, 7, 6)
DECISION_DAYS = 21
#: SKU -> category.
SKUS = {f"SKU{i}": ("dairy" if i % 2 == 0 else "bakery") for i in range(6)}
_REVIEWS = (S.DECISION_STATE_APPROVED, S.DECISION_STATE_REJECTED, S.DECISION_STATE_OVERRIDDEN)


def _rid(store: str, kind: int, seq: int) -> common_pb2.RecordId:
    return common_pb2.RecordId(store_id=store, record_type=kind, sequence=seq)


def write_hub(hub_db: Path, *, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    with Registry(hub_db) as registry:
        for store in STORES:
            registry.add_store(store)
    storage = open_storage(hub_db)
    try:
        for store in STORES:
            storage.ingest(_store_records(store, rng))
    finally:
        storage.close()


def _store_records(store: str, rng: np.random.Generator) -> list[Incoming]:
    out: list[Incoming] = []
    seq = {"decision": 0, "state": 0, "shelf": 0}

    def decision(day: date, kind: int, *, sku: str, category: str, version: str,
                 state: int, **detail) -> str:  # fmt: skip
        seq["decision"] += 1
        n = seq["decision"]
        d = S.Decision(id=_rid(store, common_pb2.RECORD_TYPE_DECISION, n),
                       business_date=day.isoformat(), kind=kind, state=state, sku=sku,
                       category=category, model_version=version, model_name="m",
                       **detail)  # fmt: skip
        created = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        d.recorded_at.FromDatetime(created)
        decision_id = f"{store}:decision:{n}"
        out.append(Incoming(store, "decision", decision_id, d.SerializeToString()))
        if state == S.DECISION_STATE_PENDING and rng.random() < 0.85:  # a person answers
            seq["state"] += 1
            change = S.DecisionStateChange(
                decision_id=_rid(store, common_pb2.RECORD_TYPE_DECISION, n),
                to_state=int(rng.choice(_REVIEWS)), actor="ana")  # fmt: skip
            change.changed_at.FromDatetime(created + timedelta(minutes=float(rng.integers(5, 240))))
            out.append(Incoming(store, "decision_state", f"{decision_id}@{seq['state']}",
                                change.SerializeToString()))  # fmt: skip
        return decision_id

    def state() -> int:
        return S.DECISION_STATE_PENDING if rng.random() < 0.3 else S.DECISION_STATE_AUTO

    for offset in range(DECISION_DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        version = "v1" if offset < 10 else "v2"
        for sku, category in SKUS.items():
            mean = float(rng.uniform(2, 12))
            order = S.OrderDetail(
                order_date=day.isoformat(), protection_days=3,
                expected_delivery_date=(day + timedelta(days=1)).isoformat(),
                protection_quantile=round(mean * 1.3, 2),
                forecast_mean=round(mean, 2) if rng.random() < 0.7 else 0.0)  # fmt: skip
            decision(day, S.DECISION_KIND_ORDER, sku=sku, category=category,
                     version=f"r-{version}", state=state(), order=order)  # fmt: skip
        for hour in (10, 15):
            staffing = S.StaffingDetail(hour=hour, forecast_transactions=float(rng.uniform(20, 60)),
                                        recommended_staff=2.0, scheduled_staff=2.0)  # fmt: skip
            decision(day, S.DECISION_KIND_STAFFING, sku="", category="", version=f"l-{version}",
                     state=state(), staffing=staffing)  # fmt: skip
        sku = f"SKU{int(rng.integers(0, len(SKUS)))}"
        random_sample = bool(rng.random() < 0.3)
        check = S.ShelfCheckDetail(random_sample=random_sample, rank=0 if random_sample else 1)
        check_id = decision(day, S.DECISION_KIND_SHELF_CHECK, sku=sku, category=SKUS[sku],
                            version=f"a-{version}", state=S.DECISION_STATE_AUTO,
                            shelf_check=check)  # fmt: skip
        seq["shelf"] += 1
        status = (shelf_check_pb2.SHELF_CHECK_STATUS_MISSING if rng.random() < 0.4
                  else shelf_check_pb2.SHELF_CHECK_STATUS_FOUND)  # fmt: skip
        result = shelf_check_pb2.ShelfCheckResult(
            id=_rid(store, common_pb2.RECORD_TYPE_SHELF_CHECK, seq["shelf"]),
            decision_id=check_id, status=status, checked_by="kim")  # fmt: skip
        out.append(Incoming(store, "shelf_check", f"{store}:shelf_check:{seq['shelf']}",
                            result.SerializeToString()))  # fmt: skip
    # Outcomes over every order's window (3 days from the last decision day on).
    for offset in range(DECISION_DAYS + 3):
        day = FIRST_DAY + timedelta(days=offset)
        message = outcome_pb2.DailyOutcome(
            id=_rid(store, common_pb2.RECORD_TYPE_OUTCOME, offset + 1),
            business_date=day.isoformat(), revision=0, part=1, part_count=1)  # fmt: skip
        for sku in SKUS:
            on_hand = 0.0 if rng.random() < 0.15 else float(rng.integers(1, 40))
            message.skus.add(sku=sku, units_sold=float(rng.poisson(6)), on_hand=on_hand,
                             price=2.5, listed=True, waste=float(rng.poisson(0.5)))  # fmt: skip
        for hour in range(9, 19):
            message.hours.add(hour=hour, transactions=int(rng.poisson(40)))
        out.append(Incoming(store, "outcome", f"{store}:outcome:{offset + 1}",
                            message.SerializeToString()))  # fmt: skip
    return out
