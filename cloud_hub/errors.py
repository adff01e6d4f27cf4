"""Errors raised by the hub.

Every error carries a message that names what is wrong and where, and a
``hint`` that says what to do about it.

Tree::

    HubError                 (a storeedge.errors.KitError)
    ├── HubConfigError       a setting is missing or invalid; names the field
    ├── BacktestError        a backtest input cannot be used (file, column, size)
    ├── HubStorageError      the hub database cannot be opened or written
    ├── RegistryError        a store registry change cannot be made (unknown, duplicate, revoked)
    ├── IngestLinkError      the link to NATS failed while ingesting (nothing is lost)
    ├── ModelRegistryError   a model version is unknown or a registry change cannot be made
    ├── ReportError          a costs or lift file for the ROI statement or report cannot be used
    ├── RolloutError         a rollout cannot start or change as asked (model, version, state)
    └── TrainingError        retraining cannot run (too little synced data, no champion)
"""

from __future__ import annotations

from storeedge.errors import KitError

__all__ = [
    "BacktestError",
    "HubConfigError",
    "HubError",
    "HubStorageError",
    "IngestLinkError",
    "ModelRegistryError",
    "RegistryError",
    "ReportError",
    "RolloutError",
    "TrainingError",
]


class HubError(KitError):
    """Base of every error the hub raises on purpose."""


class BacktestError(HubError):
    """A backtest's input file or parameters cannot be used."""


class HubStorageError(HubError):
    """The hub database cannot be opened or written."""


class RegistryError(HubError):
    """A store cannot be added, revoked or replaced as asked; the message names it."""


class IngestLinkError(HubError):
    """NATS failed under ingest; unacknowledged messages are redelivered."""


class HubConfigError(HubError):
    """A setting is missing or invalid; the message names the field."""


class ModelRegistryError(HubError):
    """A model version is unknown, or a promotion or rollback cannot be made."""


class ReportError(HubError):
    """A costs file or lift file cannot be used: the message names the file and the key."""


class RolloutError(HubError):
    """A rollout cannot start or change as asked: the message names the model and version,
    and where the hub looked for them."""


class TrainingError(HubError):
    """Retraining cannot run: the message names the model and what data is missing."""
