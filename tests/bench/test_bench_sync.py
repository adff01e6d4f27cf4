"""Sync benchmarks: the outbox drain and hub ingest against their raw limits, end to end.

Each measured path runs beside its raw limit in the same run, on the same
messages (same subjects, payloads and ``Nats-Msg-Id`` headers), each round on a
fresh nats-server with the kit's streams:

- drain: ``sync.drain`` of a 100,000-record backlog vs. a bare nats-py
  ``publish_async`` loop then ``publish_async_completed`` (target >= 50 %);
- hub ingest: ``consume`` into a fresh hub database vs. a bare pull
  ``fetch(1000)`` + ack loop over the same stream (target >= 60 % and
  >= 20,000 records/s);
- end to end: the backlog from the store's outbox into the hub database,
  drain and ingest running together (target < 15 s);
- the edge daemon's idle RSS after connecting and a cycle (target < 150 MB, as issue 5
  states it: 143.1 MiB).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import nats
import pytest

from cloud_hub.ingest import consume, ensure_streams
from cloud_hub.storage import open_storage
from edge_agent import audit, outbox, sync
from edge_agent.clock import FixedClock
from edge_agent.mirror import open_mirror
from edge_agent.simulation import run_simulation
from storeedge import subjects
from storeedge.natsserver import NatsServer
from storeedge.v1 import audit_pb2, decision_pb2
from tests.helpers import hub_rows, status_mib

pytestmark = pytest.mark.bench

RECORDS = 100_000
AUDIT_SHARE = 0.6  # the rest are decision state changes from the outbox
ROUNDS = 3
IDLE_RSS_TARGET_MIB = 150e6 / 2**20  # issue 5: "under 150 MB" (decimal, as the cycle's 400 MB)
RESULTS: dict[str, float] = {}
BIN = Path(sys.executable).parent


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Backlog:
    template: Path
    messages: list[tuple[str, bytes, str]]  # (subject, payload, record id)


@pytest.fixture(scope="module")
def backlog(bench_tmp: Path) -> Backlog:
    """A store mirror with 100,000 records queued: audit entries and outbox rows."""
    # Its own file per module that uses it (the cluster benchmark imports this fixture).
    path = bench_tmp / f"backlog-{time.monotonic_ns()}.db"
    clock = FixedClock(datetime(2026, 6, 29, 11, tzinfo=UTC))
    mirror = open_mirror(path, clock=clock)
    run_simulation(mirror, store_id="S001", skus=50, days=30, seed=1, end_date=date(2026, 6, 28))
    existing = sum(v["pending"] for v in sync.sync_status(mirror).values())
    audits = int(RECORDS * AUDIT_SHARE) - existing
    with mirror.transaction():
        for n in range(audits):
            audit.append(
                mirror, audit_pb2.AUDIT_EVENT_TYPE_CONFIG_CHANGED, summary=f"reorder point {n}",
                config_change=audit_pb2.ConfigChange(key=f"policy.order.sku{n}.min",
                                                     old_value="4", new_value="6"),
            )  # fmt: skip
        for n in range(RECORDS - audits - existing):
            change = decision_pb2.DecisionStateChange(
                from_state=decision_pb2.DECISION_STATE_PENDING,
                to_state=decision_pb2.DECISION_STATE_APPROVED, actor="ana",
                reason="checked the back room",
            )  # fmt: skip
            change.changed_at.FromDatetime(clock.now())
            outbox.append(mirror, f"S001:decision:{n + 1}@{n + 1}", "decision_state",
                          change.SerializeToString(deterministic=True))  # fmt: skip
    batch = sync.read_pending(mirror, after_outbox_seq=0, after_audit_seq=0, limit=RECORDS,
                              max_bytes=2**40)  # fmt: skip
    mirror.close()
    messages = [(subjects.up_subject("S001", r.record_type), r.payload, r.record_id) for r in batch]
    assert len(messages) == RECORDS
    return Backlog(path, messages)


@pytest.fixture
def server(bench_tmp: Path) -> Iterator[NatsServer]:
    directory = bench_tmp / f"nats-{time.monotonic_ns()}"
    with NatsServer(directory) as running:
        yield running
    shutil.rmtree(directory, ignore_errors=True)


async def _connect(url: str):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    return nc, js


def _fresh_server(bench_tmp: Path, tag: str) -> NatsServer:
    return NatsServer(bench_tmp / f"nats-{tag}-{time.monotonic_ns()}").start()


def _measure(bench_tmp: Path, tag: str, body, rounds: int = ROUNDS) -> list[float]:
    """Run ``body(url)`` on a fresh server per round; returns the seconds it reported."""
    seconds = []
    for _ in range(rounds):
        server = _fresh_server(bench_tmp, tag)
        try:
            seconds.append(asyncio.run(body(server.url)))
        finally:
            server.stop()
            shutil.rmtree(server.directory, ignore_errors=True)
    return seconds


def _on_copies(backlog: Backlog, bench_tmp: Path, tag: str, body) -> list[float]:
    """Run ``body(url, mirror_path)`` on a fresh copy of the backlog and a fresh server."""
    seconds = []
    for n in range(ROUNDS):
        copy = bench_tmp / f"{tag}-{n}.db"
        shutil.copyfile(backlog.template, copy)
        seconds += _measure(bench_tmp, tag, lambda url, c=copy: body(url, c), rounds=1)
    return seconds


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def _bare_publish(url: str, messages: list[tuple[str, bytes, str]]) -> float:
    nc, js = await _connect(url)
    try:
        started = time.perf_counter()
        for subject, payload, record_id in messages:
            await js.publish_async(subject, payload, headers={"Nats-Msg-Id": record_id})
        await js.publish_async_completed()
        return time.perf_counter() - started
    finally:
        await nc.close()


def _record(benchmark, name: str, **info) -> None:
    benchmark.extra_info.update(info)
    _say(f"{name}: " + ", ".join(f"{k}={v}" for k, v in info.items() if k != "label"))


def test_bare_publish_async(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """Raw limit of the drain: publish_async of the same messages, then wait for all acks."""
    seconds = benchmark.pedantic(
        lambda: _measure(bench_tmp, "bare-pub", lambda url: _bare_publish(url, backlog.messages)),
        rounds=1, iterations=1,
    )  # fmt: skip
    median_s = _median(seconds)
    RESULTS["publish_s"] = median_s
    _record(benchmark, "bare publish_async", kind="raw",
            label="raw limit: bare publish_async loop, same messages and ids", unit="msg/s",
            median_s=median_s, figure=RECORDS / median_s, rounds=len(seconds))  # fmt: skip


def test_outbox_drain(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """``sync.drain`` of the 100,000-record backlog: read, publish, settle acks, prune."""
    reports = []

    async def drain(url: str, mirror_path: Path) -> float:
        nc, js = await _connect(url)
        mirror = open_mirror(mirror_path, create=False)
        try:
            started = time.perf_counter()
            reports.append(await sync.drain(mirror, js, batch_size=2_000))
            elapsed = time.perf_counter() - started
            assert all(v["pending"] == 0 for v in sync.sync_status(mirror).values())
            return elapsed
        finally:
            mirror.close()
            await nc.close()

    seconds = benchmark.pedantic(
        lambda: _on_copies(backlog, bench_tmp, "drain", drain), rounds=1, iterations=1
    )
    assert [r.acked for r in reports] == [RECORDS] * ROUNDS
    assert all(r.duplicates == 0 for r in reports)
    median_s = _median(seconds)
    figure = RECORDS / median_s
    raw = RECORDS / RESULTS["publish_s"] if "publish_s" in RESULTS else None
    ratio = figure / raw if raw else None
    _record(benchmark, "drain", kind="drain",
            label="outbox drain: 100,000 records, store mirror to JetStream", unit="msg/s",
            median_s=median_s, figure=figure, raw_figure=raw, ratio=ratio, target=0.5,
            target_text=">= 0.50 x raw", met=ratio is not None and ratio >= 0.5,
            rounds=len(seconds))  # fmt: skip


async def _filled_stream(url: str, messages: list[tuple[str, bytes, str]]) -> None:
    await _bare_publish(url, messages)


async def _bare_fetch(url: str, messages) -> float:
    await _filled_stream(url, messages)
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        sub = await js.pull_subscribe(f"{subjects.PREFIX}.*.up.*", durable="bare",
                                      stream=subjects.UP_STREAM)  # fmt: skip
        received = 0
        started = time.perf_counter()
        while received < len(messages):
            msgs = await sub.fetch(1_000, timeout=5)
            for msg in msgs:
                await msg.ack()
            received += len(msgs)
        return time.perf_counter() - started
    finally:
        await nc.close()


def test_bare_fetch_ack(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """Raw limit of hub ingest: pull fetch(1000) and ack each, nothing stored."""
    seconds = benchmark.pedantic(
        lambda: _measure(bench_tmp, "bare-fetch", lambda url: _bare_fetch(url, backlog.messages)),
        rounds=1, iterations=1,
    )  # fmt: skip
    median_s = _median(seconds)
    RESULTS["fetch_s"] = median_s
    _record(benchmark, "bare fetch+ack", kind="raw",
            label="raw limit: bare pull fetch(1000) + ack loop over the same stream",
            unit="msg/s", median_s=median_s, figure=RECORDS / median_s,
            rounds=len(seconds))  # fmt: skip


def test_hub_ingest(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """``consume`` of the stream into a fresh hub database, chains verified on arrival."""
    totals = []

    async def ingest(url: str) -> float:
        await _filled_stream(url, backlog.messages)
        nc = await nats.connect(url)
        storage = open_storage(bench_tmp / f"hub-{time.monotonic_ns()}.db")
        stop = asyncio.Event()
        done = 0

        def count(result) -> None:
            nonlocal done
            done += result.stored + result.duplicates + result.quarantined
            if done >= RECORDS:
                stop.set()

        try:
            started = time.perf_counter()
            stats = await consume(nc, storage, stop=stop, on_batch=count)
            elapsed = time.perf_counter() - started
            status = storage.store_status()["S001"]
            totals.append((stats.stored, status["chain_ok"], sum(status["received"].values())))
            return elapsed
        finally:
            storage.close()
            await nc.close()

    seconds = benchmark.pedantic(lambda: _measure(bench_tmp, "ingest", ingest), rounds=1,
                                 iterations=1)  # fmt: skip
    assert totals == [(RECORDS, True, RECORDS)] * ROUNDS
    median_s = _median(seconds)
    figure = RECORDS / median_s
    raw = RECORDS / RESULTS["fetch_s"] if "fetch_s" in RESULTS else None
    ratio = figure / raw if raw else None
    _record(benchmark, "hub ingest", kind="ingest",
            label="hub ingest: 100,000 records, stream to hub database", unit="rec/s",
            median_s=median_s, figure=figure, raw_figure=raw, ratio=ratio, target=0.6,
            target_text=">= 0.60 x raw and >= 20,000 rec/s",
            met=ratio is not None and ratio >= 0.6 and figure >= 20_000,
            rounds=len(seconds))  # fmt: skip


def test_end_to_end_backlog(benchmark, backlog: Backlog, bench_tmp: Path) -> None:
    """A 100,000-record backlog from the store's outbox into the hub database: the store's
    drain in this process, `cloud-hub serve` in its own, as in production."""

    async def both(url: str, mirror_path: Path) -> float:
        nc, js = await _connect(url)
        mirror = open_mirror(mirror_path, create=False)
        hub_db = bench_tmp / f"e2e-{time.monotonic_ns()}.db"
        log = hub_db.with_suffix(".log")
        with log.open("w") as handle:
            hub = subprocess.Popen(
                [str(BIN / "cloud-hub"), "serve", "--db", str(hub_db), "--nats", url,
                 "--insecure"], stdout=handle, stderr=subprocess.STDOUT, env={"PATH": str(BIN)},
            )  # fmt: skip
        try:
            while "hub ingesting" not in log.read_text():
                assert hub.poll() is None, log.read_text()
                await asyncio.sleep(0.05)
            started = time.perf_counter()
            await sync.drain(mirror, js, batch_size=2_000)
            while sum(hub_rows(hub_db).values()) < RECORDS:
                assert time.perf_counter() - started < 300, log.read_text()
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            assert sum(hub_rows(hub_db).values()) == RECORDS
            return elapsed
        finally:
            hub.terminate()
            assert hub.wait(60) == 0, log.read_text()
            mirror.close()
            await nc.close()

    seconds = benchmark.pedantic(
        lambda: _on_copies(backlog, bench_tmp, "e2e", both), rounds=1, iterations=1
    )
    median_s = _median(seconds)
    _record(benchmark, "end to end", kind="e2e",
            label="100,000-record backlog, store outbox to hub database", unit="rec/s",
            median_s=median_s, figure=RECORDS / median_s, target=15.0,
            target_text="< 15 s", met=median_s < 15.0, rounds=len(seconds))  # fmt: skip


def test_agent_idle_rss(benchmark, bench_tmp: Path, server: NatsServer) -> None:
    """`edge-agent run` on a 2,000-SKU store: RSS once connected, a cycle done and idle."""
    db = bench_tmp / "idle.db"
    if not db.exists():
        done = subprocess.run([str(BIN / "edge-agent"), "simulate", "--store", "S001", "--skus",
                               "2000", "--days", "400", "--seed", "7", "--db", str(db)],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
    log = bench_tmp / "idle-agent.log"
    peak: list[float] = []

    async def streams() -> None:  # what the hub creates at start
        nc, _ = await _connect(server.url)
        await nc.close()

    asyncio.run(streams())

    def idle_rss() -> float:
        with log.open("w") as handle:
            agent = subprocess.Popen(
                [str(BIN / "edge-agent"), "run", "--db", str(db), "--nats", server.url,
                 "--insecure", "--http-port", "0"], stdout=handle, stderr=subprocess.STDOUT,
                env={"PATH": str(BIN), "STOREEDGE_EDGE_CYCLE_TIMES": '["00:00"]'},
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while "cycle " not in log.read_text() or "connected" not in log.read_text():
                assert agent.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            port = int(re.search(r"127\.0\.0\.1:(\d+)/healthz", log.read_text()).group(1))
            # Idle: a year of daily outcomes emitted, everything acknowledged, and it stays so.
            last = None
            while True:
                metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
                pending = re.findall(rb"storeedge_outbox_pending\{[^}]*\} (\S+)", metrics)
                days = re.search(rb"(?m)^storeedge_outcome_days_total (\S+)", metrics)
                state = (days.group(1) if days else None, all(float(p) == 0 for p in pending))
                if days and state[1] and state == last:
                    break
                last = state
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(2)
            time.sleep(3)
            peak.append(status_mib("VmHWM", agent.pid))
            return status_mib("VmRSS", agent.pid)
        finally:
            agent.terminate()
            assert agent.wait(60) == 0, log.read_text()

    rss = benchmark.pedantic(idle_rss, rounds=1, iterations=1)
    _record(benchmark, "agent idle RSS", kind="rss",
            label="edge daemon idle RSS after a cycle and a year of outcomes synced (2,000 SKUs)",
            unit="MiB",
            median_s=benchmark.stats.stats.median, figure=rss, peak_rss_mib=peak[0],
            target=IDLE_RSS_TARGET_MIB, target_text="< 150 MB (143.1 MiB)",
            met=rss < IDLE_RSS_TARGET_MIB, rounds=1)  # fmt: skip
