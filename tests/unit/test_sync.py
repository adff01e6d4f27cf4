"""The drain's bookkeeping on a real mirror: what is read, what an ack settles, status."""

from __future__ import annotations

import hashlib

import pytest

from edge_agent import audit, outbox, sync
from storeedge import subjects
from storeedge.v1 import audit_pb2


def _audit(mirror, n: int) -> None:
    with mirror.transaction():
        for k in range(n):
            audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"change {k}")


def _queue(mirror, n: int) -> None:
    with mirror.transaction():
        for k in range(n):
            outbox.append(mirror, f"S001:decision:{k + 1}", "decision", b"x" * 100)


def test_audit_entries_travel_as_the_stored_bytes(mirror):
    _audit(mirror, 3)
    batch = sync.read_pending(mirror, after_outbox_seq=0, after_audit_seq=0, limit=100)
    entries = [r for r in batch if r.record_type == "audit"]
    rows = mirror.conn.execute("SELECT seq, record_id, prev_hash, hash, payload FROM audit_log "
                               "ORDER BY seq").fetchall()  # fmt: skip
    assert [r.record_id for r in entries] == [row[1] for row in rows]
    for record, (seq, _, prev_hash, digest, payload) in zip(entries, rows, strict=True):
        entry = audit_pb2.AuditEntry.FromString(record.payload)
        assert (entry.seq, entry.prev_hash, entry.hash, entry.payload) == (seq, prev_hash, digest,
                                                                          payload)  # fmt: skip
        assert hashlib.sha256(entry.prev_hash + entry.payload).digest() == entry.hash


def test_settle_prunes_acked_rows_and_moves_the_audit_cursor_only_over_a_gapless_run(mirror):
    _audit(mirror, 5)
    _queue(mirror, 4)
    length, _ = audit.chain_head(mirror)
    batch = sync.read_pending(mirror, after_outbox_seq=0, after_audit_seq=0, limit=100)
    rows = [r for r in batch if r.outbox_seq is not None]
    entries = [r for r in batch if r.audit_seq is not None]
    # Acks for outbox rows 1 and 3 and for audit entries 1, 2 and 4 (3 got no ack).
    acked = [rows[0], rows[2], *(e for e in entries if e.audit_seq in (1, 2, 4))]
    cursor = sync.settle(mirror, acked, 0)
    assert cursor == 2
    assert [r[0] for r in mirror.conn.execute("SELECT record_id FROM outbox ORDER BY seq")] == [
        rows[1].record_id, rows[3].record_id]  # fmt: skip
    status = sync.sync_status(mirror)
    assert status["decisions"] == {"committed": 4, "acked": 2, "pending": 2}
    assert status["audit"] == {"committed": length, "acked": 2, "pending": length - 2}
    # The next drain starts after seq 2, so entry 4 goes again (the hub absorbs the copy).
    again = sync.read_pending(mirror, after_outbox_seq=0, after_audit_seq=cursor, limit=100)
    assert [r.audit_seq for r in again if r.audit_seq][:3] == [3, 4, 5]


def test_the_outbox_budget_raises_an_alarm_and_drops_nothing(mirror):
    _queue(mirror, 30)
    size = sync.outbox_bytes(mirror)
    assert size == 30 * 100
    assert sync.budget_alarm(size, budget_mb=1.0) is None
    alarm = sync.budget_alarm(size, budget_mb=0.001)
    assert alarm is not None and "over its budget" in alarm
    assert mirror.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 30


def test_subjects_carry_the_store_and_refuse_what_would_break_permissions():
    assert subjects.up_subject("S001", "audit") == "storeedge.S001.up.audit"
    assert subjects.parse_subject("storeedge.S001.up.audit") == ("S001", "up", "audit")
    assert subjects.down_filter("S001") == "storeedge.S001.down.*"
    for bad in ("S.1", "S*", "S>", "S 1", ""):
        with pytest.raises(ValueError, match="subject token"):
            subjects.up_subject(bad, "audit")
    with pytest.raises(ValueError, match="unknown record type"):
        subjects.up_subject("S001", "heartbeat")
    with pytest.raises(ValueError, match="not a storeedge subject"):
        subjects.parse_subject("other.S001.up.audit")
    spec = {s.name: s for s in subjects.stream_specs()}
    assert spec[subjects.UP_STREAM].max_age_s > subjects.OFFLINE_PROMISE_DAYS * 86_400


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_bandwidth_cap_paces_to_the_rate_after_a_burst():
    fake = FakeTime()
    cap = sync.BandwidthCap(100_000, burst=10_000, now=lambda: fake.now, sleep=fake.sleep)
    for _ in range(1_000):  # 300 kB in 300-byte records, sent as fast as allowed
        await cap.take(300)
    # The first 10 kB go at once; the other 290 kB take 2.9 s at 100 kB/s.
    assert fake.now - 100.0 == pytest.approx(2.9, abs=0.01)
    assert len(fake.slept) == 1_000 - 10_000 // 300
    # Idle time refills the bucket, but only up to the burst.
    fake.now += 60.0
    await cap.take(10_000)
    await cap.take(300)
    assert fake.slept[-1] == pytest.approx(0.003)


def test_bandwidth_cap_refuses_a_rate_that_is_not_positive():
    with pytest.raises(ValueError, match="bytes_per_s"):
        sync.BandwidthCap(0)
