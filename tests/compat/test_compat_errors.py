"""How the Backtrader layer fails: every refusal names what is wrong and where, in one line.

A name the layer lacks (``bt.ind.ADX``) must say so and point at the list of
supported names, not raise Python's bare ``AttributeError`` about an internal
module; a bad data file must name the file, line, column and value, as the
native feeds do; and a script run through the layer's runner must end with
one line on standard error and exit code 2, like the ``lockstep`` command.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import backtrader as real_bt
import numpy as np
import pandas as pd
import pytest

import lockstep.runtime.compat.backtrader as bt
from lockstep.adapters import FeedError
from lockstep.core import InputError, LockstepError
from lockstep.runtime import StrategyError
from lockstep.runtime.compat.backtrader.errors import SUPPORTED_DOC

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "guides" / "backtrader.md"
WHERE = f"supported names: {SUPPORTED_DOC}"

NAMESPACES = {
    "bt": (bt, "backtrader"),
    "bt.feeds": (bt.feeds, "backtrader.feeds"),
    "bt.indicators": (bt.indicators, "backtrader.indicators"),
    "bt.analyzers": (bt.analyzers, "backtrader.analyzers"),
    "bt.observers": (bt.observers, "backtrader.observers"),
    "bt.sizers": (bt.sizers, "backtrader.sizers"),
    "bt.brokers": (bt.brokers, "backtrader.brokers"),
}


# --------------------------------------------------------------------------- missing names


@pytest.mark.parametrize(
    ("get", "message"),
    [
        (
            lambda: bt.indicators.ADX,
            f"bt.indicators.ADX: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
        (
            lambda: bt.ind.CCI,
            f"bt.indicators.CCI: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
        (
            lambda: bt.feeds.YahooFinanceData,
            f"bt.feeds.YahooFinanceData: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
        (
            lambda: bt.analyzers.SQN,
            f"bt.analyzers.SQN: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
        (
            lambda: bt.observers.X,
            f"bt.observers.X: no such name in Backtrader or the Lockstep layer; {WHERE}",
        ),
        (
            lambda: bt.SomethingElse,
            f"bt.SomethingElse: no such name in Backtrader or the Lockstep layer; {WHERE}",
        ),
        (
            lambda: bt.talib,
            f"bt.talib: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
        (
            lambda: bt.errors.StrategySkipError,
            f"bt.errors.StrategySkipError: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
    ],
)
def test_a_missing_name_says_what_is_missing_and_where_the_list_is(get: Any, message: str) -> None:
    with pytest.raises(bt.CompatAttributeError) as caught:
        get()
    assert str(caught.value) == message
    err = caught.value
    assert isinstance(err, bt.CompatError)
    assert isinstance(err, StrategyError)  # the CLI's exit code 2
    assert isinstance(err, LockstepError)
    assert isinstance(err, AttributeError)


@pytest.mark.parametrize(
    ("get", "message"),
    [
        (
            lambda: bt.ind.SMAA,
            "bt.indicators.SMAA: no such name in Backtrader or the Lockstep layer "
            f"(did you mean bt.indicators.SMA?); {WHERE}",
        ),
        (
            lambda: bt.ind.CrossOverr,
            "bt.indicators.CrossOverr: no such name in Backtrader or the Lockstep layer "
            f"(did you mean bt.indicators.CrossOver?); {WHERE}",
        ),
        (
            lambda: bt.Strategyy,
            "bt.Strategyy: no such name in Backtrader or the Lockstep layer "
            f"(did you mean bt.Strategy?); {WHERE}",
        ),
        # backtrader.indicators.sma is a Backtrader module: a case slip, not a missing feature
        (
            lambda: bt.ind.sma,
            "bt.indicators.sma: Backtrader has it, the Lockstep layer does not "
            f"(did you mean bt.indicators.SMA?); {WHERE}",
        ),
        # DEMA is another indicator, so no "did you mean EMA"
        (
            lambda: bt.ind.DEMA,
            f"bt.indicators.DEMA: Backtrader has it, the Lockstep layer does not; {WHERE}",
        ),
    ],
)
def test_a_typo_gets_the_nearest_supported_name(get: Any, message: str) -> None:
    with pytest.raises(bt.CompatAttributeError) as caught:
        get()
    assert str(caught.value) == message


def test_without_backtrader_installed_the_message_does_not_guess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def hidden(name: str, package: str | None = None) -> Any:
        return None if name == "backtrader" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    with pytest.raises(bt.CompatAttributeError) as caught:
        bt.indicators.ADX  # noqa: B018
    assert str(caught.value) == (
        f"bt.indicators.ADX: the Lockstep layer does not provide it; {WHERE}"
    )
    with pytest.raises(bt.CompatAttributeError) as caught:
        bt.ind.SMAA  # noqa: B018
    assert str(caught.value) == (
        f"bt.indicators.SMAA: the Lockstep layer does not provide it "
        f"(did you mean bt.indicators.SMA?); {WHERE}"
    )


def test_the_errors_survive_pickling() -> None:
    """An error raised in a worker process must arrive whole, message and location."""
    with pytest.raises(bt.CompatAttributeError) as caught:
        bt.ind.ADX  # noqa: B018
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is bt.CompatAttributeError
    assert str(again) == str(caught.value)
    with pytest.raises(bt.CompatFeedError) as fed:
        bt.feeds.GenericCSVData(dataname="/nonexistent/nope.csv")
    back = pickle.loads(pickle.dumps(fed.value))
    assert type(back) is bt.CompatFeedError
    assert (str(back), back.source, back.line, back.kind) == (
        "/nonexistent/nope.csv: no such data file",
        "/nonexistent/nope.csv",
        None,
        "bad_row",
    )


def test_hasattr_and_getattr_with_a_default_still_answer() -> None:
    assert hasattr(bt.indicators, "SMA")
    assert hasattr(bt.ind, "CrossOver")
    assert hasattr(bt, "Cerebro")
    assert not hasattr(bt.indicators, "ADX")
    assert not hasattr(bt.feeds, "YahooFinanceData")
    assert not hasattr(bt, "SomethingElse")
    assert getattr(bt.ind, "ADX", None) is None
    assert getattr(bt.analyzers, "SQN", "absent") == "absent"


def test_private_and_dunder_probes_get_a_plain_attribute_error() -> None:
    """Tools probe modules for ``__wrapped__``, ``__path__``...: those are no Backtrader names."""
    for module in (bt, bt.indicators, bt.feeds):
        with pytest.raises(AttributeError) as caught:
            module.__wrapped__  # noqa: B018
        assert not isinstance(caught.value, bt.CompatError)
        with pytest.raises(AttributeError) as caught:
            module._private  # noqa: B018
        assert not isinstance(caught.value, bt.CompatError)
    assert not hasattr(bt.indicators, "__path__")  # a module, not a package


def test_a_failed_probe_does_not_import_backtrader_until_the_message_is_read() -> None:
    """``hasattr`` must stay cheap: the message (which may import Backtrader) is built lazily."""
    code = textwrap.dedent(
        """
        import sys
        import lockstep.runtime.compat.backtrader as bt
        assert not hasattr(bt.ind, "ADX")
        assert "backtrader" not in sys.modules, "hasattr imported Backtrader"
        try:
            bt.ind.ADX
        except bt.CompatAttributeError as err:
            assert "backtrader" not in sys.modules
            assert "Backtrader has it" in str(err)
            assert "backtrader" in sys.modules
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_any_is_backtraders_indicator_function_not_typing_any() -> None:
    assert bt.ind.Any is bt.Any
    assert bt.ind.Any.__module__ == "lockstep.runtime.compat.backtrader.indicators"

    def values(lib: ModuleType) -> list[float]:
        class Probe(lib.Strategy):
            def __init__(self) -> None:
                self.either = lib.ind.Any(self.data.close > self.data.open, self.data.volume > 600)
                self.seen: list[float] = []

            def next(self) -> None:
                self.seen.append(self.either[0])

        cerebro = lib.Cerebro()
        cerebro.adddata(lib.feeds.PandasData(dataname=_frame()))
        cerebro.addstrategy(Probe)
        (strat,) = cerebro.run()
        seen: list[float] = strat.seen
        return seen

    mine = values(bt)
    assert mine == values(real_bt)
    assert set(mine) == {0.0, 1.0}


