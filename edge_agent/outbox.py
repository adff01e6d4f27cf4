"""The outbox: records waiting for the hub, in per-store order.

Writers append in the same transaction as the change the record describes; the
sync (see docs/ARCHITECTURE.md) drains rows in ``seq`` order and sets
``acked_at`` after the JetStream ack.
"""

from __future__ import annotations

from edge_agent.mirror.db import Mirror

__all__ = ["append"]


def append(mirror: Mirror, record_id: str, record_type: str, payload: bytes) -> None:
    """Queue one record (inside the caller's transaction)."""
    mirror.conn.execute(
        "INSERT INTO outbox(record_id, record_type, payload, created_at) VALUES (?, ?, ?, ?)",
        (record_id, record_type, payload, mirror.clock.now().isoformat()),
    )
