"""A separate load process for tests/bench/test_bench_api.py.

``python api_load_child.py publish URL SECONDS RATE`` sends RATE new decisions a second
into NATS, as stores' agents would, while the API is loaded (the hub ingests them).
``python api_load_child.py load PORT TOKEN STORES DECISIONS RATE SECONDS`` sends RATE
requests a second, open loop (each on its own schedule, however slow the answers),
alternating ListStores and GetDecision of a random decision, and prints one JSON line
with the latencies. ``... echo`` serves a bare grpc.aio health service (the raw limit)
and prints its port; ``... load-echo PORT RATE SECONDS`` loads it the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import time
from datetime import UTC, datetime

import grpc
import nats
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cloud_hub.storage import Incoming
from storeedge import subjects
from storeedge.hub.v1 import hub_pb2, hub_pb2_grpc
from storeedge.v1 import audit_pb2, common_pb2, decision_pb2


def decision_record(store_id: str, seq: int) -> Incoming:
    when = Timestamp()
    when.FromDatetime(datetime(2026, 7, 1, 6, tzinfo=UTC))
    kinds = (decision_pb2.DECISION_KIND_ORDER, decision_pb2.DECISION_KIND_STAFFING,
             decision_pb2.DECISION_KIND_SHELF_CHECK)  # fmt: skip
    states = (decision_pb2.DECISION_STATE_AUTO, decision_pb2.DECISION_STATE_PENDING,
              decision_pb2.DECISION_STATE_SUBMITTED)  # fmt: skip
    message = decision_pb2.Decision(
        id=common_pb2.RecordId(store_id=store_id, record_type=common_pb2.RECORD_TYPE_DECISION,
                               sequence=seq),
        business_date=f"2026-07-{1 + seq % 28:02d}", recorded_at=when, kind=kinds[seq % 3],
        state=states[seq % 3], sku=f"SKU{seq % 5000:05d}", category=("dairy", "bakery")[seq % 2],
        quantity=float(seq % 40), value=2.5 * (seq % 40), confidence=0.7,
        model_name="replenishment_protection_p90", model_version="bench",
        rule="order: bench")  # fmt: skip
    record_id = f"{store_id}:decision:{seq}"
    return Incoming(store_id, "decision", record_id, message.SerializeToString())


def decision_audit_chain(store_id: str, count: int) -> list[Incoming]:
    """The store's hash chain with one DECISION_CREATED record per decision 1..count,
    as its agent would send it (sha256(prev_hash || payload))."""
    entries, prev = [], bytes(32)
    for seq in range(1, count + 1):
        record = audit_pb2.AuditRecord(
            id=common_pb2.RecordId(store_id=store_id, record_type=common_pb2.RECORD_TYPE_AUDIT,
                                   sequence=seq),
            event_type=audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED, actor="system",
            subject_id=f"{store_id}:decision:{seq}", summary="order: bench")  # fmt: skip
        payload = record.SerializeToString(deterministic=True)
        digest = hashlib.sha256(prev + payload).digest()
        entry = audit_pb2.AuditEntry(seq=seq, prev_hash=prev, hash=digest, payload=payload)
        entries.append(Incoming(store_id, "audit", f"{store_id}:audit:{seq}",
                                entry.SerializeToString()))  # fmt: skip
        prev = digest
    return entries


async def publish(url: str, seconds: float, rate: int) -> int:
    """New decisions of 50 other stores at ``rate`` a second, as their agents would."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    sent = 0
    begin = time.perf_counter()
    try:
        while time.perf_counter() - begin < seconds:
            for _ in range(rate // 10):
                store = f"X{sent % 50:03d}"
                record = decision_record(store, sent // 50 + 1)
                await js.publish_async(subjects.up_subject(store, "decision"), record.payload,
                                       headers={"Nats-Msg-Id": record.record_id})  # fmt: skip
                sent += 1
            await asyncio.sleep(0.1)
        await js.publish_async_completed()
    finally:
        await nc.close()
    return sent


def _summary(latencies: list[float], errors: list[str], seconds: float) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {"requests": len(ordered), "errors": len(errors), "first_errors": errors[:3],
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0) if ordered else 0.0,
            "seconds": seconds}  # fmt: skip


async def _open_loop(call, rate: float, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []

    async def one(n: int) -> None:
        started = time.perf_counter()
        try:
            await call(n)
        except grpc.aio.AioRpcError as exc:
            errors.append(f"{exc.code().name}: {exc.details()}")
            return
        latencies.append(time.perf_counter() - started)

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = begin + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return _summary(latencies, errors, time.perf_counter() - begin)


async def load(port: int, token: str, stores: int, decisions: int, rate: float,
               seconds: float) -> dict:  # fmt: skip
    metadata = (("authorization", f"Bearer {token}"),)
    rng = random.Random(7)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        api = hub_pb2_grpc.HubServiceStub(channel)

        async def call(n: int) -> None:
            if n % 2:
                await api.ListStores(hub_pb2.ListStoresRequest(page_size=50), metadata=metadata,
                                     timeout=5)  # fmt: skip
            else:
                store = f"S{rng.randrange(stores):04d}"
                decision = f"{store}:decision:{rng.randrange(1, decisions + 1)}"
                await api.GetDecision(hub_pb2.GetDecisionRequest(decision_id=decision),
                                      metadata=metadata, timeout=5)  # fmt: skip

        await call(0)  # warm: the first call opens the channel
        return await _open_loop(call, rate, seconds)


async def load_echo(port: int, rate: float, seconds: float) -> dict:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        async def call(_n: int) -> None:
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)

        await call(0)
        return await _open_loop(call, rate, seconds)


async def echo() -> None:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "publish":
        print(asyncio.run(publish(argv[1], float(argv[2]), int(argv[3]))))
    elif mode == "echo":
        asyncio.run(echo())
    elif mode == "load-echo":
        port, rate, seconds = int(argv[1]), float(argv[2]), float(argv[3])
        print(json.dumps(asyncio.run(load_echo(port, rate, seconds))))
    else:
        port, token = int(argv[1]), argv[2]
        stores, decisions, rate, seconds = (
            int(argv[3]),
            int(argv[4]),
            float(argv[5]),
            float(argv[6]),
        )
        print(json.dumps(asyncio.run(load(port, token, stores, decisions, rate, seconds))))


if __name__ == "__main__":
    main(sys.argv[1:])