# --------------------------------------------------------------------------- the documented list


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def _documented() -> dict[str, set[str]]:
    """The names the guide's table lists, per namespace (rows may repeat a namespace)."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Supported API", 1)[1].split("\n## ", 1)[0]
    out: dict[str, set[str]] = {}
    for line in section.splitlines():
        found = re.match(r"^\| `(bt(?:\.\w+)?)`[^|]* \| (.*) \|$", line)
        if found:
            names = re.findall(r"`([A-Za-z_]\w*)`", found.group(2))
            out.setdefault(found.group(1), set()).update(names)
    return out


def test_the_messages_point_at_a_section_that_exists() -> None:
    path, anchor = SUPPORTED_DOC.split("#")
    assert (REPO / path) == GUIDE
    headings = [
        _slug(line.lstrip("#")) for line in GUIDE.read_text().splitlines() if line.startswith("#")
    ]
    assert anchor in headings


def test_every_documented_name_exists_in_the_layer() -> None:
    documented = _documented()
    assert set(documented) == set(NAMESPACES)
    for namespace, names in documented.items():
        module = NAMESPACES[namespace][0]
        for name in names:
            assert hasattr(module, name), f"{namespace}.{name} is documented but missing"


def test_every_supported_backtrader_name_is_documented() -> None:
    """The layer's own names in each namespace that Backtrader also has must be in the list."""
    documented = _documented()
    assert set(bt.__all__) <= documented["bt"], set(bt.__all__) - documented["bt"]
    for namespace, (module, real_name) in NAMESPACES.items():
        if namespace == "bt":
            continue
        real = importlib.import_module(real_name)
        own = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
            and hasattr(real, name)
        }
        assert own, namespace
        assert own <= documented[namespace], (namespace, own - documented[namespace])


