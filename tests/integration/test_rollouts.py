"""Rollouts in rings with a real nats-server, real agents, real signing and ONNX swaps:
a good version goes canary -> early -> all; a version that passes every shadow check but
forecasts 30% high is caught by the canary's live accuracy on the outcomes synced after
the swap, rolled back on the canary only, and never reaches another ring."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import onnx
import pytest
from nats.js.errors import KeyNotFoundError
from onnx import TensorProto, helper

from cloud_hub import distribution, hub_audit, rollouts
from edge_agent.mirror import open_mirror
from edge_agent.mirror.ingest import Ingestor
from models import BOOTSTRAP_DIR
from storeedge import subjects
from storeedge.v1 import decision_pb2, model_pb2
from tests.helpers import (
    Running,
    cli,
    heartbeat_at_hub,
    morning,
    shipped_version,
    start_fleet,
    wait_until,
)

MODEL = "labor"
SHIPPED = shipped_version(MODEL)
RINGS = {"S001": "canary", "S002": "early", "S003": "main"}
GOOD, BAD = "2026.06.29-good", "2026.06.29-high"
#: Each version's outputs relative to the shipped model's.
SCALE = {SHIPPED: 1.0, GOOD: 1.02, BAD: 1.3}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fleet, server = start_fleet(tmp_path_factory.mktemp("rollouts"), RINGS)
    yield fleet
    server.stop()


def scaled(factor: float) -> bytes:
    """The shipped labor model with every output multiplied by ``factor``."""
    model = onnx.load_from_string((BOOTSTRAP_DIR / f"{MODEL}.onnx").read_bytes())
    output = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [f"{output}_unscaled" if o == output else o for o in node.output]
    model.graph.initializer.append(
        helper.make_tensor("rollout_test_scale", TensorProto.FLOAT, [1], [factor])
    )
    model.graph.node.append(
        helper.make_node("Mul", [f"{output}_unscaled", "rollout_test_scale"], [output])
    )
    if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("", 15))
    return model.SerializeToString()


def hub_link(fleet) -> list[str]:
    return ["--db", str(fleet.db), "--nats", fleet.url, "--creds", str(fleet.hub_seed)]


def rollout_row(db: Path, version: str) -> dict | None:
    return next((r for r in rollouts.rollout_status(db)["rollouts"] if r["version"] == version),
                None)  # fmt: skip


def serving_at_hub(db: Path, store_id: str) -> str:
    return rollouts.rollout_status(db)["stores"].get(store_id, {}).get("models", {}).get(MODEL, "")


def swap_report(db: Path, store_id: str) -> dict:
    """The hub's latest swap report of ``store_id`` for MODEL ({} before any)."""
    reports = distribution.swap_reports(db)
    return next((r for r in reports if r["store_id"] == store_id and r["model"] == MODEL), {})


async def start_agents(run: Running, fleet, clocks: dict) -> dict:
    agents = {s: run.start(fleet.agent(s, clocks[s])) for s in clocks}
    for store_id, agent in agents.items():
        await wait_until(lambda a=agent: a.nc is not None and a.model_versions, store_id, 30)
        await wait_until(lambda s=store_id: heartbeat_at_hub(fleet.db, s)
                         and serving_at_hub(fleet.db, s), store_id, 30)  # fmt: skip
    return agents


