"""Extensions: drop a ``.py`` file into an extensions directory to add strategies, sources and sinks.

ADR 0001 makes Python both the host and the extension language, so an
extension is an ordinary Python file imported at run time, with no build step
and no plugin ABI. Whatever the file defines at module level is registered:

- :class:`~lockstep.runtime.Strategy` subclasses defined in the file, under
  their ``name`` (or the class name in snake case): ``lockstep backtest NAME``;
- :class:`SourceSpec` objects (a name and a factory returning a
  :class:`Source` or a :class:`~lockstep.adapters.Dataset`): ``--data NAME``;
- :class:`SinkSpec` objects (a name and a factory returning a sink):
  ``--sink NAME``.

A file that defines ``__all__`` registers only what it lists (and may then
list objects it imported); otherwise every public (not ``_``-prefixed)
module-level name is looked at, and strategy classes imported from elsewhere
are ignored.

Where the files come from: ``./extensions`` (if it exists), then every
directory in ``$LOCKSTEP_EXTENSIONS`` (separated by ``os.pathsep``), then the
config file's ``extensions``, then each ``--extensions-dir``. Within a
directory the ``*.py`` files not starting with ``_`` or ``.`` load in sorted
name order, so the same directories always register the same things in the
same order. A file registers all of its declarations or none: a syntax error,
an import error, a malformed spec or a name that is already taken (by a
built-in, a bundled data set or an earlier file) makes the whole file fail
with its path and the reason, and the other files still load. Strict mode
(``--strict-extensions``) turns any failure into an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from lockstep.adapters import BarColumns, Dataset, Feed, InstrumentSpec, list_datasets
from lockstep.core import LockstepError
from lockstep.runtime.registry import BUILTIN
from lockstep.runtime.sinks import (
    BUILTIN_SINKS,
    NAME_PATTERN,
    Sink,
    SinkSpec,
    SpecError,
    check_spec,
)
from lockstep.runtime.strategy import Strategy, _snake

DEFAULT_DIRECTORY = Path("extensions")
ENV_VAR = "LOCKSTEP_EXTENSIONS"
BUILT_IN = "built-in"

T = TypeVar("T")

__all__ = [
    "BUILT_IN",
    "DEFAULT_DIRECTORY",
    "ENV_VAR",
    "Directory",
    "ExtensionError",
    "Extensions",
    "Failure",
    "FeedsDataset",
    "Registered",
    "SinkSpec",
    "Source",
    "SourceSpec",
    "SpecError",
    "extension_directories",
    "load_extensions",
    "with_feeds",
]


class ExtensionError(LockstepError, ValueError):
    """An extension failed in strict mode, or a registered source or sink could not be used."""


# --------------------------------------------------------------------------- what files declare


@dataclass(frozen=True)
class Source:
    """Market data a source factory returns: instruments, currencies and a way to build feeds.

    ``feeds(skip_policy)`` is called once per run with ``"fail"`` or ``"skip"``
    and returns the feeds in a fixed order (the order fixes producer indexes,
    so it must not vary between calls). ``currencies`` maps each quote
    currency to its money precision, as a data set manifest does.
    """

    instruments: Sequence[InstrumentSpec]
    currencies: Mapping[str, int]
    feeds: Callable[[str], Sequence[Feed]]
    description: str = ""
    bar_interval: str = ""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A named data source: ``factory(**options)`` returns a :class:`Source` or a ``Dataset``.

    Options come from ``--data-option KEY=VALUE`` or the config file's
    ``[data_options]`` table, always as strings.
    """

    name: str
    factory: Callable[..., Source | Dataset]
    description: str = ""

    def __post_init__(self) -> None:
        check_spec("source", self.name, self.factory, self.description)