# --------------------------------------------------------------------------- data feed errors

HEADER = "date,open,high,low,close,volume\n"
GOOD = "2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,12,10,11,200\n"


class _Idle(bt.Strategy):
    def next(self) -> None:
        pass


def _run(lib: ModuleType, path: Path, **params: Any) -> Any:
    """Run an idle strategy on one GenericCSVData feed of ``path``."""
    options: dict[str, Any] = {"dtformat": "%Y-%m-%d", "openinterest": -1, **params}
    cerebro = lib.Cerebro()
    cerebro.adddata(lib.feeds.GenericCSVData(dataname=str(path), **options))
    cerebro.addstrategy(_Idle if lib is bt else lib.Strategy)
    return cerebro.run()


def _feed_error(path: Path, text: str, **params: Any) -> FeedError:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(bt.CompatFeedError) as caught:
        _run(bt, path, **params)
    return caught.value


@pytest.mark.parametrize(
    ("text", "params", "where", "reason", "field", "kind"),
    [
        (
            HEADER + GOOD + "2020-01-06,11,12,10,abc,300\n",
            {},
            ":4: column 4 (close)",
            "'abc' is not a number",
            "close",
            "bad_row",
        ),
        (
            HEADER + "2020-13-02,10,11,9,10.5,100\n",
            {},
            ":2: column 0 (datetime)",
            "'2020-13-02' does not match dtformat '%Y-%m-%d'",
            "datetime",
            "bad_row",
        ),
        (
            HEADER + GOOD + "2020-02-30,10,11,9,10.5,100\n",
            {},
            ":4: column 0 (datetime)",
            "'2020-02-30' does not fit dtformat '%Y-%m-%d': day is out of range for month",
            "datetime",
            "bad_row",
        ),
        (
            "date,time,open,high,low,close\n2020-01-02,25:00:00,10,11,9,10.5\n",
            {"time": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": -1},
            ":2: columns 0 and 1 (datetime, time)",
            "'2020-01-02T25:00:00' does not match dtformat + 'T' + tmformat '%Y-%m-%dT%H:%M:%S'",
            "datetime",
            "bad_row",
        ),
        (
            "date,open,high,low,close\n2020-01-02,10,11,9,10.5\n",
            {},
            ":2: column 5 (volume)",
            "missing, the row has 5 fields; pass volume=-1 if the file has no volume column",
            "volume",
            "missing_column",
        ),
        (
            HEADER + "2020-01-02,10,11,9,10.5,100\n",
            {"openinterest": 6},
            ":2: column 6 (openinterest)",
            "missing, the row has 6 fields; pass openinterest=-1 if the file has no "
            "openinterest column",
            "openinterest",
            "missing_column",
        ),
        (
            HEADER + GOOD + "2020-01-06,11,12\n",
            {},
            ":4: column 3 (low)",
            "missing, the row has 3 fields",
            "low",
            "bad_row",
        ),
        (
            HEADER + GOOD + "2020-01-06,11,12,10,,300\n",
            {},
            ":4: column 4 (close)",
            "empty or NaN; the core needs a price on every bar",
            "close",
            "bad_row",
        ),
        (
            HEADER + GOOD + "2020-01-03,11,12,10,11,300\n",
            {},
            ":4: column 0 (datetime)",
            "2020-01-03 23:59:59.999990 is not after the previous bar's "
            "2020-01-03 23:59:59.999990: bar times must strictly increase",
            "datetime",
            "non_monotonic_time",
        ),
        (
            GOOD + "20200106,11,12,10,11,300\n",
            {"headers": False},
            ":3: column 0 (datetime)",
            "'20200106' does not match dtformat '%Y-%m-%d'",
            "datetime",
            "bad_row",
        ),
        (
            "t,o,h,l,c\n1577923200,10,11,9,10.5\n1577923260.5x,10,11,9,10.5\n",
            {"dtformat": 2, "volume": -1},
            ":3: column 0 (datetime)",
            "'1577923260.5x' is not a Unix timestamp (dtformat=2)",
            "datetime",
            "bad_row",
        ),
    ],
)
def test_a_bad_row_names_file_line_column_and_value(
    tmp_path: Path,
    text: str,
    params: dict[str, Any],
    where: str,
    reason: str,
    field: str,
    kind: str,
) -> None:
    path = tmp_path / "bars.csv"
    err = _feed_error(path, text, **params)
    assert str(err) == f"{path}{where}: {reason}"
    assert err.source == str(path)
    assert err.line == int(where.split(":")[1])
    assert err.field == field
    assert err.kind == kind
    # one class for the native feeds' errors and the layer's
    assert isinstance(err, FeedError)
    assert isinstance(err, InputError)
    assert isinstance(err, bt.CompatError)


@pytest.mark.parametrize(
    ("text", "params"),
    [
        (HEADER + GOOD + "2020-01-06,11,12,10,abc,300\n", {}),
        (HEADER + "2020-13-02,10,11,9,10.5,100\n", {}),
        (HEADER + GOOD + "2020-01-06,11,12\n", {}),
        (HEADER + "2020-01-02,10,11,9,10.5,100\n", {"openinterest": 6}),
    ],
)
def test_backtrader_refuses_the_same_rows(
    tmp_path: Path, text: str, params: dict[str, Any]
) -> None:
    """Where the layer names the row, Backtrader fails too: the layer refuses nothing more."""
    path = tmp_path / "bars.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises((ValueError, IndexError)):
        _run(real_bt, path, **params)
    with pytest.raises(bt.CompatFeedError):
        _run(bt, path, **params)


def test_a_bad_row_outside_fromdate_todate_is_not_refused(tmp_path: Path) -> None:
    """Only bars that reach the core need a price; Backtrader reads the rest as NaN too."""
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + "2019-12-31,1,1,1,,1\n" + GOOD, encoding="utf-8")
    import datetime as dt

    (strat,) = _run(bt, path, fromdate=dt.date(2020, 1, 1))
    assert len(strat) == 2


