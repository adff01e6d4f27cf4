"""The decision lifecycle: one transaction per step, audited, outboxed, never twice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from edge_agent import audit, decisions
from edge_agent import outbox as outbox_queue
from edge_agent.errors import DecisionError, UnknownDecisionError
from edge_agent.mirror import Mirror
from edge_agent.policy import Policy
from storeedge.v1 import audit_pb2, decision_pb2

POLICY = Policy()


def order(sku="SKU1", qty=24.0, value=120.0, confidence=0.9, hours=3) -> decisions.Proposal:
    return decisions.Proposal(
        kind="order", quantity=qty, value=value, confidence=confidence,
        business_date="2026-03-10", sku=sku, category="dairy", order_date="2026-03-10",
        model_name="replenishment_protection_p90", model_version="bootstrap-2016.03.27",
        expires_at=datetime(2026, 3, 10, 12, tzinfo=UTC) + timedelta(hours=hours),
        detail=decision_pb2.OrderDetail(order_up_to=60, on_hand=30, case_pack=12),
        inputs={"on_hand": "30"},
    )  # fmt: skip


def outbox(mirror: Mirror) -> list[tuple[str, str]]:
    return mirror.conn.execute("SELECT record_id, record_type FROM outbox ORDER BY seq").fetchall()


def test_an_auto_order_is_recorded_with_its_audit_record_and_outbox_row(mirror: Mirror):
    row = decisions.record(mirror, order(), POLICY)
    assert (row.decision_id, row.state, row.policy_outcome) == ("S001:decision:1", "auto", "auto")
    assert row.policy_hash == POLICY.hash and "confidence 0.90" in row.rule
    _, record = list(audit.iter_records(mirror))[-1]
    assert record.event_type == audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED
    assert record.decision.order.order_up_to == 60
    assert record.attributes["on_hand"] == "30"
    assert outbox(mirror) == [("S001:decision:1", "decision")]
    assert audit.verify(mirror).ok


def test_recording_the_same_order_again_never_orders_twice(mirror: Mirror):
    first = decisions.record(mirror, order(), POLICY)
    again = decisions.record(mirror, order(qty=36), POLICY)
    assert again.decision_id == first.decision_id and again.quantity == 24
    assert len(decisions.list_decisions(mirror, kind="order")) == 1
    conn = sqlite3.connect(mirror.path)  # and the database itself refuses a second live order
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO decisions SELECT 'X', 99, kind, state, business_date, created_at, "
            "updated_at, sku, category, order_date, hour, quantity, value, confidence, "
            "model_name, model_version, rule, policy_hash, policy_outcome, shadow, expires_at, "
            "supersedes_id, actor, reason, payload FROM decisions"
        )


def test_a_newer_proposal_supersedes_a_pending_one(mirror: Mirror):
    old = decisions.record(mirror, order(value=900.0), POLICY)
    assert old.state == "pending"
    new = decisions.record(mirror, order(value=950.0), POLICY)
    assert new.supersedes_id == old.decision_id
    assert decisions.get(mirror, old.decision_id).state == "superseded"
    with pytest.raises(DecisionError, match=r"was superseded.*cannot be approved") as caught:
        decisions.transition(mirror, old.decision_id, "approved", actor="ana", reason="ok")
    assert "approve the newest decision" in caught.value.hint


def test_approval_after_the_cutoff_expires_the_decision(mirror: Mirror, clock):
    pending = decisions.record(mirror, order(value=900.0, hours=1), POLICY)
    clock.advance(timedelta(hours=2))
    with pytest.raises(DecisionError, match="expired at"):
        decisions.transition(mirror, pending.decision_id, "approved", actor="ana", reason="ok")
    assert decisions.get(mirror, pending.decision_id).state == "expired"
    assert audit.verify(mirror).ok


def test_lifecycle_approve_submit_confirm_is_audited_step_by_step(mirror: Mirror):
    pending = decisions.record(mirror, order(value=900.0), POLICY)
    decisions.transition(mirror, pending.decision_id, "approved", actor="ana", reason="promo")
    decisions.transition(
        mirror, pending.decision_id, "submitted", actor="executor", reason="file drop"
    )
    done = decisions.transition(mirror, pending.decision_id, "confirmed", actor="erp", reason="ack")
    assert (done.state, done.actor, done.reason) == ("confirmed", "erp", "ack")
    events = [r.event_type for _, r in audit.iter_records(mirror)][-3:]
    assert events == [
        audit_pb2.AUDIT_EVENT_TYPE_APPROVAL,
        audit_pb2.AUDIT_EVENT_TYPE_DECISION_STATE_CHANGED,
        audit_pb2.AUDIT_EVENT_TYPE_EXECUTION_RESULT,
    ]
    assert [t for _, t in outbox(mirror)] == ["decision"] + ["decision_state"] * 3
    with pytest.raises(DecisionError, match="is confirmed; it cannot become approved"):
        decisions.transition(mirror, pending.decision_id, "approved", actor="ana", reason="x")


def test_override_changes_the_quantity_and_needs_one(mirror: Mirror):
    pending = decisions.record(mirror, order(value=900.0), POLICY)
    with pytest.raises(DecisionError, match="needs the quantity"):
        decisions.transition(mirror, pending.decision_id, "overridden", actor="ana", reason="x")
    row = decisions.transition(
        mirror, pending.decision_id, "overridden", actor="ana", reason="shelf is small", quantity=12
    )
    assert (row.state, row.quantity) == ("overridden", 12)
    _, record = list(audit.iter_records(mirror))[-1]
    assert record.event_type == audit_pb2.AUDIT_EVENT_TYPE_OVERRIDE
    assert record.attributes["quantity"] == "12"


def test_blocked_and_shadow_decisions(mirror: Mirror):
    blocked = decisions.record(mirror, order(sku="SKU2", value=9999.0), POLICY)
    assert blocked.state == "blocked" and "max_value" in blocked.rule
    with pytest.raises(DecisionError, match="nothing \\(final\\)"):
        decisions.transition(mirror, blocked.decision_id, "submitted", actor="x", reason="y")
    shadow = decisions.record(mirror, order(sku="SKU3"), Policy(mode="shadow"))
    assert shadow.shadow and shadow.state == "auto"


def test_expire_due_and_unknown_ids(mirror: Mirror, clock):
    pending = decisions.record(mirror, order(value=900.0, hours=1), POLICY)
    assert decisions.expire_due(mirror) == []
    clock.advance(timedelta(hours=1))
    expired = decisions.expire_due(mirror)
    assert [d.decision_id for d in expired] == [pending.decision_id]
    with pytest.raises(UnknownDecisionError, match="no decision 'S001:decision:99'"):
        decisions.get(mirror, "S001:decision:99")
    with pytest.raises(DecisionError, match=r"who .*and why"):
        decisions.transition(mirror, pending.decision_id, "approved", actor=" ", reason="")


def test_a_failed_step_writes_nothing(mirror: Mirror, monkeypatch):
    pending = decisions.record(mirror, order(value=900.0), POLICY)
    length, head = audit.chain_head(mirror)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(outbox_queue, "append", broken)
    with pytest.raises(sqlite3.OperationalError):
        decisions.transition(mirror, pending.decision_id, "approved", actor="ana", reason="ok")
    assert decisions.get(mirror, pending.decision_id).state == "pending"
    assert audit.chain_head(mirror) == (length, head)


def test_the_same_pending_proposal_again_changes_nothing(mirror: Mirror):
    first = decisions.record(mirror, order(value=900.0), POLICY)
    length = audit.chain_head(mirror)[0]
    again = decisions.record(mirror, order(value=900.0), POLICY)
    assert again.decision_id == first.decision_id and again.state == "pending"
    assert audit.chain_head(mirror)[0] == length
