"""Finding strategy classes: built-in names, extension names, ``module:Class``, or ``.py`` files.

Loading a file imports it as a fresh module under a private name; the file must
define exactly one :class:`Strategy` subclass (or name it: ``file.py:ClassName``).
Any failure (missing file, syntax error, import error, no strategy) is a
:class:`StrategyError` naming the file and the reason. Strategies registered by
extension files (:mod:`lockstep.runtime.extensions`) are passed in as ``extra``;
their names never shadow a built-in, because the loader refuses such a file.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from lockstep.runtime.errors import StrategyError
from lockstep.runtime.strategy import Strategy

BUILTIN: dict[str, str] = {
    "sma_cross": "lockstep.runtime.builtin.sma_cross:SmaCross",
    "sma_cross_signals": "lockstep.runtime.builtin.sma_cross_signals:SmaCrossSignals",
}
"""Built-in strategy names and where they live."""


def builtin_strategies() -> dict[str, str]:
    return dict(sorted(BUILTIN.items()))


def load_strategy_class(
    spec: str, extra: Mapping[str, type[Strategy]] | None = None
) -> type[Strategy]:
    """A strategy class from a built-in or ``extra`` name, ``module:Class``, ``file.py[:Class]``."""
    path_text, _, class_name = spec.partition(":") if spec.count(":") == 1 else (spec, "", "")
    if path_text.endswith(".py") or Path(path_text).suffix == ".py":
        return _from_module(_import_file(Path(path_text)), class_name or None, path_text)
    if spec in BUILTIN:
        module_name, _, class_name = BUILTIN[spec].partition(":")
        return _from_module(importlib.import_module(module_name), class_name, spec)
    if extra and spec in extra:
        return extra[spec]
    if class_name:
        try:
            module = importlib.import_module(path_text)
        except Exception as err:
            raise StrategyError(
                f"cannot import {path_text!r}: {type(err).__name__}: {err}"
            ) from None
        return _from_module(module, class_name, spec)
    known = ", ".join(BUILTIN) or "none"
    registered = f"; from extensions: {', '.join(sorted(extra))}" if extra else ""
    raise StrategyError(
        f"unknown strategy {spec!r}: give a .py file, module:Class, or a built-in name "
        f"({known}{registered})"
    )


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise StrategyError(f"{path}: no such strategy file")
    name = f"lockstep_user_strategy_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise StrategyError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as err:
        del sys.modules[name]
        raise StrategyError(f"{path}:{err.lineno}: syntax error: {err.msg}") from None
    except Exception as err:
        del sys.modules[name]
        line = _line_in(path, err)
        raise StrategyError(f"{path}{line}: cannot load: {type(err).__name__}: {err}") from None
    return module


def _line_in(path: Path, err: BaseException) -> str:
    """``:LINE`` of the innermost traceback frame in ``path`` (the file's own line), or ``""``."""
    target = os.path.realpath(path)
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(err.__traceback__)
        if os.path.realpath(frame.filename) == target
    ]
    return f":{lines[-1]}" if lines else ""


BACKTRADER_LAYER = "lockstep.runtime.compat.backtrader"
"""Scripts written against it build their own Cerebro; its runner runs them."""


def _from_module(module: ModuleType, class_name: str | None, origin: str) -> type[Strategy]:
    if class_name:
        found = getattr(module, class_name, None)
        if not (inspect.isclass(found) and issubclass(found, Strategy)):
            raise StrategyError(f"{origin}: {class_name!r} is not a Strategy subclass")
        return found
    candidates = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == module.__name__
    ]
    if not candidates:
        hint = ""
        if any(
            isinstance(obj, ModuleType) and obj.__name__.startswith(BACKTRADER_LAYER)
            for obj in vars(module).values()
        ):
            hint = (
                f"; it uses the Backtrader layer: run such a script with "
                f"python -m {BACKTRADER_LAYER} {origin}"
            )
        raise StrategyError(f"{origin}: defines no Strategy subclass{hint}")
    if len(candidates) > 1:
        names = ", ".join(sorted(c.__name__ for c in candidates))
        raise StrategyError(
            f"{origin}: defines several strategies ({names}); pick one with FILE.py:Class"
        )
    return candidates[0]