def test_a_feed_without_a_price_column_says_which(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    err = _feed_error(path, HEADER + GOOD, open=-1)
    assert str(err) == (
        f"{path}: no open column (open=-1); the core needs open, high, low and close on every bar"
    )
    assert err.line is None


def test_a_dtformat_function_that_fails_is_located(tmp_path: Path) -> None:
    def parse(text: str) -> Any:
        return pd.Timestamp(text).to_pydatetime() if text != "bad" else int(text)

    path = tmp_path / "bars.csv"
    err = _feed_error(path, HEADER + GOOD + "bad,1,1,1,1,1\n", dtformat=parse)
    assert str(err) == (
        f"{path}:4: column 0 (datetime): dtformat failed on 'bad': "
        "ValueError: invalid literal for int() with base 10: 'bad'"
    )


def test_a_file_that_is_not_utf8_says_after_which_line(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes((HEADER + GOOD).encode() + b"2020-01-06,\xff\xfe,1,1,1,1\n")
    with pytest.raises(bt.CompatFeedError) as caught:
        _run(bt, path)
    message = str(caught.value)
    assert re.fullmatch(rf"{re.escape(str(path))}: not UTF-8 text after line \d", message)


# --------------------------------------------------------------------------- missing data file


def test_a_missing_data_file_fails_when_the_feed_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(bt.CompatFeedError) as caught:
        bt.feeds.GenericCSVData(dataname="nope.csv")
    assert str(caught.value) == "nope.csv: no such data file"
    assert caught.value.source == "nope.csv"
    assert caught.value.line is None
    with pytest.raises(bt.CompatFeedError) as caught:
        bt.feeds.GenericCSVData(dataname=tmp_path / "sub" / "nope.csv")  # a Path works too
    assert str(caught.value) == f"{tmp_path / 'sub' / 'nope.csv'}: no such data file"
    with pytest.raises(bt.CompatFeedError) as caught:
        bt.feeds.GenericCSVData(dataname=str(tmp_path))
    assert str(caught.value) == f"{tmp_path}: is a directory, not a data file"


def test_a_data_file_removed_before_the_run_fails_at_run(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.GenericCSVData(dataname=str(path), dtformat="%Y-%m-%d"))
    cerebro.addstrategy(_Idle)
    path.unlink()
    with pytest.raises(bt.CompatFeedError, match=f"^{re.escape(str(path))}: no such data file$"):
        cerebro.run()


def test_a_feed_without_a_usable_dataname_or_separator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(bt.CompatError) as caught:
        bt.feeds.GenericCSVData()
    assert str(caught.value) == "GenericCSVData needs dataname=<the path of a CSV file>, got None"
    path = tmp_path / "bars.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    with pytest.raises(bt.CompatError) as caught:
        bt.feeds.GenericCSVData(dataname=str(path), separator="::")
    assert str(caught.value) == (
        "GenericCSVData(separator='::'): the layer reads one-character separators only"
    )


# --------------------------------------------------------------------------- PandasData


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 100 + np.cumsum(rng.integers(-2, 3, 40))
    return pd.DataFrame(
        {
            "Open": close - 1.0,
            "High": close + 2.0,
            "Low": close - 2.0,
            "Close": close + 0.5 * rng.integers(-2, 3, 40),
            "Volume": rng.integers(100, 900, 40),
        },
        index=pd.bdate_range("2022-01-03", periods=40),
    )


def _pandas_error(df: pd.DataFrame, **params: Any) -> bt.CompatError:
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=df, **params))
    cerebro.addstrategy(_Idle)
    with pytest.raises(bt.CompatError) as caught:
        cerebro.run()
    return caught.value


