"""The hub's gRPC API end to end: a real `cloud-hub serve --grpc` with TLS on loopback, a
real nats-server and a real `edge-agent run` store, called by a client generated from the
.proto file at test time.

The client code path imports nothing of storeedge: `hub.proto` is compiled with
grpc_tools.protoc into tmp_path and imported from there. (A process has one default
descriptor pool, so the client's file keeps the server's file name,
storeedge/hub/v1/hub.proto, and lives in a package of its own, `hubapi_client`; the one
import line protoc writes into the stub module is pointed at that package.)

Everything else here (simulated stores, the registry, synthetic records ingested
beside the real ones) only prepares the hub database.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cloud_hub import hub_audit
from cloud_hub.registry import Registry
from cloud_hub.storage import Incoming, open_storage
from edge_agent.cycle import load_models, run_cycle
from edge_agent.policy import KindPolicy, Policy
from models import BOOTSTRAP_DIR
from storeedge.natsserver import NatsServer
from storeedge.v1 import audit_pb2, common_pb2, decision_pb2
from tests.helpers import SIM_END, agreement, cli, simulated_store, start, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "storeedge.hub.v1.HubService"


# -- the client: generated from the .proto at test time ----------------------------------------


_GENERATED: list[SimpleNamespace] = []


def generate_client(out: Path) -> SimpleNamespace:
    """The client protoc makes from hub.proto alone, imported as ``hubapi_client``: once
    per test process (a process has one module of that name; the .proto is the same)."""
    if _GENERATED:
        return _GENERATED[0]
    protos = out / "protos"
    shutil.copytree(ROOT / "protos" / "storeedge" / "hub", protos / "storeedge" / "hub")
    gen = out / "gen"
    gen.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", str(protos), f"--python_out={gen}",
         f"--grpc_python_out={gen}", "storeedge/hub/v1/hub.proto"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    package = out / "hubapi_client"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(gen / "storeedge" / "hub" / "v1" / "hub_pb2.py", package / "hub_pb2.py")
    stub = (gen / "storeedge" / "hub" / "v1" / "hub_pb2_grpc.py").read_text()
    stub = stub.replace("from storeedge.hub.v1 import hub_pb2", "from hubapi_client import hub_pb2")
    assert "storeedge.hub.v1 import" not in stub
    (package / "hub_pb2_grpc.py").write_text(stub)
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("hubapi_client.hub_pb2")
        pb2_grpc = importlib.import_module("hubapi_client.hub_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    assert Path(pb2.__file__).parent == package
    _GENERATED.append(SimpleNamespace(pb2=pb2, grpc=pb2_grpc))
    return _GENERATED[0]


# -- data the hub holds besides the real store ---------------------------------------------------


def _ts(when: datetime):
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def synthetic_decisions(store_id: str, count: int) -> list[decision_pb2.Decision]:
    """Decisions of every kind, several states, days and values (deterministic)."""
    kinds = [decision_pb2.DECISION_KIND_ORDER, decision_pb2.DECISION_KIND_STAFFING,
             decision_pb2.DECISION_KIND_SHELF_CHECK]  # fmt: skip
    states = [decision_pb2.DECISION_STATE_PENDING, decision_pb2.DECISION_STATE_AUTO,
              decision_pb2.DECISION_STATE_PENDING, decision_pb2.DECISION_STATE_BLOCKED]  # fmt: skip
    out = []
    for i in range(1, count + 1):
        out.append(decision_pb2.Decision(
            id=common_pb2.RecordId(store_id=store_id, record_type=common_pb2.RECORD_TYPE_DECISION,
                                   sequence=i),
            business_date=f"2026-07-{1 + i % 10:02d}",
            recorded_at=_ts(datetime(2026, 7, 1, 6, tzinfo=UTC) + timedelta(minutes=i)),
            kind=kinds[i % 3], state=states[i % 4], sku=f"SKU{i}",
            category="dairy" if i % 2 else "bakery", quantity=float(i), value=10.0 * i,
            confidence=0.5, model_name="m", model_version="1", rule="r"))  # fmt: skip
    return out


def decision_messages(decisions: list[decision_pb2.Decision]) -> list[Incoming]:
    return [Incoming(d.id.store_id, "decision", f"{d.id.store_id}:decision:{d.id.sequence}",
                     d.SerializeToString(deterministic=True)) for d in decisions]  # fmt: skip


def state_change(store_id: str, decision_seq: int, seq: int, to_state: int) -> Incoming:
    change = decision_pb2.DecisionStateChange(
        decision_id=common_pb2.RecordId(store_id=store_id,
                                        record_type=common_pb2.RECORD_TYPE_DECISION,
                                        sequence=decision_seq),
        from_state=decision_pb2.DECISION_STATE_PENDING, to_state=to_state, actor="bob",
        reason="local", changed_at=_ts(datetime(2026, 7, 2, tzinfo=UTC)))  # fmt: skip
    return Incoming(store_id, "decision_state", f"{store_id}:decision:{decision_seq}@{seq}",
                    change.SerializeToString(deterministic=True))  # fmt: skip


def tampered_chain(store_id: str) -> list[Incoming]:
    """Two audit entries; the second's hash does not match its payload."""
    import hashlib

    entries, prev = [], bytes(32)
    for seq in (1, 2):
        record = audit_pb2.AuditRecord(
            id=common_pb2.RecordId(store_id=store_id, record_type=common_pb2.RECORD_TYPE_AUDIT,
                                   sequence=seq),
            event_type=audit_pb2.AUDIT_EVENT_TYPE_STORE_CONFIGURED, actor="system",
            summary=f"entry {seq}")  # fmt: skip
        payload = record.SerializeToString(deterministic=True)
        digest = hashlib.sha256(prev + payload).digest() if seq == 1 else b"\x01" * 32
        entry = audit_pb2.AuditEntry(seq=seq, prev_hash=prev, hash=digest, payload=payload)
        entries.append(Incoming(store_id, "audit", f"{store_id}:audit:{seq}",
                                entry.SerializeToString()))  # fmt: skip
        prev = digest
    return entries


