"""Failure streaks and backoff, shared by the store daemon and the hub.

A loop that fails logs the first failure of a streak (later ones at debug),
logs "recovered" once when the streak ends, and waits a capped exponential
backoff with full jitter between attempts, so a fleet of stores that lost the
hub at once does not come back at once.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field

__all__ = ["Streak", "backoff_delay"]


def backoff_delay(failures: int, cap_s: float, base_s: float = 0.5) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(cap_s, base_s * 2 ** min(failures, 16)))


@dataclass
class Streak:
    """Log the first failure of a streak and "recovered" once when it ends."""

    name: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("storeedge"))
    failures: int = 0
    since: float = 0.0

    def failed(self, exc: BaseException) -> None:
        if self.failures == 0:
            self.since = time.monotonic()
            self.log.warning("%s failing: %s", self.name, exc)
        else:
            self.log.debug("%s still failing (%d): %s", self.name, self.failures + 1, exc)
        self.failures += 1

    def succeeded(self) -> None:
        if self.failures:
            self.log.info(
                "%s recovered after %d failures in %.0f s",
                self.name,
                self.failures,
                time.monotonic() - self.since,
            )
        self.failures = 0

    def failing_for(self) -> float:
        """Seconds since the streak began (0 when not failing)."""
        return time.monotonic() - self.since if self.failures else 0.0
