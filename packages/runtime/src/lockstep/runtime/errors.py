"""Errors of the runtime, each mapped to one CLI exit code.

They derive from :class:`lockstep.core.LockstepError` so a caller can catch
everything Lockstep raises on purpose with one clause.
"""

from __future__ import annotations

from lockstep.core import LockstepError


class StrategyError(LockstepError, RuntimeError):
    """Strategy code failed or broke the rules (bad parameter, raised, returned a bad intent).

    The message names the strategy and, when its code raised, the file and
    line where it happened.
    """


class StoreError(LockstepError, ValueError):
    """A run store cannot be created or read; the message names the file and what is wrong."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
