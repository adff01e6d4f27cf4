"""Column names of the files people bring: a store's POS exports (``edge-agent ingest``) and
the hub's backtest files (``cloud-hub backtest``) are read by header name, matched the same
way by both.

Example: ``normalize_header(" Item-ID ")`` is ``"sku"``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALIASES", "normalize_header"]

#: Header aliases seen in real exports, mapped to the kit's column names.
ALIASES: dict[str, str] = {
    "item_id": "sku",
    "item": "sku",
    "article": "sku",
    "store": "store_id",
    "ts": "timestamp",
    "datetime": "timestamp",
    "tz": "time_zone",
    "timezone": "time_zone",
}


def normalize_header(name: str, extra: Mapping[str, str] | None = None) -> str:
    """A header cell as the kit's column name: case-insensitive, spaces and dashes read as
    underscores, then :data:`ALIASES` (and ``extra``, a reader's own aliases, first)."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if extra and key in extra:
        return extra[key]
    return ALIASES.get(key, key)