async def test_a_good_version_advances_ring_by_ring_to_every_store(fleet):
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=0)
    try:
        agents = await start_agents(run, fleet, {s: morning() for s in RINGS})
        shipped = fleet.folder(SHIPPED, model=MODEL)  # for rollback: what the stores serve
        good = fleet.folder(GOOD, model=MODEL, onnx_bytes=scaled(1.02))
        # Never promoted (no registry on this hub): refused without --force.
        refused = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, GOOD, "--from",
                                          str(good), *hub_link(fleet))  # fmt: skip
        assert refused.returncode == 2 and "was not promoted" in refused.stderr
        assert "--force" in refused.stderr
        done = await asyncio.to_thread(
            cli, "cloud-hub", "rollout", MODEL, GOOD, "--from", str(good), "--from", str(shipped),
            "--force", "--wait", "--by", "ana", "--json", *hub_link(fleet))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rollout"]["state"] == "completed"
        for store_id, agent in agents.items():
            await wait_until(lambda a=agent: a.model_versions[MODEL] == GOOD, store_id, 30)
            await wait_until(lambda s=store_id: serving_at_hub(fleet.db, s) == GOOD, store_id, 30)
        status = await asyncio.to_thread(cli, "cloud-hub", "rollout", "status", "--db",
                                         str(fleet.db), "--json")  # fmt: skip
        doc = json.loads(status.stdout)
        assert {k: doc["rollouts"][0][k] for k in ("model", "version", "ring", "state")} == {
            "model": MODEL, "version": GOOD, "ring": "all", "state": "completed"}  # fmt: skip
        assert {s: (v["ring"], v["models"][MODEL]) for s, v in doc["stores"].items()} == {
            "S001": ("canary", GOOD),
            "S002": ("early", GOOD),
            "S003": ("all", GOOD),
        }
        # Ring by ring, in order, each after its gate; the force is on record with its actor.
        conn = sqlite3.connect(fleet.db)
        log = [r for r in reversed(hub_audit.records(conn, subject=f"{MODEL}@{GOOD}"))]
        conn.close()
        assert [(r["action"], r["detail"].get("ring")) for r in log] == [
            ("rollout.started", None), ("rollout.ring_offered", "canary"),
            ("rollout.ring_passed", "canary"), ("rollout.ring_offered", "early"),
            ("rollout.ring_passed", "early"), ("rollout.ring_offered", "all"),
            ("rollout.completed", "all")]  # fmt: skip
        assert log[0]["actor"] == "ana" and log[0]["detail"]["forced"] is True
        assert [r["detail"]["offered"] for r in log if r["action"] == "rollout.ring_offered"] == [
            ["S001"], ["S002"], ["S003"]]  # fmt: skip
        assert log[2]["detail"]["gate"]["applied"] == 1
    finally:
        await run.close()


def drive_forward(db: Path, day: str, like: str, champion_of: dict[str, float]) -> None:
    """Trade ``day`` at a store through its normal ingest: the units per SKU of ``like``
    (same weekday a week before), and per hour the transactions the serving champion
    forecast for it, give or take 8% (``champion_of``: version -> the factor from a
    decision's forecast to the champion's), last week's where no decision forecast it.
    A store whose champion is a good model: what the outcomes should show."""
    mirror = open_mirror(db)
    try:
        traffic = dict(
            mirror.conn.execute(
                "SELECT hour, transactions FROM store_hourly WHERE date = ?", (like,)
            ).fetchall()
        )
        for (payload,) in mirror.conn.execute(
                "SELECT payload FROM decisions WHERE kind = 'staffing' AND business_date = ?",
                (day,)):  # fmt: skip
            decision = decision_pb2.Decision.FromString(payload)
            wobble = 0.92 if decision.staffing.hour % 2 else 1.08
            champion = decision.staffing.forecast_transactions * champion_of[
                decision.model_version]  # fmt: skip
            traffic[decision.staffing.hour] = max(1, round(champion * wobble))
        sales = mirror.conn.execute("SELECT sku, units FROM daily_sales WHERE date = ?",
                                    (like,)).fetchall()  # fmt: skip
        folder = db.parent / f"{db.stem}-{day}"
        folder.mkdir(exist_ok=True)
        (folder / "traffic.csv").write_text("date,hour,transactions\n" + "".join(
            f"{day},{h},{t}\n" for h, t in sorted(traffic.items())))  # fmt: skip
        (folder / "daily.csv").write_text("sku,date,units\n" + "".join(
            f"{s},{day},{u}\n" for s, u in sales))  # fmt: skip
        ingest = Ingestor(mirror)
        loaded = ingest.ingest_file(folder / "traffic.csv", kind="traffic").rows_loaded
        assert loaded == len(traffic)
        loaded = ingest.ingest_file(folder / "daily.csv", kind="daily_sales").rows_loaded
        assert loaded == len(sales)
    finally:
        mirror.close()