def test_pandas_data_errors_name_row_and_column() -> None:
    df = _frame().astype({"Close": object})
    df.iloc[3, df.columns.get_loc("Close")] = "n/a"
    err = _pandas_error(df)
    assert str(err) == "PandasData row 3: column 'Close': 'n/a' is not a number"
    df = _frame()
    df.iloc[5, df.columns.get_loc("High")] = float("nan")
    err = _pandas_error(df)
    assert (
        str(err)
        == "PandasData row 5: column 'High': empty or NaN; the core needs a price on every bar"
    )
    assert str(_pandas_error(_frame().drop(columns=["Low"]))) == (
        "PandasData: no low column (low=-1); the core needs open, high, low and close on every bar"
    )
    assert str(_pandas_error(_frame(), datetime="Date")) == (
        "PandasData(datetime='Date'): no such column "
        "(found 'Open', 'High', 'Low', 'Close', 'Volume')"
    )
    assert str(_pandas_error(_frame(), close=7)) == (
        "PandasData(close=7): the DataFrame has only 5 columns"
    )
    assert str(_pandas_error(_frame(), close="Px")) == (
        "PandasData(close='Px'): no such column (found 'Open', 'High', 'Low', 'Close', 'Volume')"
    )


# --------------------------------------------------------------------------- from the command line


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "strategy.py"
    path.write_text(
        "import lockstep.runtime.compat.backtrader as bt\n\n" + textwrap.dedent(body),
        encoding="utf-8",
    )
    return path


