"""Named failpoints: crash the process at an exact spot, for fault tests.

Armed once at start from the settings (``failpoint = "name:N"``, env
``STOREEDGE_EDGE_FAILPOINT`` or
``STOREEDGE_HUB_FAILPOINT``): the N-th time the code passes ``hit("name")`` the
process dies at once, like ``kill -9``: no exception handler, no commit, no
cleanup. Unarmed, ``hit`` costs one comparison.
"""

from __future__ import annotations

import os

__all__ = ["arm", "hit"]

_armed: str | None = None
_remaining = 0


def arm(spec: str | None) -> None:
    """``"name"`` dies on the first pass, ``"name:N"`` on the N-th; None disarms."""
    global _armed, _remaining
    if not spec:
        _armed, _remaining = None, 0
        return
    name, _, count = spec.partition(":")
    _armed, _remaining = name, int(count or 1)


def hit(name: str) -> None:
    global _remaining
    if _armed != name:
        return
    _remaining -= 1
    if _remaining <= 0:
        os._exit(137)  # as abrupt as kill -9: nothing is flushed or committed
