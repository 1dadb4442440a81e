"""Run configuration files: ``lockstep backtest --config run.toml``.

A TOML file holds the same choices as the command line, so a run can be kept
next to its data and repeated exactly. Flags given on the command line
override the file, key by key (``--param fast=5`` replaces only ``fast``);
the extension directories of both are used. Every key is checked: an unknown
key or a value of the wrong type is an error that names the file and the key,
because a typo silently ignored would run a different backtest than the one
written down.

Decimals are read exactly (TOML floats become ``Decimal``), so ``cash =
100000.50`` is the amount written and ``max_skip_share = 0.05`` is exactly
5 %. Values the run would refuse anyway (cash that is not above zero, a
share outside 0..1) are refused here, so the message names the file and key
rather than a setup path the user never wrote.

Relative paths (``out``, ``extensions``, and ``strategy``/``data`` values
that look like paths: containing a slash, starting with ``.`` or ending in
``.py``) are relative to the config file's directory, so the file works from
any working directory; bare names (``sma_cross``, ``daily``) stay names.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from lockstep.adapters import skip_share
from lockstep.adapters.data import check_starting_cash
from lockstep.core import BACKENDS, LockstepError
from lockstep.runtime.backtest import TRACE_MODES

KEYS: dict[str, str] = {
    "strategy": "a built-in or extension strategy name, FILE.py[:Class] or module:Class",
    "params": "a table of strategy parameters",
    "data": "a bundled data set, an extension source name, or a data set directory",
    "data_options": "a table of options for an extension source",
    "cash": "starting cash in currency units",
    "fee_ppm": "simulated venue fee in parts per million",
    "participation_bps": "cap fills at this share of each bar's volume",
    "engine": f"one of {', '.join(BACKENDS)}",
    "out": "output directory",
    "overwrite": "replace an existing run.db",
    "skip_bad_rows": "skip malformed data rows (counted and reported)",
    "max_skip_share": "the largest share of a feed's rows that may be skipped (0.01 is 1 %)",
    "trace": f"what the run store keeps of the trace: one of {', '.join(TRACE_MODES)}",
    "warn_rejected_share": "warn when more than this share of intents is rejected (0 to 1)",
    "extensions": "a list of extension directories",
    "strict_extensions": "fail when any extension fails to load",
    "sinks": "a list of result sink names",
    "report": "write the HTML report",
    "progress": "show a progress bar",
}
"""Every key a run configuration may have, with what it means (for error messages)."""


class ConfigError(LockstepError, ValueError):
    """The configuration file is unreadable or has an unknown key or a bad value."""


@dataclass(frozen=True)
class RunConfig:
    """A parsed configuration; ``None`` (or empty) means "not set in the file"."""

    path: Path | None = None
    strategy: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    """Values as text, coerced by the strategy's declared types like ``--param``."""
    data: str | None = None
    data_options: dict[str, str] = field(default_factory=dict)
    cash: str | None = None
    fee_ppm: int | None = None
    participation_bps: int | None = None
    engine: str | None = None
    out: Path | None = None
    overwrite: bool | None = None
    skip_bad_rows: bool | None = None
    max_skip_share: Fraction | None = None
    trace: str | None = None
    warn_rejected_share: Fraction | None = None
    extensions: tuple[Path, ...] = ()
    strict_extensions: bool | None = None
    sinks: tuple[str, ...] = ()
    report: bool | None = None
    progress: bool | None = None


