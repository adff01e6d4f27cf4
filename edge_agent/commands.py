"""Commands from the hub, executed once each and audited.

- ``RESEND_AUDIT``: move the audit cursor back so the chain from ``from_seq`` on
  is sent again (a hub restored from an old backup gets its copy complete; what
  it already holds is absorbed by its idempotency);
- ``RUN_CYCLE``: ask the daemon's cycle loop to run the cycle for a day now.
"""

from __future__ import annotations

from edge_agent import audit, sync
from edge_agent.mirror.db import Mirror
from storeedge.v1 import audit_pb2, command_pb2

__all__ = ["CYCLE_REQUEST_KEY", "apply_command"]

CYCLE_REQUEST_KEY = "cycle.requested"


def apply_command(mirror: Mirror, command: command_pb2.StoreCommand) -> bool:
    """Execute one command (True), or nothing when it was executed before (False)."""
    done_key = f"command:{command.command_id}"
    if sync.read_state(mirror, done_key) is not None:
        return False
    kind = command_pb2.CommandKind.Name(command.kind).removeprefix("COMMAND_KIND_").lower()
    attributes = {"command_id": command.command_id, "kind": kind}
    with mirror.transaction():
        if command.kind == command_pb2.COMMAND_KIND_RESEND_AUDIT:
            cursor = int(sync.read_state(mirror, sync.AUDIT_CURSOR) or 0)
            resend_from = max(1, int(command.from_seq))
            sync.write_state(mirror, sync.AUDIT_CURSOR, str(min(cursor, resend_from - 1)))
            attributes["from_seq"] = str(resend_from)
            summary = f"hub command {command.command_id}: send the audit chain again from seq "
            summary += str(resend_from)
        elif command.kind == command_pb2.COMMAND_KIND_RUN_CYCLE:
            sync.write_state(mirror, CYCLE_REQUEST_KEY, command.business_date or "today")
            attributes["business_date"] = command.business_date or "today"
            summary = f"hub command {command.command_id}: run the decision cycle for "
            summary += command.business_date or "today"
        else:
            summary = f"hub command {command.command_id} of kind {command.kind} not understood"
            attributes["refused"] = "unknown kind"
        audit.append(
            mirror,
            audit_pb2.AUDIT_EVENT_TYPE_COMMAND_EXECUTED,
            actor=f"{command.actor}@hub",
            subject_id=command.command_id,
            summary=summary,
            attributes=attributes,
        )
        sync.write_state(mirror, done_key, mirror.clock.now().isoformat())
    return True
