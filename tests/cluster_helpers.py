"""Helpers for the scale-out tests: a 3-node NATS cluster fixture, `cloud-hub serve`
processes sharing one hub database, and the R3 check on the kit's streams."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeedge import subjects
from storeedge.natscluster import NatsCluster

BIN = Path(sys.executable).parent
STREAMS = tuple(spec.name for spec in subjects.stream_specs())
_STOPPED = re.compile(r"ingest stopped: (\d+) messages, (\d+) stored, (\d+) duplicates")


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three real nats-servers with JetStream, clustered on 127.0.0.1."""
    cluster = NatsCluster(tmp_path / "cluster").start()
    yield cluster
    cluster.stop()


class HubProcess:
    """`cloud-hub serve` as its own process; several share one hub database and the
    durable consumers."""

    def __init__(self, tmp: Path, name: str, db: Path, nats_url: str, **settings: float) -> None:
        self.name, self.db, self.nats_url = name, db, nats_url
        self.log = tmp / f"{name}.log"
        self.config = tmp / f"{name}.toml"
        self.config.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self.process: subprocess.Popen | None = None

    def start(self) -> HubProcess:
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(
                [str(BIN / "cloud-hub"), "--config", str(self.config), "serve", "--db",
                 str(self.db), "--nats", self.nats_url, "--insecure"],
                stdout=handle, stderr=subprocess.STDOUT, env={"PATH": str(BIN)},
            )  # fmt: skip
        return self

    def wait_ingesting(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while "hub ingesting" not in self.log.read_text():
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"{self.name} not ingesting: {self.log.read_text()}"
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM (finish the batch in hand), then the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(60)
        self.process = None
        return code

    def ingested(self) -> tuple[int, int, int]:
        """(ingest runs, messages, stored) from its log: one run per process unless its
        link failed and the ingest loop was started again."""
        runs = _STOPPED.findall(self.log.read_text())
        return len(runs), sum(int(m) for m, _, _ in runs), sum(int(s) for _, s, _ in runs)


async def assert_replicated(js: Any, cluster: NatsCluster, replicas: int = 3) -> None:
    """Each of the kit's streams has ``replicas`` replicas, on distinct nodes of the cluster,
    and a leader."""
    names = {node.name for node in cluster.nodes}
    for stream in STREAMS:
        info = await js.stream_info(stream)
        assert info.config.num_replicas == replicas, (stream, info.config.num_replicas)
        assert info.cluster is not None and info.cluster.leader in names, (stream, info.cluster)
        peers = {info.cluster.leader, *(peer.name for peer in info.cluster.replicas or [])}
        assert len(peers) == replicas and peers <= names, (stream, info.cluster)
