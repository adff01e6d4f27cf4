"""Kill -9 of the cycle at named points, then re-run: no duplicate order, no lost
decision, every decision with its audit record and outbox row, the chain verifies."""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from edge_agent import audit
from edge_agent.mirror import open_mirror

BIN = Path(sys.executable).parent
POINTS = ("cycle.after_expire", "decision.before_insert", "decision.before_outbox",
          "decision.before_commit", "cycle.after_commit")  # fmt: skip
KILLS = 12


def edge_agent(*args: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": str(BIN)}
    if failpoint:
        env["STOREEDGE_EDGE_FAILPOINT"] = failpoint
    exe = shutil.which("edge-agent", path=str(BIN))
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("kills") / "template.db"
    done = edge_agent("simulate", "--store", "S001", "--skus", "150", "--days", "90", "--seed",
                      "3", "--db", str(path), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    end = date.fromisoformat(open_mirror(path).conn.execute(
        "SELECT MAX(date) FROM daily_sales").fetchone()[0])  # fmt: skip
    # Future business days, so no supplier cutoff has passed when the cycles run.
    days = [(end + timedelta(days=k)).isoformat() for k in (2, 3, 4)]
    return path, days


def _state(path: Path) -> tuple[list[tuple], dict[str, int]]:
    conn = sqlite3.connect(path)
    decisions = sorted(conn.execute(
        "SELECT kind, COALESCE(sku, ''), COALESCE(hour, -1), business_date, quantity, value, "
        "state FROM decisions").fetchall())  # fmt: skip
    counts = {
        "decisions": conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0],
        "created": conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE event_type = 'DECISION_CREATED'"
        ).fetchone()[0],
        "outboxed": conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE record_type = 'decision'"
        ).fetchone()[0],
        "duplicate_live_orders": conn.execute(
            "SELECT COUNT(*) FROM (SELECT sku, order_date FROM decisions WHERE kind = 'order' "
            "AND state IN ('pending', 'approved', 'overridden', 'auto', 'submitted', "
            "'confirmed') GROUP BY sku, order_date HAVING COUNT(*) > 1)"
        ).fetchone()[0],
    }
    conn.close()
    return decisions, counts


def test_killed_cycles_rerun_to_the_same_decisions(template, tmp_path: Path):
    source, days = template
    reference, killed = tmp_path / "reference.db", tmp_path / "killed.db"
    shutil.copy(source, reference)
    shutil.copy(source, killed)
    for day in days:
        assert edge_agent("cycle", "--db", str(reference), "--as-of", day).returncode == 0
    expected, expected_counts = _state(reference)
    assert expected_counts["decisions"] > 50

    rng = random.Random(2026)
    kills = 0
    for day in days:
        for _ in range(KILLS // len(days)):
            point = rng.choice(POINTS)
            passes = {"cycle.after_expire": 1, "cycle.after_commit": rng.randint(1, 3)}.get(
                point, rng.randint(1, 60)
            )
            run = edge_agent("cycle", "--db", str(killed), "--as-of", day,
                             failpoint=f"{point}:{passes}")  # fmt: skip
            if run.returncode == 137:
                kills += 1
            else:  # the point was passed fewer times than asked: the cycle finished
                assert run.returncode == 0, run.stderr
        assert edge_agent("cycle", "--db", str(killed), "--as-of", day).returncode == 0
    assert kills >= KILLS - 3, f"only {kills} kills hit"
    got, counts = _state(killed)
    assert got == expected  # nothing lost, nothing twice
    assert counts == expected_counts
    assert counts["created"] == counts["outboxed"] == counts["decisions"]
    assert counts["duplicate_live_orders"] == 0
    mirror = open_mirror(killed)
    assert audit.verify(mirror).ok
    mirror.close()


def test_a_kill_between_drop_and_commit_resubmits_the_same_ids(template, tmp_path: Path):
    source, days = template
    db = tmp_path / "store.db"
    shutil.copy(source, db)
    assert edge_agent("cycle", "--db", str(db), "--as-of", days[0]).returncode == 0
    drop = tmp_path / "drop"
    run = edge_agent("submit", "--db", str(db), "--drop", str(drop),
                     failpoint="submit.after_rename")  # fmt: skip
    assert run.returncode == 137
    first = list(drop.glob("*.jsonl"))
    assert len(first) == 1  # the file is whole: written, fsynced, renamed
    assert edge_agent("submit", "--db", str(db), "--drop", str(drop)).returncode == 0
    files = sorted(drop.glob("*.jsonl"))
    assert len(files) == 2
    ids = [{line.split('"decision_id": "')[1].split('"')[0]
            for line in f.read_text().splitlines()} for f in files]  # fmt: skip
    assert ids[0] == ids[1]  # the consumer imports by decision id: once
    assert not list(drop.glob(".*"))  # no temp file left behind
