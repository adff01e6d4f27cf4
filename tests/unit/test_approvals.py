"""Hub approvals at the store: applied like a local one, refused with a reason, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_agent import approvals, sync
from edge_agent.cycle import load_models, run_cycle
from edge_agent.policy import KindPolicy, Policy
from models import BOOTSTRAP_DIR
from storeedge.v1 import decision_pb2
from tests.helpers import SIM_END, simulated_store


def test_a_request_is_applied_once_and_a_late_one_is_refused(tmp_path):
    mirror = simulated_store(tmp_path / "s.db", seed=4, cycles=0)
    try:
        day = SIM_END + timedelta(days=1)
        mirror.clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
        run_cycle(mirror, load_models(BOOTSTRAP_DIR),
                  Policy(staffing=KindPolicy(auto_min_confidence=1.0)), day)  # fmt: skip
        target = mirror.conn.execute(
            "SELECT decision_id FROM decisions WHERE kind = 'staffing' AND state = 'pending'"
        ).fetchone()[0]
        request = decision_pb2.ApprovalRequest(
            request_id="hub:approval:1", decision_id=target, actor="ana", reason="ok",
            action=decision_pb2.APPROVAL_ACTION_OVERRIDE, quantity=3.0,
        )  # fmt: skip
        result = approvals.apply_request(mirror, request)
        assert result is not None and result.applied and result.state == "overridden"
        queued = sync.sync_status(mirror)["approval_results"]["pending"]
        # Redelivered (the hub's stream, or a crash before the ack): nothing happens again.
        assert approvals.apply_request(mirror, request) is None
        assert sync.sync_status(mirror)["approval_results"]["pending"] == queued
        # A second request for the same decision: it is decided already, so it is refused.
        again = decision_pb2.ApprovalRequest()
        again.CopyFrom(request)
        again.request_id = "hub:approval:2"
        again.action = decision_pb2.APPROVAL_ACTION_REJECT
        refused = approvals.apply_request(mirror, again)
        assert refused is not None and not refused.applied
        assert refused.state == "overridden" and refused.reason
        row = mirror.conn.execute(
            "SELECT state, quantity, actor FROM decisions WHERE decision_id = ?", (target,)
        ).fetchone()
        assert row == ("overridden", 3.0, "ana@hub")
    finally:
        mirror.close()
