"""Errors raised by the kit's shared parts (wire helpers, the embedded NATS server).

Every error carries a message that names what is wrong and where, and a
``hint`` that says what to do about it. The edge agent's and the hub's error
trees derive from :class:`KitError`, so each CLI catches one base class.

Tree::

    KitError
    ├── NatsServerError      the embedded nats-server cannot be found or started
    └── LinkError            NATS cannot be reached or refuses the credentials
"""

from __future__ import annotations

__all__ = ["KitError", "LinkError", "NatsServerError"]


class KitError(Exception):
    """Base of every error the shared kit raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class NatsServerError(KitError):
    """The nats-server binary is missing, or the server did not come up."""


class LinkError(KitError):
    """NATS is unreachable, or refused the connection (credentials, TLS)."""
