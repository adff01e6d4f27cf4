"""The hub database: idempotent by record id, chains verified on arrival, in any order."""

from __future__ import annotations

import hashlib

import pytest

from cloud_hub.storage import Incoming, open_storage
from edge_agent import audit, sync
from storeedge.v1 import audit_pb2


@pytest.fixture
def storage(tmp_path):
    hub = open_storage(tmp_path / "hub.db")
    yield hub
    hub.close()


def entries(mirror, n: int) -> list[Incoming]:
    with mirror.transaction():
        for k in range(n):
            audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"change {k}")
    batch = sync.read_pending(mirror, after_outbox_seq=0, after_audit_seq=0, limit=1000)
    return [Incoming("S001", "audit", r.record_id, r.payload) for r in batch if r.audit_seq]


def test_out_of_order_arrival_waits_for_the_gap_and_then_verifies(mirror, storage):
    chain = entries(mirror, 6)
    length, head = audit.chain_head(mirror)
    storage.ingest(chain[3:])  # the later half first
    status = storage.store_status()["S001"]
    assert status["chain_length"] == 0 and status["chain_ok"] is True
    assert status["chain_gap"]["missing_from"] == 1
    result = storage.ingest(chain[:3])
    assert result.chains_advanced == {"S001": length}
    status = storage.store_status()["S001"]
    assert (status["chain_length"], status["chain_head"]) == (length, head.hex())
    assert status["chain_gap"] is None


def test_a_gap_that_does_not_close_flags_the_store(mirror, storage):
    chain = entries(mirror, 4)
    storage.ingest([chain[0], *chain[2:]])
    assert storage.store_status(gap_timeout_s=3600)["S001"]["chain_ok"] is True
    flagged = storage.store_status(gap_timeout_s=0)["S001"]
    assert flagged["chain_ok"] is False
    assert flagged["chain_problem"]["record_id"] == "S001:audit:2"


def test_redelivery_and_replay_change_nothing(mirror, storage):
    chain = entries(mirror, 5)
    records = [Incoming("S001", "decision", f"S001:decision:{k}", b"d%d" % k) for k in (1, 2)]
    first = storage.ingest(chain + records)
    again = storage.ingest(chain + records + records)
    assert first.stored == len(chain) + 2
    assert (again.stored, again.duplicates, again.quarantined) == (0, len(chain) + 4, 0)
    assert storage.store_status()["S001"]["received"]["decisions"] == 2


def test_received_counts_are_kept_at_ingest_and_built_for_an_older_database(mirror, tmp_path):
    path = tmp_path / "older.db"
    storage = open_storage(path)
    chain = entries(mirror, 6)
    records = [Incoming("S001", "decision", f"S001:decision:{k}", b"d%d" % k) for k in (1, 2, 3)]
    storage.ingest(chain[:4] + records[:2])
    storage.ingest(chain + records + records)  # redelivered copies count once
    expected = {"audit": len(chain), "decisions": 3}
    received = storage.store_status()["S001"]["received"]
    assert {k: v for k, v in received.items() if v} == expected
    # a database written before the counts existed: they are built from what it holds
    storage.conn.executescript("DROP TRIGGER records_counted; DROP TRIGGER audit_entries_counted;"
                               "DROP TABLE record_counts;")  # fmt: skip
    storage.close()
    reopened = open_storage(path)
    try:
        received = reopened.store_status()["S001"]["received"]
        assert {k: v for k, v in received.items() if v} == expected
    finally:
        reopened.close()


