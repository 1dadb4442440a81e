"""Read ahead: produce an iterator's items in a background thread.

Replay verification spends its time in two places that can overlap: SQLite
reading the next stored block (the ``sqlite3`` module releases the
interpreter while SQLite works) and the core stepping the current one (the
native core releases it for the whole block). Reading one or two blocks ahead
keeps both cores of a small machine busy. Order and content are exactly the
source's, so results do not depend on timing; an exception in the source is
raised in the consumer at the point where the failed item would have arrived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1
"""How often a blocked producer checks whether the consumer went away."""


class _Done:
    """End of the source (with the exception that ended it, if any)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterate ``source`` with up to ``depth`` items produced in advance.

    Use it as a context manager (or call :meth:`close`) so the thread stops
    when the consumer stops early, for instance at a divergence.
    """

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._queue: queue.Queue[T | _Done] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=self._produce, args=(source,), name="lockstep-read-ahead", daemon=True
        )
        self._thread.start()

    def _produce(self, source: Iterator[T]) -> None:
        end = _Done()
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as err:  # handed to the consumer, not lost in the thread
            end = _Done(err)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self._put(end)

    def _put(self, item: T | _Done) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, _Done):
            self._finished = True
            self._thread.join()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
