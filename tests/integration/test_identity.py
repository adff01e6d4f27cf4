"""Per-store NATS identities against a real nats-server: each store to its own subjects,
revocation without disturbing the others, TLS with generated certificates."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from cloud_hub.config import HubSettings
from cloud_hub.identity import write_seed
from cloud_hub.ingest import ensure_streams
from cloud_hub.registry import Registry, apply_authorization
from cloud_hub.serve import start_embedded_nats
from cloud_hub.tls import generate_tls, server_tls_block
from edge_agent import sync
from storeedge import link, subjects
from storeedge.errors import LinkError
from storeedge.natsserver import NatsServer
from tests.helpers import agreement, cli, simulated_store, start, wait_for, wait_until

DENIED_WITHIN_S = 1.0


class Fleet:
    """A hub database with a registry, and the embedded server enforcing it."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = HubSettings(db=tmp_path / "hub.db", embedded_nats_dir=tmp_path / "nats")
        self.creds: dict[str, Path] = {}
        with Registry(self.settings.db) as registry:
            for store in ("S001", "S002"):
                _, seed = registry.add_store(store, ring="canary" if store == "S001" else "main")
                self.creds[store] = self.settings.store_creds_dir() / f"{store}.nk"
                write_seed(self.creds[store], seed)
        self.server = start_embedded_nats(self.settings)
        self.events: dict[str, list[str]] = {}

    async def hub(self):
        options = link.LinkOptions((self.server.url,), "hub", creds=self.settings.hub_seed_file())
        return await link.connect(options)

    async def store(self, store_id: str, creds: Path | None = None):
        events = self.events.setdefault(store_id, [])
        options = link.LinkOptions(
            (self.server.url,), f"edge-agent {store_id}", creds=creds or self.creds[store_id],
            inbox_prefix=subjects.store_inbox_prefix(store_id),
        )  # fmt: skip
        return await link.connect(options, on_event=lambda kind, detail: events.append(
            f"{kind} {detail}".lower()))  # fmt: skip

    def denied(self, store_id: str, what: str) -> bool:
        events = self.events[store_id]
        return any("permissions violation" in e and what.lower() in e for e in events)


@pytest.fixture
def fleet(tmp_path):
    fleet = Fleet(tmp_path)
    yield fleet
    fleet.server.stop()


