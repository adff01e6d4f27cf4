"""Store -> hub sync: drain the outbox and the audit chain into JetStream.

Layers (docs/ARCHITECTURE.md): the outbox is durability, this module moves
bytes. What leaves the store:

- every ``outbox`` row (decisions, their state changes, shelf-check results,
  daily outcomes), in ``seq`` order; a row is deleted only after its JetStream
  ack, and ``sync_counters`` keeps how many of each type were acknowledged;
- the audit chain, by cursor: entries after ``sync_state['audit.sent_seq']``
  travel as ``AuditEntry`` (the stored bytes, never re-serialized); the cursor
  advances over acknowledged entries only, and only contiguously.

Each message's ``Nats-Msg-Id`` is its globally unique record id. Publishes are
asynchronous and pipelined two batches deep; a batch's acks are settled in one
mirror transaction. A publish that gets no ack in time leaves its row queued:
it is sent again on the next drain, and the stream's dedup or the hub's
idempotency by record id absorbs the copy.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from edge_agent import audit
from edge_agent.errors import SyncError
from edge_agent.mirror.db import Mirror
from storeedge import failpoints, subjects
from storeedge.v1 import audit_pb2

__all__ = [
    "BandwidthCap",
    "DrainReport",
    "Outgoing",
    "budget_alarm",
    "clear_state",
    "drain",
    "hub_chain_ack",
    "outbox_bytes",
    "read_state",
    "record_chain_ack",
    "sync_status",
    "write_state",
]

AUDIT_CURSOR = "audit.sent_seq"
HUB_CHAIN_ACK = "hub.chain_ack"
#: Bytes read per source and batch; two batches are in flight at most.
MAX_BATCH_BYTES = 4 * 2**20
_MSG_ID = "Nats-Msg-Id"


@dataclass(frozen=True)
class Outgoing:
    """One record ready to publish; ``outbox_seq`` or ``audit_seq`` says where it came from."""

    record_id: str
    record_type: str
    payload: bytes
    outbox_seq: int | None = None
    audit_seq: int | None = None
    #: Nats-Msg-Id when it is not the record id: a later epoch's audit entries carry the
    #: epoch (``S001:audit:39~2``), so the stream's dedup window never takes one for the
    #: replaced box's entry with the same seq.
    msg_id: str | None = None


@dataclass
class DrainReport:
    published: int = 0
    acked: int = 0
    duplicates: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "acked": self.acked,
            "duplicates": self.duplicates,
            "by_type": dict(sorted(self.by_type.items())),
        }


# -- mirror side ---------------------------------------------------------------------------
def read_state(mirror: Mirror, key: str) -> str | None:
    row = mirror.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def write_state(mirror: Mirror, key: str, value: str) -> None:
    """Set one sync_state value (inside the caller's transaction)."""
    mirror.conn.execute(
        "INSERT INTO sync_state(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, mirror.clock.now().isoformat()),
    )


def clear_state(mirror: Mirror, key: str) -> None:
    """Remove one sync_state value (inside the caller's transaction)."""
    mirror.conn.execute("DELETE FROM sync_state WHERE key = ?", (key,))


def hub_chain_ack(mirror: Mirror) -> dict[str, Any] | None:
    """The chain head the hub last acknowledged as verified, if any."""
    value = read_state(mirror, HUB_CHAIN_ACK)
    return None if value is None else json.loads(value)


def record_chain_ack(mirror: Mirror, ack: audit_pb2.ChainAck) -> None:
    """Keep the hub's acknowledgement (inside the caller's transaction)."""
    value = {
        "seq": ack.chain_length,
        "hash": ack.chain_head.hex(),
        "verified_at": ack.verified_at.ToDatetime().isoformat() + "Z",
    }
    write_state(mirror, HUB_CHAIN_ACK, json.dumps(value, sort_keys=True))


def _audit_cursor(mirror: Mirror) -> int:
    """The last audit seq JetStream acknowledged; a replaced box's chain starts after its
    anchor (entries up to it were the old box's)."""
    return max(int(read_state(mirror, AUDIT_CURSOR) or 0), audit.chain_anchor(mirror).seq)


def read_pending(
    mirror: Mirror,
    *,
    after_outbox_seq: int,
    after_audit_seq: int,
    limit: int,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[Outgoing]:
    """Up to ``limit`` outbox rows and ``limit`` audit entries after the given positions,
    each source stopping once it has read ``max_bytes`` (a day's outcome of a large
    store is ~1 MiB: a batch is bounded by bytes, not only by count)."""
    batch = []
    size = 0
    for seq, record_id, record_type, payload in mirror.conn.execute(
        "SELECT seq, record_id, record_type, payload FROM outbox WHERE seq > ? "
        "ORDER BY seq LIMIT ?",
        (after_outbox_seq, limit),
    ):
        batch.append(Outgoing(record_id, record_type, bytes(payload), outbox_seq=seq))
        size += len(payload)
        if size >= max_bytes:
            break
    size = 0
    anchor = audit.chain_anchor(mirror)
    epoch = anchor.epoch if anchor.epoch > 1 else 0  # a first box's entries stay as they were
    for seq, record_id, prev_hash, digest, payload in mirror.conn.execute(
        "SELECT seq, record_id, prev_hash, hash, payload FROM audit_log WHERE seq > ? "
        "ORDER BY seq LIMIT ?",
        (after_audit_seq, limit),
    ):
        entry = audit_pb2.AuditEntry(
            seq=seq, prev_hash=prev_hash, hash=digest, payload=payload, epoch=epoch
        )
        message = entry.SerializeToString(deterministic=True)
        msg_id = f"{record_id}~{epoch}" if epoch else None
        batch.append(Outgoing(record_id, "audit", message, audit_seq=seq, msg_id=msg_id))
        size += len(payload)
        if size >= max_bytes:
            break
    return batch


def settle(mirror: Mirror, acked: list[Outgoing], audit_before: int) -> int:
    """Record acknowledged records in one transaction; returns the new audit cursor.

    Outbox rows are deleted and counted; the audit cursor moves over the
    acknowledged entries that directly follow it (a gap waits for the next drain).
    """
    counts: dict[str, int] = {}
    audit_acked: set[int] = set()
    outbox_seqs: list[tuple[int]] = []
    for record in acked:
        counts[record.record_type] = counts.get(record.record_type, 0) + 1
        if record.audit_seq is not None:
            audit_acked.add(record.audit_seq)
        else:
            outbox_seqs.append((record.outbox_seq,))  # type: ignore[arg-type]
    cursor = audit_before
    while cursor + 1 in audit_acked:
        cursor += 1
    counts["audit"] = cursor - audit_before
    with mirror.transaction() as conn:
        conn.executemany("DELETE FROM outbox WHERE seq = ?", outbox_seqs)
        conn.executemany(
            "INSERT INTO sync_counters(record_type, acked) VALUES (?, ?) "
            "ON CONFLICT(record_type) DO UPDATE SET acked = acked + excluded.acked",
            [(kind, n) for kind, n in counts.items() if n],
        )
        if cursor != audit_before:
            write_state(mirror, AUDIT_CURSOR, str(cursor))
    return cursor


def outbox_bytes(mirror: Mirror) -> int:
    """Bytes of payload waiting in the outbox (length() does not read the blobs)."""
    return int(
        mirror.conn.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()[0]
    )


def budget_alarm(size: int, budget_mb: float) -> str | None:
    """The alarm text when an outbox of ``size`` bytes is over its budget, else None."""
    if size <= budget_mb * 2**20:
        return None
    return (
        f"outbox holds {size / 2**20:.1f} MiB, over its budget of {budget_mb:g} MiB: "
        "the hub has not acknowledged records for a long time (nothing is dropped)"
    )


def sync_status(mirror: Mirror) -> dict[str, dict[str, int]]:
    """Per record type: committed (ever queued), acked (by JetStream) and pending."""
    acked = dict(mirror.conn.execute("SELECT record_type, acked FROM sync_counters"))
    queued = dict(
        mirror.conn.execute("SELECT record_type, COUNT(*) FROM outbox GROUP BY record_type")
    )
    chain_length, _ = audit.chain_head(mirror)
    cursor = _audit_cursor(mirror)
    queued["audit"] = chain_length - cursor
    acked["audit"] = cursor - audit.chain_anchor(mirror).seq  # this box's entries only
    status = {}
    for record_type, key in subjects.RECORD_TYPES.items():
        done, waiting = int(acked.get(record_type, 0)), int(queued.get(record_type, 0))
        status[key] = {"committed": done + waiting, "acked": done, "pending": waiting}
    return status


# -- transport side ------------------------------------------------------------------------
async def drain(
    mirror: Mirror,
    js: Any,
    *,
    batch_size: int = 2_000,
    ack_timeout_s: float = 10.0,
    max_records: int | None = None,
    cap: BandwidthCap | None = None,
) -> DrainReport:
    """Publish everything pending (or ``max_records``) and settle the acks.

    ``js`` is a nats-py JetStreamContext. Raises :class:`SyncError` when the link
    fails; whatever was acknowledged before that is settled first. ``cap`` paces the
    publishes to a byte rate (a fleet draining at once after an outage).
    """
    store_id = mirror.require_store().store_id
    topics = {kind: subjects.up_subject(store_id, kind) for kind in subjects.RECORD_TYPES}
    report = DrainReport()
    audit_cursor = _audit_cursor(mirror)
    after_outbox, after_audit = 0, audit_cursor
    inflight: deque[tuple[list[Outgoing], list[asyncio.Future]]] = deque()
    failure: BaseException | None = None
    exhausted = False
    while True:
        budget = batch_size
        if max_records is not None:
            budget = min(batch_size, max_records - report.published)
        batch: list[Outgoing] = []
        if failure is None and not exhausted and budget > 0:
            # SQLite work runs in a worker thread: the event loop keeps serving acks.
            batch = await asyncio.to_thread(
                read_pending,
                mirror,
                after_outbox_seq=after_outbox,
                after_audit_seq=after_audit,
                limit=budget,
            )
            batch = _in_order(batch)[:budget]
            exhausted = not batch
        if batch:
            futures: list[asyncio.Future] = []
            try:
                for record in batch:
                    if cap is not None:
                        await cap.take(len(record.payload))
                    futures.append(
                        await js.publish_async(
                            topics[record.record_type],
                            record.payload,
                            headers={_MSG_ID: record.msg_id or record.record_id},
                            stream=subjects.UP_STREAM,
                        )
                    )
            except Exception as exc:  # any publish failure: settle what was acked, then raise
                failure = exc
                batch = batch[: len(futures)]
            failpoints.hit("sync.after_publish")
            if batch:
                inflight.append((batch, futures))
                report.published += len(batch)
                for record in batch:
                    if record.outbox_seq is not None:
                        after_outbox = max(after_outbox, record.outbox_seq)
                    else:
                        after_audit = max(after_audit, record.audit_seq or 0)
        if not inflight:
            break
        if len(inflight) >= 2 or not batch:
            sent, futures = inflight.popleft()
            acked, duplicates, problem = await _await_acks(sent, futures, ack_timeout_s)
            failpoints.hit("sync.before_settle")
            audit_cursor = await asyncio.to_thread(settle, mirror, acked, audit_cursor)
            report.acked += len(acked)
            report.duplicates += duplicates
            for record in acked:
                report.by_type[record.record_type] = report.by_type.get(record.record_type, 0) + 1
            if problem is not None and failure is None:
                failure = problem
    if failure is not None:
        raise SyncError(
            f"sync to the hub stopped after {report.acked} acknowledged records: "
            f"{type(failure).__name__}: {failure}",
            hint="the records stay queued in the outbox and are sent when the link is back",
        ) from failure
    return report


class BandwidthCap:
    """A token bucket in bytes: :meth:`take` waits until ``n`` more bytes fit the rate.

    Example::

        cap = BandwidthCap(500_000)  # 0.5 MB/s, bursts of 64 KiB
        await sync.drain(mirror, js, cap=cap)
    """

    def __init__(
        self,
        bytes_per_s: float,
        *,
        burst: float = 64 * 1024,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if bytes_per_s <= 0:
            raise ValueError(f"bytes_per_s must be > 0, not {bytes_per_s}")
        self.rate = float(bytes_per_s)
        self.burst = float(burst)
        self._now = now
        self._sleep = sleep
        self._tokens = self.burst
        self._at = now()

    async def take(self, n: int) -> None:
        current = self._now()
        self._tokens = min(self.burst, self._tokens + (current - self._at) * self.rate)
        self._at = current
        self._tokens -= n
        if self._tokens < 0:  # in debt: wait until the rate has paid for it
            await self._sleep(-self._tokens / self.rate)


def _in_order(batch: list[Outgoing]) -> list[Outgoing]:
    """Outbox rows and audit entries interleaved by creation order (oldest first)."""
    # Both sources are ordered; audit entries carry no outbox seq, so keep each source's
    # order and alternate fairly: the hub does not depend on cross-type order.
    outbox = [r for r in batch if r.outbox_seq is not None]
    entries = [r for r in batch if r.audit_seq is not None]
    merged: list[Outgoing] = []
    for i in range(max(len(outbox), len(entries))):
        if i < len(entries):
            merged.append(entries[i])
        if i < len(outbox):
            merged.append(outbox[i])
    return merged


async def _await_acks(
    sent: list[Outgoing], futures: list[asyncio.Future], timeout_s: float
) -> tuple[list[Outgoing], int, BaseException | None]:
    """(acknowledged records, how many were duplicates, the first failure if any)."""
    _done, pending = await asyncio.wait(futures, timeout=timeout_s) if futures else (set(), set())
    for future in pending:
        future.cancel()
    acked: list[Outgoing] = []
    duplicates = 0
    problem: BaseException | None = None
    if pending:
        problem = TimeoutError(f"{len(pending)} publishes got no ack within {timeout_s:g} s")
    for record, future in zip(sent, futures, strict=True):
        if future in pending:
            continue
        exc = future.exception()
        if exc is not None:
            problem = problem or exc
            continue
        acked.append(record)
        duplicates += bool(future.result().duplicate)
    return acked, duplicates, problem
