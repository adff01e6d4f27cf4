"""The outcome join and its metrics on small hand-built stores whose answers are obvious.

Records go through the hub's real ingest (SqliteHubStorage on a SQLite file) and the
join's ``update``; the expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cloud_hub import outcomes
from cloud_hub.errors import HubStorageError
from cloud_hub.storage import Incoming, open_storage
from storeedge.v1 import common_pb2, decision_pb2, outcome_pb2, shelf_check_pb2

S = decision_pb2
CREATED = datetime(2026, 7, 6, 6, tzinfo=UTC)  # a Monday: ISO week 2026-W28


def _id(kind: int, seq: int, store: str = "S001") -> common_pb2.RecordId:
    return common_pb2.RecordId(store_id=store, record_type=kind, sequence=seq)


def decision(seq: int, kind: int, *, state: int = S.DECISION_STATE_AUTO, sku: str = "A",
             category: str = "dairy", version: str = "v1", day: str = "2026-07-06",
             **detail) -> Incoming:  # fmt: skip
    d = S.Decision(id=_id(common_pb2.RECORD_TYPE_DECISION, seq), business_date=day, kind=kind,
                   state=state, sku=sku, category=category, model_version=version,
                   model_name="m", **detail)  # fmt: skip
    d.recorded_at.FromDatetime(CREATED)
    return Incoming("S001", "decision", f"S001:decision:{seq}", d.SerializeToString())


def order(seq: int, *, p90: float, mean: float = 0.0, **kw) -> Incoming:
    detail = S.OrderDetail(order_date="2026-07-06", protection_days=4, protection_quantile=p90,
                           forecast_mean=mean, expected_delivery_date="2026-07-08")  # fmt: skip
    return decision(seq, S.DECISION_KIND_ORDER, order=detail, **kw)


def staffing(seq: int, *, forecast: float, recommended: float, scheduled: float, hour: int = 9,
             **kw) -> Incoming:  # fmt: skip
    detail = S.StaffingDetail(hour=hour, forecast_transactions=forecast,
                              recommended_staff=recommended, scheduled_staff=scheduled)  # fmt: skip
    return decision(seq, S.DECISION_KIND_STAFFING, staffing=detail, category="", sku="", **kw)


def shelf(seq: int, *, random_sample: bool, **kw) -> Incoming:
    detail = S.ShelfCheckDetail(random_sample=random_sample, rank=0 if random_sample else seq)
    return decision(seq, S.DECISION_KIND_SHELF_CHECK, shelf_check=detail, **kw)


def change(decision_seq: int, seq: int, to_state: int, minutes: float) -> Incoming:
    c = S.DecisionStateChange(decision_id=_id(common_pb2.RECORD_TYPE_DECISION, decision_seq),
                              to_state=to_state, actor="ana")  # fmt: skip
    c.changed_at.FromDatetime(CREATED + timedelta(minutes=minutes))
    return Incoming("S001", "decision_state", f"S001:decision:{decision_seq}@{seq}",
                    c.SerializeToString())  # fmt: skip


def result(seq: int, decision_seq: int, status: int) -> Incoming:
    r = shelf_check_pb2.ShelfCheckResult(id=_id(common_pb2.RECORD_TYPE_SHELF_CHECK, seq),
                                         decision_id=f"S001:decision:{decision_seq}",
                                         status=status, checked_by="kim")  # fmt: skip
    return Incoming("S001", "shelf_check", f"S001:shelf_check:{seq}", r.SerializeToString())


def day(seq: int, when: str, skus: dict[str, tuple[float, float]], *, revision: int = 0,
        hours: dict[int, int] | None = None, part: int = 1, parts: int = 1,
        moves: dict[str, tuple[float, float]] | None = None) -> Incoming:  # fmt: skip
    """A DailyOutcome: skus maps SKU -> (units sold, on hand at end of day); moves SKU ->
    (receipts, waste)."""
    message = outcome_pb2.DailyOutcome(
        id=_id(common_pb2.RECORD_TYPE_OUTCOME, seq), business_date=when, revision=revision,
        part=part, part_count=parts)  # fmt: skip
    for sku, (sold, on_hand) in skus.items():
        receipts, waste = (moves or {}).get(sku, (0.0, 0.0))
        message.skus.add(sku=sku, units_sold=sold, on_hand=on_hand, price=2.0, listed=True,
                         revision=revision, receipts=receipts, waste=waste)  # fmt: skip
    for hour, transactions in (hours or {}).items():
        message.hours.add(hour=hour, transactions=transactions, revision=revision)
    return Incoming("S001", "outcome", f"S001:outcome:{seq}", message.SerializeToString())


@pytest.fixture
def hub(tmp_path):
    storage = open_storage(tmp_path / "hub.db")

    def feed(*records: Incoming) -> None:
        storage.ingest(list(records))
        while outcomes.update(storage.conn).more:
            pass

    feed.conn = storage.conn  # type: ignore[attr-defined]
    yield feed
    storage.close()


def joined(hub, seq: int) -> dict:
    doc = outcomes.decision_outcome(hub.conn, f"S001:decision:{seq}")
    assert doc is not None
    return doc


def test_an_order_joins_its_window_partial_until_synced_then_follows_a_revision(hub):
    # Ordered Monday 07-06, delivery 07-08 (lead 2), protection 4 days: 07-06 .. 07-09;
    # the order covers 07-08 .. 07-09 (until the next delivery).
    hub(order(1, p90=10.0))
    doc = joined(hub, 1)
    assert (doc["status"], doc["days_synced"], doc["days_expected"]) == ("partial", 0, 4)
    hub(day(1, "2026-07-06", {"A": (3, 5)}), day(2, "2026-07-07", {"A": (3, 2)}),
        day(3, "2026-07-08", {"A": (2, 0)}))  # fmt: skip
    doc = joined(hub, 1)
    assert (doc["status"], doc["days_synced"]) == ("partial", 3)
    hub(day(4, "2026-07-09", {"A": (4, 6)}))
    o = joined(hub, 1)["order"]
    assert joined(hub, 1)["status"] == "complete"
    assert (o["coverage_start"], o["coverage_end"]) == ("2026-07-08", "2026-07-09")
    # 3 + 3 + 2 + 4 = 12 sold over the protection window: above the P90 of 10.
    assert o["protection_sales"] == 12 and o["p90_covered"] is False
    # 07-08 ended at 0 on hand: one stock-out day of two. In-stock days sold 3, 3, 4 a day
    # (10/3 on average), so the stock-out day lost 10/3 - 2 = 4/3 units, at 2.0 each.
    assert (o["coverage_days"], o["stockout_days"], o["sales_units"]) == (2, 1, 6)
    assert o["lost_units"] == pytest.approx(4 / 3) and o["lost_value"] == pytest.approx(8 / 3)
    assert (o["onhand_unit_days"], o["end_on_hand"], o["excess_units"]) == (6, 6, 0)
    # A correction of 07-09 (revision 1: 1 sold, 9 left); then the old revision redelivered
    # under another record id: the newer revision stays.
    hub(day(5, "2026-07-09", {"A": (1, 9)}, revision=1))
    hub(day(6, "2026-07-09", {"A": (4, 6)}, revision=0))
    o = joined(hub, 1)["order"]
    assert o["protection_sales"] == 9 and o["p90_covered"] is True
    assert o["lost_units"] == pytest.approx(7 / 3 - 2)
    assert (o["sales_units"], o["end_on_hand"], o["excess_units"]) == (3, 9, 6)
    # Joining again from scratch gives the same rows (idempotent re-ingest).
    before = {k: v for k, v in joined(hub, 1).items() if k != "updated_at"}
    hub.conn.execute("INSERT INTO outcome_queue SELECT record_id FROM records")
    hub()
    assert {k: v for k, v in joined(hub, 1).items() if k != "updated_at"} == before


def test_receipts_and_waste_reach_the_order_and_every_figure_its_api_message(hub):
    from cloud_hub.api import _outcome_message
    from storeedge.hub.v1 import hub_pb2

    hub(order(1, p90=10.0))
    moves = {7: (0.0, 7.0), 8: (12.0, 1.0), 9: (0.0, 2.5)}  # day of July -> receipts, waste
    hub(*(day(n, f"2026-07-0{n}", {"A": (2, 4)}, moves={"A": moves.get(n, (0.0, 0.0))})
          for n in (6, 7, 8, 9)))  # fmt: skip
    doc = joined(hub, 1)
    o = doc["order"]
    # Delivery on 07-08 brought 12; waste over the coverage (07-08 .. 07-09): 1 + 2.5. The
    # 7 written off on 07-07 fall before the delivery, outside the coverage.
    assert doc["status"] == "complete" and (o["received_units"], o["waste_units"]) == (12, 3.5)
    # The API's message carries every figure of the join but the window's own, which the
    # DecisionOutcome around it has.
    api = _outcome_message(doc).order
    on_decision = {"complete", "window_start", "window_end", "days_expected", "days_synced"}
    names = set(hub_pb2.OrderOutcome.DESCRIPTOR.fields_by_name)
    assert set(o) - on_decision <= names, set(o) - on_decision - names
    for name in set(o) - on_decision:
        if o[name] is not None:
            assert getattr(api, name) == pytest.approx(o[name]), name
    (row,) = outcomes.metrics(hub.conn, store_id="S001")
    assert row["waste_units"] == 3.5


def test_a_hub_database_from_before_waste_was_summed_gains_it(hub):
    hub(order(1, p90=10.0))
    # What an earlier release left: the join's tables without the waste column.
    hub(day(1, "2026-07-06", {"A": (2, 4)}))
    for table in ("outcome_joins", "outcome_metrics"):
        hub.conn.execute(f"ALTER TABLE {table} DROP COLUMN waste_units")
    (row,) = outcomes.metrics(hub.conn, store_id="S001")  # readable as it is
    assert row["waste_units"] == 0 and row["decisions"] == 1
    hub(*(day(n, f"2026-07-0{n}", {"A": (2, 4)}, moves={"A": (0.0, 1.5)}) for n in (7, 8, 9)))
    (row,) = outcomes.metrics(hub.conn, store_id="S001")
    assert row["waste_units"] == 3.0 and row["order_windows"] == 1  # 07-08 and 07-09


def test_a_day_in_two_parts_is_synced_only_once_both_arrived(hub):
    hub(order(1, p90=10.0))
    hub(*(day(i + 1, f"2026-07-0{6 + i}", {"A": (1, 5)}) for i in range(3)))
    hub(day(4, "2026-07-09", {"A": (1, 5)}, part=1, parts=2))
    assert joined(hub, 1)["status"] == "partial"
    hub(day(5, "2026-07-09", {"B": (1, 5)}, part=2, parts=2))
    assert joined(hub, 1)["status"] == "complete"


def test_staffing_gap_hours_and_forecast_accuracy(hub):
    # Hour 9: forecast 10 transactions, recommended 2 staff (auto: executed), 1 scheduled;
    # 20 came: 1 person needed -> 1 hour over. Hour 10: forecast 30, recommended 1 but
    # rejected, so the 1 scheduled worked; 50 came: 3 needed -> 2 hours under.
    hub(staffing(1, forecast=10, recommended=2, scheduled=1, hour=9),
        staffing(2, forecast=30, recommended=1, scheduled=1, hour=10,
                 state=S.DECISION_STATE_PENDING),
        change(2, 7, S.DECISION_STATE_REJECTED, minutes=30))  # fmt: skip
    assert joined(hub, 1)["status"] == "partial"
    hub(day(1, "2026-07-06", {}, hours={9: 20, 10: 50}))
    s1, s2 = joined(hub, 1)["staffing"], joined(hub, 2)["staffing"]
    assert (s1["staffed"], s1["needed"], s1["over_hours"], s1["under_hours"]) == (2, 1, 1, 0)
    assert (s2["staffed"], s2["needed"], s2["over_hours"], s2["under_hours"]) == (1, 3, 0, 2)
    assert s1["transactions_per_staff_hour"] == 10
    (row,) = outcomes.metrics(hub.conn)
    # |10 - 20| + |30 - 50| = 30 over 70 actual; bias (-10 - 20) / 70.
    assert row["forecasts"] == 2
    assert row["wape"] == pytest.approx(30 / 70) and row["bias"] == pytest.approx(-30 / 70)
    assert (row["over_hours"], row["under_hours"]) == (1, 2)
    assert (row["auto"], row["rejected"], row["share_rejected"]) == (1, 1, 0.5)
    assert row["review_seconds_mean"] == 1800 and row["reviewed"] == 1


def test_shelf_check_hit_rates_ranked_and_random_apart(hub):
    hub(*(shelf(i, random_sample=i > 4) for i in range(1, 8)))
    # Ranked 1-4: missing, missing, found, not checked. Random 5-7: found, missing, (none).
    found, missing = (
        shelf_check_pb2.SHELF_CHECK_STATUS_FOUND,
        shelf_check_pb2.SHELF_CHECK_STATUS_MISSING,
    )
    statuses = [missing, missing, found, shelf_check_pb2.SHELF_CHECK_STATUS_NOT_CHECKED, found,
                missing]  # fmt: skip
    hub(*(result(i, i, status) for i, status in enumerate(statuses, start=1)))
    assert joined(hub, 3)["shelf_check"]["status"] == "found"
    assert joined(hub, 7)["status"] == "partial"
    (row,) = outcomes.metrics(hub.conn)
    assert (row["checks_ranked"], row["missing_ranked"]) == (3, 2)
    assert row["hit_rate_ranked"] == pytest.approx(2 / 3)
    assert (row["checks_random"], row["hit_rate_random"], row["not_checked"]) == (2, 0.5, 1)
    assert (row["decisions"], row["joins_complete"], row["joins_partial"]) == (7, 6, 1)


def test_inventory_metrics_add_up_over_orders_and_groups_apart(hub):
    # Two orders of SKU A and B, same group; a third in another category.
    hub(order(1, p90=10.0, sku="A"), order(2, p90=1.0, sku="B", mean=2.0),
        order(3, p90=5.0, sku="C", category="bakery"))  # fmt: skip
    days = {"2026-07-06": {"A": (2, 8), "B": (0, 4), "C": (1, 1)},
            "2026-07-07": {"A": (2, 6), "B": (0, 4), "C": (1, 0)},
            "2026-07-08": {"A": (2, 4), "B": (0, 4), "C": (0, 0)},
            "2026-07-09": {"A": (2, 2), "B": (0, 4), "C": (0, 0)}}  # fmt: skip
    hub(*(day(i, when, skus) for i, (when, skus) in enumerate(days.items(), start=1)))
    bakery, dairy = outcomes.metrics(hub.conn)
    assert (dairy["category"], bakery["category"]) == ("dairy", "bakery")
    # Dairy coverage 07-08..09: A sold 4 with on hand 4 + 2 = 6 unit-days; B sold 0 with
    # 8 unit-days. Turns 365 x 4 / 14; days of supply 14 / 4. No stock-out.
    assert (dairy["sales_units"], dairy["onhand_unit_days"], dairy["sku_days"]) == (4, 14, 4)
    assert dairy["inventory_turns"] == pytest.approx(365 * 4 / 14)
    assert dairy["days_of_supply"] == pytest.approx(3.5)
    assert (dairy["stockout_days"], dairy["stockout_rate"]) == (0, 0.0)
    # B sold nothing in 4 days with 4 on hand: aged; left 4 beyond 0 sold: excess 4.
    # A ends at 2 with 4 sold over the coverage: no excess.
    assert (dairy["aged_units"], dairy["excess_units"]) == (4, 4)
    # P90: A sold 8 > 10? no, 8 <= 10 covered; B sold 0 <= 1 covered. Only B has a mean: 2
    # forecast vs 0 sold: no actual to divide by, so WAPE is undefined (None), not 0.
    assert (dairy["p90_forecasts"], dairy["p90_coverage"]) == (2, 1.0)
    assert dairy["forecasts"] == 1 and dairy["wape"] is None
    # Bakery: C at 0 on hand both coverage days: 2 stock-out days of 2; sold 2 on its one
    # in-stock day (07-06: 1 sold... 07-07 ended at 0, so only 07-06 was in stock: 1/day).
    assert (bakery["stockout_days"], bakery["stockout_rate"]) == (2, 1.0)
    assert bakery["lost_units"] == pytest.approx(2.0)
    assert bakery["inventory_turns"] is None  # nothing on hand, nothing sold in coverage
    assert outcomes.metrics(hub.conn, category="bakery") == [bakery]
    assert outcomes.metrics(hub.conn, week_from="2026-W29") == []
    with pytest.raises(HubStorageError, match="week_from"):
        outcomes.metrics(hub.conn, week_from="2026-28")


def test_review_path_names_how_a_decision_was_handled():
    assert outcomes.review_path(S.DECISION_STATE_AUTO, [S.DECISION_STATE_SUBMITTED]) == "auto"
    approved = [S.DECISION_STATE_APPROVED, S.DECISION_STATE_SUBMITTED]
    assert outcomes.review_path(S.DECISION_STATE_PENDING, approved) == "approved"
    assert outcomes.review_path(S.DECISION_STATE_PENDING, [S.DECISION_STATE_OVERRIDDEN]) == (
        "overridden"
    )
    assert outcomes.review_path(S.DECISION_STATE_PENDING, [S.DECISION_STATE_EXPIRED]) == "other"


def test_order_outcome_counts_closed_days_out_of_the_coverage():
    facts = {date(2026, 7, d): outcomes.SkuDay(units_sold=1, on_hand=0) for d in (6, 7, 8)}
    synced = {date(2026, 7, 6): False, date(2026, 7, 7): False, date(2026, 7, 8): True}
    out = outcomes.order_outcome(date(2026, 7, 6), 1, 3, 5.0, 0.0, synced, facts)
    # Coverage 07-07 .. 07-08; the store was closed on 07-08: one open day, a stock-out.
    assert (out["coverage_days"], out["stockout_days"], out["complete"]) == (1, 1, True)


def test_unreadable_records_are_skipped_and_the_rest_still_joins(hub):
    no_decision = S.DecisionStateChange(to_state=S.DECISION_STATE_APPROVED)  # empty id
    bad = Incoming("S001", "decision_state", "S001:decision:9@3", no_decision.SerializeToString())
    garbage = Incoming("S001", "outcome", "S001:outcome:9", b"\xff\xff not a message")
    hub(bad, garbage, order(1, p90=3.0, day="2026-13-40"), order(2, p90=3.0))
    assert outcomes.decision_outcome(hub.conn, "S001:decision:1") is None
    assert joined(hub, 2)["status"] == "partial"
    queued = hub.conn.execute(
        "SELECT (SELECT COUNT(*) FROM outcome_queue) + (SELECT COUNT(*) FROM outcome_dirty) "
        "+ (SELECT COUNT(*) FROM outcome_dirty_groups)"
    ).fetchone()[0]
    assert queued == 0


def test_on_hand_the_store_did_not_know_is_neither_stock_nor_a_stock_out(hub):
    hub(order(1, p90=10.0))
    nan = float("nan")
    hub(day(1, "2026-07-06", {"A": (1, 3)}), day(2, "2026-07-07", {"A": (1, 2)}),
        day(3, "2026-07-08", {"A": (1, nan)}), day(4, "2026-07-09", {"A": (1, 4)}))  # fmt: skip
    o = joined(hub, 1)["order"]
    # Coverage 07-08 .. 07-09: only 07-09's on-hand (4) is known.
    assert (o["stockout_days"], o["onhand_unit_days"], o["end_on_hand"]) == (0, 4, 4)
    assert o["sales_units"] == 2