MISSING_FILE = """
    class Idle(bt.Strategy):
        def next(self):
            pass

    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.GenericCSVData(dataname="nope.csv"))
    cerebro.addstrategy(Idle)
    cerebro.run()
"""


def _python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOCKSTEP_DEBUG"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_the_runner_reports_a_missing_data_file_in_one_line(tmp_path: Path) -> None:
    script = _script(tmp_path, MISSING_FILE)
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader", str(script))
    assert done.returncode == 2
    assert done.stderr == "lockstep: error: nope.csv: no such data file\n"
    assert done.stdout == ""


def test_the_runner_reports_a_missing_name_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bars.csv").write_text(HEADER + GOOD, encoding="utf-8")
    script = _script(
        tmp_path,
        """
        class Trend(bt.Strategy):
            def __init__(self):
                self.adx = bt.ind.ADX(self.data)

        cerebro = bt.Cerebro()
        data = bt.feeds.GenericCSVData(dataname="bars.csv", dtformat="%Y-%m-%d", openinterest=-1)
        cerebro.adddata(data)
        cerebro.addstrategy(Trend)
        cerebro.run()
        """,
    )
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader", str(script))
    assert done.returncode == 2
    assert done.stderr == "lockstep: error: " + (
        f"bt.indicators.ADX: Backtrader has it, the Lockstep layer does not; {WHERE}\n"
    )


def test_the_runner_runs_a_script_as_main_with_its_arguments(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        """
        import sys
        if __name__ == "__main__":
            print(sys.argv[1:], bt.ind.SMA.__name__)
        """,
    )
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader", str(script), "a", "-b")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a', '-b'] MovingAverageSimple\n"


def test_the_runner_keeps_the_traceback_of_the_scripts_own_errors(tmp_path: Path) -> None:
    script = _script(tmp_path, "raise KeyError('mine')\n")
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader", str(script))
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert done.stderr.rstrip().endswith("KeyError: 'mine'")


def test_the_runner_refuses_a_missing_script(tmp_path: Path) -> None:
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader", "gone.py")
    assert (done.returncode, done.stderr) == (2, "lockstep: error: gone.py: no such script\n")
    done = _python(tmp_path, "-m", "lockstep.runtime.compat.backtrader")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: python -m lockstep.runtime.compat.backtrader")


def test_run_directly_the_traceback_ends_with_the_same_message(tmp_path: Path) -> None:
    script = _script(tmp_path, MISSING_FILE)
    done = _python(tmp_path, str(script))
    assert done.returncode == 1
    assert done.stderr.rstrip().splitlines()[-1] == (
        "lockstep.runtime.compat.backtrader.errors.CompatFeedError: nope.csv: no such data file"
    )


def test_lockstep_backtest_points_a_backtrader_script_to_its_runner(tmp_path: Path) -> None:
    """``lockstep backtest`` takes Strategy classes; a Backtrader script is told how to run."""
    script = Path(__file__).resolve().parents[2] / "examples" / "backtrader_sma.py"
    result = subprocess.run(
        [sys.executable, "-m", "lockstep.runtime.cli", "backtest", str(script), "--data", "daily",
         "--no-report", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and not (tmp_path / "out").exists()
    assert (
        f"defines no Strategy subclass; it uses the Backtrader layer: run such a script with "
        f"python -m lockstep.runtime.compat.backtrader {script}" in result.stderr
    )
