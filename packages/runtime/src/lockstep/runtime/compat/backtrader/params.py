"""Backtrader-style parameters: ``params`` declared as tuple pairs or a dict, merged down the MRO.

A class declares ``params = (("period", 20),)`` or ``params = {"period": 20}``;
subclasses add or override entries. Each instance gets its own bag
(``self.params`` and ``self.p``) filled from the defaults and the keyword
arguments the constructor received, so strategies written for Backtrader read
their parameters unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ParamsBag:
    """Attribute access to one object's parameter values (``self.p.period``)."""

    _defaults: dict[str, Any] = {}  # noqa: RUF012 - replaced per class and per instance

    def __init__(self, defaults: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_defaults", dict(defaults))
        for name, value in {**defaults, **values}.items():
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no parameter {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _getkeys(self) -> list[str]:
        return list(self._defaults)

    def _getkwargs(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._defaults}

    def _getvalues(self) -> list[Any]:
        return [getattr(self, k) for k in self._defaults]

    def _get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def isdefault(self, name: str) -> bool:
        return bool(getattr(self, name) == self._defaults[name])

    def notdefault(self, name: str) -> bool:
        return not self.isdefault(name)

    def __repr__(self) -> str:
        return f"Params({self._getkwargs()!r})"


def declared(raw: object) -> dict[str, Any]:
    """One class's own ``params`` declaration as an ordered dict."""
    if raw is None:
        return {}
    if isinstance(raw, ParamsBag):
        return raw._getkwargs()
    if isinstance(raw, Mapping):
        return dict(raw)
    out: dict[str, Any] = {}
    if isinstance(raw, Iterable) and not isinstance(raw, str):
        for entry in raw:
            if isinstance(entry, str):
                out[entry] = None
            else:
                name, value = entry
                out[str(name)] = value
        return out
    raise TypeError(f"params must be a tuple of (name, default) pairs or a dict, got {raw!r}")


def merged_defaults(cls: type) -> dict[str, Any]:
    """Defaults of ``cls`` and its bases, base classes first, later classes overriding."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("_own_params")
        if own is not None:
            out.update(own)
    return out


def prepare_class(cls: type) -> None:
    """Record a class's own ``params`` and replace the attribute by a bag of its defaults."""
    raw = cls.__dict__.get("params")
    if raw is not None and not isinstance(raw, ParamsBag):
        cls._own_params = declared(raw)  # type: ignore[attr-defined]
    elif "_own_params" not in cls.__dict__:
        cls._own_params = {}  # type: ignore[attr-defined]
    defaults = merged_defaults(cls)
    bag = ParamsBag(defaults, {})
    cls.params = bag  # type: ignore[attr-defined]
    cls.p = bag  # type: ignore[attr-defined]


def split_kwargs(cls: type, kwargs: Mapping[str, Any]) -> tuple[ParamsBag, dict[str, Any]]:
    """The instance's parameter bag, and the keyword arguments that were not parameters."""
    defaults = merged_defaults(cls)
    values = {k: v for k, v in kwargs.items() if k in defaults}
    rest = {k: v for k, v in kwargs.items() if k not in defaults}
    return ParamsBag(defaults, values), rest
