"""Connecting to NATS: one place for URLs, credentials, TLS and the insecure switch.

Both programs connect the same way. Without credentials a connection is only
made when ``insecure`` is set, and that is logged loudly: a store box on a shop
network must not talk to the hub unauthenticated by accident.
"""

from __future__ import annotations

import argparse
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError

from storeedge.errors import KitError, LinkError

__all__ = ["LinkOptions", "add_link_flags", "connect"]

log = logging.getLogger("storeedge.link")
_warned_insecure = False


def add_link_flags(parser: argparse.ArgumentParser, *, whose: str) -> None:
    """``--nats``, ``--creds`` and ``--insecure`` for a command that talks to NATS."""
    parser.add_argument("--nats", help="NATS URL(s), comma-separated")
    parser.add_argument("--creds", type=Path, help=f"the {whose}'s NATS credentials file")
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="run without NATS credentials (development and tests only)",
    )


@dataclass(frozen=True)
class LinkOptions:
    servers: tuple[str, ...]
    name: str
    creds: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure: bool = False

    @classmethod
    def from_settings(
        cls, settings: Any, name: str, *, error: type[KitError], hint: str
    ) -> LinkOptions:
        """From edge or hub settings (same field names). A missing field raises the caller's
        config error (``error``), naming the field, with the caller's ``hint``."""
        if not settings.nats_url:
            raise error(
                "nats_url: no NATS server given (--nats URL, or nats_url in the config)",
                hint=hint,
            )
        if settings.nats_creds is None and not settings.insecure:
            raise error(
                "nats_creds: no NATS credentials given; pass --creds FILE, "
                "or --insecure to run without them (development and tests only)",
                hint=hint,
            )
        return cls(
            servers=tuple(u.strip() for u in settings.nats_url.split(",") if u.strip()),
            name=name,
            creds=settings.nats_creds,
            tls_ca=settings.nats_tls_ca,
            tls_cert=settings.nats_tls_cert,
            tls_key=settings.nats_tls_key,
            insecure=settings.insecure,
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not (self.tls_ca or self.tls_cert):
            return None
        context = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
        if self.tls_cert:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key) if self.tls_key else None)
        return context


async def connect(
    options: LinkOptions,
    *,
    connect_timeout_s: float = 2.0,
    on_event: Callable[[str, str], Awaitable[None] | None] | None = None,
) -> NatsClient:
    """Connect once (the caller owns the retry loop); later drops reconnect forever."""

    async def report(kind: str, detail: str = "") -> None:
        if on_event is not None:
            result = on_event(kind, detail)
            if result is not None:
                await result

    async def disconnected() -> None:
        await report("disconnected")

    async def reconnected() -> None:
        await report("reconnected")

    async def error(exc: Exception) -> None:
        await report("error", f"{type(exc).__name__}: {exc}")

    global _warned_insecure
    if options.creds is None and options.insecure and not _warned_insecure:
        _warned_insecure = True  # once per process, not once per reconnect attempt
        log.warning(
            "INSECURE: connecting to %s without NATS credentials (--insecure); "
            "never run a store like this in production",
            ",".join(options.servers),
        )
    try:
        client = await nats.connect(
            servers=list(options.servers),
            name=options.name,
            user_credentials=str(options.creds) if options.creds else None,
            tls=options.tls_context(),
            connect_timeout=connect_timeout_s,
            allow_reconnect=True,
            # The first connect tries each server twice and gives up, so the caller's
            # backoff (with jitter) decides when to try again; once connected, a
            # dropped link is retried forever.
            max_reconnect_attempts=1,
            reconnect_time_wait=0.2,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
    except (NatsError, OSError, TimeoutError, ssl.SSLError) as exc:
        raise LinkError(
            f"cannot connect to NATS at {','.join(options.servers)}: {type(exc).__name__}: {exc}",
            hint="is the server up and reachable, and are the credentials and TLS files right?",
        ) from exc
    client.options["max_reconnect_attempts"] = -1
    client.options["reconnect_time_wait"] = 1.0
    return client
