"""One hub database, several hub processes: opening, ingesting out of order, reading status.

Scale-out runs two or more `cloud-hub serve` processes on one SQLite file (WAL); they share
the durable consumers, so neighbouring batches of one store's chain land in different
processes and commit in any order, and a redelivered batch may land in both.
"""

from __future__ import annotations

import pickle
import random
import sqlite3
import subprocess
import sys
import threading
import time

from cloud_hub.storage import Incoming, open_storage
from edge_agent import audit
from tests.unit.test_hub_storage import entries

WORKER = """
import pickle, sys, time
from pathlib import Path
from cloud_hub.storage import open_storage
batches = pickle.loads(Path(sys.argv[1]).read_bytes())
start = float(sys.argv[3])
while time.time() < start:  # all workers open the new file at the same moment
    pass
storage = open_storage(sys.argv[2])
for batch in batches:
    storage.ingest(batch)
storage.close()
"""


def test_opening_a_new_file_waits_for_another_writer_instead_of_failing(tmp_path):
    # SQLite answers the switch to WAL with "database is locked" at once (no busy wait)
    # while another connection holds a write lock on a file not yet in WAL: two hub
    # processes starting together on a new file hit exactly that.
    db = tmp_path / "hub.db"
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE early(x)")
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        storage = open_storage(db)
    finally:
        release.join()
        holder.close()
    try:
        assert time.monotonic() - started >= 0.25  # it waited for the lock
        assert storage.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        storage.close()


def test_processes_ingesting_neighbouring_batches_out_of_order_verify_the_chain(mirror, tmp_path):
    chain = entries(mirror, 900)
    length, head = audit.chain_head(mirror)
    records = [Incoming("S001", "decision", f"S001:decision:{k}", b"d%d" % k) for k in range(600)]
    batches = [chain[i : i + 60] + records[i // 3 * 2 : i // 3 * 2 + 40]
               for i in range(0, len(chain), 60)]  # fmt: skip
    rng = random.Random(6)
    rng.shuffle(batches)  # neighbouring batches commit in any order, in any process
    db = tmp_path / "hub.db"
    start = time.time() + 1.0
    workers = []
    for n in range(3):
        # Each process takes every third batch, and one redelivered batch of another's.
        mine = [*batches[n::3], batches[(n * 5 + 1) % len(batches)]]
        path = tmp_path / f"worker-{n}.pkl"
        path.write_bytes(pickle.dumps(mine))
        args = [sys.executable, "-c", WORKER, str(path), str(db), str(start)]
        workers.append(subprocess.Popen(args, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    storage = open_storage(db)
    try:
        status = storage.store_status(gap_timeout_s=0)["S001"]
        stored = storage.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    finally:
        storage.close()
    assert status["chain_ok"] is True and status["chain_gap"] is None
    assert (status["chain_length"], status["chain_head"]) == (length, head.hex())
    assert status["received"]["audit"] == len(chain) and status["received"]["decisions"] == 600
    assert stored == 600 and status["quarantined"] == 0


class _FillsTheGapMidStatus:
    """The storage's connection, with another hub process committing between the status
    queries (right before the stores are read)."""

    def __init__(self, conn: sqlite3.Connection, other_process) -> None:
        self.conn, self.other_process = conn, other_process

    def execute(self, sql: str, *args):
        if "FROM stores ORDER BY store_id" in sql and self.other_process:
            self.other_process()
            self.other_process = None
        return self.conn.execute(sql, *args)


def test_status_reads_one_snapshot_while_another_process_advances_the_chain(mirror, tmp_path):
    chain = entries(mirror, 5)
    reader, writer = open_storage(tmp_path / "hub.db"), open_storage(tmp_path / "hub.db")
    try:
        writer.ingest(chain[1:])  # seq 1 missing: entries 2..5 wait
        reader.conn = _FillsTheGapMidStatus(reader.conn, lambda: writer.ingest(chain[:1]))
        status = reader.store_status(gap_timeout_s=0)["S001"]
        # One state of the file: the gap seen is the gap at the length read, not seq 6
        # "missing" after a chain that had meanwhile grown.
        assert status["chain_length"] == 0
        assert status["chain_gap"]["missing_from"] == 1
        assert status["chain_problem"]["record_id"] == "S001:audit:1"
        reader.conn = reader.conn.conn
        after = reader.store_status(gap_timeout_s=0)["S001"]
        assert after["chain_length"] == len(chain)
        assert after["chain_ok"] is True and after["chain_gap"] is None
    finally:
        if isinstance(reader.conn, _FillsTheGapMidStatus):
            reader.conn = reader.conn.conn
        reader.close()
        writer.close()