# -- the running hub ------------------------------------------------------------------------------


def token(hub_db: Path, name: str, role: str, *extra: str) -> str:
    done = cli("cloud-hub", "api", "tokens", "create", "--name", name, "--role", role, *extra,
               "--expires", "1d", "--db", str(hub_db), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["token"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    client = generate_client(tmp / "client")
    nats = NatsServer(tmp / "nats").start()
    tls = tmp / "tls"
    assert (
        cli("cloud-hub", "tls", "generate", "--out", str(tls), "--host", "127.0.0.1").returncode
        == 0
    )

    # A real store with decisions waiting for a person (a strict policy).
    db = tmp / "s1.db"
    mirror = simulated_store(db, "S001", seed=5, cycles=0)
    strict = Policy(order=KindPolicy(auto_min_confidence=1.0, max_value=5000.0, min_quantity=1.0),
                    staffing=KindPolicy(auto_min_confidence=1.0))  # fmt: skip
    day = SIM_END + timedelta(days=1)
    mirror.clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=UTC)
    run_cycle(mirror, load_models(BOOTSTRAP_DIR), strict, day)
    pending = {}
    for decision_id, kind in mirror.conn.execute(
        "SELECT decision_id, kind FROM decisions WHERE state = 'pending' ORDER BY seq"
    ):
        pending.setdefault(kind, []).append(decision_id)
    mirror.close()
    assert len(pending["staffing"]) >= 1 and len(pending["order"]) >= 2

    hub_db = tmp / "hub.db"
    with Registry(hub_db) as registry:
        registry.add_store("S001", ring="canary", region="north", tz="America/Chicago")
        registry.add_store("S002", region="south", tz="Europe/Berlin")
    storage = open_storage(hub_db)
    s2 = synthetic_decisions("S002", 24)
    storage.ingest(decision_messages(s2))
    storage.ingest([state_change("S002", 3, 1, decision_pb2.DECISION_STATE_APPROVED)])
    storage.ingest(tampered_chain("S003"))
    storage.close()
    # S003's decisions written by a release without the decision index: the API backfills.
    conn = sqlite3.connect(hub_db)
    with conn:
        conn.executemany(
            "INSERT INTO records(record_id, store_id, record_type, payload, received_at) "
            "VALUES (?, ?, 'decision', ?, ?)",
            [(m.record_id, m.store_id, m.payload, "2026-07-01T00:00:00+00:00")
             for m in decision_messages(synthetic_decisions("S003", 3))],
        )  # fmt: skip
    conn.close()

    tokens = {
        "viewer": token(hub_db, "vera", "viewer"),
        "north": token(hub_db, "ana", "approver", "--region", "north"),
        "south": token(hub_db, "sam", "approver", "--region", "south"),
        "north_dairy": token(
            hub_db, "dora", "approver", "--region", "north", "--category", "dairy"
        ),
        "admin": token(hub_db, "root", "admin"),
        "expired": token(hub_db, "old", "viewer"),
        "revoked": token(hub_db, "gone", "viewer"),
    }
    conn = sqlite3.connect(hub_db)
    with conn:
        conn.execute("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00+00:00' "
                     "WHERE name = 'old'")  # fmt: skip
    conn.close()
    assert cli("cloud-hub", "api", "tokens", "revoke", "gone", "--db", str(hub_db)).returncode == 0

    hub_log = tmp / "hub.log"
    hub_proc = start(hub_log, "cloud-hub", "serve", "--db", str(hub_db), "--nats", nats.url,
                     "--insecure", "--grpc", "127.0.0.1:0", "--api-tls-cert",
                     str(tls / "server.pem"), "--api-tls-key", str(tls / "server.key"))  # fmt: skip
    agent = start(tmp / "agent.log", "edge-agent", "run", "--db", str(db), "--nats", nats.url,
                  "--insecure")  # fmt: skip
    try:
        port = int(wait_for(lambda: re.search(r"gRPC API listening on 127\.0\.0\.1:(\d+)",
                                              hub_log.read_text()), what="the API")[1])  # fmt: skip
        wait_for(lambda: agreement(db, hub_db), what="the store's records at the hub")
        credentials = grpc.ssl_channel_credentials((tls / "ca.pem").read_bytes())
        channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials)
        yield SimpleNamespace(
            api=client.grpc.HubServiceStub(channel), pb=client.pb2, channel=channel,
            tokens=tokens, pending=pending, hub_db=hub_db, db=db, port=port, tls=tls,
            s2=s2, log=hub_log, nats=nats)  # fmt: skip
        channel.close()
    finally:
        for process in (agent, hub_proc):
            process.send_signal(signal.SIGTERM)
        codes = (agent.wait(30), hub_proc.wait(30))
        nats.stop()
    assert codes == (0, 0), hub_log.read_text()[-3000:]
    assert "gRPC API stopped" in hub_log.read_text()