async def test_a_canary_30_percent_worse_on_live_outcomes_is_rolled_back_alone(fleet):
    # The shadow check's agreement tolerance is 50% of the mean output by default: a model
    # 30% high passes it, so only the outcomes after the swap can tell.
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=1,
                  rollout_accuracy_tolerance=0.10)  # fmt: skip
    clocks = {s: morning() for s in RINGS}
    try:
        agents = await start_agents(run, fleet, clocks)
        champion = agents["S001"].model_versions[MODEL]  # GOOD after the first test
        for store_id in RINGS:
            await wait_until(lambda s=store_id: serving_at_hub(fleet.db, s) == champion,
                             store_id, 30)  # fmt: skip
        bad = fleet.folder(BAD, model=MODEL, onnx_bytes=scaled(SCALE[BAD]))
        shipped = fleet.folder(SHIPPED, model=MODEL)
        started = await asyncio.to_thread(
            cli,
            "cloud-hub",
            "rollout",
            "start",
            MODEL,
            BAD,
            "--from",
            str(bad),
            "--from",
            str(shipped),
            "--force",
            *hub_link(fleet),
        )
        assert started.returncode == 0, started.stderr
        canary = agents["S001"]
        await wait_until(lambda: canary.model_versions[MODEL] == BAD, "the canary's swap", 30)
        # The report travels store outbox -> NATS -> hub ingest: it lands a moment later.
        await wait_until(lambda: swap_report(fleet.db, "S001").get("version") == BAD,
                         "the canary's swap report at the hub", 30)  # fmt: skip
        report = swap_report(fleet.db, "S001")
        assert (report["version"], report["outcome"]) == (BAD, "applied")  # shadow passed
        await asyncio.sleep(1.0)
        assert rollout_row(fleet.db, BAD)["state"] == "running"  # waiting for outcomes
        assert rollout_row(fleet.db, BAD)["ring"] == "canary"
        # The day is traded: the 06:00 cycles decide (the canary with the new model),
        # the day's sales come in, and the next morning its outcomes sync.
        before = {s: a.last_cycle for s, a in agents.items()}
        for clock in clocks.values():
            clock.instant = datetime(2026, 6, 29, 11, 5, tzinfo=UTC)
        for store_id, agent in agents.items():
            await wait_until(lambda a=agent, s=store_id: a.last_cycle is not before[s],
                             f"{store_id}'s 06:00 cycle", 30)  # fmt: skip
        for store_id in RINGS:
            truth = {champion: 1.0, BAD: SCALE[champion] / SCALE[BAD]}
            await asyncio.to_thread(drive_forward, fleet.root / f"{store_id}.db", "2026-06-29",
                                    "2026-06-22", truth)  # fmt: skip
        for clock in clocks.values():
            clock.instant = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)
        await wait_until(lambda: rollout_row(fleet.db, BAD)["state"] != "running",
                         "the canary's gate", 40)  # fmt: skip
        row = rollout_row(fleet.db, BAD)
        assert (row["state"], row["ring"]) == ("rolled_back", "canary"), row
        assert "live error" in row["reason"]
        # The canary serves the good version again; no other ring ever got the bad one.
        await wait_until(lambda: canary.model_versions[MODEL] == champion, "the rollback", 30)
        assert agents["S002"].model_versions[MODEL] == champion
        assert agents["S003"].model_versions[MODEL] == champion
        assert row["stores"] == {"S001": {"status": "rolled_back", "detail": ""}}
        client, js = await run.hub_js()
        _, kv = await distribution.ensure_buckets(js)
        for store_id in ("S002", "S003"):  # never offered anything since, or not at all
            try:
                entry = await kv.get(subjects.desired_key(store_id, MODEL))
            except KeyNotFoundError:
                continue
            assert model_pb2.ModelOffer.FromString(entry.value).version == champion
        await client.close()
        assert all(
            not (r["model"] == MODEL and r["version"] == BAD)
            for r in distribution.swap_reports(fleet.db)
            if r["store_id"] != "S001"
        )
        # The numbers behind it, in the hub's audit log.
        conn = sqlite3.connect(fleet.db)
        log = hub_audit.records(conn, subject=f"{MODEL}@{BAD}")
        assert hub_audit.verify(conn).ok
        conn.close()
        assert log[0]["action"] == "rollout.rolled_back" and log[0]["actor"] == "cloud-hub serve"
        accuracy = log[0]["detail"]["gate"]["accuracy"]
        assert accuracy["candidate"]["days"] == ["2026-06-29"]
        # what the control stores serve, and the registry's champion (the shipped model)
        assert set(accuracy["champion_versions"]) == {champion, SHIPPED}
        assert accuracy["compared_with"] == "control stores, same days"
        assert accuracy["champion"]["days"] == ["2026-06-29"]
        assert accuracy["candidate"]["decisions"] > 5 and accuracy["champion"]["decisions"] > 5
        # 30% high against a champion within ~8%: its live error is several times as large.
        ratio = accuracy["candidate"]["error"] / accuracy["champion"]["error"]
        assert accuracy["champion"]["error"] < 0.12 and accuracy["candidate"]["error"] > 0.2
        assert ratio > 1.5, accuracy
        assert log[0]["detail"]["rolled_back"] == {champion: ["S001"]}
        print(f"live error candidate/champion: {ratio:.2f} ({accuracy})")
    finally:
        await run.close()