def load_config(path: str | Path) -> RunConfig:
    """Read and check a TOML run configuration; raises :class:`ConfigError`."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            raw = tomllib.load(handle, parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such configuration file") from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: invalid TOML: {err}") from None
    return parse_config(raw, source)


def parse_config(raw: Mapping[str, Any], source: Path) -> RunConfig:
    """Check the keys and values of an already parsed TOML document."""
    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: unknown key {key!r}{hint}; known keys: {', '.join(KEYS)}")
    check = _Checker(source)
    base = source.parent
    strategy = check.text(raw, "strategy")
    data = check.text(raw, "data")
    out = check.text(raw, "out")
    engine = check.choice(raw, "engine", BACKENDS)
    trace = check.choice(raw, "trace", TRACE_MODES)
    return RunConfig(
        path=source,
        strategy=None if strategy is None else _strategy_path(strategy, base),
        params=check.table(raw, "params"),
        data=None if data is None else _maybe_path(data, base),
        data_options=check.table(raw, "data_options"),
        cash=check.cash(raw, "cash"),
        fee_ppm=check.integer(raw, "fee_ppm"),
        participation_bps=check.integer(raw, "participation_bps"),
        engine=engine,
        out=None if out is None else base / out,
        overwrite=check.flag(raw, "overwrite"),
        skip_bad_rows=check.flag(raw, "skip_bad_rows"),
        max_skip_share=check.share(raw, "max_skip_share"),
        trace=trace,
        warn_rejected_share=check.share(raw, "warn_rejected_share"),
        extensions=tuple(base / p for p in check.texts(raw, "extensions")),
        strict_extensions=check.flag(raw, "strict_extensions"),
        sinks=tuple(check.texts(raw, "sinks")),
        report=check.flag(raw, "report"),
        progress=check.flag(raw, "progress"),
    )


class _Checker:
    """Typed getters that name the file and key in every error."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def _bad(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(
            f"{self.source}: key {key!r} must be {expected}, got {type(value).__name__} {value!r}"
        )

    def text(self, raw: Mapping[str, Any], key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self._bad(key, "a non-empty string", value)
        return value

    def choice(self, raw: Mapping[str, Any], key: str, choices: Sequence[str]) -> str | None:
        value = self.text(raw, key)
        if value is not None and value not in choices:
            raise ConfigError(
                f"{self.source}: key {key!r} must be one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def texts(self, raw: Mapping[str, Any], key: str) -> list[str]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._bad(key, "a list of strings", value)
        return list(value)

    def flag(self, raw: Mapping[str, Any], key: str) -> bool | None:
        value = raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._bad(key, "true or false", value)

    def integer(self, raw: Mapping[str, Any], key: str) -> int | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer", value)
        return value

    def amount(self, raw: Mapping[str, Any], key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise self._bad(key, "a number or a decimal string", value)
        return _text(value)

    def cash(self, raw: Mapping[str, Any], key: str) -> str | None:
        text = self.amount(raw, key)
        if text is not None:
            try:
                check_starting_cash(text)
            except ValueError as err:
                raise ConfigError(f"{self.source}: key {key!r} {err}") from None
        return text

    def share(self, raw: Mapping[str, Any], key: str) -> Fraction | None:
        text = self.amount(raw, key)
        if text is None:
            return None
        try:
            return skip_share(text)
        except ValueError as err:
            raise ConfigError(f"{self.source}: key {key!r} {err}") from None

    def table(self, raw: Mapping[str, Any], key: str) -> dict[str, str]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self._bad(key, "a table", value)
        out: dict[str, str] = {}
        for name, item in value.items():
            if isinstance(item, bool):
                out[name] = "true" if item else "false"
            elif isinstance(item, int | Decimal | str):
                out[name] = _text(item)
            else:
                raise self._bad(f"{key}.{name}", "a string, number or boolean", item)
        return out


def _text(value: int | Decimal | str) -> str:
    """Scalars as the text ``--param`` would carry; decimals positional (``1e5`` is ``100000``)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _looks_like_path(text: str) -> bool:
    separators = [s for s in (os.sep, os.altsep, "/") if s]
    return any(s in text for s in separators) or text.startswith(".") or text.endswith(".py")


def _maybe_path(text: str, base: Path) -> str:
    if not _looks_like_path(text) or Path(text).is_absolute():
        return text
    return str(base / text)


def _strategy_path(text: str, base: Path) -> str:
    """``FILE.py[:Class]`` relative to ``base``; names and ``module:Class`` unchanged."""
    file_part, sep, class_name = text.rpartition(":")
    if sep and file_part.endswith(".py"):
        return f"{_maybe_path(file_part, base)}:{class_name}"
    return _maybe_path(text, base)