@dataclass(frozen=True, slots=True)
class FeedsDataset(Dataset):
    """A data set whose feeds come from a function rather than the manifest's CSV files.

    It is a :class:`Dataset`, so ``setup_for`` and ``run_backtest`` take it as
    they take a bundled one, and the run store records its name.
    """

    build: Callable[[str], Sequence[Feed]]

    def feeds(self, *, skip_policy: str = "fail") -> list[Feed]:
        feeds = list(self.build(skip_policy))
        for feed in feeds:
            if not isinstance(feed, Feed):
                raise ExtensionError(
                    f"data {self.name!r} ({self.path}): {type(feed).__name__} is not a feed "
                    "(it needs name, fingerprint(), skip_report and iteration over MarketEvents)"
                )
        return feeds

    def row_counts(self) -> dict[str, int]:
        """Rows per feed where the feed can tell (``row_count``) without reading its data."""
        counts = {}
        for feed in self.feeds():
            rows = getattr(feed, "row_count", None)
            if isinstance(rows, int):
                counts[feed.name] = rows
        return counts


def with_feeds(dataset: Dataset, build: Callable[[str], Sequence[Feed]]) -> FeedsDataset:
    """A copy of ``dataset`` (name, instruments, currencies) whose feeds ``build`` makes."""
    values = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(Dataset)}
    return FeedsDataset(**values, build=build)


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True, slots=True)
class Registered(Generic[T]):
    """One registered strategy, source or sink and where it came from."""

    kind: str
    name: str
    obj: T
    origin: str
    """The extension file's path, or ``built-in``."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Failure:
    """An extension file (or directory) that did not load, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Directory:
    path: Path
    origin: str
    """Where the directory was named: ``default``, ``$LOCKSTEP_EXTENSIONS``, ``config``, ``--extensions-dir``."""


@dataclass
class Extensions:
    """Everything the extension directories registered, the built-in sinks, and the failures."""

    directories: list[Directory] = field(default_factory=list)
    strategies: dict[str, Registered[type[Strategy]]] = field(default_factory=dict)
    sources: dict[str, Registered[SourceSpec]] = field(default_factory=dict)
    sinks: dict[str, Registered[SinkSpec]] = field(default_factory=dict)
    loaded: list[tuple[str, list[str]]] = field(default_factory=list)
    """Each file that loaded, with what it registered (``strategy breakout``)."""
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        for spec in BUILTIN_SINKS:
            self.sinks.setdefault(
                spec.name, Registered("sink", spec.name, spec, BUILT_IN, spec.description)
            )

    def strategy_classes(self) -> dict[str, type[Strategy]]:
        """Extension strategies by name (the built-ins are in :mod:`lockstep.runtime.registry`)."""
        return {name: reg.obj for name, reg in self.strategies.items()}

    def raise_failures(self) -> None:
        """Strict mode: one error naming every failed file and its reason."""
        if not self.failures:
            return
        count = len(self.failures)
        files = "file" if count == 1 else "files"
        raise ExtensionError(
            f"{count} extension {files} failed to load (--strict-extensions): "
            + "; ".join(str(f) for f in self.failures)
        )

    def build_source(self, name: str, options: Mapping[str, str]) -> Dataset:
        """Call source ``name``'s factory with ``options``; the result as a :class:`Dataset`."""
        reg = self.sources[name]
        where = f"source {name!r} ({reg.origin})"
        try:
            made = reg.obj.factory(**options)
        except LockstepError:
            raise  # feed and setup errors already name their file and field
        except TypeError as err:
            given = ", ".join(sorted(options)) or "none"
            raise ExtensionError(
                f"{where}: cannot build it (options given: {given}): {err}"
            ) from None
        except Exception as err:
            raise ExtensionError(
                f"{where}: raised {type(err).__name__}: {err}{_where(err)}"
            ) from None
        if isinstance(made, Dataset):
            return made
        if isinstance(made, Source):
            return FeedsDataset(
                name=name,
                path=Path(reg.origin),
                description=made.description or reg.description,
                bar_interval=made.bar_interval,
                currencies=tuple(made.currencies.items()),
                instruments=tuple(made.instruments),
                files={},
                descriptions={},
                columns=BarColumns(),
                time_format="iso",
                tz=None,
                build=made.feeds,
            )
        raise ExtensionError(
            f"{where}: the factory returned {type(made).__name__}; expected a Source or a Dataset"
        )

    def build_sink(self, name: str) -> Sink:
        """A sink object from sink ``name``'s factory (built before the run, to fail early)."""
        reg = self.sinks[name]
        try:
            sink = reg.obj.factory()
        except LockstepError:
            raise  # e.g. a missing optional dependency, with the install hint
        except Exception as err:
            raise ExtensionError(
                f"sink {name!r} ({reg.origin}): raised {type(err).__name__}: {err}{_where(err)}"
            ) from None
        if not callable(getattr(sink, "write", None)):
            raise ExtensionError(
                f"sink {name!r} ({reg.origin}): the factory returned {type(sink).__name__}, "
                "which has no write(run, directory) method"
            )
        return sink