async def test_a_store_reaches_only_its_own_subjects(fleet, tmp_path):
    hub = await fleet.hub()
    hub_js = hub.jetstream()
    await ensure_streams(hub_js)
    for store in ("S001", "S002"):
        await hub_js.publish(subjects.down_subject(store, "command"), f"for {store}".encode())
    kv = await hub_js.create_key_value(bucket="storeedge_fleet")
    await kv.put("S002.policy", b"S002's policy")
    a = await fleet.store("S001")
    a_js = a.jetstream(timeout=DENIED_WITHIN_S)

    # Its own work goes through: a real drain of a store's outbox and audit chain ...
    mirror = simulated_store(tmp_path / "s1.db", "S001", seed=3, skus=20, days=40, cycles=1)
    try:
        report = await sync.drain(mirror, a_js, ack_timeout_s=10)
    finally:
        mirror.close()
    assert report.acked > 0 and report.acked == report.published
    # ... and so does reading its own hub -> store messages through its own consumer.
    own = await a_js.pull_subscribe(subjects.down_filter("S001"),
                                    durable=subjects.down_durable("S001"),
                                    stream=subjects.DOWN_STREAM)  # fmt: skip
    messages = await own.fetch(10, timeout=2)
    assert [m.data for m in messages] == [b"for S001"]
    await messages[0].ack()

    # Publishing as S002: the server refuses, so nothing lands under S002's subjects.
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await a_js.publish(subjects.up_subject("S002", "decision"), b"forged")
    with pytest.raises(NotFoundError):
        await hub_js.get_last_msg(subjects.UP_STREAM, subjects.up_subject("S002", "decision"))
    await a.publish(subjects.heartbeat_subject("S002"), b"forged beat")
    # Subscribing to S002's hub -> store subjects, directly or through a consumer.
    leaked: list[bytes] = []

    async def leak(message) -> None:
        leaked.append(message.data)

    await a.subscribe(subjects.down_filter("S002"), cb=leak)
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await a_js.pull_subscribe(subjects.down_filter("S002"),
                                  durable=subjects.down_durable("S002"),
                                  stream=subjects.DOWN_STREAM)  # fmt: skip
    for name in ("sneaky", subjects.down_durable("S001")):  # its own name, S002's filter
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await a_js.add_consumer(subjects.DOWN_STREAM, name=name, durable_name=name,
                                    filter_subject=subjects.down_filter("S002"))  # fmt: skip
    # Reading S002's messages, keys or objects by the stream APIs.
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await a_js.get_msg(subjects.DOWN_STREAM, subject=subjects.down_subject("S002", "command"))
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await (await a_js.key_value("storeedge_fleet")).get("S002.policy")
    with pytest.raises((NatsError, asyncio.TimeoutError)):
        await a_js.object_store("storeedge_models")
    await hub_js.publish(subjects.down_subject("S002", "approval"), b"S002's approval")
    await asyncio.sleep(0.3)

    assert leaked == []
    for what in (
        '"storeedge.s002.up.decision"',
        '"storeedge.s002.status.heartbeat"',
        'subscription to "storeedge.s002.down.*"',
        '"$js.api.consumer.info.storeedge_down.store-s002"',
        '"$js.api.consumer.create.storeedge_down.sneaky.storeedge.s002.down.*"',
        '"$js.api.consumer.create.storeedge_down.store-s001.storeedge.s002.down.*"',
        '"$js.api.stream.msg.get.storeedge_down"',
        '"$js.api.stream.info.kv_storeedge_fleet"',
        '"$js.api.stream.info.obj_storeedge_models"',
    ):
        assert fleet.denied("S001", what), (what, fleet.events["S001"])
    # The up stream holds S001's records and nothing under any other store.
    info = await hub_js.stream_info(subjects.UP_STREAM, subjects_filter=">")
    assert {subjects.parse_subject(s)[0] for s in info.state.subjects} == {"S001"}
    assert sum(info.state.subjects.values()) == report.acked
    # S002's own message is still there for S002, unread.
    b = await fleet.store("S002")
    b_sub = await b.jetstream().pull_subscribe(subjects.down_filter("S002"),
                                               durable=subjects.down_durable("S002"),
                                               stream=subjects.DOWN_STREAM)  # fmt: skip
    assert [m.data for m in await b_sub.fetch(10, timeout=2)] == [b"for S002", b"S002's approval"]
    for client in (a, b, hub):
        await client.close()


async def test_revoking_a_store_drops_it_and_no_one_else(fleet):
    hub = await fleet.hub()
    await ensure_streams(hub.jetstream())
    a = await fleet.store("S001")
    b = await fleet.store("S002")
    with Registry(fleet.settings.db) as registry:
        registry.revoke_store("S001", reason="box stolen")
        applied = apply_authorization(fleet.settings, registry)
    assert applied["reloaded"] == fleet.server.process.pid

    await wait_until(lambda: not a.is_connected, "the revoked store to be disconnected", 10)
    # Its reconnects are refused (what the agent raises its nats_refused alarm on).
    await wait_until(lambda: any("authorization violation" in e for e in fleet.events["S001"]),
                     "the server to refuse the revoked store's reconnect", 10)  # fmt: skip
    with pytest.raises(LinkError) as refused:
        await fleet.store("S001")
    assert "Authorization Violation" in refused.value.message
    assert "revoked" in refused.value.hint
    # S002 never noticed: same connection, no disconnect, its records still go through.
    assert b.is_connected and not any(e.startswith("disconnected") for e in fleet.events["S002"])
    ack = await b.jetstream().publish(subjects.up_subject("S002", "decision"), b"still here")
    assert ack.stream == subjects.UP_STREAM

    # New hardware for S001: a new identity works, the stolen one stays refused.
    with Registry(fleet.settings.db) as registry:
        entry, seed = registry.replace_store("S001", reason="new box")
        apply_authorization(fleet.settings, registry)
    assert entry.status == "active" and entry.chain_epoch == 2
    new_creds = fleet.creds["S001"].with_name("S001-new.nk")
    write_seed(new_creds, seed)
    replaced = await fleet.store("S001", creds=new_creds)
    assert replaced.is_connected
    with pytest.raises(LinkError):
        await fleet.store("S001")
    for client in (a, b, replaced, hub):
        await client.close()


