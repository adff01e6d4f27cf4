"""What the hub sends a store: approvals and commands.

Approvals are recorded in the hub database and sent; the store applies or
refuses each one and answers with an ApprovalResult that comes back through
ingest (``approval_requests.status``: sent, applied, refused). Commands are
executed once and audited by the store; the audit record comes back with the
chain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from cloud_hub.storage import SqliteHubStorage
from storeedge import subjects
from storeedge.v1 import command_pb2, decision_pb2

__all__ = ["ACTIONS", "send_approval", "send_command"]

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


async def send_command(nc: Any, store_id: str, command: command_pb2.StoreCommand) -> str:
    """Publish one command to a store; returns its id once JetStream holds it."""
    if not command.command_id:
        command.command_id = f"hub:command:{uuid.uuid4().hex[:12]}"
    command.issued_at.FromDatetime(datetime.now(UTC))
    await nc.jetstream().publish(
        subjects.down_subject(store_id, "command"),
        command.SerializeToString(deterministic=True),
        headers={"Nats-Msg-Id": command.command_id},
    )
    return command.command_id
