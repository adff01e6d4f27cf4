"""The live-accuracy score a rollout's gate compares: decisions' forecasts against the daily
outcomes that followed, as the hub stored them (a real hub database, real ingest)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud_hub.rollouts import error_rates, live_accuracy
from cloud_hub.storage import Incoming, open_storage
from storeedge.ids import record_id_text
from storeedge.v1 import common_pb2, decision_pb2, outcome_pb2

_seq = iter(range(1, 10_000))


def _id(store: str, kind: int) -> common_pb2.RecordId:
    return common_pb2.RecordId(store_id=store, record_type=kind, sequence=next(_seq))


def staffing(store: str, day: str, hour: int, forecast: float, version: str = "v2"):
    detail = decision_pb2.StaffingDetail(hour=hour, forecast_transactions=forecast)
    return decision_pb2.Decision(
        id=_id(store, common_pb2.RECORD_TYPE_DECISION), business_date=day,
        kind=decision_pb2.DECISION_KIND_STAFFING, model_name="labor", model_version=version,
        staffing=detail)  # fmt: skip


def order(store: str, day: str, sku: str, up_to: float, days: int):
    return decision_pb2.Decision(
        id=_id(store, common_pb2.RECORD_TYPE_DECISION), business_date=day, sku=sku,
        kind=decision_pb2.DECISION_KIND_ORDER, model_name="replenishment_protection_p90",
        model_version="v2", order=decision_pb2.OrderDetail(order_date=day, order_up_to=up_to,
                                                           protection_days=days))  # fmt: skip


def outcome(store: str, day: str, *, hours=(), skus=(), revision: int = 0):
    return outcome_pb2.DailyOutcome(
        id=_id(store, common_pb2.RECORD_TYPE_OUTCOME), business_date=day, revision=revision,
        hours=[outcome_pb2.StoreHourOutcome(hour=h, transactions=t, revision=revision)
               for h, t in hours],
        skus=[outcome_pb2.SkuDayOutcome(sku=s, units_sold=u, revision=revision, listed=True)
              for s, u in skus], part=1, part_count=1)  # fmt: skip


def hub(tmp_path: Path, *messages) -> Path:
    db = tmp_path / "hub.db"
    storage = open_storage(db)
    kinds = {common_pb2.RECORD_TYPE_DECISION: "decision", common_pb2.RECORD_TYPE_OUTCOME: "outcome"}
    storage.ingest([Incoming(m.id.store_id, kinds[m.id.record_type], record_id_text(m.id),
                             m.SerializeToString()) for m in messages])  # fmt: skip
    storage.close()
    return db


def test_a_point_forecast_is_scored_by_wape_on_the_newest_revision(tmp_path):
    db = hub(tmp_path,
             staffing("S1", "2026-06-29", 9, 10.0), staffing("S1", "2026-06-29", 10, 20.0),
             staffing("S1", "2026-06-29", 11, 99.0, version="v1"),  # another version
             staffing("S1", "2026-06-30", 9, 10.0),  # its day has no outcome yet
             outcome("S1", "2026-06-29", hours=[(9, 8), (10, 25), (11, 1)]))  # fmt: skip
    score = live_accuracy(db, "labor", ["v2"], ["S1"])
    assert (score.decisions, score.days) == (2, ["2026-06-29"])
    assert score.error == pytest.approx((2 + 5) / 33)
    # A correction of the day (revision 1) replaces the hour it names.
    db = hub(tmp_path, outcome("S1", "2026-06-29", hours=[(10, 30)], revision=1))
    assert live_accuracy(db, "labor", ["v2"], ["S1"]).error == pytest.approx((2 + 10) / 38)
    # Any version but one; only some days; only other stores.
    assert live_accuracy(db, "labor", None, ["S1"], exclude="v2").error == pytest.approx(98 / 1)
    assert live_accuracy(db, "labor", ["v2"], ["S1"], days=["2026-06-28"]).decisions == 0
    assert live_accuracy(db, "labor", ["v2"], ["S2"]).decisions == 0


def test_an_order_quantile_is_scored_by_pinball_loss_once_its_protection_days_synced(tmp_path):
    db = hub(tmp_path, order("S1", "2026-06-29", "A", 12.0, days=2),
             outcome("S1", "2026-06-29", skus=[("A", 4)]))  # fmt: skip
    assert live_accuracy(db, "replenishment_protection_p90", ["v2"], ["S1"]).decisions == 0
    db = hub(tmp_path, outcome("S1", "2026-06-30", skus=[("A", 6)]))
    score = live_accuracy(db, "replenishment_protection_p90", ["v2"], ["S1"])
    # 12 against 10 sold: over by 2, weighted 1 - 0.9 -> loss 0.2; error 2 * 0.2 / 10.
    assert (score.decisions, score.actual) == (1, 10.0)
    assert score.error == pytest.approx(0.04)
    # A model whose decisions carry no forecast is not scored.
    assert live_accuracy(db, "replenishment_daily", ["v2"], ["S1"]).decisions == 0


def test_an_order_is_scored_on_the_models_p90_not_the_order_rules_level(tmp_path):
    """The order rule moves order_up_to off the P90 (a service level, a shelf-life cap):
    the gate scores the model, so it reads protection_quantile."""
    capped = order("S1", "2026-06-29", "A", 8.0, days=2)
    capped.order.protection_quantile = 12.0
    db = hub(tmp_path, capped, outcome("S1", "2026-06-29", skus=[("A", 4)]),
             outcome("S1", "2026-06-30", skus=[("A", 6)]))  # fmt: skip
    score = live_accuracy(db, "replenishment_protection_p90", ["v2"], ["S1"])
    assert score.error == pytest.approx(0.04)  # 12 vs 10 sold, as above; 8 would give 0.36


def test_an_orders_expected_demand_scores_the_protection_mean_model_at_its_own_version(
    tmp_path,
):
    """An order is the P90 model's decision, but its forecast_mean is the protection mean
    model's, at forecast_mean_version: that version is scored by WAPE on it."""
    expected = order("S1", "2026-06-29", "A", 12.0, days=2)
    expected.order.forecast_mean, expected.order.forecast_mean_version = 7.0, "m3"
    older = order("S1", "2026-06-29", "B", 5.0, days=2)  # before the model: no expectation
    db = hub(tmp_path, expected, older, outcome("S1", "2026-06-29", skus=[("A", 4), ("B", 1)]),
             outcome("S1", "2026-06-30", skus=[("A", 6), ("B", 1)]))  # fmt: skip
    score = live_accuracy(db, "replenishment_protection_mean", ["m3"], ["S1"])
    assert (score.decisions, score.actual) == (1, 10.0)
    assert score.error == pytest.approx(3 / 10)  # 7 expected, 10 sold
    assert live_accuracy(db, "replenishment_protection_mean", ["v2"], ["S1"]).decisions == 0
    # Any version but m3: none (the older order carries no expectation at all).
    assert live_accuracy(db, "replenishment_protection_mean", None, ["S1"],
                         exclude="m3").decisions == 0  # fmt: skip
    # The P90 model still scores both orders at its own version.
    assert live_accuracy(db, "replenishment_protection_p90", ["v2"], ["S1"]).decisions == 2


