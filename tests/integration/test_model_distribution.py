"""Model distribution over NATS with a real nats-server enforcing per-store permissions,
real signing and real onnxruntime: the hub publishes a signed version, each store
downloads it, checks it, runs it in shadow, swaps between cycles and reports; bad
artifacts are refused with the reason at the hub and in the store's audit log, and the
store keeps serving what it served."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import onnx
import pytest
from nats.errors import Error as NatsError
from onnx import TensorProto, helper

from cloud_hub import distribution
from cloud_hub.cli import main as hub_cli
from edge_agent import audit
from edge_agent.daemon import Agent
from models import BOOTSTRAP_DIR
from storeedge import link, subjects
from storeedge.v1 import model_pb2
from tests.helpers import (
    Running,
    cli,
    heartbeat_at_hub,
    morning,
    shipped_version,
    start_fleet,
    wait_until,
)

STORES = [f"S{n:03d}" for n in range(1, 16)]
MODEL = "replenishment_daily"
SHIPPED = shipped_version(MODEL)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    rings = {store: "canary" if store == "S001" else "main" for store in STORES}
    fleet, server = start_fleet(tmp_path_factory.mktemp("distribution"), rings)
    yield fleet
    server.stop()


def report_of(db: Path, store_id: str, version: str) -> dict | None:
    for row in distribution.swap_reports(db):
        if row["store_id"] == store_id and row["model"] == MODEL and row["version"] == version:
            return row
    return None


def model_changes(agent: Agent) -> list:
    return [r.model_change for _, r in audit.iter_records(agent.models_mirror)
            if audit.event_name(r.event_type) == "MODEL_CHANGED"]  # fmt: skip


def nan_on_local_data(n_features: int) -> bytes:
    """Finite on the all-zero probe row, NaN on any row with a positive feature."""
    graph = helper.make_graph(
        [helper.make_node("Neg", ["input"], ["negated"]),
         helper.make_node("Sqrt", ["negated"], ["roots"]),
         helper.make_node("ReduceSum", ["roots", "axes"], ["variable"], keepdims=1)],
        "nan_on_data",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
    )  # fmt: skip
    return _model(graph)


def constant(n_features: int, value: float) -> bytes:
    """Predicts ``value`` for every row: runs fine, far from any real forecast."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "zero"], ["zeroed"]),
         helper.make_node("ReduceSum", ["zeroed", "axes"], ["summed"], keepdims=1),
         helper.make_node("Add", ["summed", "value"], ["variable"])],
        "constant", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0]),
         helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
         helper.make_tensor("value", TensorProto.FLOAT, [1], [value])],
    )  # fmt: skip
    return _model(graph)


def _model(graph) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def n_features() -> int:
    shipped = onnx.load_from_string((BOOTSTRAP_DIR / f"{MODEL}.onnx").read_bytes())
    return shipped.graph.input[0].type.tensor_type.shape.dim[1].dim_value


