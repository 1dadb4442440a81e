"""Extension loading: good files, every kind of broken file, duplicates, order, strict mode."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import run_backtest
from lockstep.runtime.extensions import (
    BUILT_IN,
    Directory,
    ExtensionError,
    Extensions,
    FeedsDataset,
    SourceSpec,
    SpecError,
    extension_directories,
    load_extensions,
)
from lockstep.runtime.registry import load_strategy_class
from lockstep.runtime.sinks import SinkSpec

STRATEGY = '''
from typing import ClassVar
from lockstep.runtime import Strategy


class {cls}(Strategy):
    """{doc}"""

    params: ClassVar[dict[str, object]] = {{"qty": 1}}

    def on_event(self, ctx, event):
        if ctx.position(event.instrument) == 0:
            ctx.buy(event.instrument, self.p.qty)
'''

SOURCE = """
from lockstep.adapters import InstrumentSpec, MemoryFeed
from lockstep.runtime.extensions import Source, SourceSpec

TST = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0)


def build(days="3", close="10.00"):
    rows = [
        (1704229200 * 10**9 + n * 86_400 * 10**9, close, close, close, close, "100")
        for n in range(int(days))
    ]
    return Source(
        instruments=[TST],
        currencies={{"USD": 2}},
        feeds=lambda skip: [MemoryFeed.from_bars(TST, rows, skip_policy=skip)],
        description="flat bars",
    )


FLAT = SourceSpec("{name}", build, "flat bars for tests")
"""

SINK = """
import json
from lockstep.runtime.sinks import SinkSpec


class JsonSink:
    def write(self, run, directory):
        path = directory / "summary.json"
        path.write_text(json.dumps({{"trades": run.metrics["trades"]}}))
        return [path]


JSON = SinkSpec("{name}", JsonSink, "the trade count as JSON")
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def strategy(cls: str = "Buyer", doc: str = "Buys one of everything.") -> str:
    return STRATEGY.format(cls=cls, doc=doc)


def load(*dirs: Path, strict: bool = False) -> Extensions:
    return load_extensions([Directory(d, "test") for d in dirs], strict=strict)


def reasons(registry: Extensions) -> dict[str, str]:
    return {Path(f.path).name: f.reason for f in registry.failures}


def test_a_good_file_registers_strategies_sources_and_sinks(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    path = write(ext, "mine.py", strategy() + SOURCE.format(name="flat") + SINK.format(name="js"))
    registry = load(ext)
    assert registry.failures == []
    assert list(registry.strategies) == ["buyer"]
    reg = registry.strategies["buyer"]
    assert reg.origin == str(path) and reg.description == "Buys one of everything."
    assert list(registry.sources) == ["flat"] and registry.sources["flat"].origin == str(path)
    assert list(registry.sinks) == ["csv", "parquet", "sqlite", "js"]
    assert registry.sinks["csv"].origin == BUILT_IN
    assert registry.loaded == [(str(path), ["strategy buyer", "source flat", "sink js"])]
    # The registered strategy runs by name through the normal registry.
    cls = load_strategy_class("buyer", registry.strategy_classes())
    assert cls is reg.obj and cls().p.qty == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("def broken(:\n    pass\n", "syntax error at line 1"),
        ("import lockstep_no_such_module_xyz\n", "import error at line 1: No module named"),
        (
            "from lockstep.runtime.extensions import SourceSpec\n\nS = SourceSpec('bad name', print)\n",
            "bad spec at line 3: source name 'bad name' must be",
        ),
        (
            "from lockstep.runtime.sinks import SinkSpec\n\nS = SinkSpec('ok', 42)\n",
            "bad spec at line 3: sink 'ok': factory must be callable",
        ),
        (
            "x = 1\nraise RuntimeError('boom')\n",
            "error while loading at line 2: RuntimeError: boom",
        ),
        ("import sys\nsys.exit(3)\n", "error while loading at line 2: SystemExit: 3"),
        ("__all__ = ['Missing']\n", "bad spec: __all__ lists 'Missing'"),
        ("__all__ = 'Buyer'\n", "bad spec: __all__ must be a list of names"),
        (
            strategy().replace(
                "class Buyer(Strategy):", "class Buyer(Strategy):\n    name = 'a:b'"
            ),
            "bad spec: strategy class Buyer has the name 'a:b'",
        ),
    ],
)
def test_a_broken_file_is_reported_and_the_others_still_load(
    tmp_path: Path, text: str, reason: str
) -> None:
    ext = tmp_path / "ext"
    bad = write(ext, "a_broken.py", text)
    write(ext, "b_good.py", strategy("Good", "Fine."))
    registry = load(ext)
    assert [f.path for f in registry.failures] == [str(bad)]
    assert reason in registry.failures[0].reason, registry.failures[0].reason
    assert str(registry.failures[0]).startswith(f"{bad}: ")
    assert list(registry.strategies) == ["good"]
    assert [path for path, _ in registry.loaded] == [str(ext / "b_good.py")]


