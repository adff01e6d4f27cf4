"""Errors raised by the edge agent.

Every error carries a message that names what is wrong and where, and a
``hint`` that says what to do about it. Foreign exceptions (sqlite3, OSError,
pydantic) are translated at the boundary that meets them.

Tree::

    EdgeAgentError               (a storeedge.errors.KitError)
    ├── ConfigError              settings file, env var or flag is invalid
    ├── MirrorError              the store's SQLite mirror cannot be used
    │   ├── SchemaTooNewError    written by a newer, incompatible release
    │   ├── StoreNotConfigured   the mirror has no store yet (run `init`)
    │   └── StoreConflictError   the mirror belongs to another store / time zone
    ├── IngestError              a POS export cannot be read at all
    │   └── UnknownFileKindError header matches no known export kind
    ├── DecisionError            a decision cannot take the requested step
    │   └── UnknownDecisionError no decision has that id
    ├── ExecutorError            the executor refused or failed (decisions stay executable)
    ├── ModelRefused             a model is not safe to serve (signature, bytes, spec, graph)
    └── SyncError                the link to the hub failed (records stay queued)
"""

from __future__ import annotations

from storeedge.errors import KitError

__all__ = [
    "ConfigError",
    "DecisionError",
    "EdgeAgentError",
    "ExecutorError",
    "IngestError",
    "MirrorError",
    "ModelRefused",
    "SchemaTooNewError",
    "StoreConflictError",
    "StoreNotConfigured",
    "SyncError",
    "UnknownDecisionError",
    "UnknownFileKindError",
]


class EdgeAgentError(KitError):
    """Base of every error the edge agent raises on purpose."""


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


class SyncError(EdgeAgentError):
    """Publishing to the hub failed; nothing is lost, the outbox keeps the records."""


class ExecutorError(EdgeAgentError):
    """The executor did not take the decisions; they stay executable and go next time."""


class ModelRefused(EdgeAgentError):
    """A model is not safe to serve: unsigned or untrusted, changed bytes, other features,
    a graph onnxruntime cannot run, or non-finite outputs. The store keeps its models."""

    def __init__(self, message: str, *, hint: str = "", model: str = "") -> None:
        super().__init__(message, hint=hint)
        self.model = model
