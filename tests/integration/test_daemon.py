"""`edge-agent run` and `cloud-hub serve` as real processes over a real nats-server."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent import audit
from edge_agent.clock import FixedClock
from edge_agent.config import load_settings
from edge_agent.cycle import load_models, run_cycle
from edge_agent.daemon import Agent
from edge_agent.mirror import open_mirror
from edge_agent.policy import KindPolicy, Policy
from models import BOOTSTRAP_DIR
from tests.helpers import (
    SIM_END,
    agreement,
    cli,
    simulated_store,
    start,
    wait_for,
    wait_until,
)


def stop(tmp_path: Path, **processes: subprocess.Popen) -> None:
    """SIGTERM each daemon; each must finish its work and exit 0."""
    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    for name, process in processes.items():
        assert process.wait(30) == 0, (tmp_path / f"{name}.log").read_text()


def store_with_decisions(path: Path, store_id: str, seed: int) -> Path:
    simulated_store(path, store_id, seed=seed).close()
    return path


@pytest.mark.slow
def test_agent_and_hub_agree_and_stop_cleanly(nats_server, tmp_path):
    db = store_with_decisions(tmp_path / "s1.db", "S001", seed=5)
    hub_db = tmp_path / "hub.db"
    hub = start(tmp_path / "hub.log", "cloud-hub", "serve", "--db", str(hub_db), "--nats",
                nats_server.url, "--insecure")  # fmt: skip
    agent = start(tmp_path / "agent.log", "edge-agent", "run", "--db", str(db), "--nats",
                  nats_server.url, "--insecure", "--http-port", "0")  # fmt: skip
    try:
        edge, store = wait_for(lambda: agreement(db, hub_db), what="the hub to hold everything")
        assert store["chain_ok"] is True
        assert store["chain_head"] == edge["chain_head"]
        assert store["received"]["decisions"] > 0 and store["received"]["audit"] > 0
        # The hub acknowledged the chain head back; the store keeps it.
        acked = wait_for(
            lambda: json.loads(cli("edge-agent", "status", "--db", str(db), "--json").stdout)[
                "hub_chain_ack"
            ],
            what="the hub's chain acknowledgement",
        )
        assert acked["seq"] == store["chain_length"] and acked["hash"] == store["chain_head"]
        log = (tmp_path / "agent.log").read_text()
        assert "INSECURE" in log
        port = int(re.search(r"127\.0\.0\.1:(\d+)/healthz", log).group(1))
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read())
        assert health["status"] == "ok" and health["connected"] is True
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert "storeedge_link_up 1.0" in metrics
        assert 'storeedge_outbox_pending{type="decisions"} 0.0' in metrics
        # The heartbeat reaches the hub with the agent's version.
        wait_for(
            lambda: json.loads(cli("cloud-hub", "status", "--db", str(hub_db), "--json").stdout)[
                "stores"
            ]["S001"]["agent_version"],
            what="a heartbeat",
        )
    finally:
        stop(tmp_path, agent=agent, hub=hub)
    assert "stopped" in (tmp_path / "agent.log").read_text()


def test_agent_refuses_to_start_without_credentials(tmp_path):
    db = tmp_path / "s1.db"
    assert (
        cli("edge-agent", "init", "--db", str(db), "--store", "S001", "--tz", "UTC").returncode == 0
    )
    done = cli("edge-agent", "run", "--db", str(db), "--nats", "nats://127.0.0.1:1")
    assert done.returncode == 2
    assert "nats_creds" in done.stderr and "--insecure" in done.stderr
    done = cli("edge-agent", "run", "--db", str(db), "--insecure")
    assert done.returncode == 2 and "nats_url" in done.stderr


def test_config_errors_name_the_field(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text('cycle_times = ["25:00"]\nnats_url = "nats://127.0.0.1:1"\ninsecure = true\n')
    db = tmp_path / "s1.db"
    cli("edge-agent", "init", "--db", str(db), "--store", "S001", "--tz", "UTC")
    done = cli("edge-agent", "--config", str(config), "run", "--db", str(db))
    assert done.returncode == 2
    assert "cycle_times" in done.stderr and "25:00" in done.stderr
    done = cli("edge-agent", "run", "--db", str(db), "--nats", "nats://127.0.0.1:1", "--insecure",
               env={"STOREEDGE_EDGE_SYNC_BATCH": "0"})  # fmt: skip
    assert done.returncode == 2 and "sync_batch" in done.stderr


async def test_a_full_disk_stops_new_decisions_with_an_alarm_and_loses_nothing(tmp_path):
    db = store_with_decisions(tmp_path / "s1.db", "S001", seed=5)
    day = date(2026, 7, 1)
    clock = FixedClock(datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC))  # 05:00 local
    settings = load_settings(db=db, nats_url="nats://127.0.0.1:1", insecure=True,
                             cycle_times=["06:00"], backoff_max_s=0.2)  # fmt: skip
    agent = Agent(settings, clock=clock)
    before = agent.mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    pages = agent.mirror.conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite's own "database or disk is full", from a page limit on the cycle's connection.
    agent.mirror.conn.execute(f"PRAGMA max_page_count = {pages}")
    task = asyncio.create_task(agent.run())
    try:
        clock.advance(timedelta(hours=1, minutes=5))  # past the 06:00 slot
        await wait_until(lambda: "disk_full" in agent.alarms, "the disk-full alarm")
        healthy, doc = agent.health()
        assert not healthy and "is full" in doc["alarms"]["disk_full"]
        assert agent.mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == before
        # Space is freed: the alarm clears and the missed cycle runs.
        agent.mirror.conn.execute("PRAGMA max_page_count = 1073741823")
        await wait_until(lambda: agent.last_cycle is not None, "the cycle after recovery")
        assert "disk_full" not in agent.alarms and agent.health()[0]
        assert agent.mirror.conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] > before
    finally:
        agent.stop.set()
        await asyncio.wait_for(task, 30)
    mirror = open_mirror(db, create=False)
    assert audit.verify(mirror).ok
    mirror.close()


@pytest.mark.slow
def test_approvals_taken_at_the_hub_are_applied_or_refused_by_the_store(nats_server, tmp_path):
    db = tmp_path / "s1.db"
    mirror = simulated_store(db, "S001", seed=5, cycles=0)
    # A strict policy: every order and staffing decision waits for a person.
    strict = Policy(order=KindPolicy(auto_min_confidence=1.0, max_value=5000.0, min_quantity=1.0),
                    staffing=KindPolicy(auto_min_confidence=1.0))  # fmt: skip
    day = SIM_END + timedelta(days=1)
    mirror.clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
    run_cycle(mirror, load_models(BOOTSTRAP_DIR), strict, day)
    pending = {kind: decision_id for decision_id, kind in mirror.conn.execute(
        "SELECT decision_id, kind FROM decisions WHERE state = 'pending'")}  # fmt: skip
    mirror.close()
    assert {"order", "staffing"} <= set(pending)
    hub_db = tmp_path / "hub.db"
    link = ("--db", str(hub_db), "--nats", nats_server.url, "--insecure")
    hub = start(tmp_path / "hub.log", "cloud-hub", "serve", *link)
    agent = start(tmp_path / "agent.log", "edge-agent", "run", "--db", str(db), "--nats",
                  nats_server.url, "--insecure")  # fmt: skip
    try:
        wait_for(lambda: agreement(db, hub_db), what="the decisions at the hub")
        # A staffing gap can still be approved; the order's supplier cutoff (June) has passed.
        for decision_id in (pending["staffing"], pending["order"]):
            done = cli("cloud-hub", "decisions", "approve", decision_id, "--by", "ana",
                       "--reason", "seen at the hub", *link, "--json")  # fmt: skip
            assert done.returncode == 0, done.stderr

        def answered() -> list[dict] | None:
            done = cli("cloud-hub", "approvals", "--db", str(hub_db), "--json")
            rows = json.loads(done.stdout)["approvals"]
            return rows if rows and all(r["status"] != "sent" for r in rows) else None

        answers = wait_for(answered, what="the store's answers")
        by_decision = {r["decision_id"]: r for r in answers}
        assert by_decision[pending["staffing"]]["status"] == "applied"
        assert by_decision[pending["staffing"]]["state"] == "approved"
        refused = by_decision[pending["order"]]
        assert refused["status"] == "refused" and refused["state"] == "expired"
        assert "cutoff" in refused["result_reason"] or "expired" in refused["result_reason"]
        # Audited at the store, with the hub user as actor; and the hub has it all.
        wait_for(lambda: agreement(db, hub_db), what="the answers' records at the hub")
    finally:
        stop(tmp_path, agent=agent, hub=hub)
    mirror = open_mirror(db, create=False)
    try:
        actor, state = mirror.conn.execute(
            "SELECT actor, state FROM decisions WHERE decision_id = ?", (pending["staffing"],)
        ).fetchone()
        assert (actor, state) == ("ana@hub", "approved")
        by_hub = [r for _, r in audit.iter_records(mirror) if r.actor == "ana@hub"]
        assert {(audit.event_name(r.event_type), r.subject_id) for r in by_hub} == {
            ("APPROVAL", pending["staffing"]), ("APPROVAL", pending["order"])}  # fmt: skip
        assert any("refused" in r.summary for r in by_hub)
        assert audit.verify(mirror).ok
    finally:
        mirror.close()
    # A decision the hub never received cannot be approved there.
    done = cli("cloud-hub", "decisions", "approve", "S001:decision:999999", "--by", "ana",
               "--reason", "x", *link)  # fmt: skip
    assert done.returncode == 2 and "no decision S001:decision:999999" in done.stderr


async def test_the_inbox_ingests_exports_and_sets_aside_what_it_cannot_read(tmp_path):
    db = tmp_path / "s1.db"
    assert cli("edge-agent", "init", "--db", str(db), "--store", "S001", "--tz",
               "Europe/Berlin").returncode == 0  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "products.csv").write_text(
        "sku,category,case_pack,unit_cost,price\nSKU1,dairy,12,0.55,0.99\nSKU2,dairy,x,1,2\n"
    )
    (inbox / "notes.csv").write_text("what,is,this\n1,2,3\n")
    (inbox / "half-written.csv.part").write_text("sku,category")
    settings = load_settings(
        db=db, nats_url="nats://127.0.0.1:1", insecure=True, inbox_dir=inbox,
        inbox_interval_s=0.1, cycle_times=["23:59"],
    )  # fmt: skip
    agent = Agent(settings)
    task = asyncio.create_task(agent.run())
    try:
        await wait_until(lambda: (inbox / "done" / "products.csv").exists()
                         and (inbox / "rejected" / "notes.csv").exists(), "the inbox")  # fmt: skip
    finally:
        agent.stop.set()
        await asyncio.wait_for(task, 30)
    reason = (inbox / "rejected" / "notes.csv.reason.txt").read_text()
    assert "header" in reason or "kind" in reason
    assert (inbox / "half-written.csv.part").exists()  # still being written: left alone
    mirror = open_mirror(db, create=False)
    try:
        assert mirror.known_skus() == {"SKU1"}
        bad = mirror.conn.execute("SELECT reason, line_no FROM quarantine").fetchall()
        assert bad == [("bad_value", 3)]  # the bad case pack, with its line
    finally:
        mirror.close()


@pytest.mark.slow
def test_hub_commands_run_a_cycle_and_resend_the_chain_once_each(nats_server, tmp_path):
    db = store_with_decisions(tmp_path / "s1.db", "S001", seed=5)
    hub_db = tmp_path / "hub.db"
    link = ("--db", str(hub_db), "--nats", nats_server.url, "--insecure")
    hub = start(tmp_path / "hub.log", "cloud-hub", "serve", *link)
    agent = start(tmp_path / "agent.log", "edge-agent", "run", "--db", str(db), "--nats",
                  nats_server.url, "--insecure", "--http-port", "0")  # fmt: skip
    day = (SIM_END + timedelta(days=5)).isoformat()
    try:
        before, _ = wait_for(lambda: agreement(db, hub_db), what="the first sync")
        done = cli("cloud-hub", "command", "run-cycle", "S001", "--as-of", day, "--by", "ops",
                   *link)  # fmt: skip
        assert done.returncode == 0, done.stderr
        done = cli("cloud-hub", "command", "resend-audit", "S001", "--from-seq", "1", "--by",
                   "ops", *link)  # fmt: skip
        assert done.returncode == 0, done.stderr

        def cycled() -> bool:
            conn = sqlite3.connect(db)
            try:
                return conn.execute("SELECT COUNT(*) FROM decisions WHERE business_date = ?",
                                    (day,)).fetchone()[0] > 0  # fmt: skip
            finally:
                conn.close()

        wait_for(cycled, what="the commanded cycle")
        edge, store = wait_for(lambda: agreement(db, hub_db), what="the sync after the commands")
        # The whole chain went again (JetStream's dedup window caught these copies; after a
        # longer time the hub's idempotency does): nothing twice, nothing quarantined.
        assert store["chain_ok"] is True and store["quarantined"] == 0
        assert store["received"]["audit"] == edge["chain_length"]
        port = int(re.search(r"127\.0\.0\.1:(\d+)/healthz",
                             (tmp_path / "agent.log").read_text()).group(1))  # fmt: skip
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        resent = float(re.search(r"(?m)^storeedge_sync_duplicates_total (\S+)", metrics).group(1))
        assert resent >= before["chain_length"]  # the chain as it was before the commands
    finally:
        stop(tmp_path, agent=agent, hub=hub)
    mirror = open_mirror(db, create=False)
    try:
        executed = [r for _, r in audit.iter_records(mirror)
                    if audit.event_name(r.event_type) == "COMMAND_EXECUTED"]  # fmt: skip
        assert sorted(r.attributes["kind"] for r in executed) == ["resend_audit", "run_cycle"]
        assert all(r.actor == "ops@hub" for r in executed)
    finally:
        mirror.close()