@pytest.mark.parametrize("mutual", [False, True], ids=["server-tls", "mutual-tls"])
async def test_tls_with_generated_certificates(tmp_path, mutual):
    files = generate_tls(tmp_path / "tls", ["127.0.0.1"], clients=["S001"] if mutual else ())
    config = tmp_path / "nats.conf"
    config.write_text(server_tls_block(files, verify_clients=mutual))
    server = NatsServer(tmp_path / "nats", config_file=config).start()
    try:
        url = (server.url,)
        cert, key = files.clients["S001"] if mutual else (None, None)
        good = link.LinkOptions(url, "S001", tls_ca=files.ca, tls_cert=cert, tls_key=key,
                                insecure=True)  # fmt: skip
        client = await link.connect(good)
        assert client.connected_server_version.major >= 2
        await client.jetstream().add_stream(name="T", subjects=["t.>"])
        assert (await client.jetstream().publish("t.x", b"over tls")).seq == 1
        await client.close()
        # A client that does not trust the private CA refuses the server ...
        with pytest.raises(LinkError) as untrusted:
            await link.connect(link.LinkOptions(url, "S001", insecure=True, tls_cert=cert,
                                                tls_key=key), connect_timeout_s=1)  # fmt: skip
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.value.message
        if mutual:  # ... and with verify on, the server refuses a client without a cert.
            with pytest.raises(LinkError):
                await link.connect(link.LinkOptions(url, "S001", insecure=True, tls_ca=files.ca),
                                   connect_timeout_s=1)  # fmt: skip
    finally:
        server.stop()


@pytest.mark.slow
def test_stores_enrolled_by_the_cli_sync_through_the_embedded_hub_until_revoked(tmp_path):
    """The product path: `cloud-hub stores add` issues identities, `cloud-hub serve
    --embedded-nats` enforces them, `edge-agent run --creds` syncs; `stores revoke` cuts
    one store off (its agent raises an alarm and keeps deciding) and not the other."""
    hub_db, nats_dir = tmp_path / "hub.db", tmp_path / "nats"
    for store, ring in (("S001", "canary"), ("S002", "main")):
        added = cli("cloud-hub", "stores", "add", store, "--ring", ring, "--tz", "Europe/Berlin",
                    "--db", str(hub_db), "--embedded-nats", str(nats_dir), "--json")  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["creds"] == str(tmp_path / "creds" / f"{store}.nk")
    hub = start(tmp_path / "hub.log", "cloud-hub", "serve", "--db", str(hub_db),
                "--embedded-nats", str(nats_dir))  # fmt: skip
    agents = {}
    try:
        hub_log = tmp_path / "hub.log"
        url = wait_for(lambda: re.search(r"nats://127\.0\.0\.1:\d+", hub_log.read_text()),
                       what="the hub")[0]  # fmt: skip
        dbs = {}
        for seed, store in enumerate(("S001", "S002")):
            dbs[store] = tmp_path / f"{store}.db"
            simulated_store(dbs[store], store, seed=seed, skus=20, days=40, cycles=1).close()
            creds = tmp_path / "creds" / f"{store}.nk"
            agents[store] = start(tmp_path / f"{store}.log", "edge-agent", "run", "--db",
                                  str(dbs[store]), "--nats", url, "--creds", str(creds),
                                  "--http-port", "0")  # fmt: skip
        for store in agents:
            wait_for(lambda s=store: agreement(dbs[s], hub_db), what=f"{store} synced")

        revoked = cli("cloud-hub", "stores", "revoke", "S001", "--reason", "box stolen", "--db",
                      str(hub_db), "--embedded-nats", str(nats_dir), "--json")  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        assert json.loads(revoked.stdout)["nats"]["reloaded"]  # the running server reloaded

        def health(store: str) -> dict:
            log = (tmp_path / f"{store}.log").read_text()
            port = re.search(r"127\.0\.0\.1:(\d+)/healthz", log)[1]
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read()
            except urllib.error.HTTPError as unhealthy:  # 503 carries the same document
                body = unhealthy.read()
            return json.loads(body)

        refused = wait_for(lambda: health("S001")["alarms"].get("nats_refused"),
                           what="S001's agent to raise the refused alarm")  # fmt: skip
        assert "revoked" in refused
        assert health("S001")["connected"] is False
        assert health("S002")["connected"] is True
        listed = json.loads(cli("cloud-hub", "stores", "list", "--db", str(hub_db),
                                "--json").stdout)["stores"]  # fmt: skip
        assert {s["store_id"]: s["status"] for s in listed} == {"S001": "revoked",
                                                                "S002": "active"}  # fmt: skip
        assert "never run a store like this" not in (tmp_path / "S001.log").read_text()
    finally:
        for process in (*agents.values(), hub):
            process.send_signal(signal.SIGTERM)
        for process in (*agents.values(), hub):
            process.wait(30)
