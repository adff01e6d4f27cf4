"""Approvals taken at the hub: recorded in the hub database, sent to the store.

The store applies or refuses each one and answers with an ApprovalResult that
comes back through ingest (``approval_requests.status``: sent, applied, refused).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloud_hub.storage import SqliteHubStorage
from storeedge import subjects
from storeedge.v1 import decision_pb2

__all__ = ["ACTIONS", "send_approval"]

ACTIONS = {
    "approve": decision_pb2.APPROVAL_ACTION_APPROVE,
    "reject": decision_pb2.APPROVAL_ACTION_REJECT,
    "override": decision_pb2.APPROVAL_ACTION_OVERRIDE,
}


async def send_approval(
    nc: Any,
    storage: SqliteHubStorage,
    decision_id: str,
    action: str,
    *,
    actor: str,
    reason: str,
    quantity: float | None = None,
) -> str:
    """Record and publish one approval; returns its request id once JetStream holds it."""
    request_id = storage.new_approval(decision_id, action, actor, reason, quantity)
    request = decision_pb2.ApprovalRequest(
        request_id=request_id,
        decision_id=decision_id,
        action=ACTIONS[action],
        quantity=quantity or 0.0,
        actor=actor,
        reason=reason,
    )
    request.requested_at.FromDatetime(datetime.now(UTC))
    store_id = decision_id.split(":", 1)[0]
    await nc.jetstream().publish(
        subjects.down_subject(store_id, "approval"),
        request.SerializeToString(deterministic=True),
        headers={"Nats-Msg-Id": request_id},
    )
    return request_id
