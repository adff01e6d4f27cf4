"""The store's POS mirror: schema and migrations, validated ingest, quarantine, status.

Names are imported on first use, so that the process that validates large exports
(:func:`edge_agent.mirror.exports.validate_in_child`) starts without SQLite or
protobuf code it never runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge_agent.mirror.db import Mirror, StoreInfo, open_mirror
    from edge_agent.mirror.exports import detect_kind, open_export
    from edge_agent.mirror.ingest import Ingestor, IngestReport

__all__ = [
    "IngestReport",
    "Ingestor",
    "Mirror",
    "StoreInfo",
    "detect_kind",
    "open_export",
    "open_mirror",
]

_HOMES = {
    "Mirror": "db",
    "StoreInfo": "db",
    "open_mirror": "db",
    "detect_kind": "exports",
    "open_export": "exports",
    "Ingestor": "ingest",
    "IngestReport": "ingest",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