# --------------------------------------------------------------------------- loading


def extension_directories(
    extra: Iterable[tuple[str | Path, str]] = (),
    *,
    env: Mapping[str, str] | None = None,
    include_default: bool = True,
) -> list[Directory]:
    """The directories to load, in order: default, ``$LOCKSTEP_EXTENSIONS``, then ``extra``.

    ``extra`` pairs a path with where it was named (``config``,
    ``--extensions-dir``). A directory named twice loads once, at its first place.
    """
    environ = os.environ if env is None else env
    found: list[Directory] = []
    if include_default:
        found.append(Directory(DEFAULT_DIRECTORY, "default"))
    for entry in environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            found.append(Directory(Path(entry.strip()), f"${ENV_VAR}"))
    found += [Directory(Path(path), origin) for path, origin in extra]
    unique: list[Directory] = []
    seen: set[Path] = set()
    for directory in found:
        key = directory.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(directory)
    return unique


def load_extensions(
    directories: Sequence[Directory | str | Path] | None = None, *, strict: bool = False
) -> Extensions:
    """Load every extension file of ``directories`` (default: :func:`extension_directories`).

    Failures are collected in :attr:`Extensions.failures`; with ``strict`` they
    raise :class:`ExtensionError` once everything was tried, naming every file.
    """
    dirs = [
        d if isinstance(d, Directory) else Directory(Path(d), "argument")
        for d in (extension_directories() if directories is None else directories)
    ]
    registry = Extensions(directories=dirs)
    for directory in dirs:
        for path in _files(directory, registry):
            _load_file(path, registry)
    if strict:
        registry.raise_failures()
    return registry


def _files(directory: Directory, registry: Extensions) -> list[Path]:
    path = directory.path
    if path.is_file() and path.suffix == ".py":
        return [path]  # a single extension file named directly
    if not path.is_dir():
        if directory.origin != "default":  # ./extensions is optional; a named one is not
            registry.failures.append(Failure(str(path), "no such directory"))
        return []
    return sorted(
        (p for p in path.iterdir() if p.suffix == ".py" and not p.name.startswith(("_", "."))),
        key=lambda p: p.name,
    )


def _load_file(path: Path, registry: Extensions) -> None:
    module, reason = _import(path)
    if module is None:
        registry.failures.append(Failure(str(path), reason or "cannot be loaded"))
        return
    items, reason = _declarations(module, str(path))
    if reason is None:
        reason = _conflict(items, registry)
    if reason is not None:
        sys.modules.pop(module.__name__, None)
        registry.failures.append(Failure(str(path), reason))
        return
    # An object registered already (a re-exported built-in sink, say) keeps its first origin.
    items = [i for i in items if _table(registry, i.kind).get(i.name) is None]
    for item in items:
        _table(registry, item.kind)[item.name] = item
    registry.loaded.append((str(path), [f"{item.kind} {item.name}" for item in items]))


def _module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return f"lockstep_extension_{stem}_{digest}"


