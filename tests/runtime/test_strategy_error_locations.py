"""A strategy's mistake is reported at the strategy's own file and line, never at a library line,
even when Lockstep detects it (ctx.buy refusing a float, an unknown instrument, a bad argument);
``LOCKSTEP_DEBUG=1`` adds the full traceback on the command line."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest

import lockstep
from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import Context, Event, Strategy, StrategyError, run_backtest
from lockstep.runtime.blame import Blame
from lockstep.runtime.registry import load_strategy_class
from runtime_kit import TST, daily_rows, run_cli, write_dataset

BARS = [("10.00", "10.10", "9.90", "10.00")] * 3

# Each mistake is on a line ending with its marker; the test finds the line number from it.
STRATEGY = """\
from decimal import Decimal

from lockstep.runtime import Strategy

from helper import size_of


class Careless(Strategy):
    params = {"mistake": "none"}

    def on_event(self, ctx, event):
        self.act(ctx, self.p.mistake)

    def act(self, ctx, mistake):
        if mistake == "float_qty":
            ctx.buy("TST", 1.5)  # <float_qty>
        elif mistake == "float_limit":
            ctx.sell("TST", 1, limit=10.25)  # <float_limit>
        elif mistake == "nan_stop":
            ctx.buy("TST", 1, stop=Decimal("NaN"))  # <nan_stop>
        elif mistake == "bool_qty":
            ctx.buy("TST", True)  # <bool_qty>
        elif mistake == "unknown_instrument":
            ctx.buy("NOPE", 1)  # <unknown_instrument>
        elif mistake == "too_many_decimals":
            ctx.buy("TST", 1, limit="10.001")  # <too_many_decimals>
        elif mistake == "bad_argument":
            ctx.closes("TST", "3")  # <bad_argument>
        elif mistake == "bad_mode":
            ctx.round_price("TST", 10.25, "round")  # <bad_mode>
        elif mistake == "submit_float":
            ctx.submit({"type": "place_order", "qty": 0.5})  # <submit_float>
        elif mistake == "replace_float":
            order = ctx.buy("TST", 1, limit="1.00")
            ctx.replace(order, 2.0)  # <replace_float>
        elif mistake == "helper":
            ctx.buy("TST", size_of(ctx))  # <helper>
        elif mistake == "own_error":
            1 / 0  # <own_error>
"""

HELPER = """\
def size_of(ctx):
    return ctx.qty("TST", 0.5)
"""

MISTAKES = {
    "float_qty": "ctx.buy: qty 1.5 is a float, which is not exact: pass ints (size units), "
    "decimal strings or Decimals, not floats (write '1.5', or put it on the grid with "
    "ctx.round_qty('TST', 1.5, MODE), MODE 'down', 'up' or 'nearest')",
    "float_limit": "ctx.sell: limit 10.25 is a float, which is not exact: pass ints (price units), "
    "decimal strings or Decimals, not floats (write '10.25', or put it on the grid with "
    "ctx.round_price('TST', 10.25, MODE)",
    "nan_stop": "ctx.buy: stop 'NaN' is not a plain decimal number",
    "bool_qty": "ctx.buy: qty True is a bool, not a number",
    "unknown_instrument": "unknown instrument 'NOPE'; the setup has ['TST']",
    "too_many_decimals": "ctx.buy: limit '10.001' has more than 2 decimal places and would be "
    "rounded; put it on the grid with ctx.round_price('TST', '10.001', MODE)",
    "bad_argument": "raised TypeError in on_event: ",
    "bad_mode": "ctx.round_price('TST'): unknown rounding mode 'round'; "
    "use one of 'down', 'up', 'nearest'",
    "submit_float": "ctx.submit: the intent has a float 0.5 at $.qty",
    "replace_float": "ctx.replace: qty 2.0 is a float",
    "helper": "ctx.qty: value 0.5 is a float",
    "own_error": "raised ZeroDivisionError in on_event: division by zero",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("careless")
    (root / "careless.py").write_text(STRATEGY, encoding="utf-8")
    (root / "helper.py").write_text(HELPER, encoding="utf-8")
    write_dataset(root / "data", {"TST": daily_rows(BARS)}, [TST])
    return root


def _line(mistake: str) -> int:
    return next(n for n, text in enumerate(STRATEGY.splitlines(), 1) if f"<{mistake}>" in text)


def _library_dirs() -> list[str]:
    return [os.path.realpath(p) for p in lockstep.__path__]


def _assert_points_at_strategy(message: str, strategy_file: Path, mistake: str) -> None:
    assert MISTAKES[mistake] in message
    located = re.findall(r"\(at (.+?):(\d+)\)", message)
    assert located == [(str(strategy_file), str(_line(mistake)))], message
    for library in _library_dirs():
        assert library not in message
    assert "site-packages/lockstep" not in message


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_api_names_the_strategy_file_and_line(
    project: Path, mistake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(project))  # for `from helper import size_of`
    strategy_file = project / "careless.py"
    cls = load_strategy_class(str(strategy_file))
    data = project / "data"
    with pytest.raises(StrategyError) as caught:
        run_backtest(cls(mistake=mistake), data, setup_for(load_dataset(data), cash="1000"))
    message = str(caught.value)
    assert message.startswith("strategy careless")
    _assert_points_at_strategy(message, strategy_file, mistake)


@pytest.mark.parametrize("mistake", ["float_qty", "unknown_instrument", "bad_argument"])
def test_cli_names_the_strategy_file_and_line(project: Path, mistake: str) -> None:
    strategy_file = project / "careless.py"
    env = {**os.environ, "PYTHONPATH": _pythonpath(project)}
    env.pop("LOCKSTEP_DEBUG", None)
    done = run_cli(
        "backtest", str(strategy_file), "--data", str(project / "data"), "--cash", "1000",
        "--param", f"mistake={mistake}", "--out", str(project / f"out-{mistake}"), "--no-report",
        env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()  # one line, no traceback
    assert line.startswith("lockstep: error: strategy careless")
    _assert_points_at_strategy(line, strategy_file, mistake)


def test_lockstep_debug_prints_the_traceback(project: Path) -> None:
    strategy_file = project / "careless.py"
    env = {**os.environ, "PYTHONPATH": _pythonpath(project), "LOCKSTEP_DEBUG": "1"}
    done = run_cli(
        "backtest", str(strategy_file), "--data", str(project / "data"), "--cash", "1000",
        "--param", "mistake=float_qty", "--out", str(project / "out-debug"), "--no-report",
        env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert f'File "{strategy_file}", line {_line("float_qty")}' in done.stderr
    assert "context.py" in done.stderr  # the full traceback, library frames included
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("lockstep: error: ") and f"{strategy_file}:{_line('float_qty')}" in last


def test_a_strategy_without_a_module_file_is_located_by_its_code(tmp_path: Path) -> None:
    source = STRATEGY.replace("from helper import size_of\n", "")
    namespace: dict[str, object] = {"__name__": "not_a_module"}
    exec(compile(source, "docs/guides/my_strategy.md", "exec"), namespace)
    cls = namespace["Careless"]
    assert isinstance(cls, type)
    data = write_dataset(tmp_path / "d", {"TST": daily_rows(BARS)}, [TST])
    with pytest.raises(StrategyError) as caught:
        run_backtest(cls(mistake="float_qty"), data, setup_for(load_dataset(data), cash="1000"))
    assert f"(at docs/guides/my_strategy.md:{_line('float_qty') - 1})" in str(caught.value)


class ReturnsUnfit(Strategy):
    """Returns intent dicts instead of calling ctx: no line to name but the callback's."""

    params: ClassVar[dict[str, object]] = {"kind": "float"}

    def on_event(self, ctx: Context, event: Event) -> list[dict[str, object]]:
        qty = 1.5 if self.p.kind == "float" else Decimal("1")
        return [{"type": "place_order", "instrument": "TST", "qty": qty}]


