"""Connecting to NATS: one place for URLs, credentials, TLS and the insecure switch.

Both programs connect the same way. Without credentials a connection is only
made when ``insecure`` is set, and that is logged loudly: a store box on a shop
network must not talk to the hub unauthenticated by accident.

Credentials are a file: either an nkey seed (one line ``SU...``, what
``cloud-hub stores add`` issues: the server holds only the public key) or a
NATS ``.creds`` file (user JWT + seed) for servers in operator mode. A store
also gets its own inbox prefix, ``_INBOX.<store>``, the only subjects its
identity may subscribe to.
"""

from __future__ import annotations

import argparse
import asyncio
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

__all__ = ["LinkOptions", "add_link_flags", "connect", "refusal", "refused_error"]

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
    #: Replies to this client arrive under this prefix (a store's own ``_INBOX.<store>``).
    inbox_prefix: str = "_INBOX"

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        name: str,
        *,
        error: type[KitError],
        hint: str,
        inbox_prefix: str = "_INBOX",
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
            inbox_prefix=inbox_prefix,
        )

    def credential_args(self) -> dict[str, str]:
        """nats-py's arguments for the credentials file: an nkey seed or a JWT .creds file."""
        if self.creds is None:
            return {}
        try:
            head = self.creds.read_text(errors="replace").lstrip()[:64]
        except OSError as exc:
            raise LinkError(
                f"nats_creds: cannot read {self.creds}: {exc.strerror or exc}",
                hint="the file comes from `cloud-hub stores add`; check its path and mode",
            ) from exc
        if head.startswith("SU"):
            return {"nkeys_seed": str(self.creds)}
        if "BEGIN NATS USER JWT" in head:
            return {"user_credentials": str(self.creds)}
        raise LinkError(
            f"nats_creds: {self.creds} is neither an nkey seed (SU...) nor a NATS .creds file",
            hint="use the file `cloud-hub stores add` wrote for this store",
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

    first_errors: list[str] = []

    async def error(exc: Exception) -> None:
        first_errors.append(f"{type(exc).__name__}: {exc}")
        await report("error", first_errors[-1])

    global _warned_insecure
    if options.creds is None and options.insecure and not _warned_insecure:
        _warned_insecure = True  # once per process, not once per reconnect attempt
        log.warning(
            "INSECURE: connecting to %s without NATS credentials (--insecure); "
            "never run a store like this in production",
            ",".join(options.servers),
        )
    # nats-py retries a failed TLS handshake forever even when told to try once; the
    # bound turns that into an error the caller's backoff (and the log) can see.
    bound_s = connect_timeout_s * 2 * len(options.servers) + 2.0
    try:
        client = await asyncio.wait_for(
            nats.connect(
                servers=list(options.servers),
                name=options.name,
                **options.credential_args(),
                inbox_prefix=options.inbox_prefix,
                # Without TLS settings no tls argument: if the server requires TLS,
                # nats-py then verifies it against the system's CAs.
                **({"tls": context} if (context := options.tls_context()) else {}),
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
            ),
            bound_s,
        )
    except (NatsError, OSError, TimeoutError, ssl.SSLError) as exc:
        # nats-py ends a refused connect with "no servers" (or our bound with a timeout);
        # the reason went to error_cb.
        reason = next((e for e in reversed(first_errors) if refusal(e)), None)
        detail = reason or (first_errors[-1] if first_errors else f"{type(exc).__name__}: {exc}")
        raise LinkError(
            f"cannot connect to NATS at {','.join(options.servers)}: {detail}",
            hint=_hint(reason)
            if reason
            else "is the server up and reachable, and are the credentials and TLS files right?",
        ) from exc
    client.options["max_reconnect_attempts"] = -1
    client.options["reconnect_time_wait"] = 1.0
    return client


def refusal(detail: str) -> str | None:
    """``"credentials"`` or ``"permissions"`` when a NATS error says the server refused
    this identity or one of its publishes/subscriptions; None for other errors."""
    text = detail.lower()
    if "authorization violation" in text or "authentication" in text:
        return "credentials"
    if "permissions violation" in text:
        return "permissions"
    return None


def _hint(detail: str) -> str:
    if refusal(detail) == "credentials":
        return (
            "the server refused these credentials: was this store revoked or replaced "
            "(`cloud-hub stores list`), or is nats_creds another store's file?"
        )
    return (
        "a store's identity may use its own subjects only: is nats_creds this store's "
        "file (`cloud-hub stores add` wrote one per store)?"
    )


def refused_error(detail: str) -> LinkError:
    """The error for a publish or subscription the server refused (see :func:`refusal`)."""
    return LinkError(f"NATS refused: {detail}", hint=_hint(detail))
