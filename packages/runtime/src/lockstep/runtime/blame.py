"""Which line of a traceback to show a strategy's author: theirs, never the library's.

A strategy's mistake often surfaces inside Lockstep: ``ctx.buy`` refuses a
float or an unknown instrument, a view method gets an argument of the wrong
type. The innermost frame of such a traceback is a library line, which tells
the author nothing about which of their calls was wrong. :class:`Blame`
picks, in this order, the innermost frame

1. in a file that defines the strategy class or one of its bases, unless that
   file belongs to the Lockstep packages (so the Backtrader bridge, a
   Lockstep class, does not count, and the user's script behind it does);
2. in any file outside the Lockstep packages, the standard library and
   installed packages (a strategy defined by ``exec`` or a helper module);
3. in a Lockstep file that defines the strategy class (a built-in strategy);
4. anywhere, as a last resort (a bug inside Lockstep itself).
"""

from __future__ import annotations

import inspect
import os
import sysconfig
import traceback
from collections.abc import Iterable
from functools import cache
from types import FunctionType, TracebackType

import lockstep


class Blame:
    """Frame selection for one strategy class (its files are looked up once per run)."""

    def __init__(self, strategy_type: type) -> None:
        files = {_norm(f) for f in _class_files(strategy_type)}
        self._own = frozenset(f for f in files if not _in_lockstep(f))
        self._builtin = frozenset(files - self._own)

    def frame(self, tb: TracebackType | None) -> traceback.FrameSummary | None:
        """The frame of ``tb`` to name in an error message, or None for an empty traceback."""
        frames = traceback.extract_tb(tb)
        if not frames:
            return None
        tiers: tuple[list[traceback.FrameSummary], ...] = ([], [], [])
        for frame in frames:
            path = _norm(frame.filename)
            if path in self._own:
                tiers[0].append(frame)
            elif _is_user(path):
                tiers[1].append(frame)
            elif path in self._builtin:
                tiers[2].append(frame)
        for tier in tiers:
            if tier:
                return tier[-1]
        return frames[-1]

    def where(self, err: BaseException) -> str:
        """`` (at FILE:LINE)`` for ``err``, or an empty string when it carries no traceback."""
        frame = self.frame(err.__traceback__)
        return "" if frame is None else f" (at {frame.filename}:{frame.lineno})"


def _class_files(cls: type) -> Iterable[str]:
    """Files that define ``cls`` and its bases (not ``object``), by module and by method code.

    Method code objects know their file even when the class was built by
    ``exec`` from a string with a file name, where :func:`inspect.getsourcefile`
    finds no module.
    """
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            source = inspect.getsourcefile(klass)
        except (TypeError, OSError):
            source = None
        if source:
            yield source
        for attr in vars(klass).values():
            func = attr.__func__ if isinstance(attr, classmethod | staticmethod) else attr
            if isinstance(func, FunctionType):
                yield func.__code__.co_filename


@cache
def _norm(path: str) -> str:
    if path.startswith("<"):
        return path
    return os.path.normcase(os.path.realpath(path))


@cache
def _roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the Lockstep package directories, the stdlib and site-packages directories)."""
    library = tuple(_norm(p) + os.sep for p in lockstep.__path__)
    paths = sysconfig.get_paths()
    others = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return library, tuple(_norm(p) + os.sep for p in sorted(others))


@cache
def _in_lockstep(path: str) -> bool:
    return path.startswith(_roots()[0])


@cache
def _is_user(path: str) -> bool:
    if path.startswith("<frozen ") or _in_lockstep(path):
        return False
    return not path.startswith(_roots()[1])