@pytest.mark.parametrize(
    ("kind", "words"), [("float", "a float 1.5 at $.qty"), ("decimal", "a Decimal Decimal('1')")]
)
def test_returned_intents_name_the_callback(tmp_path: Path, kind: str, words: str) -> None:
    data = write_dataset(tmp_path / "d", {"TST": daily_rows(BARS)}, [TST])
    with pytest.raises(StrategyError) as caught:
        run_backtest(ReturnsUnfit(kind=kind), data, setup_for(load_dataset(data), cash="1000"))
    line = ReturnsUnfit.on_event.__code__.co_firstlineno
    assert str(caught.value) == (
        f"strategy returns_unfit: on_event (defined at {__file__}:{line}) returned an intent "
        f"with {words}{' at $.qty' if kind == 'decimal' else ''}; the core takes ints "
        "(fixed-point units) only: convert with ctx.price/ctx.qty or ctx.round_price/ctx.round_qty"
    )


def test_blame_prefers_user_code_to_the_library_and_knows_builtin_strategies() -> None:
    """Frame choice on a real traceback: an error raised inside a built-in strategy's code."""
    from lockstep.runtime.builtin.sma_cross import SmaCross

    def user_helper() -> None:
        SmaCross(fast=5, slow=3)  # the built-in refuses fast >= slow

    try:
        user_helper()
    except ValueError as err:
        tb = err.__traceback__
    assert tb is not None and tb.tb_next is not None
    # User code (this file) outranks a library file, even the one that defines the class.
    frame = Blame(SmaCross).frame(tb)
    assert frame is not None and (frame.filename, frame.lineno) == (
        __file__,
        user_helper.__code__.co_firstlineno + 1,
    )
    # Without user frames, the built-in strategy's own file is named, at the line that raised.
    library_only = tb.tb_next.tb_next
    frame = Blame(SmaCross).frame(library_only)
    assert frame is not None and frame.filename.endswith("sma_cross.py") and frame.lineno
    assert "raise ValueError" in Path(frame.filename).read_text().splitlines()[frame.lineno - 1]
    # Nothing to prefer: the innermost frame, as a last resort.
    frame = Blame(StrategyError).frame(library_only)
    assert frame is not None and frame.filename.endswith("sma_cross.py")
    assert Blame(SmaCross).frame(None) is None


def _pythonpath(extra: Path) -> str:
    current = os.environ.get("PYTHONPATH")
    return f"{extra}{os.pathsep}{current}" if current else str(extra)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (  # raised while the class is built from its parameters
            "class BadInit(Strategy):\n    name = 'bad-init'\n\n"
            "    def __init__(self, **kw):\n        super().__init__(**kw)\n"
            "        self.window = int('ten')\n",
            "strategy {path}: ValueError: invalid literal for int() with base 10: 'ten' "
            "(at {path}:9)",
        ),
        (  # raised while the file is imported
            "X = {}['missing']\n",
            "{path}:4: cannot load: KeyError: 'missing'",
        ),
    ],
    ids=["constructor", "import"],
)
def test_errors_before_the_run_name_the_strategy_line(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = tmp_path / "early.py"
    path.write_text("from lockstep.runtime import Strategy\n\n\n" + body, encoding="utf-8")
    done = run_cli("backtest", str(path), "--data", "daily", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr == f"lockstep: error: {expected.format(path=path)}\n"
