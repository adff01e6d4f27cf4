"""The execution seam: hand decided work to the systems that carry it out.

The default executor drops files: every decision that may be executed (auto,
approved or overridden, not in shadow mode) is written to a JSONL file in the
drop folder, one line per decision keyed by its id, with temp file + fsync +
rename so a consumer (an ERP import, a task app) never sees half a file. The
decisions then move to ``submitted``. If the agent dies between the rename and
the commit, the next drop writes the same decisions again: consumers import
idempotently by ``decision_id`` (documented in docs/POLICY.md).

Acknowledgements come back as JSONL files (``{"decision_id": ..., "status":
"confirmed" | "failed", "reason": ...}``) and move decisions to confirmed or
failed. Shelf checks are tasks: completing one (found / missing) confirms it and
records a ShelfCheckResult, audited and outboxed for the hub.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from edge_agent import audit, decisions, outbox
from edge_agent.errors import DecisionError, ExecutorError
from edge_agent.mirror.db import Mirror
from storeedge import failpoints
from storeedge.ids import record_id_text
from storeedge.v1 import audit_pb2, common_pb2, shelf_check_pb2

__all__ = [
    "DropResult",
    "acknowledge",
    "complete_shelf_check",
    "drop_submissions",
    "run_command",
    "submit",
]

_EXECUTABLE = ("auto", "approved", "overridden")


@dataclass(frozen=True)
class DropResult:
    path: Path | None
    submitted: list[str]


def _atomic_write(path: Path, lines: list[str]) -> None:
    """Write a whole file or nothing: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _line(row: decisions.DecisionRow) -> str:
    document: dict[str, Any] = {
        "decision_id": row.decision_id,
        "kind": row.kind,
        "business_date": row.business_date,
        "sku": row.sku,
        "order_date": row.order_date,
        "hour": row.hour,
        "quantity": row.quantity,
        "value": row.value,
        "state": row.state,
        "approved_by": row.actor if row.state in ("approved", "overridden") else None,
    }
    return json.dumps({k: v for k, v in document.items() if v is not None}, sort_keys=True)


def _executable(mirror: Mirror) -> list[decisions.DecisionRow]:
    rows = [
        r
        for state in _EXECUTABLE
        for r in decisions.list_decisions(mirror, state=state, limit=1_000_000)
        if not r.shadow
    ]
    rows.sort(key=lambda r: r.seq)
    return rows


def submit(mirror: Mirror, settings: Any) -> DropResult:
    """Hand executable decisions to the executor the settings choose."""
    if settings.executor == "command":
        return run_command(mirror, settings.executor_command, timeout_s=settings.executor_timeout_s)
    if settings.drop_dir is None:
        raise ExecutorError(
            "no drop folder given", hint="pass --drop DIR or set drop_dir in the config"
        )
    return drop_submissions(mirror, settings.drop_dir)


def drop_submissions(mirror: Mirror, folder: Path) -> DropResult:
    """Write every executable decision to one drop file, then mark them submitted."""
    rows = _executable(mirror)
    if not rows:
        return DropResult(None, [])
    stamp = mirror.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"decisions-{stamp}-{rows[0].seq}-{rows[-1].seq}.jsonl"
    _atomic_write(path, [_line(r) for r in rows])
    failpoints.hit("submit.after_rename")
    with mirror.transaction():
        for row in rows:
            decisions.step(mirror, row, "submitted", actor="executor:file-drop",
                           reason=f"written to {path.name}")  # fmt: skip
    return DropResult(path, [r.decision_id for r in rows])