async def test_pause_survives_a_hub_restart_and_an_operator_rolls_back(fleet):
    third = "2026.06.30-1"
    folder = fleet.folder(third, model=MODEL, onnx_bytes=scaled(1.05))
    shipped = fleet.folder(SHIPPED, model=MODEL)
    run = Running(fleet)  # the hub has heard from every store (run alone, this test needs it)
    await start_agents(run, fleet, {s: morning(30) for s in RINGS})
    await run.close()
    # No hub running: the rollout is recorded, paused, and waits in the database.
    started = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, third, "--from",
                                      str(folder), "--from", str(shipped), "--force", "--json",
                                      *hub_link(fleet))  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["rollout"]["state"] == "running"
    again = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, third, "--force",
                                    *hub_link(fleet))  # fmt: skip
    assert again.returncode == 2 and "is running" in again.stderr
    paused = await asyncio.to_thread(cli, "cloud-hub", "rollout", "pause", MODEL, "--by", "bob",
                                     *hub_link(fleet))  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=1)
    try:
        agents = await start_agents(run, fleet, {s: morning(30) for s in RINGS})
        champion = agents["S001"].model_versions[MODEL]
        await asyncio.sleep(1.5)
        row = rollout_row(fleet.db, third)
        assert (row["state"], row["ring_offered_at"]) == ("paused", None)
        assert agents["S001"].model_versions[MODEL] == champion
        resumed = await asyncio.to_thread(cli, "cloud-hub", "rollout", "resume", MODEL,
                                          *hub_link(fleet))  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        await wait_until(lambda: agents["S001"].model_versions[MODEL] == third, "canary", 30)
        # Waiting at the canary's gate (outcomes), across a restart of the hub.
        await run.close()
        run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=1)
        agents = await start_agents(run, fleet, {s: morning(30) for s in RINGS})
        await asyncio.sleep(1.0)
        row = rollout_row(fleet.db, third)
        assert (row["state"], row["ring"]) == ("running", "canary")
        back = await asyncio.to_thread(cli, "cloud-hub", "rollout", "rollback", MODEL, "--by",
                                       "bob", "--json", *hub_link(fleet))  # fmt: skip
        assert back.returncode == 1, back.stderr  # it ended rolled back
        assert json.loads(back.stdout)["rollout"]["state"] == "rolled_back"
        await wait_until(lambda: agents["S001"].model_versions[MODEL] == champion, "rollback", 30)
        assert agents["S002"].model_versions[MODEL] == champion
        conn = sqlite3.connect(fleet.db)
        log = [
            (r["actor"], r["action"]) for r in hub_audit.records(conn, subject=f"{MODEL}@{third}")
        ]
        conn.close()
        assert log[0] == ("bob", "rollout.rolled_back")
        assert ("bob", "rollout.paused") in log and (
            "cloud-hub serve",
            "rollout.ring_offered",
        ) in log
    finally:
        await run.close()