def test_a_failed_file_leaves_nothing_behind(tmp_path: Path) -> None:
    """Registration is all or nothing per file: the good spec before the duplicate is dropped."""
    ext = tmp_path / "ext"
    write(ext, "a.py", SINK.format(name="js"))
    write(ext, "b.py", strategy("Other") + SINK.format(name="js"))
    registry = load(ext)
    assert reasons(registry) == {
        "b.py": f"duplicate sink name 'js': already registered by {ext / 'a.py'}"
    }
    assert "other" not in registry.strategies
    assert registry.sinks["js"].origin == str(ext / "a.py")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            strategy("SmaCross"),
            "duplicate strategy name 'sma_cross': a built-in strategy has this name",
        ),
        (
            SOURCE.format(name="daily"),
            "duplicate source name 'daily': a bundled data set has this name",
        ),
        (
            SINK.format(name="csv"),
            "duplicate sink name 'csv': already registered by a built-in sink",
        ),
        (
            SINK.format(name="js") + "\nJSON2 = SinkSpec('js', JsonSink)\n",
            "duplicate sink name 'js': the file declares it twice",
        ),
    ],
)
def test_duplicate_names_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    ext = tmp_path / "ext"
    write(ext, "dup.py", text)
    assert reasons(load(ext)) == {"dup.py": reason}


def test_duplicates_across_directories_first_one_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    write(first, "s.py", strategy("Buyer", "first"))
    write(second, "s.py", strategy("Buyer", "second"))
    registry = load(first, second)
    assert registry.strategies["buyer"].description == "first"
    assert reasons(registry) == {
        "s.py": f"duplicate strategy name 'buyer': already registered by {first / 's.py'}"
    }
    assert registry.failures[0].path == str(second / "s.py")
    flipped = load(second, first)
    assert flipped.strategies["buyer"].description == "second"


