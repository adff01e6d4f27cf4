"""The outbox: records waiting for the hub, in per-store order.

Writers append in the same transaction as the change the record describes; the
sync (see docs/ARCHITECTURE.md) drains rows in ``seq`` order and sets
``acked_at`` after the JetStream ack.
"""

from __future__ import annotations

from edge_agent.mirror.db import Mirror

__all__ = ["append", "append_many"]

_INSERT = "INSERT INTO outbox(record_id, record_type, payload, created_at) VALUES (?, ?, ?, ?)"


def append(mirror: Mirror, record_id: str, record_type: str, payload: bytes) -> None:
    """Queue one record (inside the caller's transaction)."""
    mirror.conn.execute(_INSERT, (record_id, record_type, payload, mirror.clock.now().isoformat()))


def append_many(mirror: Mirror, rows: list[tuple[str, str, bytes, str]]) -> None:
    """Queue (record_id, record_type, payload, created_at) rows in order (one statement)."""
    mirror.conn.executemany(_INSERT, rows)