async def test_a_canary_that_never_reports_the_swap_fails_the_gate_at_its_deadline(fleet):
    fourth = "2026.07.01-1"
    folder = fleet.folder(fourth, model=MODEL, onnx_bytes=scaled(1.01))
    shipped = fleet.folder(SHIPPED, model=MODEL)
    run = Running(fleet, rollout_tick_s=0.2, rollout_swap_deadline_s=1.5)
    try:  # the canary goes offline: it is offered by its last heartbeat, and stays silent
        agents = await start_agents(run, fleet, {"S001": morning(30)})
        await run.stop(agents["S001"])
        done = await asyncio.to_thread(
            cli, "cloud-hub", "rollout", MODEL, fourth, "--from", str(folder), "--from",
            str(shipped), "--force", "--wait", "--json", *hub_link(fleet))  # fmt: skip
        assert done.returncode == 1, done.stderr
        rollout = json.loads(done.stdout)["rollout"]
        assert (rollout["state"], rollout["ring"]) == ("rolled_back", "canary"), json.dumps(
            rollout_row(fleet.db, fourth)
        )
        assert rollout["reason"] == "1 of 1 stores did not report the swap within 1.5 s: S001"
        stores = rollout_row(fleet.db, fourth)["stores"]
        assert stores == {"S001": {"status": "rolled_back", "detail": ""}}
    finally:
        await run.close()


async def test_a_store_first_heard_from_after_its_ring_was_offered_gets_the_version(fleet):
    version = "2026.07.02-late"
    folder = fleet.folder(version, model=MODEL, onnx_bytes=scaled(1.01))
    shipped = fleet.folder(SHIPPED, model=MODEL)
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=0)
    try:
        agents = await start_agents(run, fleet, {s: morning() for s in RINGS})
        # A new store in ring early: registered, its agent not started yet.
        added = await asyncio.to_thread(cli, "cloud-hub", "stores", "add", "S004", "--ring",
                                        "early", "--db", str(fleet.db), "--embedded-nats",
                                        str(fleet.root / "nats"), "--json")  # fmt: skip
        assert added.returncode == 0, added.stderr
        fleet.creds["S004"] = Path(json.loads(added.stdout)["creds"])
        started = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, version, "--from",
                                          str(folder), "--from", str(shipped), "--force",
                                          *hub_link(fleet))  # fmt: skip
        assert started.returncode == 0, started.stderr
        await wait_until(lambda: agents["S002"].model_versions[MODEL] == version, "early", 30)
        await asyncio.sleep(1.0)  # several ticks: the gate waits for S004
        row = rollout_row(fleet.db, version)
        assert (row["state"], row["ring"]) == ("running", "early"), row
        assert row["stores"]["S004"] == {"status": "skipped", "detail": distribution.NO_HEARTBEAT}
        assert agents["S003"].model_versions[MODEL] != version
        # Its agent starts: its first heartbeat gets it the offer; the ring passes with it.
        late = run.start(fleet.agent("S004", morning()))
        await wait_until(lambda: late.model_versions.get(MODEL) == version, "S004's swap", 30)
        await wait_until(lambda: rollout_row(fleet.db, version)["state"] == "completed",
                         "the rollout", 30)  # fmt: skip
        assert agents["S003"].model_versions[MODEL] == version
        row = rollout_row(fleet.db, version)
        assert row["stores"]["S004"] == {"status": "offered", "detail": ""}
        conn = sqlite3.connect(fleet.db)
        log = [(r["action"], r["detail"]) for r in reversed(
            hub_audit.records(conn, subject=f"{MODEL}@{version}"))]  # fmt: skip
        conn.close()
        actions = [a for a, _ in log]
        late_offer = actions.index("rollout.late_offered")
        assert log[late_offer][1]["offered"] == {"S004": "early"}
        passed = next(d for a, d in log if a == "rollout.ring_passed" and d["ring"] == "early")
        assert actions.index("rollout.ring_offered") < late_offer < log.index(
            ("rollout.ring_passed", passed))  # fmt: skip
        assert passed["gate"]["applied"] == 2 and "not_heard_from" not in passed["gate"]
        # Revoked, it is in no ring: not listed as waiting for anything.
        await run.stop(late)
        revoked = await asyncio.to_thread(cli, "cloud-hub", "stores", "revoke", "S004",
                                          "--reason", "closed", "--db", str(fleet.db),
                                          "--embedded-nats", str(fleet.root / "nats"))  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        status = await asyncio.to_thread(cli, "cloud-hub", "rollout", "status", "--db",
                                         str(fleet.db), "--json")  # fmt: skip
        doc = json.loads(status.stdout)
        assert "S004" in doc["revoked"] and sorted(doc["stores"]) == sorted(RINGS)
        assert all("S004" not in r["stores"] for r in doc["rollouts"])
        text = await asyncio.to_thread(cli, "cloud-hub", "rollout", "status", "--db",
                                       str(fleet.db))  # fmt: skip
        assert "revoked (in no ring): S004" in text.stdout
    finally:
        await run.close()