def test_a_subjects_trail_is_indexed_at_ingest_and_for_an_older_database(mirror, tmp_path):
    from cloud_hub import api_queries

    expected = []
    with mirror.transaction():
        for k in range(30):  # the subject's entries spread over a longer chain
            subject = "S001:decision:7" if k in (3, 17, 29) else f"S001:decision:{100 + k}"
            appended = audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED,
                                    summary=f"e{k}", subject_id=subject)  # fmt: skip
            if subject == "S001:decision:7":
                expected.append(appended.seq)
    chain = entries(mirror, 2)  # two more without a subject
    path = tmp_path / "hub.db"
    storage = open_storage(path)
    storage.ingest(chain)

    def trail() -> list[int]:
        return [e["seq"] for e in api_queries.audit_trail(storage.conn, "S001", "S001:decision:7")]

    assert trail() == expected and len(expected) == 3
    indexed = "SELECT COUNT(*) FROM audit_subjects WHERE subject_id LIKE 'S001:decision:%'"
    assert storage.conn.execute(indexed).fetchone()[0] == 30
    # a database written before the index existed: it is built from the entries it holds
    storage.conn.execute("DROP TABLE audit_subjects")
    storage.close()
    storage = open_storage(path)
    try:
        assert trail() == expected
    finally:
        storage.close()


def test_a_reused_record_id_with_other_content_is_quarantined(storage):
    storage.ingest([Incoming("S001", "decision", "S001:decision:1", b"first")])
    result = storage.ingest([Incoming("S001", "decision", "S001:decision:1", b"forged")])
    assert result.quarantined == 1
    reason, payload = storage.conn.execute("SELECT reason, payload FROM quarantine").fetchone()
    assert "other content" in reason and payload == b"forged"


def test_an_altered_entry_or_a_fork_flags_the_store_and_keeps_the_record(mirror, storage):
    chain = entries(mirror, 4)
    altered = audit_pb2.AuditEntry.FromString(chain[2].payload)
    altered.payload = altered.payload.replace(b"change", b"CHANGE")
    storage.ingest([*chain[:2], Incoming("S001", "audit", chain[2].record_id,
                                         altered.SerializeToString())])  # fmt: skip
    status = storage.store_status()["S001"]
    assert status["chain_ok"] is False and status["chain_length"] == 2
    assert status["chain_problem"]["seq"] == 3 and "altered" in status["chain_problem"]["reason"]
    assert status["quarantined"] == 1


def test_a_re_hashed_fork_is_caught(mirror, storage):
    chain = entries(mirror, 3)
    storage.ingest(chain)
    # Someone rewrites record 3 and re-hashes it: the same seq arrives with another hash.
    forged = audit_pb2.AuditEntry.FromString(chain[2].payload)
    forged.payload = forged.payload.replace(b"change", b"CHANGE")
    forged.hash = hashlib.sha256(forged.prev_hash + forged.payload).digest()
    storage.ingest([Incoming("S001", "audit", chain[2].record_id, forged.SerializeToString())])
    status = storage.store_status()["S001"]
    assert status["chain_ok"] is False and "fork" in status["chain_problem"]["reason"]


def test_entries_sent_on_another_stores_subject_do_not_verify(mirror, storage):
    chain = entries(mirror, 2)
    forged = [Incoming("S002", "audit", r.record_id.replace("S001", "S002"), r.payload)
              for r in chain]  # fmt: skip
    storage.ingest(forged)
    status = storage.store_status()["S002"]
    assert status["chain_ok"] is False and "belongs to store 'S001'" in status[
        "chain_problem"]["reason"]  # fmt: skip


def test_ingest_and_heartbeats_share_the_database_from_several_threads(mirror, storage):
    # `cloud-hub serve` writes batches and heartbeats from worker threads at the same time.
    import threading

    chain = entries(mirror, 300)
    errors: list[BaseException] = []

    def beat(store: str) -> None:
        try:
            for _ in range(200):
                storage.record_heartbeat(store, "0.1.0", b"beat")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=beat, args=(f"S00{n}",)) for n in (2, 3)]
    for thread in threads:
        thread.start()
    for start in range(0, len(chain), 10):
        storage.ingest(chain[start : start + 10])
    for thread in threads:
        thread.join()
    assert errors == []
    status = storage.store_status()
    assert status["S001"]["chain_length"] == len(chain) and status["S001"]["chain_ok"]
    assert status["S002"]["agent_version"] == "0.1.0"
