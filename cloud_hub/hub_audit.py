"""The hub's own audit log: every change an operator or the hub makes, hash-chained.

Stores keep their chains; the hub keeps one for what happens at the hub: stores
added, revoked or replaced, and (with their issues) approvals, promotions and
rollouts. Same rule as a store's chain: a row is appended in the transaction of
the change it records, and ``hash = sha256(prev_hash || body)`` where ``body`` is
the canonical JSON of the row's fields, so no field can be edited unseen.

Example::

    with registry transaction as conn:
        hub_audit.append(conn, actor="ana", action="store.revoked", subject="S001",
                         detail={"reason": "box stolen"})
    hub_audit.verify(conn)  # -> Verification(length=..., problem=None)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["GENESIS_HASH", "Verification", "append", "ensure_table", "records", "verify"]

GENESIS_HASH = bytes(32)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_audit_log (
  seq INTEGER PRIMARY KEY,
  recorded_at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,          -- e.g. store.added, store.revoked, store.replaced
  subject TEXT NOT NULL,         -- what it is about, e.g. a store id
  detail TEXT NOT NULL,          -- JSON object
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Verification:
    length: int
    problem: str | None  # the first bad row and why, or None

    @property
    def ok(self) -> bool:
        return self.problem is None


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.executescript(_SCHEMA)


def _body(seq: int, recorded_at: str, actor: str, action: str, subject: str, detail: str) -> bytes:
    fields = [seq, recorded_at, actor, action, subject, json.loads(detail)]
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def append(
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one row inside the caller's transaction; returns its seq."""
    if not conn.in_transaction:
        raise RuntimeError("hub_audit.append must run inside the transaction of the change")
    if not actor.strip():
        raise ValueError("actor: who made the change must be named")
    last = conn.execute("SELECT seq, hash FROM hub_audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (int(last[0]) + 1, bytes(last[1])) if last else (1, GENESIS_HASH)
    recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = json.dumps(dict(detail or {}), sort_keys=True)
    digest = hashlib.sha256(
        prev_hash + _body(seq, recorded_at, actor, action, subject, text)
    ).digest()
    conn.execute(
        "INSERT INTO hub_audit_log(seq, recorded_at, actor, action, subject, detail, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, recorded_at, actor, action, subject, text, prev_hash, digest),
    )
    return seq


def records(
    conn: sqlite3.Connection, *, subject: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; ``subject`` narrows to one store (or other subject)."""
    rows = conn.execute(
        "SELECT seq, recorded_at, actor, action, subject, detail FROM hub_audit_log "
        "WHERE (? IS NULL OR subject = ?) ORDER BY seq DESC LIMIT ?",
        (subject, subject, limit),
    )
    keys = ("seq", "recorded_at", "actor", "action", "subject", "detail")
    return [{**dict(zip(keys, row, strict=True)), "detail": json.loads(row[5])} for row in rows]


def verify(conn: sqlite3.Connection) -> Verification:
    """Walk the whole log; the first row that was edited, inserted or removed, if any."""
    head, expected = GENESIS_HASH, 1
    for seq, recorded_at, actor, action, subject, detail, prev_hash, stored in conn.execute(
        "SELECT seq, recorded_at, actor, action, subject, detail, prev_hash, hash "
        "FROM hub_audit_log ORDER BY seq"
    ):
        where = f"hub audit record {seq}"
        if seq != expected:
            return Verification(expected - 1, f"hub audit record {expected} is missing")
        if bytes(prev_hash) != head:
            return Verification(seq - 1, f"{where}: prev_hash does not link to the record before")
        try:
            body = _body(seq, recorded_at, actor, action, subject, detail)
        except (TypeError, ValueError):
            return Verification(seq - 1, f"{where}: detail is not JSON: edited")
        if hashlib.sha256(bytes(prev_hash) + body).digest() != bytes(stored):
            return Verification(seq - 1, f"{where}: hash does not match its fields: edited")
        head, expected = bytes(stored), expected + 1
    return Verification(expected - 1, None)
