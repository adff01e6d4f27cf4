"""Shared fixtures: real SQLite mirror files in tmp_path, a controllable clock, a real
nats-server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent import audit
from edge_agent.clock import FixedClock
from edge_agent.mirror import Ingestor, Mirror, open_mirror
from storeedge.natsserver import NatsServer
from storeedge.v1 import audit_pb2

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

PRODUCTS_CSV = """\
sku,category,case_pack,unit_cost,price,supplier,lead_time_days,order_days,order_cutoff
SKU1,dairy,12,0.55,0.99,ACME,2,"mon,thu",11:00
SKU2,bakery,6,1.10,2.49,BAKE,1,"mon,tue,wed,thu,fri",09:00
SKU3,produce,1,1.20,2.99,FARM,1,"mon,wed,fri",10:00
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def mirror(tmp_path: Path, clock: FixedClock) -> Iterator[Mirror]:
    """A mirror for store S001 in Europe/Berlin with three products."""
    m = open_mirror(tmp_path / "store.db", clock=clock)
    with m.transaction():
        m.set_store("S001", "Europe/Berlin", "Test store")
        audit.append(m, audit_pb2.AUDIT_EVENT_TYPE_STORE_CONFIGURED, summary="store configured")
    products = tmp_path / "products.csv"
    products.write_text(PRODUCTS_CSV)
    Ingestor(m).ingest_file(products)
    yield m
    m.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server with JetStream on 127.0.0.1 and a free port."""
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()
