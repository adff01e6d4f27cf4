"""Errors raised by the edge agent.

Every error carries a message that names what is wrong and where, and a
``hint`` that says what to do about it. Foreign exceptions (sqlite3, OSError,
pydantic) are translated at the boundary that meets them.

Tree::

    EdgeAgentError
    ├── ConfigError              settings file, env var or flag is invalid
    ├── MirrorError              the store's SQLite mirror cannot be used
    │   ├── SchemaTooNewError    written by a newer, incompatible release
    │   ├── StoreNotConfigured   the mirror has no store yet (run `init`)
    │   └── StoreConflictError   the mirror belongs to another store / time zone
    ├── IngestError              a POS export cannot be read at all
    │   └── UnknownFileKindError header matches no known export kind
    └── DecisionError            a decision cannot take the requested step
        └── UnknownDecisionError no decision has that id
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DecisionError",
    "EdgeAgentError",
    "IngestError",
    "MirrorError",
    "SchemaTooNewError",
    "StoreConflictError",
    "StoreNotConfigured",
    "UnknownDecisionError",
    "UnknownFileKindError",
]


class EdgeAgentError(Exception):
    """Base of every error the edge agent raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(EdgeAgentError):
    """A setting is missing or invalid; the message names the field."""


class MirrorError(EdgeAgentError):
    """The store mirror cannot be opened or used."""


class SchemaTooNewError(MirrorError):
    """The mirror was migrated by a newer release that this one cannot read."""


class StoreNotConfigured(MirrorError):
    """The mirror has no store row yet."""


class StoreConflictError(MirrorError):
    """The request names another store, or would change the store's time zone."""


class IngestError(EdgeAgentError):
    """A whole file cannot be ingested; nothing was written."""


class UnknownFileKindError(IngestError):
    """The file's header matches no known POS export kind."""


class DecisionError(EdgeAgentError):
    """A lifecycle step that is not allowed now (expired, superseded, already decided)."""


class UnknownDecisionError(DecisionError):
    """No decision has the given id."""
