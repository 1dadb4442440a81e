"""Exception types of the core.

Every error a caller can see is one of these, so tools (the CLI, the runtime,
another backend's bindings) can map failures without parsing messages. Each
carries enough location to act on: the JSON path of a bad field, and where the
caller knows them, the file and line.
"""

from __future__ import annotations


class LockstepError(Exception):
    """Base class of every error the core raises on purpose."""


class SetupError(LockstepError, ValueError):
    """The setup is not a valid engine configuration; nothing was built."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"setup {path}: {message}" if path else f"setup: {message}")


class InputError(LockstepError, ValueError):
    """An input item is malformed; the core did not change.

    ``path`` is a JSON-path-like location inside the item (``$.payload.qty``).
    ``source`` and ``line`` are filled in by callers that read files.
    """

    def __init__(
        self, path: str, message: str, *, source: str | None = None, line: int | None = None
    ) -> None:
        self.path = path
        self.reason = message
        self.source = source
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = f"{self.source}:{self.line}: " if self.line is not None else f"{self.source}: "
        return f"{where}{self.path}: {self.reason}"

    def located(self, source: str, line: int | None) -> InputError:
        """Return a copy that also names the file and line it came from."""
        err = type(self)(self.path, self.reason, source=source, line=line)
        return err


class SequenceError(InputError):
    """The item would break the timeline (time going backwards, seq_id not increasing)."""


class FixedPointError(InputError):
    """A decimal value cannot be represented exactly in the declared precision or bounds."""


class InvariantViolation(LockstepError, AssertionError):
    """A committed transition broke an engine invariant.

    In strict mode the core refuses further input afterwards: continuing from a
    state that breaks an invariant would spread the damage into every later record.
    """


class CoreFailed(LockstepError, RuntimeError):
    """The core stopped after an invariant violation and accepts no more input."""


class NativeBackendUnavailable(LockstepError, ImportError):
    """The native backend was requested but cannot be loaded.

    Raised instead of quietly using the Python core, so a user who asked for
    the native engine never gets numbers from a different one.
    """
