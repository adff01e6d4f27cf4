"""The execution seam: atomic drop files, acknowledgements, shelf-check results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_agent import audit, decisions, executor
from edge_agent.errors import DecisionError
from edge_agent.mirror import Mirror
from edge_agent.policy import Policy
from storeedge.v1 import audit_pb2, decision_pb2, shelf_check_pb2


def _propose(mirror: Mirror, kind: str, sku: str, value: float = 10.0,
             policy: Policy | None = None) -> decisions.DecisionRow:  # fmt: skip
    detail = decision_pb2.ShelfCheckDetail(random_sample=True) if kind == "shelf_check" else None
    return decisions.record(mirror, decisions.Proposal(
        kind=kind, quantity=12.0 if kind == "order" else 1.0, value=value, confidence=0.95,
        business_date="2026-03-10", sku=sku, order_date="2026-03-10" if kind == "order" else None,
        detail=detail), policy or Policy())  # fmt: skip


def test_drop_writes_one_complete_file_and_submits(mirror: Mirror, tmp_path: Path):
    auto = _propose(mirror, "order", "SKU1")
    pending = _propose(mirror, "order", "SKU2", value=900.0)
    _propose(mirror, "order", "SKU3", policy=Policy(mode="shadow"))
    result = executor.drop_submissions(mirror, tmp_path / "drop")
    assert result.submitted == [auto.decision_id]
    lines = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [(x["decision_id"], x["quantity"]) for x in lines] == [(auto.decision_id, 12.0)]
    assert [p.name for p in (tmp_path / "drop").iterdir()] == [result.path.name]  # no temp left
    assert decisions.get(mirror, auto.decision_id).state == "submitted"
    assert decisions.get(mirror, pending.decision_id).state == "pending"
    assert executor.drop_submissions(mirror, tmp_path / "drop").path is None


def test_acknowledgements_confirm_or_fail_and_repeat_safely(mirror: Mirror, tmp_path: Path):
    first, second = _propose(mirror, "order", "SKU1"), _propose(mirror, "order", "SKU2")
    executor.drop_submissions(mirror, tmp_path)
    acks = tmp_path / "acks.jsonl"
    acks.write_text(
        json.dumps({"decision_id": first.decision_id, "status": "confirmed"})
        + "\n"
        + json.dumps(
            {"decision_id": second.decision_id, "status": "failed", "reason": "supplier closed"}
        )
        + "\n"
        + json.dumps({"decision_id": "S001:decision:999", "status": "confirmed"})
        + "\n"
    )
    assert executor.acknowledge(mirror, acks) == {"confirmed": 1, "failed": 1, "skipped": 1}
    assert decisions.get(mirror, second.decision_id).reason == "supplier closed"
    assert executor.acknowledge(mirror, acks) == {"confirmed": 0, "failed": 0, "skipped": 3}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"decision_id": first.decision_id, "status": "done"}) + "\n")
    with pytest.raises(DecisionError, match="'done'"):
        executor.acknowledge(mirror, bad)
    assert audit.verify(mirror).ok


def test_a_completed_shelf_check_is_recorded_audited_and_outboxed(mirror: Mirror):
    check = _propose(mirror, "shelf_check", "SKU1")
    result_id = executor.complete_shelf_check(mirror, check.decision_id, found=False, by="ana",
                                              counted=0)  # fmt: skip
    assert result_id == "S001:shelf_check:1"
    assert decisions.get(mirror, check.decision_id).state == "confirmed"
    recorded = audit_pb2.AUDIT_EVENT_TYPE_SHELF_CHECK_RECORDED
    _, record = next(r for r in audit.iter_records(mirror) if r[1].event_type == recorded)
    assert record.shelf_check.status == shelf_check_pb2.SHELF_CHECK_STATUS_MISSING
    assert record.shelf_check.random_sample is True
    outbox = mirror.conn.execute(
        "SELECT record_type FROM outbox WHERE record_id = ?", (result_id,)
    ).fetchone()
    assert outbox == ("shelf_check",)
    with pytest.raises(DecisionError, match="is confirmed"):
        executor.complete_shelf_check(mirror, check.decision_id, found=True, by="ana")
    order = _propose(mirror, "order", "SKU2")
    with pytest.raises(DecisionError, match="not a shelf check"):
        executor.complete_shelf_check(mirror, order.decision_id, found=True, by="ana")


ERP = """\
import json, sys
taken = [json.loads(line) for line in sys.stdin]
with open(sys.argv[1], "w") as seen:
    json.dump(taken, seen)
for d in taken:
    ok = d["sku"] != "SKU2"
    print(json.dumps({"decision_id": d["decision_id"], "status": "confirmed" if ok else "failed",
                      "reason": "booked" if ok else "supplier blocked"}))
"""


def test_the_command_executor_is_chosen_by_config_and_acknowledges_at_once(
    mirror: Mirror, tmp_path: Path
):
    import sys

    from edge_agent.config import load_settings

    first, second = _propose(mirror, "order", "SKU1"), _propose(mirror, "order", "SKU2")
    script = tmp_path / "erp.py"
    script.write_text(ERP)
    seen = tmp_path / "seen.json"
    settings = load_settings(executor="command",
                             executor_command=[sys.executable, str(script), str(seen)])  # fmt: skip
    result = executor.submit(mirror, settings)
    assert result.submitted == [first.decision_id, second.decision_id]
    assert [d["decision_id"] for d in json.loads(seen.read_text())] == result.submitted
    assert decisions.get(mirror, first.decision_id).state == "confirmed"
    failed = decisions.get(mirror, second.decision_id)
    assert (failed.state, failed.reason) == ("failed", "supplier blocked")
    assert executor.submit(mirror, settings).submitted == []  # nothing executable left


def test_a_failing_command_leaves_the_decisions_executable(mirror: Mirror, tmp_path: Path):
    import sys

    from edge_agent.config import load_settings
    from edge_agent.errors import ConfigError, ExecutorError

    row = _propose(mirror, "order", "SKU1")
    settings = load_settings(executor="command", executor_command=[
        sys.executable, "-c", "import sys; sys.stderr.write('ERP down'); sys.exit(3)"])  # fmt: skip
    with pytest.raises(ExecutorError, match="exited 3: ERP down"):
        executor.submit(mirror, settings)
    assert decisions.get(mirror, row.decision_id).state == "auto"  # goes again next time
    with pytest.raises(ConfigError, match="executor_command"):
        load_settings(executor="command")