async def test_a_store_not_heard_from_by_the_deadline_gets_the_completed_version_later(fleet):
    version = "2026.07.02-later"
    folder = fleet.folder(version, model=MODEL, onnx_bytes=scaled(0.99))
    shipped = fleet.folder(SHIPPED, model=MODEL)
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=0,
                  rollout_swap_deadline_s=8.0)  # fmt: skip
    try:
        agents = await start_agents(run, fleet, {s: morning() for s in RINGS})
        added = await asyncio.to_thread(cli, "cloud-hub", "stores", "add", "S005", "--db",
                                        str(fleet.db), "--embedded-nats",
                                        str(fleet.root / "nats"), "--json")  # fmt: skip
        assert added.returncode == 0, added.stderr
        fleet.creds["S005"] = Path(json.loads(added.stdout)["creds"])
        # Ring all waits the swap deadline for S005, then completes without it.
        done = await asyncio.to_thread(
            cli, "cloud-hub", "rollout", MODEL, version, "--from", str(folder), "--from",
            str(shipped), "--force", "--timeout", "60", "--json", *hub_link(fleet))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rollout"]["state"] == "completed"
        assert all(a.model_versions[MODEL] == version for a in agents.values())
        conn = sqlite3.connect(fleet.db)
        last = hub_audit.records(conn, subject=f"{MODEL}@{version}")[0]
        conn.close()
        assert last["action"] == "rollout.completed"
        assert last["detail"]["gate"]["not_heard_from"] == ["S005"]
        # Heard from after the rollout completed: it is still its model's latest, so S005
        # gets the version the fleet serves.
        late = run.start(fleet.agent("S005", morning()))
        await wait_until(lambda: late.model_versions.get(MODEL) == version, "S005's swap", 30)
        assert rollout_row(fleet.db, version)["stores"]["S005"]["status"] == "offered"
        await run.stop(late)
        revoked = await asyncio.to_thread(cli, "cloud-hub", "stores", "revoke", "S005",
                                          "--reason", "closed", "--db", str(fleet.db),
                                          "--embedded-nats", str(fleet.root / "nats"))  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
    finally:
        await run.close()


async def test_waiting_for_a_rollout_gives_up_at_its_timeout_and_says_it_goes_on(fleet):
    version = "2026.07.03-wait"
    folder = fleet.folder(version, model=MODEL, onnx_bytes=scaled(1.01))
    # No `cloud-hub serve` running: the rollout stays at the canary, not offered.
    done = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, version, "--from",
                                   str(folder), "--force", "--wait", "--timeout", "0.5",
                                   "--json", *hub_link(fleet))  # fmt: skip
    assert done.returncode == 3, done.stderr
    doc = json.loads(done.stdout)
    assert doc["timed_out"] is True and doc["rollout"]["state"] == "running"
    assert (f"waited 0.5 s: the rollout of {MODEL} {version} is still running at ring canary; "
            "it keeps going in `cloud-hub serve`") in done.stderr  # fmt: skip
    assert "cloud-hub rollout status" in done.stderr
    bad = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, version, "--timeout",
                                  "0", *hub_link(fleet))  # fmt: skip
    assert bad.returncode == 2 and "'0' is not a positive number of seconds" in bad.stderr
    back = await asyncio.to_thread(cli, "cloud-hub", "rollout", "rollback", MODEL,
                                   *hub_link(fleet))  # fmt: skip
    assert back.returncode == 1, back.stderr  # it ended rolled back: nothing was offered