def test_the_days_before_a_swap_are_the_last_ones_with_scored_decisions(tmp_path):
    db = hub(tmp_path,
             *[staffing("S1", f"2026-06-2{d}", 9, 10.0, version="v1") for d in (5, 6, 7)],
             *[outcome("S1", f"2026-06-2{d}", hours=[(9, d)]) for d in (5, 6, 7)])  # fmt: skip
    score = live_accuracy(db, "labor", None, ["S1"], exclude="v2", before="2026-06-27",
                          last_days=1)  # fmt: skip
    assert score.days == ["2026-06-26"] and score.error == pytest.approx(4 / 6)


def test_the_error_rate_counts_failed_and_blocked_decisions_after_and_before_a_time(tmp_path):
    def decided(state: int):
        decision = staffing("S1", "2026-06-29", 9, 10.0)
        decision.state = state
        return decision

    ok, failed = decision_pb2.DECISION_STATE_AUTO, decision_pb2.DECISION_STATE_FAILED
    db = hub(tmp_path, decided(ok), decided(ok), decided(ok), decided(failed))
    since = datetime.now(UTC).isoformat(timespec="microseconds")
    db = hub(tmp_path, decided(decision_pb2.DECISION_STATE_BLOCKED), decided(ok))
    after, before = error_rates(db, ["S1"], since)
    assert after == {"decisions": 2, "errors": 1, "rate": 0.5}
    assert before == {"decisions": 4, "errors": 1, "rate": 0.25}
    assert error_rates(db, ["S2"], since)[0] == {"decisions": 0, "errors": 0, "rate": 0.0}


# -- what `cloud-hub rollout` refuses to start ---------------------------------------------------
async def _start(nats_server, db: Path, source, model: str, version: str):
    import nats

    from cloud_hub import rollouts

    client = await nats.connect(nats_server.url)
    try:
        return await rollouts.start(client.jetstream(), db, source, model, version, actor="t",
                                    force=True)  # fmt: skip
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("model", "message", "hint"),
    [
        ("availabilty", "model availabilty: stores do not serve it (they serve "
         "replenishment_protection_p90, replenishment_daily, labor, availability, "
         "replenishment_protection_mean)",
         "roll out one of: replenishment_protection_p90"),
        ("replenishment", "model replenishment: stores do not serve it",
         "replenishment is a family: roll out its served artifacts one by one "
         "(replenishment_daily, replenishment_protection_p90, "
         "replenishment_protection_mean)"),
        # trained and registered, but no store serves the daily P90 (the protection one does)
        ("replenishment_daily_p90", "model replenishment_daily_p90: stores do not serve it", ""),
    ],
)  # fmt: skip
async def test_a_rollout_of_a_model_stores_do_not_serve_names_the_served_ones(
    tmp_path, nats_server, model, message, hint
):
    from cloud_hub.errors import RolloutError
    from cloud_hub.rollouts import SignedFolders

    with pytest.raises(RolloutError) as caught:
        await _start(nats_server, tmp_path / "hub.db", SignedFolders([]), model, "v1")
    assert caught.value.message.startswith(message)
    assert hint in caught.value.hint


async def test_a_rollout_of_an_unknown_version_says_where_it_looked(tmp_path, nats_server):
    from cloud_hub.config import HubSettings
    from cloud_hub.errors import RolloutError
    from cloud_hub.model_registry import ModelRegistry
    from cloud_hub.rollouts import RegistrySource, SignedFolders

    settings = HubSettings(db=tmp_path / "hub.db")
    with ModelRegistry(settings.db, settings.signing_folder()) as registry:
        registry.ensure_bootstrap()
        shipped = registry.champion("labor").version
        source = RegistrySource(registry, SignedFolders([]))
        with pytest.raises(RolloutError) as caught:
            await _start(nats_server, settings.db, source, "labor", "2026.13.01-typo")
    assert caught.value.message == (
        "model labor 2026.13.01-typo: no such version: not in the object store "
        f"storeedge-models, not in the model registry (versions of labor: {shipped}); no "
        "--from folder given"
    )
    assert "cloud-hub models list" in caught.value.hint and "--from DIR" in caught.value.hint