async def test_a_published_version_is_shadowed_swapped_between_cycles_and_reported(fleet):
    run = Running(fleet)
    clock = morning()
    try:
        agent = run.start(fleet.agent("S001", clock))
        await wait_until(lambda: agent.last_cycle is not None, "the catch-up cycle", 30)
        await wait_until(lambda: heartbeat_at_hub(fleet.db, "S001"), "S001's heartbeat", 30)
        assert agent.model_versions[MODEL] == SHIPPED
        folder = fleet.folder("2026.06.29-1")
        # A cycle in flight holds the models: the new version is fetched, checked and
        # installed on disk meanwhile, but served only once the cycle is done.
        await asyncio.to_thread(agent.models_lock.acquire)
        done = await asyncio.to_thread(
            cli, "cloud-hub", "models", "publish", str(folder), "--store", "S001", "--store",
            "S015", "--db", str(fleet.db), "--nats", fleet.url, "--creds", str(fleet.hub_seed),
            "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        published = json.loads(done.stdout)["published"]
        assert published == [{"model": MODEL, "version": "2026.06.29-1", "offered": ["S001"],
                              "skipped": {"S015": "no heartbeat yet: its agent version and "
                                          "features are unknown"}}]  # fmt: skip
        try:
            await wait_until(lambda: agent.shelf.current(MODEL) == "2026.06.29-1", "on disk", 30)
            await asyncio.sleep(1.0)
            assert agent.model_versions[MODEL] == SHIPPED
            assert report_of(fleet.db, "S001", "2026.06.29-1") is None
        finally:
            agent.models_lock.release()
        await wait_until(lambda: report_of(fleet.db, "S001", "2026.06.29-1"), "the report", 30)
        report = report_of(fleet.db, "S001", "2026.06.29-1")
        assert report["outcome"] == "applied" and report["reason"] == ""
        assert report["previous_version"] == SHIPPED and report["shadow_rows"] == 20
        assert 1.0 < report["swap_seconds"] < 20  # it waited for the "cycle"
        assert agent.model_versions[MODEL] == "2026.06.29-1"
        hub_status = await asyncio.to_thread(cli, "cloud-hub", "status", "--db", str(fleet.db),
                                             "--json")  # fmt: skip
        swap = json.loads(hub_status.stdout)["stores"]["S001"]["model_swaps"][MODEL]
        assert (swap["version"], swap["outcome"]) == ("2026.06.29-1", "applied")
        # Heartbeat and status show what the store serves now.
        await wait_until(lambda: agent.heartbeat().model_versions[MODEL] == "2026.06.29-1")
        status = await asyncio.to_thread(cli, "edge-agent", "status", "--db",
                                         str(agent.settings.db), "--json")  # fmt: skip
        assert json.loads(status.stdout)["models"][MODEL] == "2026.06.29-1"
        change = model_changes(agent)[-1]
        assert (change.outcome, change.from_version, change.to_version) == (
            "activated", SHIPPED, "2026.06.29-1")  # fmt: skip
        assert agent.shelf.current(MODEL) == "2026.06.29-1"
        # The next cycle decides with it; the cycle before the swap did not.
        before = agent.last_cycle
        clock.advance(timedelta(hours=1, minutes=5))
        await wait_until(lambda: agent.last_cycle is not before, "the 06:00 cycle", 30)
        assert agent._models.daily is not None and agent._models.versions[MODEL] == "2026.06.29-1"
        # A second version: the first stays on disk for rollback, the hub can point back.
        second = fleet.folder("2026.06.30-1")
        client, js = await run.hub_js()
        for blob, signed, manifest in distribution.read_signed_folder(second):
            await distribution.publish(js, manifest.name, manifest.version, blob, signed)
            await distribution.offer(js, fleet.db, ["S001"], manifest, actor="test")
        await wait_until(lambda: agent.model_versions[MODEL] == "2026.06.30-1", "v2", 30)
        assert agent.shelf.has(MODEL, "2026.06.29-1")
        back = await distribution.rollback(js, fleet.db, ["S001"], MODEL, "2026.06.29-1",
                                           actor="test")  # fmt: skip
        assert back.offered == ["S001"]
        await wait_until(lambda: agent.model_versions[MODEL] == "2026.06.29-1", "rollback", 30)
        await client.close()
        assert audit.verify(agent.models_mirror).ok
    finally:
        await run.close()


async def test_a_store_offline_at_publish_gets_the_version_on_reconnect(fleet):
    run = Running(fleet)
    try:
        agent = run.start(fleet.agent("S002", morning()))
        await wait_until(lambda: heartbeat_at_hub(fleet.db, "S002"), "S002's heartbeat", 30)
        await run.stop(agent)
        client, js = await run.hub_js()
        # A version its agent is too old for is not offered to it, by its heartbeat.
        newer = distribution.read_signed_folder(fleet.folder("2026.07.01-0", min_agent="9.0"))
        skipped = await distribution.offer(js, fleet.db, ["S002"], newer[0][2], actor="test")
        assert skipped.offered == [] and skipped.skipped == {
            "S002": "agent 0.1.0 is older than the model's minimum 9.0"}  # fmt: skip
        for blob, signed, manifest in distribution.read_signed_folder(fleet.folder("2026.07.01-1")):
            await distribution.publish(js, manifest.name, manifest.version, blob, signed)
            offered = await distribution.offer(js, fleet.db, ["S002"], manifest, actor="test")
            assert offered.offered == ["S002"]
        await client.close()
        back = run.start(fleet.agent("S002", morning()))
        await wait_until(lambda: report_of(fleet.db, "S002", "2026.07.01-1"), "the report", 30)
        assert report_of(fleet.db, "S002", "2026.07.01-1")["outcome"] == "applied"
        assert back.model_versions[MODEL] == "2026.07.01-1"
        # Restarted again, it serves the received version from disk, checked again.
        await run.stop(back)
        again = fleet.agent("S002", morning())
        assert again._ensure_models().versions[MODEL] == "2026.07.01-1"
        again.close()
    finally:
        await run.close()


def _corrupted(fleet, version):
    folder = fleet.folder(version)
    blob = bytearray((folder / f"{MODEL}.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    return bytes(blob), folder


def _truncated(fleet, version):
    folder = fleet.folder(version)
    return (folder / f"{MODEL}.onnx").read_bytes()[:2000], folder


def _other_key(fleet, version):
    other = fleet.root / "other-hub" / "hub.db"
    if not other.exists():
        assert hub_cli(["keys", "generate", "--db", str(other)]) == 0
    folder = fleet.folder(version, signed_by=other)
    return (folder / f"{MODEL}.onnx").read_bytes(), folder


def _other_features(fleet, version):
    folder = fleet.folder(version, feature_spec="0" * 16)
    return (folder / f"{MODEL}.onnx").read_bytes(), folder


def _nan_on_local_data(fleet, version):
    folder = fleet.folder(version, onnx_bytes=nan_on_local_data(n_features()))
    return (folder / f"{MODEL}.onnx").read_bytes(), folder


def _far_from_serving(fleet, version):
    folder = fleet.folder(version, onnx_bytes=constant(n_features(), 8.0))
    return (folder / f"{MODEL}.onnx").read_bytes(), folder


@pytest.mark.parametrize(
    ("store_id", "make", "reason"),
    [
        ("S003", _corrupted, "does not match the manifest's sha256 (corrupted or truncated)"),
        ("S004", _truncated, "does not match the manifest's sha256 (corrupted or truncated)"),
        ("S005", _other_key, "which this store does not trust"),
        ("S006", _other_features, "was built on features 0000000000000000"),
        ("S007", _nan_on_local_data, "outputs on local data are NaN or infinite"),
        ("S008", _far_from_serving, "differs from the serving model by"),
    ],
    ids=["corrupted", "truncated", "wrong-key", "wrong-features", "nan-in-shadow",
         "far-from-serving"],
)  # fmt: skip
async def test_a_bad_model_over_the_wire_is_refused_reported_and_audited(
    fleet, store_id, make, reason
):
    run = Running(fleet)
    version = f"bad-{store_id}"
    try:
        agent = run.start(fleet.agent(store_id, morning()))
        await wait_until(lambda: agent.nc is not None and agent.model_versions, "the agent", 30)
        blob, folder = make(fleet, version)
        signed = (folder / f"{MODEL}.signed.binpb").read_bytes()
        client, js = await run.hub_js()
        obs, kv = await distribution.ensure_buckets(js)
        # Straight into the buckets, past the hub's own checks: what a broken hub, a
        # damaged store or an attacker with the hub's NATS identity could leave there.
        await obs.put(subjects.model_object(MODEL, version, "model.onnx"), blob)
        await obs.put(subjects.model_object(MODEL, version, "manifest.signed.binpb"), signed)
        offer = model_pb2.ModelOffer(model_name=MODEL, version=version, actor="test")
        await kv.put(subjects.desired_key(store_id, MODEL), offer.SerializeToString())
        await client.close()
        await wait_until(lambda: report_of(fleet.db, store_id, version), "the refusal", 30)
        report = report_of(fleet.db, store_id, version)
        assert report["outcome"] == "refused" and reason in report["reason"]
        assert report["previous_version"] == SHIPPED
        change = model_changes(agent)[-1]
        assert (change.outcome, change.to_version) == ("refused", version)
        assert reason in change.reason
        assert agent.model_versions[MODEL] == SHIPPED
        assert agent.shelf.current(MODEL) is None and not agent.shelf.has(MODEL, version)
        # It still decides, with what it served before.
        before = agent.last_cycle
        agent.clock.advance(timedelta(hours=1, minutes=5))
        await wait_until(lambda: agent.last_cycle is not before, "the 06:00 cycle", 30)
        assert agent._models.versions[MODEL] == SHIPPED
    finally:
        await run.close()


async def test_a_store_reads_only_its_own_desired_keys_and_cannot_write_models(fleet):
    hub = await link.connect(link.LinkOptions((fleet.url,), "hub", creds=fleet.hub_seed))
    hub_js = hub.jetstream()
    obs, kv = await distribution.ensure_buckets(hub_js)
    await obs.put(subjects.model_object(MODEL, "perm-1", "model.onnx"), b"fleet-wide bytes")
    for store in ("S009", "S010"):
        await kv.put(subjects.desired_key(store, MODEL), f"for {store}".encode())
    events: list[str] = []
    a = await link.connect(
        link.LinkOptions((fleet.url,), "edge-agent S009", creds=fleet.creds["S009"],
                         inbox_prefix=subjects.store_inbox_prefix("S009")),
        on_event=lambda kind, detail: events.append(f"{kind} {detail}".lower()))  # fmt: skip
    a_js = a.jetstream(timeout=1.0)
    from nats.js import api

    stream = f"KV_{subjects.DESIRED_BUCKET}"

    def consumer(name: str, store: str) -> api.ConsumerConfig:
        return api.ConsumerConfig(name=name, filter_subject=subjects.desired_filter(store),
                                  deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
                                  ack_policy=api.AckPolicy.NONE, mem_storage=True)  # fmt: skip

    # Its own keys, through its own consumer: yes.
    own = subjects.desired_consumer("S009")
    await a_js.add_consumer(stream, consumer(own, "S009"))
    sub = await a_js.pull_subscribe_bind(consumer=own, stream=stream)
    assert [m.data for m in await sub.fetch(10, timeout=2)] == [b"for S009"]
    # S010's keys: not through its own consumer name, not through S010's, not by get.
    for name in (own, subjects.desired_consumer("S010")):
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await a_js.add_consumer(stream, consumer(name, "S010"))
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await a_js.get_last_msg(stream, f"$KV.{subjects.DESIRED_BUCKET}.S010.{MODEL}")
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await (await a_js.key_value(subjects.DESIRED_BUCKET)).put("S009.labor", b"mine")
    # Model objects: it reads them, it cannot write them.
    store_obs = await a_js.object_store(subjects.MODELS_BUCKET)
    got = await store_obs.get(subjects.model_object(MODEL, "perm-1", "model.onnx"))
    assert got.data == b"fleet-wide bytes"
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await store_obs.put(subjects.model_object(MODEL, "perm-1", "model.onnx"), b"forged")
    await asyncio.sleep(0.3)
    assert (await obs.get(subjects.model_object(MODEL, "perm-1", "model.onnx"))).data == (
        b"fleet-wide bytes")  # fmt: skip
    assert any("permissions violation" in e and "s010" in e for e in events), events
    await a.close()
    await hub.close()


def test_the_hub_refuses_to_publish_what_its_stores_would_refuse(fleet):
    other = fleet.root / "other-hub" / "hub.db"
    if not other.exists():
        assert hub_cli(["keys", "generate", "--db", str(other)]) == 0
    folder = fleet.folder("foreign-1", signed_by=other)
    done = cli("cloud-hub", "models", "publish", str(folder), "--store", "S011", "--db",
               str(fleet.db), "--nats", fleet.url, "--creds", str(fleet.hub_seed))  # fmt: skip
    assert done.returncode == 2
    assert f"{MODEL}.signed.binpb" in done.stderr and "does not trust" in done.stderr
    assert "cloud-hub models sign" in done.stderr


AVAILABILITY = "availability"


def shelf_checks_by(agent: Agent) -> dict[str, str]:
    """Which model (and version) decided the shelf checks of the agent's last cycle."""
    rows = agent.models_mirror.conn.execute(
        "SELECT DISTINCT model_name, model_version FROM decisions WHERE kind = 'shelf_check' "
        "AND business_date = ?", (agent.last_cycle["as_of"],)).fetchall()  # fmt: skip
    return dict(rows)


def availability_report(db: Path, store_id: str, version: str) -> dict | None:
    return next((r for r in distribution.swap_reports(db) if r["store_id"] == store_id
                 and r["model"] == AVAILABILITY and r["version"] == version), None)  # fmt: skip


async def test_a_retrained_availability_model_is_swapped_with_its_threshold(fleet):
    """The availability model travels like the others, its decision threshold with it: the
    next cycle's shelf checks are the new version's, at its threshold; a corrupted one is
    refused and the store keeps deciding with the version it served."""
    run = Running(fleet)
    store_id, version, shipped = "S012", "2026.06.29-avail", shipped_version(AVAILABILITY)
    try:
        agent = run.start(fleet.agent(store_id, morning()))
        await wait_until(lambda: agent.last_cycle is not None, "the catch-up cycle", 30)
        await wait_until(lambda: heartbeat_at_hub(fleet.db, store_id), "the heartbeat", 30)
        assert agent.model_versions[AVAILABILITY] == shipped
        assert shelf_checks_by(agent) == {AVAILABILITY: shipped}
        folder = fleet.folder(version, model=AVAILABILITY, metrics={"decision_threshold": 0.6})
        done = await asyncio.to_thread(
            cli, "cloud-hub", "models", "publish", str(folder), "--store", store_id, "--db",
            str(fleet.db), "--nats", fleet.url, "--creds", str(fleet.hub_seed),
            "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["published"][0]["offered"] == [store_id]
        await wait_until(lambda: availability_report(fleet.db, store_id, version), "report", 30)
        report = availability_report(fleet.db, store_id, version)
        assert (report["outcome"], report["previous_version"]) == ("applied", shipped), report
        assert report["shadow_rows"] == 20  # every SKU of the store, from its hourly sales
        assert agent.model_versions[AVAILABILITY] == version
        assert agent._models.availability_threshold == 0.6
        # The next cycle's shelf checks: the new version, at its threshold.
        before = agent.last_cycle
        agent.clock.advance(timedelta(hours=1, minutes=5))
        await wait_until(lambda: agent.last_cycle is not before, "the 06:00 cycle", 30)
        assert shelf_checks_by(agent) == {AVAILABILITY: version}
        audited = [r for _, r in audit.iter_records(agent.models_mirror)
                   if r.decision.model_name == AVAILABILITY
                   and r.decision.model_version == version]  # fmt: skip
        assert audited and {r.attributes["decision_threshold"] for r in audited} == {"0.6"}
        ranked = [r.decision.shelf_check for r in audited
                  if not r.decision.shelf_check.random_sample]  # fmt: skip
        assert all(c.off_shelf_probability >= 0.6 for c in ranked)
        change = model_changes(agent)[-1]
        assert (change.model_name, change.outcome, change.to_version) == (
            AVAILABILITY, "activated", version)  # fmt: skip
        # A corrupted one is refused: the store keeps deciding with the version it serves.
        bad = f"{version}-corrupted"
        bad_folder = fleet.folder(bad, model=AVAILABILITY)
        blob = bytearray((bad_folder / f"{AVAILABILITY}.onnx").read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        client, js = await run.hub_js()
        obs, kv = await distribution.ensure_buckets(js)
        await obs.put(subjects.model_object(AVAILABILITY, bad, "model.onnx"), bytes(blob))
        await obs.put(subjects.model_object(AVAILABILITY, bad, "manifest.signed.binpb"),
                      (bad_folder / f"{AVAILABILITY}.signed.binpb").read_bytes())  # fmt: skip
        offer = model_pb2.ModelOffer(model_name=AVAILABILITY, version=bad, actor="test")
        await kv.put(subjects.desired_key(store_id, AVAILABILITY), offer.SerializeToString())
        await client.close()
        await wait_until(lambda: availability_report(fleet.db, store_id, bad), "refusal", 30)
        report = availability_report(fleet.db, store_id, bad)
        assert report["outcome"] == "refused" and "sha256" in report["reason"], report
        assert report["previous_version"] == version
        assert agent.model_versions[AVAILABILITY] == version
        assert agent._models.availability_threshold == 0.6
        before = agent.last_cycle
        agent.clock.advance(timedelta(hours=24))
        await wait_until(lambda: agent.last_cycle is not before, "the next day's cycle", 30)
        assert shelf_checks_by(agent) == {AVAILABILITY: version}
        # Restarted, it serves the received version from disk, threshold included.
        await run.stop(agent)
        again = fleet.agent(store_id, morning())
        served = again._ensure_models()
        assert (served.versions[AVAILABILITY], served.availability_threshold) == (version, 0.6)
        again.close()
    finally:
        await run.close()
