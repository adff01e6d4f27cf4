"""Errors raised by the hub.

Every error carries a message that names what is wrong and where, and a
``hint`` that says what to do about it.

Tree::

    HubError
    └── BacktestError        a backtest input cannot be used (file, column, size)
"""

from __future__ import annotations

__all__ = ["BacktestError", "HubError"]


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class BacktestError(HubError):
    """A backtest's input file or parameters cannot be used."""
