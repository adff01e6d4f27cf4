"""Approvals taken at the hub, applied at the store.

The store is where a decision lives, so it has the last word: a hub approval
goes through the same lifecycle step as a local one (audited, with the hub
user as actor), or is refused there (expired at the supplier cutoff,
superseded, already decided) with the reason audited. Either way an
``ApprovalResult`` goes back to the hub through the outbox. Each request is
answered once: a redelivered request changes nothing.
"""

from __future__ import annotations

from datetime import UTC

from edge_agent import audit, decisions, outbox, sync
from edge_agent.errors import DecisionError
from edge_agent.mirror.db import Mirror
from storeedge.ids import record_id_text
from storeedge.v1 import audit_pb2, common_pb2, decision_pb2

__all__ = ["apply_request"]

_TARGET = {
    decision_pb2.APPROVAL_ACTION_APPROVE: "approved",
    decision_pb2.APPROVAL_ACTION_REJECT: "rejected",
    decision_pb2.APPROVAL_ACTION_OVERRIDE: "overridden",
}


def apply_request(
    mirror: Mirror, request: decision_pb2.ApprovalRequest
) -> decision_pb2.ApprovalResult | None:
    """Apply or refuse one hub approval; None when it was answered before."""
    answered_key = f"approval:{request.request_id}"
    if sync.read_state(mirror, answered_key) is not None:
        return None
    actor = f"{request.actor}@hub"
    target = _TARGET.get(request.action)
    applied, state, refusal = False, "", ""
    if target is None:
        refusal = f"action {request.action} is not approve, reject or override"
    else:
        quantity = request.quantity if target == "overridden" else None
        try:
            row = decisions.transition(
                mirror, request.decision_id, target, actor=actor, reason=request.reason,
                quantity=quantity,
            )  # fmt: skip
            state = row.state
            applied = True
        except DecisionError as exc:
            refusal = exc.message
            try:
                current = decisions.get(mirror, request.decision_id)
            except DecisionError:
                current = None
            state = current.state if current else "unknown"
            # Applied before a crash kept the answer from being recorded: answer it now.
            applied = current is not None and current.state == target and current.actor == actor
            refusal = "" if applied else refusal
    store = mirror.require_store()
    with mirror.transaction():
        if not applied:
            audit.append(
                mirror,
                audit_pb2.AUDIT_EVENT_TYPE_APPROVAL,
                actor=actor,
                subject_id=request.decision_id,
                summary=f"hub request {request.request_id} for {request.decision_id} refused: "
                f"{refusal}",
                attributes={"request_id": request.request_id, "refused": refusal},
            )
        result = decision_pb2.ApprovalResult(
            id=common_pb2.RecordId(
                store_id=store.store_id,
                record_type=common_pb2.RECORD_TYPE_APPROVAL_RESULT,
                sequence=mirror.next_sequence("approval_result"),
            ),
            request_id=request.request_id,
            decision_id=request.decision_id,
            applied=applied,
            state=state,
            reason=refusal,
        )
        result.recorded_at.FromDatetime(mirror.clock.now().astimezone(UTC))
        result_id = record_id_text(result.id)
        outbox.append(
            mirror, result_id, "approval_result", result.SerializeToString(deterministic=True)
        )
        sync.write_state(mirror, answered_key, result_id)
    return result
