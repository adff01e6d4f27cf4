"""The hub's index of decisions, for the API's filters, pages and watch.

``records`` keeps each decision and state change as the protobuf the store sent;
filtering a million of them by kind, state, day or value would mean decoding each.
This module keeps one row per decision beside them, in the same database:

- ``api_decisions``: a decision's store, kind, business day, value, category and its
  *current* state (the newest state change the store reported), numbered ``ix`` in
  the order it reached the hub (pages and the pending watch follow ``ix``);
- ``api_decision_states``: every state change by (decision, sequence), so a change
  that arrives before its decision (a redelivery) still counts once the decision comes.

:func:`index_records` is called by ingest inside the batch's transaction, so the
index commits with the records or not at all; replaying a batch changes nothing.
:func:`backfill` brings a database written before the index existed (or by an older
release) up to date; the API server runs it at start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError

from storeedge.ids import record_id_text
from storeedge.v1 import decision_pb2

__all__ = ["backfill", "ensure_schema", "index_records"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_decisions (
  ix INTEGER PRIMARY KEY,               -- arrival order at the hub
  decision_id TEXT NOT NULL UNIQUE,
  store_id TEXT NOT NULL,
  kind INTEGER NOT NULL,                -- storeedge.v1.DecisionKind
  state INTEGER NOT NULL,               -- storeedge.v1.DecisionState, newest reported
  business_date TEXT NOT NULL,
  value REAL NOT NULL,
  category TEXT NOT NULL,
  state_seq INTEGER NOT NULL DEFAULT 0, -- audit seq of the change that set state (0: created)
  state_actor TEXT NOT NULL DEFAULT '',
  state_changed_at TEXT
)""",
    "CREATE INDEX IF NOT EXISTS api_decisions_store ON api_decisions(store_id, ix)",
    "CREATE INDEX IF NOT EXISTS api_decisions_state ON api_decisions(state, ix)",
    """CREATE TABLE IF NOT EXISTS api_decision_states (
  decision_id TEXT NOT NULL,
  seq INTEGER NOT NULL,                 -- the change's audit seq (record id <decision>@<seq>)
  state INTEGER NOT NULL,
  actor TEXT NOT NULL,
  changed_at TEXT,
  PRIMARY KEY (decision_id, seq)
) WITHOUT ROWID""",
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the index tables if missing (plain statements: safe inside a transaction)."""
    for statement in _SCHEMA:
        conn.execute(statement)


def index_records(conn: sqlite3.Connection, records: Iterable[Any]) -> None:
    """Index the decisions and state changes of one ingest batch (objects with
    ``record_type``, ``record_id``, ``store_id``, ``payload``), in the caller's transaction.
    Unreadable payloads are skipped: ``records`` keeps them as received."""
    decisions = []
    changes = []
    for message in records:
        if message.record_type == "decision":
            row = _decision_row(message.record_id, message.store_id, message.payload)
            if row is not None:
                decisions.append(row)
        elif message.record_type == "decision_state":
            row = _change_row(message.record_id, message.payload)
            if row is not None:
                changes.append(row)
    if not decisions and not changes:
        return
    ensure_schema(conn)
    _write(conn, decisions, changes)


def backfill(conn: sqlite3.Connection) -> int:
    """Index what ``records`` holds and the index lacks; returns how many rows it added."""
    ensure_schema(conn)
    counts = dict(
        conn.execute(
            "SELECT record_type, COUNT(*) FROM records "
            "WHERE record_type IN ('decision', 'decision_state') GROUP BY record_type"
        ).fetchall()
    )
    have_decisions = conn.execute("SELECT COUNT(*) FROM api_decisions").fetchone()[0]
    have_changes = conn.execute("SELECT COUNT(*) FROM api_decision_states").fetchone()[0]
    if counts.get("decision", 0) <= have_decisions and (
        counts.get("decision_state", 0) <= have_changes
    ):
        return 0
    decisions = [
        row
        for record_id, store_id, payload in conn.execute(
            "SELECT record_id, store_id, payload FROM records r WHERE record_type = 'decision' "
            "AND NOT EXISTS (SELECT 1 FROM api_decisions d WHERE d.decision_id = r.record_id) "
            "ORDER BY received_at, store_id, length(record_id), record_id"
        )
        if (row := _decision_row(record_id, store_id, bytes(payload))) is not None
    ]
    changes = [
        row
        for record_id, payload in conn.execute(
            "SELECT record_id, payload FROM records WHERE record_type = 'decision_state'"
        )
        if (row := _change_row(record_id, bytes(payload))) is not None
    ]
    before = conn.total_changes
    _write(conn, decisions, changes)
    return conn.total_changes - before


def _write(conn: sqlite3.Connection, decisions: list[tuple], changes: list[tuple]) -> None:
    if changes:
        conn.executemany(
            "INSERT OR IGNORE INTO api_decision_states(decision_id, seq, state, actor, "
            "changed_at) VALUES (?, ?, ?, ?, ?)",
            changes,
        )
    if decisions:
        conn.executemany(
            "INSERT OR IGNORE INTO api_decisions(decision_id, store_id, kind, state, "
            "business_date, value, category) VALUES (?, ?, ?, ?, ?, ?, ?)",
            decisions,
        )
    # The newest reported change wins, whichever of the two arrived first.
    touched = {row[0] for row in changes} | {row[0] for row in decisions}
    conn.executemany(
        "UPDATE api_decisions SET (state, state_seq, state_actor, state_changed_at) = "
        "(SELECT s.state, s.seq, s.actor, s.changed_at FROM api_decision_states s "
        " WHERE s.decision_id = api_decisions.decision_id ORDER BY s.seq DESC LIMIT 1) "
        "WHERE decision_id = ? AND EXISTS (SELECT 1 FROM api_decision_states s "
        " WHERE s.decision_id = api_decisions.decision_id AND s.seq > api_decisions.state_seq)",
        [(decision_id,) for decision_id in sorted(touched)],
    )


def _decision_row(record_id: str, store_id: str, payload: bytes) -> tuple | None:
    try:
        decision = decision_pb2.Decision.FromString(payload)
    except DecodeError:
        return None
    return (record_id, store_id, int(decision.kind), int(decision.state),
            decision.business_date, float(decision.value), decision.category)  # fmt: skip


def _change_row(record_id: str, payload: bytes) -> tuple | None:
    try:
        change = decision_pb2.DecisionStateChange.FromString(payload)
        decision_id = record_id_text(change.decision_id)
        # The store names a change "<decision id>@<audit seq>": the seq orders its changes.
        seq = int(record_id.rsplit("@", 1)[1] if "@" in record_id else record_id.rsplit(":")[-1])
    except (DecodeError, ValueError, IndexError):
        return None
    changed_at = change.changed_at.ToJsonString() if change.HasField("changed_at") else None
    return (decision_id, seq, int(change.to_state), change.actor, changed_at)