def auth(hub, who: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {hub.tokens[who]}")]


def status_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


# -- conventions: health, reflection, authentication ---------------------------------------------


def test_health_and_reflection_answer_without_a_token(hub):
    health = health_pb2_grpc.HealthStub(hub.channel)
    for service in ("", SERVICE):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    reflect = reflection_pb2_grpc.ServerReflectionStub(hub.channel)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE)]  # fmt: skip
    answers = list(reflect.ServerReflectionInfo(iter(requests), timeout=5))
    names = {s.name for s in answers[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"} <= names  # fmt: skip
    from google.protobuf import descriptor_pb2

    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in answers[1].file_descriptor_response.file_descriptor_proto]  # fmt: skip
    assert "storeedge/hub/v1/hub.proto" in {f.name for f in files}


def test_every_call_needs_a_live_token(hub):
    pb = hub.pb
    service = pb.DESCRIPTOR.services_by_name["HubService"]
    for method in service.methods:
        request = getattr(pb, method.input_type.name)()
        call = getattr(hub.api, method.name)
        for metadata, expected in (
            (None, "no API token"),
            ([("authorization", "Bearer seh_not-a-token")], "unknown API token"),
            (auth(hub, "expired"), "expired"),
            (auth(hub, "revoked"), "revoked"),
        ):

            def invoke(call=call, request=request, metadata=metadata, method=method):
                result = call(request, metadata=metadata, timeout=5)
                if method.server_streaming:
                    next(result)
                return result

            code, details = status_of(invoke)
            assert code == grpc.StatusCode.UNAUTHENTICATED, (method.name, details)
            assert expected in details, details


# -- fleet ---------------------------------------------------------------------------------------


def test_list_and_get_stores_with_status_and_pages(hub):
    pb, md = hub.pb, auth(hub, "viewer")
    answer = hub.api.ListStores(pb.ListStoresRequest(), metadata=md, timeout=5)
    stores = {s.store_id: s for s in answer.stores}
    assert list(stores) == ["S001", "S002", "S003"] and not answer.next_page_token
    s1 = stores["S001"]
    assert (s1.ring, s1.region, s1.time_zone) == ("canary", "north", "America/Chicago")
    assert s1.registry_status == pb.REGISTRY_STATUS_ACTIVE
    assert s1.chain_status == pb.CHAIN_STATUS_OK and s1.chain_length > 0
    assert s1.records_received["decisions"] > 0 and s1.records_received["audit"] > 0
    assert s1.HasField("last_heartbeat_time") and s1.agent_version
    assert stores["S003"].registry_status == pb.REGISTRY_STATUS_UNREGISTERED
    assert stores["S003"].chain_status == pb.CHAIN_STATUS_BROKEN

    seen, page_token = [], ""
    while True:
        page = hub.api.ListStores(pb.ListStoresRequest(page_size=1, page_token=page_token),
                                  metadata=md, timeout=5)  # fmt: skip
        seen += [s.store_id for s in page.stores]
        page_token = page.next_page_token
        if not page_token:
            break
    assert seen == ["S001", "S002", "S003"]
    south = hub.api.ListStores(pb.ListStoresRequest(region="south"), metadata=md, timeout=5)
    assert [s.store_id for s in south.stores] == ["S002"]

    got = hub.api.GetStore(pb.GetStoreRequest(store_id="S001"), metadata=md, timeout=5)
    assert got.store.chain_length == s1.chain_length
    code, details = status_of(lambda: hub.api.GetStore(pb.GetStoreRequest(store_id="S999"),
                                                       metadata=md, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.NOT_FOUND and "S999" in details
    code, details = status_of(lambda: hub.api.GetStore(pb.GetStoreRequest(store_id="no such!"),
                                                       metadata=md, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("store_id:")


def test_verify_chain_names_the_first_bad_record(hub):
    pb, md = hub.pb, auth(hub, "viewer")
    ok = hub.api.VerifyChain(pb.VerifyChainRequest(store_id="S001"), metadata=md, timeout=5)
    assert ok.status == pb.CHAIN_STATUS_OK and not ok.HasField("first_bad_record")
    hub_length = sqlite3.connect(hub.hub_db).execute(
        "SELECT chain_length FROM stores WHERE store_id = 'S001'").fetchone()[0]  # fmt: skip
    assert ok.chain_length == hub_length
    bad = hub.api.VerifyChain(pb.VerifyChainRequest(store_id="S003"), metadata=md, timeout=5)
    assert bad.status == pb.CHAIN_STATUS_BROKEN and bad.chain_length == 1
    assert bad.first_bad_record.record_id == "S003:audit:2"
    assert "hash does not match" in bad.first_bad_record.reason


# -- decisions ------------------------------------------------------------------------------------


def _ids(response) -> list[str]:
    return [d.decision_id for d in response.decisions]


def test_list_decisions_filters_and_pages(hub):
    pb, md = hub.pb, auth(hub, "viewer")

    def listing(**kwargs):
        return hub.api.ListDecisions(pb.ListDecisionsRequest(**kwargs), metadata=md, timeout=5)

    s2 = {f"S002:decision:{d.id.sequence}": d for d in hub.s2}
    everything = _ids(listing(store_id="S002", page_size=500))
    assert everything == [f"S002:decision:{i}" for i in range(24, 0, -1)]  # newest first
    state = {k: d.state for k, d in s2.items()} | {"S002:decision:3": 2}  # approved locally
    cases = {
        "kind": (dict(kind=pb.DECISION_KIND_STAFFING),
                 lambda k, d: d.kind == decision_pb2.DECISION_KIND_STAFFING),
        "state": (dict(state=pb.DECISION_STATE_PENDING),
                  lambda k, d: state[k] == decision_pb2.DECISION_STATE_PENDING),
        "days": (dict(business_date_from="2026-07-03", business_date_to="2026-07-05"),
                 lambda k, d: "2026-07-03" <= d.business_date <= "2026-07-05"),
        "value": (dict(min_value=150.0), lambda k, d: d.value >= 150.0),
    }  # fmt: skip
    for name, (filters, keep) in cases.items():
        expected = [k for k in everything if keep(k, s2[k])]
        assert _ids(listing(store_id="S002", **filters)) == expected, name
        assert expected, name
    approved = listing(store_id="S002", state=pb.DECISION_STATE_APPROVED).decisions
    assert [(d.decision_id, d.state_actor) for d in approved] == [("S002:decision:3", "bob")]
    # The decisions of S003 came from before the index: backfilled at start.
    assert len(listing(store_id="S003").decisions) == 3

    pages, page_token = [], ""
    while True:
        page = listing(store_id="S002", kind=pb.DECISION_KIND_ORDER, page_size=3,
                       page_token=page_token)  # fmt: skip
        pages.append(_ids(page))
        page_token = page.next_page_token
        if not page_token:
            break
    flat = [i for p in pages for i in p]
    assert flat == _ids(listing(store_id="S002", kind=pb.DECISION_KIND_ORDER))
    assert len(flat) == 8 and all(len(p) == 3 for p in pages[:-1])

    for request, field in (
        (dict(page_size=501), "page_size"),
        (dict(page_size=-1), "page_size"),
        (dict(business_date_from="July 3rd"), "business_date_from"),
        (dict(business_date_from="2026-07-05", business_date_to="2026-07-01"),
         "business_date_from"),
        (dict(page_token="garbage"), "page_token"),
        (dict(store_id="S002", page_token=listing(store_id="S002", page_size=1).next_page_token,
              kind=pb.DECISION_KIND_ORDER), "page_token"),
        (dict(kind=99), "kind"),
    ):  # fmt: skip
        code, details = status_of(lambda request=request: listing(**request))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (request, details)
        assert details.startswith(f"{field}:"), details


def test_get_decision_with_its_audit_trail(hub):
    pb, md = hub.pb, auth(hub, "viewer")
    decision_id = hub.pending["order"][-1]
    got = hub.api.GetDecision(pb.GetDecisionRequest(decision_id=decision_id), metadata=md,
                              timeout=5)  # fmt: skip
    assert got.decision.decision_id == decision_id and got.decision.store_id == "S001"
    assert got.decision.kind == pb.DECISION_KIND_ORDER and got.decision.sku
    events = [(e.event_type, e.verified) for e in got.audit_trail]
    assert ("DECISION_CREATED", True) in events
    assert all(e.record_id.startswith("S001:audit:") for e in got.audit_trail)
    unknown = pb.GetDecisionRequest(decision_id="S001:decision:999999")
    code, details = status_of(lambda: hub.api.GetDecision(unknown, metadata=md, timeout=5))
    assert code == grpc.StatusCode.NOT_FOUND and "S001:decision:999999" in details
    code, details = status_of(lambda: hub.api.GetDecision(
        pb.GetDecisionRequest(decision_id="S001:audit:1"), metadata=md, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("decision_id:")


def test_list_audit_records_pages_and_filters_a_chain(hub):
    pb, md = hub.pb, auth(hub, "viewer")

    def pages(**filters) -> list:
        records, token = [], ""
        while True:
            page = hub.api.ListAuditRecords(
                pb.ListAuditRecordsRequest(store_id="S001", page_size=50, page_token=token,
                                           **filters), metadata=md, timeout=5)  # fmt: skip
            assert len(page.records) <= 50
            records += page.records
            token = page.next_page_token
            if not token:
                return records

    conn = sqlite3.connect(hub.hub_db)
    held = [row[0] for row in conn.execute(
        "SELECT seq FROM audit_entries WHERE store_id = 'S001' ORDER BY seq")]  # fmt: skip
    decisions = conn.execute("SELECT COUNT(*) FROM records WHERE store_id = 'S001' "
                             "AND record_type = 'decision'").fetchone()[0]  # fmt: skip
    conn.close()
    everything = pages()
    assert [r.seq for r in everything] == held and len(held) > 50  # several pages, in order
    assert all(r.verified and r.record_id == f"S001:audit:{r.seq}" for r in everything)
    created = pages(event_type="DECISION_CREATED")
    assert len(created) == decisions and {r.event_type for r in created} == {"DECISION_CREATED"}
    decision_id = hub.pending["order"][0]
    trail = hub.api.GetDecision(pb.GetDecisionRequest(decision_id=decision_id), metadata=md,
                                timeout=5).audit_trail  # fmt: skip
    about = pages(subject_id=decision_id)
    assert [r.seq for r in about] == [e.seq for e in trail] and about
    assert all(r.subject_id == decision_id for r in about)
    window = pages(from_seq=10, to_seq=19)
    assert [r.seq for r in window] == [s for s in held if 10 <= s <= 19]

    def refused(**fields):
        request = pb.ListAuditRecordsRequest(**fields)
        return status_of(lambda: hub.api.ListAuditRecords(request, metadata=md, timeout=5))

    code, details = refused(store_id="S001", event_type="NO_SUCH_EVENT")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("event_type:")
    assert "DECISION_CREATED" in details  # names what it accepts
    code, details = refused(store_id="S404")
    assert code == grpc.StatusCode.NOT_FOUND and "S404" in details
    code, details = refused(event_type="APPROVAL")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("store_id:")
    first = hub.api.ListAuditRecords(pb.ListAuditRecordsRequest(store_id="S001", page_size=5),
                                     metadata=md, timeout=5)  # fmt: skip
    code, details = refused(store_id="S001", event_type="APPROVAL",
                            page_token=first.next_page_token)  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("page_token:")


# -- outcomes -------------------------------------------------------------------------------------


def _joined_outcome(hub, request, md):
    try:
        return hub.api.GetDecisionOutcome(request, metadata=md, timeout=5)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:  # not joined yet: serve joins shortly
            return None
        raise


def _all_joined(hub_db: Path) -> bool:
    conn = sqlite3.connect(hub_db, timeout=30)
    try:
        missing = conn.execute(
            "SELECT COUNT(*) FROM api_decisions d WHERE NOT EXISTS "
            "(SELECT 1 FROM outcome_joins j WHERE j.decision_id = d.decision_id)"
        ).fetchone()
        waiting = conn.execute(
            "SELECT (SELECT COUNT(*) FROM outcome_dirty) + "
            "(SELECT COUNT(*) FROM outcome_dirty_groups)"
        ).fetchone()
        return missing[0] == 0 and waiting[0] == 0
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def test_decision_outcomes_and_metrics_through_the_api(hub):
    pb, md = hub.pb, auth(hub, "viewer")
    wait_for(lambda: _all_joined(hub.hub_db), what="serve joining every decision")
    decision_id = hub.pending["order"][0]
    request = pb.GetDecisionOutcomeRequest(decision_id=decision_id)
    o = wait_for(lambda: _joined_outcome(hub, request, md), what="the outcome").outcome
    # Ordered the day after the simulated history ends: none of its window is synced yet.
    day = (SIM_END + timedelta(days=1)).isoformat()
    assert (o.decision_id, o.store_id, o.kind) == (decision_id, "S001", pb.DECISION_KIND_ORDER)
    assert (o.status, o.days_synced, o.window_start) == (pb.JOIN_STATUS_PARTIAL, 0, day)
    assert o.days_expected >= 2 and o.WhichOneof("detail") == "order"
    assert o.order.coverage_start == o.order.expected_delivery_date > day
    assert o.order.forecast_p90 > 0 and not o.HasField("review_seconds")
    staffing = hub.api.GetDecisionOutcome(pb.GetDecisionOutcomeRequest(
        decision_id=hub.pending["staffing"][0]), metadata=md, timeout=5).outcome  # fmt: skip
    assert staffing.WhichOneof("detail") == "staffing"
    assert staffing.status == pb.JOIN_STATUS_PARTIAL
    assert not staffing.staffing.HasField("transactions")  # unknown until the day is synced
    code, details = status_of(lambda: hub.api.GetDecisionOutcome(
        pb.GetDecisionOutcomeRequest(decision_id="S001:decision:999999"), metadata=md,
        timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.NOT_FOUND and "S001:decision:999999" in details
    code, details = status_of(lambda: hub.api.GetDecisionOutcome(
        pb.GetDecisionOutcomeRequest(decision_id="S001"), metadata=md, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("decision_id:")

    # Metrics: one page equals the pages of two; the counts add up to the store's decisions.
    whole = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(page_size=500),
                                       metadata=md, timeout=5)  # fmt: skip
    assert not whole.next_page_token
    pages, token = [], ""
    while True:
        page = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(
            page_size=2, page_token=token), metadata=md, timeout=5)  # fmt: skip
        pages.extend(page.metrics)
        token = page.next_page_token
        if not token:
            break
    assert list(pages) == list(whole.metrics) and len(pages) > 2
    conn = sqlite3.connect(hub.hub_db)
    s1_total = conn.execute("SELECT COUNT(*) FROM api_decisions WHERE store_id = 'S001'").fetchone()
    s1_in_w27 = conn.execute(
        "SELECT COUNT(*) FROM api_decisions WHERE store_id = 'S001' AND "
        "business_date BETWEEN '2026-06-29' AND '2026-07-05'"
    ).fetchone()
    conn.close()
    s1 = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(store_id="S001"), metadata=md,
                                    timeout=5).metrics  # fmt: skip
    assert sum(m.decisions for m in s1) == s1_total[0]
    # Nothing of the days after the history has been synced: no outcome figure, only counts.
    assert all(m.joins_complete == 0 and not m.HasField("wape") for m in s1)
    # The cycle's day (2026-06-29) is in ISO week 27; the running store adds its own today's.
    assert "2026-W27" in {m.week for m in s1}
    w27 = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(
        store_id="S001", week_from="2026-W27", week_to="2026-W27"), metadata=md,
        timeout=5).metrics  # fmt: skip
    assert {m.week for m in w27} == {"2026-W27"}
    assert sum(m.decisions for m in w27) == s1_in_w27[0]
    dairy = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(category="dairy"),
                                       metadata=md, timeout=5).metrics  # fmt: skip
    assert dairy and {m.category for m in dairy} == {"dairy"}
    later = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(week_from="2099-W01"),
                                       metadata=md, timeout=5)  # fmt: skip
    assert len(later.metrics) == 0
    code, details = status_of(lambda: hub.api.ListOutcomeMetrics(
        pb.ListOutcomeMetricsRequest(week_from="2026-27"), metadata=md, timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("week_from:")
    first = hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(page_size=1), metadata=md,
                                       timeout=5)  # fmt: skip
    code, details = status_of(lambda: hub.api.ListOutcomeMetrics(pb.ListOutcomeMetricsRequest(
        page_size=1, store_id="S002", page_token=first.next_page_token), metadata=md,
        timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("page_token:")
    code, _ = status_of(lambda: hub.api.ListOutcomeMetrics(
        pb.ListOutcomeMetricsRequest(), metadata=auth(hub, "expired"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.UNAUTHENTICATED


# -- approvals ------------------------------------------------------------------------------------


def test_who_may_approve_what(hub):
    pb = hub.pb
    north_order = hub.pending["order"][0]
    staffing = hub.pending["staffing"][0]
    south = "S002:decision:2"  # pending at the hub
    matrix = [
        ("viewer", north_order, "role viewer"),
        ("south", north_order, "region 'north'"),
        ("north", south, "region 'south'"),
        ("north_dairy", staffing, "category"),
    ]
    for who, decision_id, expected in matrix:
        code, details = status_of(lambda who=who, decision_id=decision_id: hub.api.ApproveDecision(
            pb.ApproveDecisionRequest(decision_id=decision_id, reason="checked"),
            metadata=auth(hub, who), timeout=5))  # fmt: skip
        assert code == grpc.StatusCode.PERMISSION_DENIED, (who, details)
        assert expected in details, details
    code, details = status_of(lambda: hub.api.OverrideDecision(
        pb.OverrideDecisionRequest(decision_id=north_order, quantity=0, reason="x"),
        metadata=auth(hub, "north"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("quantity:")
    code, details = status_of(lambda: hub.api.RejectDecision(
        pb.RejectDecisionRequest(decision_id=north_order, reason="  "),
        metadata=auth(hub, "north"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("reason:")
    code, details = status_of(lambda: hub.api.ApproveDecision(
        pb.ApproveDecisionRequest(decision_id="S002:decision:3", reason="x"),
        metadata=auth(hub, "admin"), timeout=5))  # fmt: skip
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "approved by bob" in details
    # Refused calls are on record with the caller's token name.
    calls = json.loads(cli("cloud-hub", "api", "calls", "--db", str(hub.hub_db), "--json").stdout)
    refused = {(c["caller"], c["outcome"]) for c in calls["calls"]}
    assert {("vera", "PERMISSION_DENIED"), ("sam", "PERMISSION_DENIED"),
            ("root", "FAILED_PRECONDITION")} <= refused  # fmt: skip


def test_an_approval_through_the_api_is_applied_by_the_store(hub):
    pb = hub.pb
    decision_id = hub.pending["staffing"][0]
    sent = hub.api.ApproveDecision(
        pb.ApproveDecisionRequest(decision_id=decision_id, reason="enough staff"),
        metadata=auth(hub, "north"), timeout=10)  # fmt: skip
    assert sent.approval.status == pb.APPROVAL_STATUS_SENT
    assert sent.approval.actor == "ana" and sent.approval.request_id.startswith("hub:approval:")

    def applied():
        got = hub.api.GetDecision(pb.GetDecisionRequest(decision_id=decision_id),
                                  metadata=auth(hub, "viewer"), timeout=5)  # fmt: skip
        done = got.approvals and got.approvals[-1].status == pb.APPROVAL_STATUS_APPLIED
        return got if done and got.decision.state == pb.DECISION_STATE_APPROVED else None

    got = wait_for(applied, timeout_s=30, what="the store to apply the approval")
    assert got.approvals[-1].result_state == "approved"
    assert got.decision.state_actor == "ana@hub"
    assert any(e.event_type == "APPROVAL" and e.actor == "ana@hub" for e in got.audit_trail)
    row = sqlite3.connect(hub.hub_db).execute(
        "SELECT actor, status FROM approval_requests WHERE request_id = ?",
        (sent.approval.request_id,)).fetchone()  # fmt: skip
    assert row == ("ana", "applied")
    # The call is in the hub's hash-chained audit log too, under the token's name.
    conn = sqlite3.connect(hub.hub_db)
    logged = [(r["actor"], r["action"], r["detail"]["outcome"])
              for r in hub_audit.records(conn) if r["subject"] == decision_id]  # fmt: skip
    assert ("ana", "api.ApproveDecision", "OK") in logged, logged
    assert hub_audit.verify(conn).ok
    conn.close()


def test_concurrent_approvals_of_one_decision_exactly_one_wins(hub):
    pb = hub.pb
    decision_id = "S002:decision:6"  # pending at the hub (the store's own orders expired)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def attempt(who: str, action: str) -> None:
        barrier.wait()
        try:
            if action == "approve":
                hub.api.ApproveDecision(pb.ApproveDecisionRequest(decision_id=decision_id,
                    reason="race"), metadata=auth(hub, who), timeout=10)  # fmt: skip
            else:
                hub.api.RejectDecision(pb.RejectDecisionRequest(decision_id=decision_id,
                    reason="race"), metadata=auth(hub, who), timeout=10)  # fmt: skip
            results.append("ok")
        except grpc.RpcError as exc:
            results.append((exc.code(), exc.details()))

    threads = [threading.Thread(target=attempt, args=args)
               for args in (("south", "approve"), ("admin", "reject"), ("south", "reject"),
                            ("admin", "approve"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count("ok") == 1, results
    losers = [r for r in results if r != "ok"]
    assert all(code == grpc.StatusCode.FAILED_PRECONDITION and "already" in details
               for code, details in losers), losers  # fmt: skip
    rows = (
        sqlite3.connect(hub.hub_db)
        .execute("SELECT COUNT(*) FROM approval_requests WHERE decision_id = ?", (decision_id,))
        .fetchone()[0]
    )
    assert rows == 1


# -- the watch ------------------------------------------------------------------------------------


def test_watch_pending_decisions_and_clients_that_go_away(hub):
    pb, md = hub.pb, auth(hub, "viewer")
    first = hub.api.WatchPendingDecisions(
        pb.WatchPendingDecisionsRequest(store_id="S002", include_existing=True), metadata=md
    )
    got = next(first)
    assert got.decision.store_id == "S002" and got.decision.state == pb.DECISION_STATE_PENDING
    first.cancel()  # the client goes away mid-stream

    live = hub.api.WatchPendingDecisions(pb.WatchPendingDecisionsRequest(store_id="S002"),
                                         metadata=md, timeout=20)  # fmt: skip
    time.sleep(0.7)  # the watch has read where the index ends
    new = synthetic_decisions("S002", 26)[24:]  # S002:decision:25 (auto), 26 (pending)
    storage = open_storage(hub.hub_db)
    storage.ingest(decision_messages(new))
    storage.close()
    got = next(live)
    assert got.decision.decision_id == "S002:decision:26"
    live.cancel()

    # A deadline ends a quiet watch; the server goes on serving.
    quiet = hub.api.WatchPendingDecisions(pb.WatchPendingDecisionsRequest(store_id="S001"),
                                          metadata=md, timeout=1)  # fmt: skip
    code, _ = status_of(lambda: list(quiet))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    health = health_pb2_grpc.HealthStub(hub.channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    assert hub.api.ListStores(pb.ListStoresRequest(), metadata=md, timeout=5).stores


# -- configuration --------------------------------------------------------------------------------


def test_plaintext_is_refused_off_loopback_and_tokens_are_never_listed(hub, tmp_path):
    done = cli("cloud-hub", "serve", "--db", str(tmp_path / "h.db"), "--nats",
               "nats://127.0.0.1:1", "--insecure", "--grpc", "0.0.0.0:0")  # fmt: skip
    assert done.returncode == 2
    assert "api_tls_cert" in done.stderr and "hint:" in done.stderr
    assert not (tmp_path / "h.db").exists()  # refused before anything started

    listed = cli("cloud-hub", "api", "tokens", "list", "--all", "--db", str(hub.hub_db), "--json")
    rows = json.loads(listed.stdout)["tokens"]
    assert {r["name"] for r in rows} >= {"vera", "ana", "gone"}
    assert all(secret not in listed.stdout for secret in hub.tokens.values())
    assert "token_hash" not in listed.stdout


# -- the CLI over the API -------------------------------------------------------------------------


def test_the_client_commands_work_through_the_api_over_tls(hub, tmp_path):
    pb = hub.pb
    files = {}
    for who in ("viewer", "south", "expired"):
        files[who] = tmp_path / f"{who}.token"
        files[who].write_text(hub.tokens[who] + "\n")

    def client(who: str, *args: str):
        return cli("cloud-hub", "client", *args, "--address", f"127.0.0.1:{hub.port}",
                   "--ca", str(hub.tls / "ca.pem"), "--token-file", str(files[who]))  # fmt: skip

    md = auth(hub, "viewer")
    done = client("viewer", "stores", "--json")
    assert done.returncode == 0, done.stderr
    listed = hub.api.ListStores(pb.ListStoresRequest(page_size=100), metadata=md, timeout=5)
    assert [s["store_id"] for s in json.loads(done.stdout)["stores"]] == [
        s.store_id for s in listed.stores
    ]
    table = client("viewer", "stores").stdout
    assert "S001" in table and "canary" in table and "last heartbeat" in table
    done = client("viewer", "decisions", "--store", "S002", "--state", "pending", "--json")
    pending = json.loads(done.stdout)["decisions"]
    assert pending and {d["store_id"] for d in pending} == {"S002"}
    assert {d["state"] for d in pending} == {"DECISION_STATE_PENDING"}
    # a viewer cannot approve: refused by the API, said plainly, exit 2
    done = client("viewer", "approve", "S002:decision:10", "--reason", "checked")
    assert done.returncode == 2
    assert "PERMISSION_DENIED" in done.stderr and "role" in done.stderr, done.stderr
    done = client("south", "approve", "S002:decision:10", "--reason", "checked", "--json")
    assert done.returncode == 0, done.stderr
    request_id = json.loads(done.stdout)["approval"]["request_id"]
    got = hub.api.GetDecision(pb.GetDecisionRequest(decision_id="S002:decision:10"),
                              metadata=md, timeout=5)  # fmt: skip
    assert [a.request_id for a in got.approvals] == [request_id]
    assert got.approvals[0].actor == "sam"
    # the chain the hub holds, and its verdict on a tampered one (exit 1, naming the record)
    done = client("viewer", "audit", "S001", "--event-type", "DECISION_CREATED", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["records"]
    done = client("viewer", "verify", "S003")
    assert done.returncode == 1 and "first bad record S003:audit:" in done.stdout, done.stdout
    assert client("viewer", "verify", "S001").returncode == 0
    done = client("expired", "stores")
    assert done.returncode == 2 and "UNAUTHENTICATED" in done.stderr
    assert "hint:" in done.stderr
    # off loopback without --ca the client does not even try plaintext
    done = cli("cloud-hub", "client", "stores", "--address", "hub.example.com:50051",
               "--token-file", str(files["viewer"]))  # fmt: skip
    assert done.returncode == 2 and "needs TLS" in done.stderr
