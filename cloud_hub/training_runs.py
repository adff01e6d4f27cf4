"""Training runs asked for through the API (``StartTraining``) and run by ``cloud-hub serve``.

One row per run in ``training_runs`` (hub database): ``queued`` -> ``running`` ->
``succeeded`` (the version registered, the promotion decision and its numbers, as
``cloud-hub train --json`` reported them) or ``failed`` (the error text). ``serve``
takes the oldest queued run (:func:`claim_next`) and runs it as the same ``cloud-hub
train`` child process its schedule uses, one at a time; a run left ``running`` by a
hub that stopped is marked failed when the next one starts (:func:`fail_interrupted`).

Nothing here imports LightGBM or gRPC: the API and the CLI read runs without them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from cloud_hub import hubdb

__all__ = [
    "ACTIVE",
    "claim_next",
    "ensure_schema",
    "fail_interrupted",
    "finish",
    "get",
    "list_runs",
    "queue",
    "set_progress",
]

ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS training_runs (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  state TEXT NOT NULL,                -- queued, running, succeeded, failed
  progress TEXT NOT NULL DEFAULT '',  -- the last progress line of the run
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  version TEXT NOT NULL DEFAULT '',
  promoted INTEGER NOT NULL DEFAULT 0,
  result TEXT NOT NULL DEFAULT '{}',  -- `cloud-hub train --json` of a succeeded run
  error TEXT NOT NULL DEFAULT ''
);
-- At most one queued or running run per model.
CREATE UNIQUE INDEX IF NOT EXISTS training_runs_one_active ON training_runs(model)
  WHERE state IN ('queued', 'running');
"""
_COLUMNS = ("id", "model", "state", "progress", "actor", "created_at", "started_at",
            "finished_at", "version", "promoted", "result", "error")  # fmt: skip


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _doc(row: tuple[Any, ...]) -> dict[str, Any]:
    doc = dict(zip(_COLUMNS, row, strict=True))
    doc["promoted"] = bool(doc["promoted"])
    doc["result"] = json.loads(doc["result"])
    return doc


def get(conn: sqlite3.Connection, run_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM training_runs WHERE id = ?", (run_id,)
    ).fetchone()
    return _doc(row) if row else None


def list_runs(conn: sqlite3.Connection, *, model: str = "", before_id: int | None = None,
              limit: int = 100) -> list[dict[str, Any]]:  # fmt: skip
    """Newest first; ``before_id`` continues a page."""
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM training_runs WHERE (? = '' OR model = ?) "
        "AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (model, model, before_id, before_id, limit),
    )
    return [_doc(r) for r in rows]


def queue(conn: sqlite3.Connection, model: str, *, actor: str) -> tuple[dict[str, Any], bool]:
    """A new queued run of ``model``, or the one already queued or running: (run, created)."""
    with hubdb.immediate(conn):
        active = conn.execute(
            "SELECT id FROM training_runs WHERE model = ? AND state IN ('queued', 'running')",
            (model,),
        ).fetchone()
        if active is not None:
            run_id, created = active[0], False
        else:
            cursor = conn.execute(
                "INSERT INTO training_runs(model, state, actor, created_at) "
                "VALUES (?, 'queued', ?, ?)",
                (model, actor, _now()),
            )
            run_id, created = cursor.lastrowid, True
    found = get(conn, int(run_id))
    assert found is not None
    return found, created


def claim_next(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The oldest queued run, now ``running``; None when nothing is queued."""
    with hubdb.immediate(conn):
        row = conn.execute(
            "SELECT id FROM training_runs WHERE state = 'queued' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE training_runs SET state = 'running', started_at = ?, progress = 'started' "
            "WHERE id = ?",
            (_now(), row[0]),
        )
    return get(conn, row[0])


def set_progress(conn: sqlite3.Connection, run_id: int, line: str) -> None:
    with hubdb.immediate(conn):
        conn.execute("UPDATE training_runs SET progress = ? WHERE id = ?", (line[:500], run_id))


def finish(conn: sqlite3.Connection, run_id: int, *, result: dict[str, Any] | None = None,
           error: str = "") -> None:  # fmt: skip
    """``succeeded`` with the train result, or ``failed`` with the error text."""
    state = "failed" if result is None else "succeeded"
    result = result or {}
    with hubdb.immediate(conn):
        conn.execute(
            "UPDATE training_runs SET state = ?, finished_at = ?, version = ?, promoted = ?, "
            "result = ?, error = ? WHERE id = ?",
            (state, _now(), result.get("version", ""), int(bool(result.get("promoted"))),
             json.dumps(result, default=str), error[:4000], run_id),
        )  # fmt: skip


def fail_interrupted(conn: sqlite3.Connection) -> int:
    """Mark runs a stopped hub left ``running`` as failed (the child died with it)."""
    with hubdb.immediate(conn):
        cursor = conn.execute(
            "UPDATE training_runs SET state = 'failed', finished_at = ?, error = 'the hub "
            "stopped while it ran: start it again' WHERE state = 'running'",
            (_now(),),
        )
    return cursor.rowcount
