"""The audit chain: every edit, deletion or insertion is caught and the record named."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from edge_agent import audit
from edge_agent.mirror import Mirror
from storeedge.v1 import audit_pb2


def _fill(mirror: Mirror, n: int = 5) -> None:
    with mirror.transaction():
        for i in range(n):
            audit.append(
                mirror,
                audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED,
                summary=f"change {i}",
                attributes={"i": str(i)},
            )


def _raw(mirror: Mirror) -> sqlite3.Connection:
    """A separate connection, as a person with the sqlite3 shell would have."""
    conn = sqlite3.connect(mirror.path, isolation_level=None)
    return conn


def test_a_fresh_chain_verifies_and_links(mirror: Mirror):
    _fill(mirror)
    report = audit.verify(mirror)
    assert report.ok
    length, head = audit.chain_head(mirror)
    assert report.length == length == 7  # store configured + product ingest + 5
    assert report.head == head
    rows = mirror.conn.execute("SELECT prev_hash, hash, payload FROM audit_log ORDER BY seq")
    prev = audit.GENESIS_HASH
    for prev_hash, digest, payload in rows:
        assert prev_hash == prev
        assert digest == hashlib.sha256(prev_hash + payload).digest()
        prev = digest


def test_append_outside_a_transaction_is_refused(mirror: Mirror):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary="x")


def test_records_decode_with_ids_dates_and_details(mirror: Mirror):
    _fill(mirror, 1)
    seq, record = list(audit.iter_records(mirror))[-1]
    assert record.id.store_id == "S001" and record.id.sequence == seq
    assert record.business_date == "2026-03-10"
    assert record.attributes["i"] == "0"
    _, ingest = list(audit.iter_records(mirror))[1]
    assert ingest.event_type == audit_pb2.AUDIT_EVENT_TYPE_INGEST
    assert ingest.ingest.kind == "products" and ingest.ingest.rows_loaded == 3


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "words"),
    [
        # Edit the hashed bytes of record 4.
        (
            "UPDATE audit_log SET payload = CAST(REPLACE(CAST(payload AS TEXT), 'change 1', "
            "'change 9') AS BLOB) WHERE seq = 4",
            4,
            "edited",
        ),
        ("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 4", 4, "edited"),
        ("UPDATE audit_log SET prev_hash = zeroblob(32) WHERE seq = 4", 4, "prev_hash"),
        ("UPDATE audit_log SET event_type = 'APPROVAL' WHERE seq = 4", 4, "event_type"),
        ("UPDATE audit_log SET record_id = 'S001:audit:99' WHERE seq = 4", 4, "record_id"),
        (
            "UPDATE audit_log SET recorded_at = '2020-01-01T00:00:00+00:00' WHERE seq = 4",
            4,
            "recorded_at",
        ),
        # Delete a record in the middle, or the last one.
        ("DELETE FROM audit_log WHERE seq = 4", 4, "missing"),
        ("DELETE FROM audit_log WHERE seq = 7", 7, "removed from the end"),
        # Renumber a record away.
        ("UPDATE audit_log SET seq = 100 WHERE seq = 4", 4, "missing"),
    ],
)
def test_tampering_is_caught_and_the_record_named(mirror: Mirror, tamper, bad_seq, words):
    _fill(mirror)
    conn = _raw(mirror)
    conn.execute(tamper)
    conn.close()
    report = audit.verify(mirror)
    assert not report.ok
    assert report.problem.seq == bad_seq
    assert report.problem.record_id == f"S001:audit:{bad_seq}"
    assert words in report.problem.reason
    assert report.length == bad_seq - 1


def test_an_inserted_record_is_caught(mirror: Mirror):
    """A forged record slipped in after seq 3, with a correct hash over its predecessor."""
    _fill(mirror)
    conn = _raw(mirror)
    rows = conn.execute(
        "SELECT seq, record_id, event_type, recorded_at, prev_hash, hash, payload "
        "FROM audit_log ORDER BY seq DESC"
    ).fetchall()
    for row in rows:  # shift seq 4.. up by one
        if row[0] >= 4:
            conn.execute("UPDATE audit_log SET seq = seq + 1 WHERE seq = ?", (row[0],))
    third = conn.execute("SELECT hash, payload FROM audit_log WHERE seq = 3").fetchone()
    forged = audit_pb2.AuditRecord.FromString(third[1])
    forged.id.sequence = 4
    forged.summary = "forged"
    payload = forged.SerializeToString()
    conn.execute(
        "INSERT INTO audit_log VALUES (4, 'S001:audit:4', 'CONFIG_CHANGED', ?, ?, ?, ?)",
        (
            audit._timestamp_text(forged),
            third[0],
            hashlib.sha256(third[0] + payload).digest(),
            payload,
        ),
    )
    conn.close()
    report = audit.verify(mirror)
    assert not report.ok
    # The forged record chains correctly; the one after it no longer does.
    assert report.problem.seq == 5
    assert "prev_hash" in report.problem.reason


def test_a_chain_re_hashed_after_an_edit_fails_against_the_head_the_hub_verified(
    mirror: Mirror, capsys
):
    from edge_agent import cli, sync

    _fill(mirror, 6)
    length, head = audit.chain_head(mirror)
    ack = audit_pb2.ChainAck(store_id="S001", chain_length=length, chain_head=head)
    ack.verified_at.GetCurrentTime()
    with mirror.transaction():
        sync.record_chain_ack(mirror, ack)
    # Someone edits record 3 and re-hashes everything after it: locally consistent again.
    conn = _raw(mirror)
    rows = conn.execute("SELECT seq, payload FROM audit_log ORDER BY seq").fetchall()
    prev = audit.GENESIS_HASH
    for seq, payload in rows:
        if seq == 3:
            payload = bytes(payload).replace(b"change", b"CHANGE")
        digest = hashlib.sha256(prev + payload).digest()
        conn.execute("UPDATE audit_log SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (payload, prev, digest, seq))  # fmt: skip
        prev = digest
    conn.commit()
    assert audit.verify(mirror).ok  # what local verification alone cannot see
    report = audit.verify(mirror, (length, head))
    assert not report.ok and report.problem.seq == length
    assert "no longer matches the head the hub verified" in report.problem.reason
    # `edge-agent audit verify` checks against the hub's acknowledgement by itself.
    assert cli.main(["audit", "verify", "--db", str(mirror.path)]) == 1
    assert f"S001:audit:{length}" in capsys.readouterr().err
