"""The store's audit log: append-only and hash-chained.

Each row keeps an ``AuditRecord`` exactly as it was serialized (``payload``)
and ``hash = sha256(prev_hash || payload)``; the first record's ``prev_hash``
is 32 zero bytes. Payloads are never re-serialized, so verification hashes the
very bytes that were written. Writers append inside the same SQLite
transaction as the change they record (see :meth:`Mirror.transaction`).

Local verification catches an edited, deleted or inserted record anywhere
except a cleanly re-hashed chain or a removed tail; the hub's acknowledged chain
head covers those once the store syncs (docs/ARCHITECTURE.md).

**Epochs.** A store's first box starts at seq 1 from the genesis hash (epoch 1).
A replacement box starts epoch N+1 from the **anchor** the hub gives it
(``cloud-hub stores replace``: the seq and hash of the last entry the hub
verified): its first record is seq + 1 and links to that hash, so the hub's
chain for the store goes on without a break and without a tamper alarm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from edge_agent.mirror.db import Mirror
from storeedge.ids import record_id_text
from storeedge.v1 import audit_pb2, common_pb2

__all__ = [
    "EPOCH_SEQUENCE_RANGE",
    "GENESIS_HASH",
    "Anchor",
    "AppendedRecord",
    "Batch",
    "ChainProblem",
    "ChainReport",
    "append",
    "chain_anchor",
    "chain_head",
    "iter_records",
    "start_epoch",
    "verify",
]

GENESIS_HASH = bytes(32)
_EVENT_PREFIX = "AUDIT_EVENT_TYPE_"
_ANCHOR_KEY = "audit.anchor"  # in sync_state: "epoch:seq:hash-hex"
#: Record ids of epoch E number from (E - 1) x this (decisions, outcomes, ...).
EPOCH_SEQUENCE_RANGE = 10**9
_EPOCH_NUMBERED = ("decision", "shelf_check", "outcome", "approval_result", "heartbeat")


@dataclass(frozen=True)
class Anchor:
    """Where this mirror's chain starts: epoch 1 at (0, genesis), or a later epoch."""

    epoch: int = 1
    seq: int = 0
    hash: bytes = GENESIS_HASH

    @classmethod
    def parse(cls, epoch: int, text: str) -> Anchor:
        """From ``SEQ:HASHHEX`` as ``cloud-hub stores replace`` prints it."""
        try:
            seq_text, hash_hex = text.split(":")
            anchor = cls(epoch, int(seq_text), bytes.fromhex(hash_hex))
        except ValueError:
            raise ValueError(f"{text!r} is not SEQ:HASH (e.g. 1234:9f86d08...)") from None
        if anchor.seq < 0 or len(anchor.hash) != 32 or epoch < 2:
            raise ValueError(f"{text!r} (epoch {epoch}): need seq >= 0, a 32-byte hash, epoch >= 2")
        return anchor


def chain_anchor(mirror: Mirror) -> Anchor:
    row = mirror.conn.execute(
        "SELECT value FROM sync_state WHERE key = ?", (_ANCHOR_KEY,)
    ).fetchone()
    if row is None:
        return Anchor()
    epoch, seq, hash_hex = str(row[0]).split(":")
    return Anchor(int(epoch), int(seq), bytes.fromhex(hash_hex))


def start_epoch(mirror: Mirror, anchor: Anchor) -> None:
    """Anchor an empty chain (a replacement box); inside the caller's transaction."""
    count = mirror.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    if count:
        raise ValueError(
            f"this mirror already has an audit chain ({count} records); a replaced box "
            "starts from a new mirror"
        )
    mirror.conn.execute(
        "INSERT INTO sync_state(key, value, updated_at) VALUES (?, ?, ?)",
        (_ANCHOR_KEY, f"{anchor.epoch}:{anchor.seq}:{anchor.hash.hex()}",
         mirror.clock.now().isoformat()),
    )  # fmt: skip
    # The chain goes on from the anchor; every other record type numbers from a range of
    # its own per epoch, so no record id of the new box can be one the old box used.
    offset = (anchor.epoch - 1) * EPOCH_SEQUENCE_RANGE
    mirror.conn.executemany(
        "INSERT INTO sequences(record_type, last) VALUES (?, ?) "
        "ON CONFLICT(record_type) DO UPDATE SET last = excluded.last",
        [("audit", anchor.seq)] + [(kind, offset) for kind in _EPOCH_NUMBERED],
    )


@dataclass(frozen=True)
class AppendedRecord:
    seq: int
    record_id: str
    hash: bytes


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class ChainReport:
    length: int
    head: bytes
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def event_name(event_type: int) -> str:
    return audit_pb2.AuditEventType.Name(event_type).removeprefix(_EVENT_PREFIX)


