"""A pull consumer's batches without per-message waiting.

nats-py's ``PullSubscription.fetch`` waits for each message of a batch with its
own ``asyncio.wait_for`` (a task per message), which caps a consumer at about
half of what the server delivers. This puller sends the same JetStream pull
request (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>``) and collects the
delivered messages in a subscription callback; the batch is handed over when it
is full or the server says it has no more (status 404/408).

When nothing is waiting it long-polls for one message (so an idle hub costs
nothing and a new record is picked up at once), then asks for the rest without
waiting. Messages that arrive after a batch was handed over are kept for the
next one; nothing a consumer delivered is ever dropped here (and what is never
acknowledged is redelivered by the server after ``ack_wait``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from nats.aio.msg import Msg
from nats.js import api

__all__ = ["BatchPuller"]

_NO_MORE = {"404", "408", "409"}  # no messages / request expired / consumer state changed


class BatchPuller:
    def __init__(self, nc: Any, stream: str, consumer: str, *, api_prefix: str = "$JS.API") -> None:
        self._nc = nc
        self._subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = ""
        self._sub: Any = None
        self._msgs: list[Msg] = []
        self._wanted = 0
        self._done = asyncio.Event()

    async def start(self) -> BatchPuller:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_msg)
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _on_msg(self, msg: Msg) -> None:
        status = msg.headers.get(api.Header.STATUS) if msg.headers else None
        if status is None:
            self._msgs.append(msg)
            if len(self._msgs) >= self._wanted:
                self._done.set()
        elif status in _NO_MORE:
            self._done.set()
        # 100 (idle heartbeat) and other control messages: nothing to do

    async def _request(self, body: dict[str, Any], wait_s: float) -> list[Msg]:
        self._done.clear()
        if len(self._msgs) < self._wanted:
            await self._nc.publish(self._subject, json.dumps(body).encode(), reply=self._inbox)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # lands as the wait ends, and the consumer's loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._done.wait()
        msgs, self._msgs = self._msgs, []
        return msgs

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages: what is waiting now, else the first within ``timeout``."""
        self._wanted = batch
        msgs = await self._request({"batch": batch, "no_wait": True}, wait_s=5.0)
        if msgs:
            return msgs
        self._wanted = 1
        expires_ns = int(timeout * 1e9)
        return await self._request({"batch": 1, "expires": expires_ns}, wait_s=timeout + 1.0)
