"""The models, rollouts and training calls of the hub's gRPC API, end to end: a real
`cloud-hub serve --grpc` with mutual TLS on loopback and a real nats-server, called by a
client generated from the .proto file only (tests/integration/test_api.py's
generate_client), and by `cloud-hub client`.

The training run is the real thing: StartTraining queues it, serve runs the `cloud-hub
train` child on the hub database (900 shelf checks with their results: availability
trains in about two seconds), and the run reports the registered version and its numbers.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import grpc
import nats
import pytest
from google.protobuf import json_format

from cloud_hub import hub_audit, rollouts
from cloud_hub.config import HubSettings
from cloud_hub.model_registry import ModelRegistry
from cloud_hub.storage import open_storage
from models import BOOTSTRAP_DIR
from storeedge.natsserver import NatsServer
from storeedge.v1 import model_pb2
from tests.helpers import cli, start, wait_for
from tests.integration.test_api import generate_client, token
from tests.integration.test_training import _shelf_checks

pytestmark = pytest.mark.slow

LABOR_BOOTSTRAP = "bootstrap-2024.05.28"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_models")
    client = generate_client(tmp / "client")
    nats_server = NatsServer(tmp / "nats").start()
    tls = tmp / "tls"
    done = cli("cloud-hub", "tls", "generate", "--out", str(tls), "--host", "127.0.0.1",
               "--client", "ops")  # fmt: skip
    assert done.returncode == 0, done.stderr
    hub_db = tmp / "hub.db"
    open_storage(hub_db).close()
    _shelf_checks(hub_db, 900)  # what availability trains on
    tokens = {"viewer": token(hub_db, "vera", "viewer"), "admin": token(hub_db, "root", "admin"),
              "approver": token(hub_db, "ana", "approver", "--region", "*")}  # fmt: skip
    hub_log = tmp / "hub.log"
    # A rollout tick of an hour: the test moves rollouts itself (see test_rollouts...).
    env = {"STOREEDGE_HUB_TRAIN_HOLDOUT_DAYS": "7", "STOREEDGE_HUB_ROLLOUT_TICK_S": "3600"}
    proc = start(hub_log, "cloud-hub", "serve", "--db", str(hub_db), "--nats", nats_server.url,
                 "--insecure", "--grpc", "127.0.0.1:0", "--api-tls-cert",
                 str(tls / "server.pem"), "--api-tls-key", str(tls / "server.key"),
                 "--api-tls-client-ca", str(tls / "ca.pem"), env=env)  # fmt: skip
    try:
        port = int(wait_for(lambda: re.search(r"gRPC API listening on 127\.0\.0\.1:(\d+)",
                                              hub_log.read_text()), what="the API")[1])  # fmt: skip
        wait_for(lambda: "hub ingesting from" in hub_log.read_text(), what="the link to NATS")
        credentials = grpc.ssl_channel_credentials(
            (tls / "ca.pem").read_bytes(), (tls / "ops.key").read_bytes(),
            (tls / "ops.pem").read_bytes())  # fmt: skip
        channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials)
        yield SimpleNamespace(api=client.grpc.HubServiceStub(channel), pb=client.pb2,
                              channel=channel, tokens=tokens, hub_db=hub_db, port=port, tls=tls,
                              nats=nats_server, log=hub_log, found={})  # fmt: skip
        channel.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        nats_server.stop()
    assert code == 0, hub_log.read_text()[-3000:]


def md(hub, who: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {hub.tokens[who]}")]


def status_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def audit_log(hub_db: Path) -> list[dict]:
    conn = sqlite3.connect(hub_db)
    try:
        assert hub_audit.verify(conn).ok
        return hub_audit.records(conn, limit=1000)
    finally:
        conn.close()


def api_calls(hub_db: Path) -> set[tuple[str, str, str]]:
    rows = sqlite3.connect(hub_db).execute("SELECT caller, method, outcome FROM api_calls")
    return set(rows.fetchall())


# -- models ----------------------------------------------------------------------------------------


def test_model_versions_over_mutual_tls_with_a_proto_only_client(hub):
    pb = hub.pb
    listed = hub.api.ListModelVersions(pb.ListModelVersionsRequest(), metadata=md(hub, "viewer"),
                                       timeout=5).model_versions  # fmt: skip
    shipped = {p.name.removesuffix(".manifest.json") for p in BOOTSTRAP_DIR.glob("*.manifest.json")}
    assert {v.name for v in listed} >= shipped
    labor = next(v for v in listed if v.name == "labor" and v.version == LABOR_BOOTSTRAP)
    manifest = json_format.Parse((BOOTSTRAP_DIR / "labor.manifest.json").read_text(),
                                 model_pb2.ModelManifest())  # fmt: skip
    assert labor.status == pb.MODEL_VERSION_STATUS_CHAMPION and labor.model == "labor"
    assert (labor.sha256, labor.feature_spec_hash) == (manifest.sha256, manifest.feature_spec_hash)
    assert labor.training_window_end == manifest.training_window_end
    assert labor.training_rows == manifest.training_rows and labor.HasField("create_time")
    assert dict(labor.metrics) == pytest.approx(dict(manifest.metrics))

    # Pages of one are the whole list; a filter keeps one model.
    pages, page_token = [], ""
    while True:
        page = hub.api.ListModelVersions(pb.ListModelVersionsRequest(
            page_size=1, page_token=page_token), metadata=md(hub, "viewer"), timeout=5)  # fmt: skip
        pages += [(v.name, v.version) for v in page.model_versions]
        page_token = page.next_page_token
        if not page_token:
            break
    assert pages == [(v.name, v.version) for v in listed]
    replenishment = hub.api.ListModelVersions(pb.ListModelVersionsRequest(
        model="replenishment"), metadata=md(hub, "viewer"), timeout=5).model_versions  # fmt: skip
    assert {v.model for v in replenishment} == {"replenishment"} and len(replenishment) >= 3

    got = hub.api.GetModelVersion(pb.GetModelVersionRequest(
        model="labor", version=LABOR_BOOTSTRAP), metadata=md(hub, "viewer"), timeout=5)  # fmt: skip
    assert [a.sha256 for a in got.artifacts] == [manifest.sha256]
    viewer = md(hub, "viewer")
    for request, code, text in (
        (dict(model="labor", version="2099.01.01-1"), grpc.StatusCode.NOT_FOUND, "2099.01.01-1"),
        (dict(model="forecasting", version="1"), grpc.StatusCode.NOT_FOUND, "forecasting"),
        (dict(model="labor"), grpc.StatusCode.INVALID_ARGUMENT, "version:"),
        (dict(model="Labor!", version="1"), grpc.StatusCode.INVALID_ARGUMENT, "model:"),
    ):  # fmt: skip
        got_code, details = status_of(lambda request=request: hub.api.GetModelVersion(
            pb.GetModelVersionRequest(**request), metadata=viewer, timeout=5))  # fmt: skip
        assert got_code == code and text in details, (request, details)

    # Mutual TLS: a client without a certificate does not get through the handshake.
    bare = grpc.secure_channel(
        f"127.0.0.1:{hub.port}", grpc.ssl_channel_credentials((hub.tls / "ca.pem").read_bytes())
    )
    stub = hub.api.__class__(bare)
    code, _ = status_of(
        lambda: stub.ListModelVersions(
            hub.pb.ListModelVersionsRequest(), metadata=md(hub, "viewer"), timeout=5
        )
    )
    assert code == grpc.StatusCode.UNAVAILABLE
    bare.close()


def test_a_training_run_started_through_the_api_runs_in_serve(hub):
    pb = hub.pb
    code, details = status_of(lambda: hub.api.StartTraining(pb.StartTrainingRequest(
        model="availability"), metadata=md(hub, "viewer"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.PERMISSION_DENIED and "admin" in details
    code, details = status_of(lambda: hub.api.StartTraining(pb.StartTrainingRequest(
        model="weather"), metadata=md(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.NOT_FOUND and "weather" in details

    started = hub.api.StartTraining(pb.StartTrainingRequest(model="availability"),
                                    metadata=md(hub, "admin"), timeout=5).run  # fmt: skip
    assert started.state == pb.TRAINING_RUN_STATE_QUEUED and started.actor == "root"
    code, details = status_of(lambda: hub.api.StartTraining(pb.StartTrainingRequest(
        model="availability"), metadata=md(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.FAILED_PRECONDITION and f"run {started.run_id}" in details

    def ended():
        run = hub.api.GetTrainingRun(pb.GetTrainingRunRequest(run_id=started.run_id),
                                     metadata=md(hub, "viewer"), timeout=5).run  # fmt: skip
        return run if run.state in (pb.TRAINING_RUN_STATE_SUCCEEDED,
                                    pb.TRAINING_RUN_STATE_FAILED) else None  # fmt: skip

    run = wait_for(ended, timeout_s=120, what="the training run")
    assert run.state == pb.TRAINING_RUN_STATE_SUCCEEDED, run.error
    assert run.version and run.reasons and run.HasField("end_time")
    assert run.version in run.progress  # the child's last progress line: its decision
    numbers = json.loads(run.metrics_json)
    assert run.challenger_error == pytest.approx(numbers["challenger"]["error"])
    assert run.champion_error == pytest.approx(numbers["champion"]["error"])
    assert numbers["data"]["series"] == 900 - 900 // 17  # NOT_CHECKED results are no labels
    # The promotion rule, recomputed from the reported numbers (margin 2 %).
    assert run.promoted == (run.challenger_error <= run.champion_error * 0.98)
    with ModelRegistry(hub.hub_db, hub.hub_db.parent / "signing") as registry:
        registered = registry.version("availability", run.version)
    assert registered.manifest["metrics"]["backtest.challenger.error"] == pytest.approx(
        run.challenger_error
    )
    assert registered.status == ("champion" if run.promoted else "candidate")
    runs = hub.api.ListTrainingRuns(pb.ListTrainingRunsRequest(model="availability"),
                                    metadata=md(hub, "viewer"), timeout=5).runs  # fmt: skip
    assert [r.run_id for r in runs] == [run.run_id]
    code, _ = status_of(
        lambda: hub.api.GetTrainingRun(
            pb.GetTrainingRunRequest(run_id=999), metadata=md(hub, "viewer"), timeout=5
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    hub.found["availability"] = run
    assert ("root", "StartTraining", "OK") in api_calls(hub.hub_db)
    assert ("vera", "StartTraining", "PERMISSION_DENIED") in api_calls(hub.hub_db)


def test_promote_and_rollback_admin_only_audited_with_the_callers_name(hub):
    pb = hub.pb
    run = hub.found.get("availability")
    if run is None:
        pytest.fail("needs the version test_a_training_run_started_through_the_api... trained")
    version = run.version
    for who in ("viewer", "approver"):
        code, details = status_of(lambda who=who: hub.api.PromoteModelVersion(
            pb.PromoteModelVersionRequest(model="availability", version=version, reason="x"),
            metadata=md(hub, who), timeout=5))  # fmt: skip
        assert code == grpc.StatusCode.PERMISSION_DENIED and "admin" in details, details
    if run.promoted:  # the rule promoted it already: promoting again is refused
        code, details = status_of(lambda: hub.api.PromoteModelVersion(
            pb.PromoteModelVersionRequest(model="availability", version=version),
            metadata=md(hub, "admin"), timeout=5))  # fmt: skip
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "champion already" in details
        back = hub.api.RollbackModel(pb.RollbackModelRequest(model="availability",
                                                             reason="check the old one"),
                                     metadata=md(hub, "admin"), timeout=5)  # fmt: skip
        assert {c.version for c in back.champions} != {version}
    promoted = hub.api.PromoteModelVersion(pb.PromoteModelVersionRequest(
        model="availability", version=version, reason="reviewed the backtest"),
        metadata=md(hub, "admin"), timeout=5)  # fmt: skip
    assert [(c.version, c.status) for c in promoted.champions] == [
        (version, pb.MODEL_VERSION_STATUS_CHAMPION)
    ]
    back = hub.api.RollbackModel(pb.RollbackModelRequest(model="availability", reason="bad week"),
                                 metadata=md(hub, "admin"), timeout=5)  # fmt: skip
    assert back.champions[0].version != version
    shown = hub.api.GetModelVersion(pb.GetModelVersionRequest(
        model="availability", version=version), metadata=md(hub, "viewer"), timeout=5)  # fmt: skip
    assert shown.artifacts[0].status == pb.MODEL_VERSION_STATUS_ROLLED_BACK

    # A version whose feature spec this release does not compute: stores would refuse it.
    with ModelRegistry(hub.hub_db, hub.hub_db.parent / "signing") as registry:
        manifest = json_format.Parse((BOOTSTRAP_DIR / "labor.manifest.json").read_text(),
                                     model_pb2.ModelManifest())  # fmt: skip
        manifest.version, manifest.feature_spec_hash = "old-spec-1", "0123456789abcdef"
        manifest.parent_version = LABOR_BOOTSTRAP
        registry.register([(manifest, (BOOTSTRAP_DIR / "labor.onnx").read_bytes())], actor="t")
    code, details = status_of(lambda: hub.api.PromoteModelVersion(pb.PromoteModelVersionRequest(
        model="labor", version="old-spec-1"), metadata=md(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "feature spec" in details
    code, details = status_of(lambda: hub.api.PromoteModelVersion(pb.PromoteModelVersionRequest(
        model="labor", version="2099.01.01-9"), metadata=md(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.NOT_FOUND and "2099.01.01-9" in details
    code, details = status_of(lambda: hub.api.RollbackModel(pb.RollbackModelRequest(
        model="labor"), metadata=md(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "nothing to roll back to" in details

    records = audit_log(hub.hub_db)
    mine = [(r["actor"], r["action"], r["detail"].get("outcome")) for r in records
            if r["subject"] in (f"availability@{version}", "availability")]  # fmt: skip
    assert ("root", "model.promoted", None) in mine
    assert ("root", "model.rolled_back", None) in mine
    assert ("root", "api.PromoteModelVersion", "OK") in mine
    assert ("root", "api.RollbackModel", "OK") in mine
    assert ("vera", "api.PromoteModelVersion", "PERMISSION_DENIED") in mine
    assert ("ana", "api.PromoteModelVersion", "PERMISSION_DENIED") in mine


# -- rollouts --------------------------------------------------------------------------------------


async def _offer_current_ring(hub) -> list[dict]:
    """One pass of the rollout loop `cloud-hub serve` runs every rollout_tick_s."""
    nc = await nats.connect(hub.nats.url)
    try:
        return await rollouts.advance(nc.jetstream(), hub.hub_db, HubSettings(db=hub.hub_db))
    finally:
        await nc.close()


def test_rollouts_start_pause_resume_advance_and_roll_back(hub):
    pb = hub.pb
    admin, viewer = md(hub, "admin"), md(hub, "viewer")

    def start_rollout(who, **fields):
        return hub.api.StartRollout(pb.StartRolloutRequest(**fields), metadata=who, timeout=10)

    code, details = status_of(lambda: start_rollout(viewer, model="labor",
                                                    version=LABOR_BOOTSTRAP))  # fmt: skip
    assert code == grpc.StatusCode.PERMISSION_DENIED and "admin" in details
    code, details = status_of(lambda: start_rollout(admin, model="labor", version="2099.1.1-1"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, details = status_of(lambda: start_rollout(admin, model="labor", version="old-spec-1"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not promoted" in details

    rollout = start_rollout(admin, model="labor", version=LABOR_BOOTSTRAP,
                            reason="first rollout").rollout  # fmt: skip
    assert (rollout.state, rollout.ring, rollout.actor) == (pb.ROLLOUT_STATE_RUNNING, "canary",
                                                            "root")  # fmt: skip
    code, details = status_of(lambda: start_rollout(admin, model="labor", version=LABOR_BOOTSTRAP))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "running" in details

    def status():
        return hub.api.GetRolloutStatus(pb.GetRolloutStatusRequest(model="labor"),
                                        metadata=viewer, timeout=5)  # fmt: skip

    got = status()
    assert got.rollout.rollout_id == rollout.rollout_id
    assert [r.ring for r in got.rings] == ["canary", "early", "all"]
    assert not got.rollout.HasField("ring_offer_time") and got.rings[0].gate_verdict == ""

    def act(method: str, who=admin, **fields):
        request = getattr(pb, f"{method}Request")(model="labor", **fields)
        return getattr(hub.api, method)(request, metadata=who, timeout=10).rollout

    code, details = status_of(lambda: act("AdvanceRollout", reason="looks fine"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not offered yet" in details
    code, details = status_of(lambda: act("PauseRollout", who=viewer))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert act("PauseRollout", reason="store visit").state == pb.ROLLOUT_STATE_PAUSED
    code, details = status_of(lambda: act("PauseRollout"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "paused" in details
    assert act("ResumeRollout").state == pb.ROLLOUT_STATE_RUNNING

    # serve's loop offers the canary ring (no store is in it); the operator passes its gate.
    changes = asyncio.run(_offer_current_ring(hub))
    assert [c["ring"] for c in changes] == ["canary"]
    assert status().rollout.HasField("ring_offer_time")
    code, details = status_of(lambda: act("AdvanceRollout"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("reason:")
    advanced = act("AdvanceRollout", reason="canary store closed for a week")
    assert (advanced.state, advanced.ring) == (pb.ROLLOUT_STATE_RUNNING, "early")
    got = status()
    canary = got.rings[0]
    assert canary.gate_verdict == "passed" and "root" in canary.gate_reason
    gate = json.loads(canary.gate_numbers_json)
    assert gate["operator"] == {"actor": "root", "reason": "canary store closed for a week",
                                "verdict_then": "pass", "reason_then": "healthy"}  # fmt: skip

    back = act("RollbackRollout", reason="changed our mind")
    assert back.state == pb.ROLLOUT_STATE_ROLLED_BACK
    listed = hub.api.ListRollouts(pb.ListRolloutsRequest(state=pb.ROLLOUT_STATE_ROLLED_BACK),
                                  metadata=viewer, timeout=5).rollouts  # fmt: skip
    assert [r.rollout_id for r in listed] == [rollout.rollout_id]
    assert not hub.api.ListRollouts(pb.ListRolloutsRequest(state=pb.ROLLOUT_STATE_RUNNING),
                                    metadata=viewer, timeout=5).rollouts  # fmt: skip
    code, _ = status_of(lambda: hub.api.GetRolloutStatus(pb.GetRolloutStatusRequest(
        rollout_id=999), metadata=viewer, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.NOT_FOUND

    records = [
        r for r in audit_log(hub.hub_db) if r["subject"] in ("labor", f"labor@{LABOR_BOOTSTRAP}")
    ]
    actions = {(r["actor"], r["action"]) for r in records}
    assert {("root", "rollout.started"), ("root", "rollout.paused"), ("root", "rollout.running"),
            ("root", "rollout.ring_passed"), ("root", "rollout.rolled_back"),
            ("root", "api.AdvanceRollout"), ("root", "api.StartRollout"),
            ("vera", "api.StartRollout")} <= actions  # fmt: skip
    advance = next(r for r in records if r["action"] == "api.AdvanceRollout"
                   and r["detail"]["outcome"] == "OK")  # fmt: skip
    assert "canary store closed for a week" in advance["detail"]["detail"]


# -- the CLI over the API --------------------------------------------------------------------------


def test_client_commands_for_models_rollouts_and_training(hub, tmp_path):
    files = {}
    for who in ("viewer", "admin"):
        files[who] = tmp_path / f"{who}.token"
        files[who].write_text(hub.tokens[who] + "\n")

    def client(who: str, *args: str):
        return cli("cloud-hub", "client", *args, "--address", f"127.0.0.1:{hub.port}",
                   "--ca", str(hub.tls / "ca.pem"), "--cert", str(hub.tls / "ops.pem"),
                   "--key", str(hub.tls / "ops.key"), "--token-file", str(files[who]))  # fmt: skip

    done = client("viewer", "models", "--model", "labor", "--json")
    assert done.returncode == 0, done.stderr
    versions = {v["version"] for v in json.loads(done.stdout)["model_versions"]}
    assert {LABOR_BOOTSTRAP, "old-spec-1"} <= versions
    table = client("viewer", "models").stdout
    assert "labor" in table and "champion" in table and LABOR_BOOTSTRAP in table
    done = client("viewer", "model", "labor", LABOR_BOOTSTRAP)
    assert done.returncode == 0 and "sha256" in done.stdout, done.stderr
    done = client("viewer", "promote", "labor", LABOR_BOOTSTRAP, "--reason", "x")
    assert done.returncode == 2 and "PERMISSION_DENIED" in done.stderr
    done = client("viewer", "rollout", "list", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["rollouts"], done.stderr
    done = client("viewer", "rollout", "status", "labor")
    assert done.returncode == 0 and "canary" in done.stdout and "rolled_back" in done.stdout
    # An operator steers a rollout from the command line; each step is what the API says.
    done = client("admin", "rollout", "start", "labor", LABOR_BOOTSTRAP, "--reason", "again",
                  "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)["rollout"]
    assert started["state"] == "ROLLOUT_STATE_RUNNING" and started["ring"] == "canary"
    for action, state in (("pause", "paused"), ("resume", "running"),
                          ("rollback", "rolled_back")):  # fmt: skip
        done = client("admin", "rollout", action, "labor", "--reason", f"cli {action}")
        assert done.returncode == 0 and state in done.stdout, (action, done.stdout, done.stderr)
    done = client("admin", "rollout", "resume", "labor")
    assert done.returncode == 2 and "FAILED_PRECONDITION" in done.stderr
    done = client("viewer", "training", "--json")
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert runs and runs[0]["state"] == "TRAINING_RUN_STATE_SUCCEEDED"
    done = client("viewer", "training", str(runs[0]["run_id"]))
    assert done.returncode == 0 and "succeeded" in done.stdout
    # No hourly data at this hub: the run fails, and says why.
    done = client("admin", "train", "labor", "--wait", "--json")
    assert done.returncode == 1, done.stderr
    failed = json.loads(done.stdout)["run"]
    assert failed["state"] == "TRAINING_RUN_STATE_FAILED" and "train labor" in failed["error"]
    done = client("viewer", "training", str(failed["run_id"]))
    assert done.returncode == 1 and "failed" in done.stdout and "error:" in done.stdout
