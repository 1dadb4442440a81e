"""Errors raised at the data edge, before anything reaches the core.

A ``FeedError`` is an :class:`lockstep.core.InputError`, so callers that already
map core input errors (the CLI, exit code 2) handle bad data the same way. It
also names the file, line and column it is about and a ``kind`` from a closed
list, so a skip policy can count what it skipped per reason.
"""

from __future__ import annotations

from lockstep.core import InputError

BAD_ROW = "bad_row"
MISSING_COLUMN = "missing_column"
NON_MONOTONIC_TIME = "non_monotonic_time"
OFF_TICK = "off_tick"
INCONSISTENT_BAR = "inconsistent_bar"
NO_DATA = "no_data"
TOO_MANY_SKIPPED = "too_many_skipped"

KINDS = (
    BAD_ROW,
    MISSING_COLUMN,
    NON_MONOTONIC_TIME,
    OFF_TICK,
    INCONSISTENT_BAR,
    NO_DATA,
    TOO_MANY_SKIPPED,
)
"""Every ``FeedError.kind``.

``missing_column``, ``no_data`` and ``too_many_skipped`` are about a whole
feed and always fail; the others concern one row and can be skipped.
"""

ROW_KINDS = frozenset(KINDS) - {MISSING_COLUMN, NO_DATA, TOO_MANY_SKIPPED}


class FeedError(InputError):
    """Malformed market data: says which file, line and field, and why.

    ``path`` (the :class:`InputError` location) is the field, rendered as
    ``column 'close'``; ``source`` and ``line`` are the file and its 1-based
    line number (the header is line 1).
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        kind: str = BAD_ROW,
        field: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown FeedError kind {kind!r}")
        self.kind = kind
        self.field = field
        super().__init__(path, message, source=source, line=line)

    @classmethod
    def at(
        cls, source: str, line: int | None, field: str | None, kind: str, reason: str
    ) -> FeedError:
        """The usual constructor: a problem with ``field`` on ``line`` of ``source``."""
        path = f"column {field!r}" if field is not None else "row"
        return cls(path, reason, source=source, line=line, kind=kind, field=field)

    def located(self, source: str, line: int | None) -> FeedError:
        return FeedError(
            self.path, self.reason, source=source, line=line, kind=self.kind, field=self.field
        )

    @property
    def file(self) -> str | None:
        return self.source


class DatasetError(InputError):
    """A data set name or directory cannot be used (unknown name, bad manifest)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__("dataset", message, source=source)

    def located(self, source: str, line: int | None) -> DatasetError:
        return DatasetError(self.reason, source=source)
