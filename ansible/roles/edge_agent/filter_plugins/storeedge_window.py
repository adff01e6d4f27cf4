"""``storeedge_window``: is it now inside a store's maintenance window, in store-local time?

Runs on the controller (zoneinfo), so it works in --check and needs nothing on the box.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def _minutes(text: str) -> int:
    hour, minute = (int(part) for part in str(text).split(":"))
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"{text!r} is not HH:MM")
    return hour * 60 + minute


def storeedge_window(window: dict, tz: str, now: str | None = None) -> dict:
    """{'inside': bool, 'local': 'YYYY-MM-DD HH:MM TZ'} for ``window`` {start, end} in ``tz``.

    A window whose start is after its end spans midnight (22:00-04:00); start == end
    means the whole day. ``now`` (ISO
    8601 with an offset) is for tests; default: the controller's clock.
    """
    instant = datetime.fromisoformat(now) if now else datetime.now(UTC)
    local = instant.astimezone(ZoneInfo(tz))
    start, end = _minutes(window["start"]), _minutes(window["end"])
    at = local.hour * 60 + local.minute
    if start == end:  # the whole day
        inside = True
    elif start < end:
        inside = start <= at < end
    else:  # spans midnight
        inside = at >= start or at < end
    return {"inside": inside, "local": local.strftime("%Y-%m-%d %H:%M ") + tz}


class FilterModule:
    def filters(self) -> dict:
        return {"storeedge_window": storeedge_window}