async def test_an_availability_version_is_rolled_out_gated_on_swaps_and_errors_only(fleet):
    name, version = "availability", "2026.07.04-avail"
    shipped_folder = fleet.folder(shipped_version(name), model=name)
    folder = fleet.folder(version, model=name, metrics={"decision_threshold": 0.4})
    # A forecast window to wait for would hold a scored model's gate: availability's
    # decisions carry none, so its gate is the swap reports and the decision error rate.
    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=1)
    try:
        agents = await start_agents(run, fleet, {s: morning() for s in RINGS})
        done = await asyncio.to_thread(
            cli, "cloud-hub", "rollout", name, version, "--from", str(folder), "--from",
            str(shipped_folder), "--force", "--wait", "--timeout", "60", "--json",
            *hub_link(fleet))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rollout"]["state"] == "completed"
        for store_id, agent in agents.items():
            await wait_until(lambda a=agent: a.model_versions[name] == version, store_id, 30)
            assert agent._models.availability_threshold == 0.4
        conn = sqlite3.connect(fleet.db)
        gates = [r["detail"]["gate"] for r in hub_audit.records(conn, subject=f"{name}@{version}")
                 if r["action"] in ("rollout.ring_passed", "rollout.completed")]  # fmt: skip
        conn.close()
        assert len(gates) == 3 and all(g["accuracy"] == "not checked" for g in gates)
        assert all(g["applied"] == g["stores"] == 1 and "error_rate" in g for g in gates)
    finally:
        await run.close()


# Last: it leaves every store serving the registry's version.
async def test_a_version_the_registry_promoted_needs_no_force_and_no_folder(fleet):
    from google.protobuf import json_format

    from cloud_hub.model_registry import ModelRegistry

    run = Running(fleet, rollout_tick_s=0.2, rollout_accuracy_window_days=0)
    try:
        agents = await start_agents(run, fleet, {s: morning() for s in RINGS})
        version = "2026.06.30-registry"
        folder = fleet.folder(version, model=MODEL, onnx_bytes=scaled(1.01))
        manifest = json_format.Parse((folder / f"{MODEL}.manifest.json").read_text(),
                                     model_pb2.ModelManifest())  # fmt: skip
        with ModelRegistry(fleet.db, fleet.hub_settings().signing_folder()) as registry:
            registry.ensure_bootstrap()
            registry.register([(manifest, (folder / f"{MODEL}.onnx").read_bytes())],
                              actor="test")  # fmt: skip
        # A candidate that was never promoted still needs --force ...
        refused = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, version,
                                          *hub_link(fleet))  # fmt: skip
        assert refused.returncode == 2 and "was not promoted" in refused.stderr
        promoted = await asyncio.to_thread(cli, "cloud-hub", "models", "promote", MODEL, version,
                                           "--by", "ana", "--db", str(fleet.db))  # fmt: skip
        assert promoted.returncode == 0, promoted.stderr
        # ... once promoted, the bytes come from the registry: no --from, no --force.
        done = await asyncio.to_thread(cli, "cloud-hub", "rollout", MODEL, version, "--wait",
                                       "--json", *hub_link(fleet))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rollout"]["state"] == "completed"
        for store_id, agent in agents.items():
            await wait_until(lambda a=agent: a.model_versions[MODEL] == version, store_id, 30)
        conn = sqlite3.connect(fleet.db)
        started = [r for r in hub_audit.records(conn, subject=f"{MODEL}@{version}")
                   if r["action"] == "rollout.started"]  # fmt: skip
        conn.close()
        assert started and started[0]["detail"]["forced"] is False
    finally:
        await run.close()