def _timestamp_text(record: audit_pb2.AuditRecord) -> str:
    return record.recorded_at.ToDatetime(tzinfo=UTC).isoformat()


def chain_head(mirror: Mirror) -> tuple[int, bytes]:
    """(length, head hash) of the chain as stored; the anchor when empty ((0, GENESIS_HASH)
    for a store's first box)."""
    row = mirror.conn.execute(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row:
        return int(row[0]), bytes(row[1])
    anchor = chain_anchor(mirror)
    return anchor.seq, anchor.hash


_INSERT = (
    "INSERT INTO audit_log(seq, record_id, event_type, recorded_at, prev_hash, hash, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def append(
    mirror: Mirror,
    event_type: int,
    *,
    summary: str,
    actor: str = "system",
    subject_id: str = "",
    attributes: Mapping[str, str] | None = None,
    business_date: str | None = None,
    **detail: Message,
) -> AppendedRecord:
    """Append one record. Must run inside the caller's transaction.

    ``detail`` takes at most one of the AuditRecord ``detail`` cases by name,
    e.g. ``ingest=IngestSummary(...)``.
    """
    batch = Batch(mirror)
    appended = batch.append(
        event_type, summary=summary, actor=actor, subject_id=subject_id, attributes=attributes,
        business_date=business_date, **detail,
    )  # fmt: skip
    batch.flush()
    return appended


@dataclass(frozen=True)
class _Instant:
    moment: datetime
    stamp: Timestamp  # the payload's recorded_at
    text: str  # the recorded_at column, as _timestamp_text reads the payload back
    local_day: str  # the store's date then: the default business date


class Batch:
    """Appends in the caller's transaction, written by :meth:`flush` in one statement:
    the sequence and the chain head are kept in memory meanwhile (the transaction holds
    the write lock, so nothing else appends). :func:`append` is a batch of one; flush
    before anything else writes to the chain."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        self._rows: list[tuple] = []
        self._last: tuple[int, bytes] | None = None  # (seq, hash) of the newest row held
        self._instant: _Instant | None = None  # the newest record's, reused while it holds

    def append(
        self,
        event_type: int,
        *,
        summary: str,
        actor: str = "system",
        subject_id: str = "",
        attributes: Mapping[str, str] | None = None,
        business_date: str | None = None,
        now: datetime | None = None,
        **detail: Message,
    ) -> AppendedRecord:
        """One record, written by :meth:`flush`; ``now`` (default: the clock's) is when it is
        recorded."""
        mirror = self.mirror
        if not mirror.conn.in_transaction:
            raise RuntimeError("audit records must be appended inside the transaction of the "
                               "change they record")  # fmt: skip
        if self._last is None:
            self._last = (mirror.last_sequence("audit"), chain_head(mirror)[1])
        seq, prev_hash = self._last[0] + 1, self._last[1]
        store = mirror.require_store()
        instant = self._instant_of(mirror.clock.now() if now is None else now)
        record = audit_pb2.AuditRecord(
            id=common_pb2.RecordId(
                store_id=store.store_id, record_type=common_pb2.RECORD_TYPE_AUDIT, sequence=seq
            ),
            business_date=business_date or instant.local_day,
            event_type=event_type,
            actor=actor,
            subject_id=subject_id,
            summary=summary,
            attributes=dict(attributes or {}),
            **detail,
        )
        record.recorded_at.CopyFrom(instant.stamp)
        payload = record.SerializeToString(deterministic=True)
        digest = hashlib.sha256(prev_hash + payload).digest()
        record_id = record_id_text(record.id)
        self._rows.append((seq, record_id, event_name(event_type), instant.text,
                           prev_hash, digest, payload))  # fmt: skip
        self._last = (seq, digest)
        return AppendedRecord(seq=seq, record_id=record_id, hash=digest)

    def _instant_of(self, now: datetime) -> _Instant:
        """``now`` as the records need it, worked out once for the records of one instant
        (a cycle's decisions share theirs)."""
        if self._instant is None or self._instant.moment != now:
            stamp = Timestamp()
            stamp.FromDatetime(now.astimezone(UTC))
            self._instant = _Instant(
                now, stamp, stamp.ToDatetime(tzinfo=UTC).isoformat(),
                now.astimezone(self.mirror.require_store().tz).date().isoformat())  # fmt: skip
        return self._instant

    def flush(self) -> None:
        if self._rows:
            assert self._last is not None
            self.mirror.conn.executemany(_INSERT, self._rows)
            self.mirror.set_sequence("audit", self._last[0])
        self._rows, self._last = [], None


def iter_records(
    mirror: Mirror, *, since_seq: int = 0, limit: int | None = None
) -> Iterator[tuple[int, audit_pb2.AuditRecord]]:
    """Decoded records in chain order (for display; verification uses the raw bytes)."""
    sql = "SELECT seq, payload FROM audit_log WHERE seq > ? ORDER BY seq"
    params: tuple = (since_seq,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    for seq, payload in mirror.conn.execute(sql, params):
        yield int(seq), audit_pb2.AuditRecord.FromString(payload)


def verify(mirror: Mirror, acknowledged: tuple[int, bytes] | None = None) -> ChainReport:
    """Walk the whole chain and report the first bad record, if any.

    ``acknowledged`` is (seq, hash) of the head the hub verified: a chain edited
    and re-hashed locally verifies on its own but no longer reaches that hash.
    """
    store = mirror.require_store()
    anchor = chain_anchor(mirror)
    head, length, expected = anchor.hash, anchor.seq, anchor.seq + 1

    def problem(seq: int, reason: str) -> ChainReport:
        return ChainReport(length, head, ChainProblem(seq, f"{store.store_id}:audit:{seq}", reason))

    # Everything is read as bytes with its storage class: an edit may have stored text
    # that is not even valid UTF-8, and that must be reported, not crash the verifier.
    rows = mirror.conn.execute(
        "SELECT seq, CAST(record_id AS BLOB), CAST(event_type AS BLOB), "
        "CAST(recorded_at AS BLOB), CAST(prev_hash AS BLOB), CAST(hash AS BLOB), "
        "CAST(payload AS BLOB), typeof(prev_hash) || typeof(hash) || typeof(payload) "
        "FROM audit_log ORDER BY seq"
    )
    for seq, record_id, event_type, recorded_at, prev_hash, stored_hash, payload, types in rows:
        if seq != expected:
            return problem(
                expected,
                f"record is missing (deleted or renumbered); the next record present is seq {seq}",
            )
        if types != "blobblobblob":
            return problem(seq, "prev_hash, hash or payload is not stored as bytes: edited")
        if prev_hash != head:
            return problem(
                seq,
                "prev_hash does not match the hash of the record before it: "
                "a record was inserted before it or its prev_hash was edited",
            )
        if hashlib.sha256(prev_hash + payload).digest() != stored_hash:
            return problem(seq, "hash does not match prev_hash + payload: the record was edited")
        reason = _row_disagrees(store.store_id, seq, record_id, event_type, recorded_at, payload)
        if reason:
            return problem(seq, reason)
        if acknowledged is not None and seq == acknowledged[0] and stored_hash != acknowledged[1]:
            return problem(
                seq,
                "the chain up to this record no longer matches the head the hub verified: "
                "a record at or before it was edited and the chain re-hashed",
            )
        head, length, expected = stored_hash, length + 1, expected + 1
    if acknowledged is not None and length < acknowledged[0]:
        return problem(
            length + 1,
            f"chain ends at seq {length} but the hub verified {acknowledged[0]} records: "
            "records were removed from the end",
        )
    counter = mirror.conn.execute(
        "SELECT last FROM sequences WHERE record_type = 'audit'"
    ).fetchone()
    if counter and int(counter[0]) > length:
        return problem(
            length + 1,
            f"chain ends at seq {length} but {int(counter[0])} records were written: "
            "records were removed from the end",
        )
    return ChainReport(length, head, None)


def _row_disagrees(
    store_id: str,
    seq: int,
    record_id: bytes,
    event_type: bytes,
    recorded_at: bytes,
    payload: bytes,
) -> str | None:
    """Every column must agree with the hashed payload, so no column can be edited unseen."""
    try:
        record = audit_pb2.AuditRecord.FromString(payload)
    except DecodeError:
        return "payload is not a valid AuditRecord"
    rid = record.id
    if rid.store_id != store_id or rid.record_type != common_pb2.RECORD_TYPE_AUDIT:
        return (
            f"payload belongs to {rid.store_id!r}, type {rid.record_type}, not this store's audit"
        )
    if rid.sequence != seq:
        return f"payload says sequence {rid.sequence} but the row is seq {seq}"
    checks = (
        ("record_id", record_id, record_id_text(rid)),
        ("event_type", event_type, event_name(record.event_type)),
        ("recorded_at", recorded_at, _timestamp_text(record)),
    )
    for column, stored_bytes, expected in checks:
        stored = (stored_bytes or b"").decode("utf-8", errors="replace")
        if stored != expected:
            return f"column {column} is {stored!r} but the hashed payload says {expected!r}: edited"
    return None
