"""`cloud-hub serve --grpc` runs the API in a process of its own (cloud_hub/api_process.py):
it answers beside ingest, comes back when it dies, goes away with its parent (even after
kill -9), and a start error stops serve with a message naming the address."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from storeedge.natsserver import NatsServer
from tests.helpers import start, wait_for

LISTENING = r"gRPC API listening on 127\.0\.0\.1:(\d+)"


def _serve(tmp_path: Path, nats: NatsServer, grpc_address: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "hub.log"
    proc = start(log, "cloud-hub", "serve", "--db", str(tmp_path / "hub.db"), "--nats", nats.url,
                 "--insecure", "--grpc", grpc_address)  # fmt: skip
    return proc, log


def _api_pids(hub_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(hub_pid), "-f", "cloud_hub.api_process"],
                           capture_output=True, text=True)  # fmt: skip
    return [int(pid) for pid in found.stdout.split()]


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                           timeout=5)  # fmt: skip
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_api_child_restarts_and_leaves_with_its_parent(tmp_path: Path, nats_server) -> None:
    hub, log = _serve(tmp_path, nats_server, "127.0.0.1:0")
    try:
        port = int(wait_for(lambda: re.search(LISTENING, log.read_text()), what="the API")[1])
        assert _serving(port)
        (child,) = _api_pids(hub.pid)
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: len(re.findall(LISTENING, log.read_text())) == 2,
                 what="the API process started again")  # fmt: skip
        port = int(re.findall(LISTENING, log.read_text())[-1])
        assert _serving(port)
        assert "hub API process failing" in log.read_text()
        (second,) = _api_pids(hub.pid)
        assert second != child
        # The parent killed outright: the child reads end-of-file on its stdin and stops,
        # so no orphan keeps the port.
        hub.send_signal(signal.SIGKILL)
        hub.wait(30)
        wait_for(lambda: not _alive(second), timeout_s=30, what="the orphaned API process exit")
    finally:
        if hub.poll() is None:
            hub.terminate()
            hub.wait(60)


def test_api_start_error_stops_serve_naming_the_address(tmp_path: Path, nats_server) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        hub, log = _serve(tmp_path, nats_server, f"127.0.0.1:{port}")
        try:
            code = hub.wait(60)
        finally:
            if hub.poll() is None:
                hub.kill()
    text = log.read_text()
    assert code != 0, text[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in text and "is the port in use?" in text
    assert not _api_pids(hub.pid)


def test_serve_stops_its_api_process_on_sigterm(tmp_path: Path, nats_server) -> None:
    hub, log = _serve(tmp_path, nats_server, "127.0.0.1:0")
    wait_for(lambda: re.search(LISTENING, log.read_text()), what="the API")
    (child,) = _api_pids(hub.pid)
    started = time.monotonic()
    hub.terminate()
    assert hub.wait(60) == 0, log.read_text()[-2000:]
    assert not _alive(child)
    assert "gRPC API stopped" in log.read_text()
    assert time.monotonic() - started < 30
