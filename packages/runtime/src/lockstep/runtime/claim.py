"""One writer per run store, across processes: a lock held for as long as the writer lives.

Two backtests started with the same ``--out`` (in parallel, or in the same
second with the default directory) must not both write ``run.db``, and a
``--overwrite`` must not delete a store another process is still writing.
Checking "does the file exist?" and then creating it leaves a gap between
the two, so the store's path is claimed with an advisory lock on a file next
to it (``run.db.lock``), taken before anything is looked at and held until
the writer's connection closes. The kernel drops the lock when the process
dies, so a killed run never blocks the next one; a ``running`` store whose
lock is free is therefore known to be dead, not busy.

``flock`` needs POSIX. Elsewhere there is no lock (:attr:`StoreClaim.held`
is false): the store file is still created exclusively, so two fresh writers
cannot share it, but a ``running`` store cannot be told apart from a live one.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import IO

from lockstep.runtime.errors import StoreError

if sys.platform == "win32":  # pragma: no cover - no flock there
    fcntl = None
else:
    import fcntl

LOCK_SUFFIX = ".lock"
HOLDER_POLLS = 50
HOLDER_POLL_SECONDS = 0.01
LOCKING = fcntl is not None
"""Whether claims are real locks on this platform (see the module docstring)."""


class StoreClaim:
    """The right to create, replace or set aside the store at :attr:`store`."""

    def __init__(self, store: Path, handle: IO[str] | None) -> None:
        self.store = store
        self.lock_path = lock_path(store)
        self._handle = handle

    @property
    def held(self) -> bool:
        return self._handle is not None

    @classmethod
    def acquire(cls, store: Path) -> StoreClaim:
        """Claim ``store`` or raise :class:`StoreError` naming the process that has it.

        Never waits: a second writer is told at once rather than left hanging
        behind a backtest that may take hours.
        """
        if not LOCKING:  # pragma: no cover - see the module docstring
            return cls(store, None)
        path = lock_path(store)
        while True:
            try:
                handle = path.open("a+", encoding="utf-8")
            except OSError as err:
                raise StoreError(store, f"cannot claim the run store: {err}") from None
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise StoreError(store, _busy(path)) from None
            except OSError as err:
                handle.close()
                raise StoreError(store, f"cannot claim the run store: {err}") from None
            # The previous holder unlinks the file as it lets go; a lock on that
            # unlinked file would guard nothing, so start again on the new one.
            try:
                current = os.stat(path)
            except FileNotFoundError:
                handle.close()
                continue
            if os.path.samestat(os.fstat(handle.fileno()), current):
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                return cls(store, handle)
            handle.close()

    def release(self) -> None:
        """Let go, removing the lock file first: a writer that opened it meanwhile finds it
        gone once it has the lock, and starts again on a new one (see :meth:`acquire`)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            self.lock_path.unlink(missing_ok=True)
        except OSError:
            pass  # a lock file left behind is harmless: the next writer reuses it
        finally:
            handle.close()

    def __enter__(self) -> StoreClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class ClaimedConnection(sqlite3.Connection):
    """A writer's connection that releases the store's claim when it is closed.

    The claim has to outlive :meth:`RunStore.create` and end exactly when the
    store is closed; tying it to the connection does that without every user
    of the store having to know about it.
    """

    claim: StoreClaim | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            claim, self.claim = self.claim, None
            if claim is not None:
                claim.release()


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + LOCK_SUFFIX)


def create_exclusively(store: Path) -> None:
    """Create ``store`` empty, failing if it exists (SQLite then opens the empty file).

    Guards the platforms without locks, and writers that do not take the
    claim (an older lockstep-runtime): of two creators, exactly one succeeds.
    """
    try:
        fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise StoreError(
            store, "was created by another process at the same moment; choose another path"
        ) from None
    except OSError as err:
        raise StoreError(store, f"cannot create the run store: {err}") from None
    os.close(fd)


def _busy(path: Path) -> str:
    pid = _holder(path)
    who = f"process {pid}" if pid else "another process"
    if pid == os.getpid():
        who = "this process"
    return (
        f"is being written by {who} (it holds {path.name}); wait for that run to finish, "
        "or choose another output directory"
    )


def _holder(path: Path) -> int | None:
    """The process holding the claim, as it wrote itself into the lock file.

    It writes its id just after taking the lock, and a holder that was killed
    leaves a stale id behind: so an id is only believed once that process is
    alive, and it is given a moment to appear.
    """
    for _ in range(HOLDER_POLLS):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        if text.isdigit() and _alive(int(text)):
            return int(text)
        time.sleep(HOLDER_POLL_SECONDS)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, it is just not ours to signal
    return True