def test_loading_is_sorted_and_skips_private_files(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    for name in ("zeta.py", "Alpha.py", "mid.py", "_helper.py", ".hidden.py", "notes.txt"):
        write(ext, name, strategy(name.split(".")[0].strip("_").capitalize() + "S"))
    registry = load(ext)
    assert [Path(p).name for p, _ in registry.loaded] == ["Alpha.py", "mid.py", "zeta.py"]
    assert list(registry.strategies) == ["alpha_s", "mid_s", "zeta_s"]
    again = load(ext)
    assert list(again.strategies) == list(registry.strategies)


def test_imported_objects_are_not_registered_twice(tmp_path: Path) -> None:
    """Strategy classes imported for use are ignored; re-exported specs are the same object."""
    ext = tmp_path / "ext"
    write(
        ext,
        "uses.py",
        "from lockstep.runtime.builtin.sma_cross import SmaCross\n"
        "from lockstep.runtime.sinks import BUILTIN_SINKS\n"
        "CSV = BUILTIN_SINKS[0]\n",
    )
    registry = load(ext)
    assert registry.failures == [] and registry.strategies == {}
    assert registry.loaded == [(str(ext / "uses.py"), [])]


def test_all_selects_and_may_export_an_imported_strategy(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    write(ext, "lib.py", strategy("Base") + strategy("Child").replace("(Strategy)", "(Base)"))
    write(
        ext,
        "pick.py",
        "from lockstep.runtime.builtin.sma_cross import SmaCross as Cross\n"
        "from lockstep.runtime import Strategy\n\n"
        "class Local(Strategy):\n    name = 'local_pick'\n\n"
        "class Hidden(Strategy):\n    pass\n\n"
        "__all__ = ['Local']\n",
    )
    registry = load(ext)
    assert sorted(registry.strategies) == ["base", "child", "local_pick"]


def test_strict_mode_raises_naming_every_failed_file(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    write(ext, "a.py", "def oops(:\n")
    write(ext, "b.py", "import lockstep_no_such_module_xyz\n")
    write(ext, "c.py", strategy())
    with pytest.raises(ExtensionError) as info:
        load(ext, strict=True)
    message = str(info.value)
    assert message.startswith("2 extension files failed to load (--strict-extensions): ")
    assert f"{ext / 'a.py'}: syntax error at line 1" in message
    assert f"{ext / 'b.py'}: import error" in message


def test_directories_default_env_and_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    env = {"LOCKSTEP_EXTENSIONS": os.pathsep.join([str(one), str(two), str(one)])}
    dirs = extension_directories([(tmp_path / "cfg", "config")], env=env)
    assert [(d.path, d.origin) for d in dirs] == [
        (Path("extensions"), "default"),
        (one, "$LOCKSTEP_EXTENSIONS"),
        (two, "$LOCKSTEP_EXTENSIONS"),
        (tmp_path / "cfg", "config"),
    ]
    # The default directory may be missing; a named one may not.
    registry = load_extensions(dirs)
    assert sorted(Path(f.path).name for f in registry.failures) == ["cfg", "one", "two"]
    assert all(f.reason == "no such directory" for f in registry.failures)


def test_a_single_file_can_be_named_instead_of_a_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "solo.py", strategy("Solo"))
    assert list(load(path).strategies) == ["solo"]


def test_specs_check_their_fields() -> None:
    with pytest.raises(SpecError, match=r"must be 1\.\.40 letters"):
        SourceSpec("", print)
    with pytest.raises(SpecError, match=r"must be 1\.\.40 letters"):
        SinkSpec("a/b", print)
    with pytest.raises(SpecError, match="description must be a string"):
        SinkSpec("ok", print, 3)  # type: ignore[arg-type]


def test_a_source_runs_a_backtest_with_its_options(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    write(ext, "src.py", SOURCE.format(name="flat") + strategy())
    registry = load(ext)
    dataset = registry.build_source("flat", {"days": "4", "close": "12.50"})
    assert isinstance(dataset, FeedsDataset) and dataset.name == "flat"
    assert [i.id for i in dataset.instruments] == ["TST"] and dataset.currencies == (("USD", 2),)
    setup = setup_for(dataset, cash="1000")
    result = run_backtest(registry.strategies["buyer"].obj(), dataset, setup)
    assert result.bars == 4 and result.data == "flat"
    assert result.metrics.open_trades == 1
    assert dataset.row_counts() == {}  # memory feeds cannot tell their size without reading


def test_source_failures_name_the_source_and_its_file(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    path = write(
        ext,
        "src.py",
        SOURCE.format(name="flat")
        + "\nNONE = SourceSpec('nothing', lambda: 42)\n"
        + "\ndef _boom():\n    raise KeyError('gone')\n\nBOOM = SourceSpec('boom', _boom)\n"
        + "\nBADFEED = SourceSpec('badfeed', lambda: Source([TST], {'USD': 2}, lambda s: [1]))\n",
    )
    registry = load(ext)
    with pytest.raises(ExtensionError, match=r"options given: colour\): .*unexpected keyword"):
        registry.build_source("flat", {"colour": "red"})
    with pytest.raises(
        ExtensionError, match=f"source 'nothing' \\({path}\\): the factory returned int"
    ):
        registry.build_source("nothing", {})
    with pytest.raises(ExtensionError, match="raised KeyError: 'gone'"):
        registry.build_source("boom", {})
    with pytest.raises(ExtensionError, match="int is not a feed"):
        registry.build_source("badfeed", {}).feeds()


def test_a_source_may_return_a_dataset(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    write(
        ext,
        "bundled.py",
        "from lockstep.adapters import load_dataset\n"
        "from lockstep.runtime.extensions import SourceSpec\n"
        "DAILY = SourceSpec('daily_copy', lambda: load_dataset('daily'))\n",
    )
    dataset = load(ext).build_source("daily_copy", {})
    assert dataset == load_dataset("daily")


def test_sink_factories_are_checked(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    write(
        ext,
        "sinks.py",
        "from lockstep.runtime.sinks import SinkSpec\n"
        "NOWRITE = SinkSpec('nowrite', object)\n"
        "def _fail():\n    raise OSError('disk on fire')\n"
        "FAIL = SinkSpec('fail', _fail)\n",
    )
    registry = load(ext)
    with pytest.raises(ExtensionError, match="returned object, which has no write"):
        registry.build_sink("nowrite")
    with pytest.raises(ExtensionError, match=r"sink .fail. .* raised OSError: disk on fire"):
        registry.build_sink("fail")
    assert hasattr(registry.build_sink("csv"), "write")


def test_memory_source_is_deterministic_across_loads(tmp_path: Path) -> None:
    """Loading the same directory twice gives sources whose runs hash alike."""
    ext = tmp_path / "ext"
    write(ext, "src.py", SOURCE.format(name="flat") + strategy())
    hashes = set()
    for _ in range(2):
        registry = load(ext)
        dataset = registry.build_source("flat", {})
        result = run_backtest(registry.strategies["buyer"].obj(), dataset, setup_for(dataset))
        hashes.add((result.final_state_hash, result.data_digest))
    assert len(hashes) == 1