def _import(path: Path) -> tuple[ModuleType | None, str | None]:
    """Execute the file as a fresh module; on failure, the reason in one line."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None, "cannot be imported as a Python module"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(name, None)
        other = err.filename and Path(err.filename).resolve() != path.resolve()
        elsewhere = f" in {err.filename}" if other else ""
        return None, f"syntax error{elsewhere} at line {err.lineno}: {err.msg}"
    except ImportError as err:
        sys.modules.pop(name, None)
        return None, f"import error{_line_in(err, path)}: {err}"
    except SpecError as err:
        sys.modules.pop(name, None)
        return None, f"bad spec{_line_in(err, path)}: {err}"
    except (Exception, SystemExit) as err:
        sys.modules.pop(name, None)
        return None, f"error while loading{_line_in(err, path)}: {type(err).__name__}: {err}"
    return module, None


def _declarations(module: ModuleType, origin: str) -> tuple[list[Registered[Any]], str | None]:
    """What the module declares, or the reason its declarations are unusable."""
    exported = getattr(module, "__all__", None)
    explicit = exported is not None
    if explicit:
        if not isinstance(exported, list | tuple) or not all(isinstance(n, str) for n in exported):
            return [], "bad spec: __all__ must be a list of names"
        names = list(exported)
    else:
        names = [n for n in vars(module) if not n.startswith("_")]
    items: list[Registered[Any]] = []
    seen: set[int] = set()
    for attr in names:
        if not hasattr(module, attr):
            return [], f"bad spec: __all__ lists {attr!r}, which the file does not define"
        obj = getattr(module, attr)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, SourceSpec):
            items.append(Registered("source", obj.name, obj, origin, obj.description))
        elif isinstance(obj, SinkSpec):
            items.append(Registered("sink", obj.name, obj, origin, obj.description))
        elif inspect.isclass(obj) and issubclass(obj, Strategy) and obj is not Strategy:
            if not explicit and obj.__module__ != module.__name__:
                continue  # imported for use, not declared here
            name = obj.name or _snake(obj.__name__)
            if not NAME_PATTERN.match(name):
                return [], (
                    f"bad spec: strategy class {obj.__name__} has the name {name!r}; a registered "
                    "strategy name is 1..40 letters, digits, '_' or '-', starting with a letter"
                )
            items.append(Registered("strategy", name, obj, origin, _summary(obj)))
    return items, None


def _conflict(items: list[Registered[Any]], registry: Extensions) -> str | None:
    """Why these declarations cannot all be registered (a taken name), or None."""
    reserved = {
        "strategy": {name: "a built-in strategy" for name in BUILTIN},
        "source": {name: "a bundled data set" for name in list_datasets()},
        "sink": {},
    }
    mine: dict[tuple[str, str], Registered[Any]] = {}
    for item in items:
        key = (item.kind, item.name)
        if key in mine:
            return f"duplicate {item.kind} name {item.name!r}: the file declares it twice"
        mine[key] = item
        existing = _table(registry, item.kind).get(item.name)
        if existing is not None and existing.obj is not item.obj:
            owner = "a built-in sink" if existing.origin == BUILT_IN else existing.origin
            return f"duplicate {item.kind} name {item.name!r}: already registered by {owner}"
        if item.name in reserved[item.kind]:
            return (
                f"duplicate {item.kind} name {item.name!r}: "
                f"{reserved[item.kind][item.name]} has this name"
            )
    return None


def _table(registry: Extensions, kind: str) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = {
        "strategy": registry.strategies,
        "source": registry.sources,
        "sink": registry.sinks,
    }
    return tables[kind]


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) if cls.__doc__ else None
    return doc.strip().splitlines()[0] if doc else ""


def _line_in(err: BaseException, path: Path) -> str:
    """`` at line N`` of the deepest traceback frame inside ``path``, if any."""
    line = None
    target = path.resolve()
    for frame in traceback.extract_tb(err.__traceback__):
        if Path(frame.filename).resolve() == target:
            line = frame.lineno
    return f" at line {line}" if line is not None else ""


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
