"""A separate load process for tests/bench/test_bench_api.py.

``python api_load_child.py load PORT TOKEN STORES DECISIONS RATE SECONDS`` sends RATE
requests a second, open loop (each on its own schedule, however slow the answers),
alternating ListStores and GetDecision of a random decision, and prints one JSON line
with the latencies. ``... echo`` serves a bare grpc.aio health service (the raw limit)
and prints its port; ``... load-echo PORT RATE SECONDS`` loads it the same way.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from storeedge.hub.v1 import hub_pb2, hub_pb2_grpc


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
    if mode == "echo":
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
