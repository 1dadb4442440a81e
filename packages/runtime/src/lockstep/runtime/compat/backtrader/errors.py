"""Errors of the Backtrader layer, and the hook that turns a missing ``bt`` name into one.

Every error the layer raises on purpose is a :class:`CompatError`, which is a
:class:`~lockstep.runtime.errors.StrategyError`: the ``lockstep`` command and
``python -m lockstep.runtime.compat.backtrader`` report it as one line with
exit code 2, and the runtime lets it through unwrapped when a strategy hits
it in the middle of a run.

A Backtrader name the layer does not provide must not surface as Python's
bare ``module ... has no attribute`` message, which names a module path the
user never wrote and does not say whether the name is a typo or a feature
the layer lacks. :func:`missing_names` builds each namespace's PEP 562
``__getattr__`` so the error names ``bt.indicators.ADX`` and points at the
documented list of supported names.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from lockstep.adapters.errors import FeedError
from lockstep.runtime.errors import StrategyError

SUPPORTED_DOC = "docs/guides/backtrader.md#supported-api"
"""Where the names the layer provides are listed; every missing-name message points here."""

_PACKAGE = "lockstep.runtime.compat.backtrader"


class CompatError(StrategyError):
    """A Backtrader feature the layer does not support, or one used in an unsupported way."""


class CompatAttributeError(CompatError, AttributeError):
    """A ``bt`` name (``bt.indicators.ADX``) the layer does not provide.

    It is also an :class:`AttributeError` so that ``hasattr(bt.ind, "ADX")``
    and ``getattr(bt.ind, "ADX", None)`` answer "no" instead of raising:
    scripts probe for optional Backtrader features that way, and the import
    system relies on it for ``from ... import submodule``. Only this subclass
    is an ``AttributeError``; other :class:`CompatError`\\ s are not, because
    an ``AttributeError`` raised inside a property is silently turned into a
    ``__getattr__`` call by Python and would hide the real message.

    The message is worked out when it is first read, not when the error is
    raised: telling "Backtrader has it" from "no such name" may import the
    real Backtrader, which a failed ``hasattr`` probe should not pay for.
    """

    def __init__(self, namespace: str, name: str, backtrader_module: str, module: str) -> None:
        super().__init__(f"{namespace}.{name}")
        self.missing = f"{namespace}.{name}"
        self.namespace = namespace
        self.attribute = name
        self.backtrader_module = backtrader_module
        self.module = module
        self._message: str | None = None

    def __str__(self) -> str:
        if self._message is None:
            self._message = self._render()
        return self._message

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        # ``args`` holds only the name, which __init__ cannot be called with again
        return type(self), (self.namespace, self.attribute, self.backtrader_module, self.module)

    def _render(self) -> str:
        where = f"supported names: {SUPPORTED_DOC}"
        known = backtrader_has(self.backtrader_module, self.attribute)
        # A real Backtrader name is a typo of ours only if it differs in case (``bt.ind.sma`` is
        # a Backtrader module); ``DEMA`` is another indicator, not a misspelt ``EMA``.
        close = _close_match(self.attribute, provided_names(self.module), fuzzy=known is not True)
        hint = f" (did you mean {self.namespace}.{close}?)" if close else ""
        if known is True:
            return f"{self.missing}: Backtrader has it, the Lockstep layer does not{hint}; {where}"
        if known is False:
            return (
                f"{self.missing}: no such name in Backtrader or the Lockstep layer{hint}; {where}"
            )
        return f"{self.missing}: the Lockstep layer does not provide it{hint}; {where}"


class CompatFeedError(CompatError, FeedError):
    """Bad data in one of the layer's feeds, located like the native feeds' errors.

    It is a :class:`CompatError` (what the layer raises) and a
    :class:`~lockstep.adapters.errors.FeedError` (what the native feeds raise),
    so code that handles either kind of bad data catches it, and reads the
    same ``source``, ``line`` and ``field``. ``path`` is the column as the
    feed's parameters name it (``column 4 (close)``), or empty when the
    problem is the whole file.
    """

    def _render(self) -> str:
        parts = []
        if self.source is not None:
            parts.append(f"{self.source}:{self.line}" if self.line is not None else self.source)
        if self.path:
            parts.append(self.path)
        parts.append(self.reason)
        return ": ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only arguments: ``args`` (the rendered message) cannot rebuild the error
        fields = (self.path, self.reason, self.source, self.line, self.kind, self.field)
        return _rebuild_feed_error, fields

    def located(self, source: str, line: int | None) -> CompatFeedError:
        return CompatFeedError(
            self.path, self.reason, source=source, line=line, kind=self.kind, field=self.field
        )


def _rebuild_feed_error(
    path: str, reason: str, source: str | None, line: int | None, kind: str, field: str | None
) -> CompatFeedError:
    return CompatFeedError(path, reason, source=source, line=line, kind=kind, field=field)


def backtrader_has(module: str, name: str) -> bool | None:
    """Whether the real Backtrader has ``module.name``; None when it is not installed.

    Asking the installed Backtrader keeps its list of names out of this
    source (it is GPL, and the list changes between versions).
    """
    if importlib.util.find_spec("backtrader") is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            real = importlib.import_module(module)
    except Exception:  # a broken Backtrader install only costs the distinction
        return None
    return hasattr(real, name)


def provided_names(module: str) -> list[str]:
    """Public names of one of the layer's namespaces that are the layer's own objects.

    Imports that the namespace happens to hold (``math``, ``typing.Any``) are
    left out: they are not Backtrader names and must never be suggested.
    """
    mod = sys.modules.get(module)
    if mod is None:
        return []
    out = []
    for name, value in vars(mod).items():
        if name.startswith("_"):
            continue
        home = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", "")
        if isinstance(home, str) and home.startswith(_PACKAGE):
            out.append(name)
    return sorted(out)


def _close_match(name: str, names: list[str], *, fuzzy: bool) -> str | None:
    """The provided name that ``name`` is most likely a typo of, if any."""
    by_lower: dict[str, str] = {}
    for candidate in names:  # sorted, so ``Strategy`` wins over the module ``strategy``
        by_lower.setdefault(candidate.lower(), candidate)
    if not fuzzy:
        return by_lower.get(name.lower())
    found = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if found:
        return found[0]
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[found[0]] if found else None


def missing_names(namespace: str, backtrader_module: str, module: str) -> Callable[[str], NoReturn]:
    """The module ``__getattr__`` of a ``bt`` namespace: a missing public name is a CompatError.

    Private and dunder names get Python's plain :class:`AttributeError`:
    tools probe modules for ``__path__``, ``__wrapped__`` and the like, and
    those are not Backtrader names a user asked for.
    """

    def module_getattr(name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise CompatAttributeError(namespace, name, backtrader_module, module)

    return module_getattr


if not TYPE_CHECKING:  # ``bt.errors`` is this module; Backtrader has a ``bt.errors`` too
    __getattr__ = missing_names("bt.errors", "backtrader.errors", __name__)