def run_command(mirror: Mirror, command: list[str], *, timeout_s: float = 120.0) -> DropResult:
    """The command executor: the decisions as JSONL on the program's stdin; its stdout,
    JSONL acknowledgements, applied at once.

    The decisions become ``submitted`` only once the program exited 0, in one
    transaction with its acknowledgements; a failure leaves them executable, and
    the next submission sends them again (programs import by ``decision_id``).
    """
    rows = _executable(mirror)
    if not rows:
        return DropResult(None, [])
    name = Path(command[0]).name
    try:
        done = subprocess.run(
            command,
            input="".join(_line(r) + "\n" for r in rows),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExecutorError(
            f"executor command {name} did not run: {exc}",
            hint="check executor_command; the decisions stay executable and go next time",
        ) from None
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ExecutorError(
            f"executor command {name} exited {done.returncode}: {tail}",
            hint="the decisions stay executable and go next time",
        )
    try:
        entries = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    except ValueError as exc:
        raise ExecutorError(
            f"executor command {name} printed something that is not JSONL: {exc}",
            hint="print one acknowledgement per line: "
            '{"decision_id": ..., "status": "confirmed" | "failed", "reason": ...}',
        ) from None
    with mirror.transaction():
        for row in rows:
            decisions.step(mirror, row, "submitted", actor=f"executor:{name}",
                           reason=f"taken by {name}")  # fmt: skip
        _apply_acks(mirror, entries, source=name)
    return DropResult(None, [r.decision_id for r in rows])


def acknowledge(mirror: Mirror, path: Path) -> dict[str, int]:
    """Apply an acknowledgement file; unknown or already-final ids are counted, not fatal."""
    with path.open(encoding="utf-8") as handle:
        entries = [json.loads(line) for line in handle if line.strip()]
    with mirror.transaction():
        return _apply_acks(mirror, entries, source=str(path))


def _apply_acks(mirror: Mirror, entries: list[dict[str, Any]], *, source: str) -> dict[str, int]:
    """Confirm or fail submitted decisions (inside the caller's transaction)."""
    counts = {"confirmed": 0, "failed": 0, "skipped": 0}
    for entry in entries:
        status = entry.get("status")
        if status not in ("confirmed", "failed"):
            raise DecisionError(
                f"{source}: status {status!r} for {entry.get('decision_id')!r} is not "
                "confirmed or failed"
            )
        try:
            row = decisions.get(mirror, str(entry["decision_id"]))
        except (DecisionError, KeyError):
            counts["skipped"] += 1
            continue
        if row.state != "submitted":
            counts["skipped"] += 1  # acknowledged before: an import ran twice
            continue
        decisions.step(mirror, row, status, actor="executor:ack",
                       reason=str(entry.get("reason") or Path(source).name))  # fmt: skip
        counts[status] += 1
    return counts


def complete_shelf_check(
    mirror: Mirror, decision_id: str, *, found: bool, by: str, counted: float | None = None
) -> str:
    """A person checked the shelf: confirm the task and record what they saw."""
    with mirror.transaction():
        row = decisions.get(mirror, decision_id)
        if row.kind != "shelf_check":
            raise DecisionError(f"{decision_id} is a {row.kind} decision, not a shelf check")
        if row.state in _EXECUTABLE:
            row = decisions.step(mirror, row, "submitted", actor=by, reason="task handed out")
        if row.state != "submitted":
            raise DecisionError(f"shelf check {decision_id} is {row.state}; it cannot be completed")
        detail = decisions.stored_message(mirror, decision_id).shelf_check
        store = mirror.require_store()
        seq = mirror.next_sequence("shelf_check")
        result = shelf_check_pb2.ShelfCheckResult(
            id=common_pb2.RecordId(store_id=store.store_id,
                                   record_type=common_pb2.RECORD_TYPE_SHELF_CHECK, sequence=seq),
            business_date=row.business_date, decision_id=decision_id, sku=row.sku or "",
            status=shelf_check_pb2.SHELF_CHECK_STATUS_FOUND if found
            else shelf_check_pb2.SHELF_CHECK_STATUS_MISSING,
            counted_units=counted or 0.0, random_sample=detail.random_sample, checked_by=by,
        )  # fmt: skip
        result.recorded_at.FromDatetime(mirror.clock.now().astimezone(UTC))
        result_id = record_id_text(result.id)
        audit.append(
            mirror,
            audit_pb2.AUDIT_EVENT_TYPE_SHELF_CHECK_RECORDED,
            actor=by,
            subject_id=decision_id,
            summary=f"shelf check {row.sku}: {'found' if found else 'missing'} ({by})",
            shelf_check=result,
        )
        outbox.append(
            mirror, result_id, "shelf_check", result.SerializeToString(deterministic=True)
        )
        decisions.step(mirror, row, "confirmed", actor=by,
                       reason="found on shelf" if found else "missing from shelf")  # fmt: skip
    return result_id
