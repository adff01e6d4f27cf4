"""The gRPC API in a process of its own, beside `cloud-hub serve`'s ingest.

One Python process has one GIL: ingest (decoding every record, the outcome join, the
decision index) and the API's handlers took turns on it, and at 1,000 ingested records
a second the API's p99 grew tenfold. So ``serve`` runs the API (:mod:`cloud_hub.api`)
in a child process, ``python -m cloud_hub.api_process``; both read the same SQLite
database (WAL: readers never wait for ingest's writer).

The parent sends the settings and the NATS link options (a pickle on the child's
stdin) and keeps stdin open: when the parent goes away, even by kill -9, the child
reads end-of-file and stops, so no orphan keeps the port. The child answers with one
JSON line on stdout: ``{"ready": PORT}`` or ``{"error": ..., "hint": ...}`` (a start
error, e.g. the port in use, stops ``serve`` as before). Its log goes to the same
stderr. A child that dies later is started again, after a capped backoff.

The child keeps its own NATS connection (approvals are sent to stores through it);
while that link is down, approving answers UNAVAILABLE and every read still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import pickle
import signal
import sys
from typing import Any

from nats.errors import Error as NatsError

from cloud_hub.config import LOG_FORMAT, HubSettings
from cloud_hub.errors import HubConfigError
from storeedge import link
from storeedge.errors import KitError
from storeedge.retry import Streak, backoff_delay

__all__ = ["ApiProcess"]

log = logging.getLogger("storeedge.hub.api")

#: How long the child gets to bind its port and answer before serve gives up.
START_TIMEOUT_S = 120.0


class ApiProcess:
    """The parent's handle on the API child: start (wait for its port), supervise, stop."""

    def __init__(self, settings: HubSettings, options: link.LinkOptions) -> None:
        self.settings = settings
        self.options = options
        self.port = 0
        self._child: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> int:
        """Start the child and wait until it listens; HubConfigError if it cannot."""
        self.port = await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())
        return self.port

    async def _spawn(self) -> int:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cloud_hub.api_process",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps((self.settings, self.options, logging.root.level)))
        await child.stdin.drain()
        self._child = child
        try:
            line = await asyncio.wait_for(child.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        answer = json.loads(line) if line.strip() else {}
        if "ready" in answer:
            return int(answer["ready"])
        await self._end(child)
        raise HubConfigError(
            answer.get("error", f"the API process did not start (exit code {child.returncode})"),
            hint=answer.get("hint", "the lines above in the hub's log say why"),
        )

    async def _supervise(self) -> None:
        """Start the child again when it dies, with capped backoff; log recovery once."""
        streak = Streak("hub API process", log)
        while not self._stopping:
            assert self._child is not None
            code = await self._child.wait()
            if self._stopping:
                return
            streak.failed(RuntimeError(f"the API process exited with code {code}"))
            await asyncio.sleep(backoff_delay(streak.failures, cap_s=30.0))
            if self._stopping:
                return
            try:
                self.port = await self._spawn()
                streak.succeeded()
            except HubConfigError as exc:
                log.error("%s", exc)

    async def stop(self) -> None:
        """Graceful: SIGTERM lets calls in flight finish (``api_shutdown_grace_s``)."""
        self._stopping = True
        if self._child is not None:
            await self._end(self._child)
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)

    async def _end(self, child: asyncio.subprocess.Process) -> None:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
            try:
                await asyncio.wait_for(child.wait(), self.settings.api_shutdown_grace_s + 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()


# -- the child's side ---------------------------------------------------------------------


async def _serve(settings: HubSettings, options: link.LinkOptions) -> None:
    from cloud_hub.api import ApiServer  # grpc only in the child

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # The parent keeps our stdin open; end-of-file means it is gone.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    watch_parent = asyncio.create_task(_until_eof(reader, stop))
    nats: dict[str, Any] = {"nc": None}
    linking = asyncio.create_task(_keep_linked(options, nats, stop))
    server = ApiServer(settings, nats=lambda: nats["nc"])
    try:
        port = await server.start()
    except HubConfigError as exc:
        _answer({"error": exc.message, "hint": exc.hint})
        raise
    _answer({"ready": port})
    # What start-up made (modules, descriptors, the server) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it
    # in the middle of a call.
    gc.freeze()
    try:
        await stop.wait()
    finally:
        await server.stop()
        for task in (watch_parent, linking):
            task.cancel()
        await asyncio.gather(watch_parent, linking, return_exceptions=True)
        if nats["nc"] is not None and not nats["nc"].is_closed:
            await nats["nc"].close()


async def _until_eof(reader: asyncio.StreamReader, stop: asyncio.Event) -> None:
    while await reader.read(4096):
        pass
    stop.set()


async def _keep_linked(
    options: link.LinkOptions, nats: dict[str, Any], stop: asyncio.Event
) -> None:
    """Connect for approvals; nats-py reconnects by itself once connected."""
    streak = Streak("hub API link to NATS", log)
    while not stop.is_set():
        try:
            nats["nc"] = await link.connect(options)
            streak.succeeded()
            return
        except (KitError, NatsError, OSError, TimeoutError) as exc:  # reads go on meanwhile
            streak.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff_delay(streak.failures, cap_s=30.0))


def _answer(doc: dict[str, Any]) -> None:
    sys.__stdout__.write(json.dumps(doc) + "\n")
    sys.__stdout__.flush()


def main() -> int:
    settings, options, level = pickle.load(sys.stdin.buffer)
    sys.stdout = sys.stderr  # a stray print must not be taken for the answer
    logging.basicConfig(level=level, stream=sys.stderr, format=LOG_FORMAT)
    try:
        asyncio.run(_serve(settings, options))
    except HubConfigError:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
