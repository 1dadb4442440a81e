"""Input that used to run and print a plausible result is refused: exit 2, saying what and where.

Three cases, each through the command line (a subprocess) and the API:

- starting cash that is not above zero (``--cash``, the config file's
  ``cash``, ``setup_for(cash=...)``), refused before anything is written;
- an instrument with no data (a CSV with only a header, a Parquet file with
  no rows), refused before the run reports anything, and the run store says
  the run failed;
- ``--skip-bad-rows`` skipping more than ``--max-skip-share`` (default 1 %)
  of a feed's rows; up to the limit the run passes and the summary shows the
  skipped rows per file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lockstep.adapters import FeedError, load_dataset, setup_for
from lockstep.core import CoreSetup, SetupError, build_core
from lockstep.runtime import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.store import RunStore
from runtime_kit import LOT, TST, daily_rows, run_cli, write_dataset


def dated_rows(count: int, bad: Collection[int] = ()) -> list[list[str]]:
    """``count`` daily TST rows from 2024-01-01; rows numbered in ``bad`` have a 3-decimal close."""
    rows = []
    for n in range(count):
        close = "10.001" if n in bad else f"{10 + (n % 7) / 100:.2f}"
        day = date(2024, 1, 1) + timedelta(days=n)
        rows.append([f"{day}T21:00:00Z", "10.00", "10.10", "9.90", close, "1000"])
    return rows


def backtest(data: Path, out: Path, *extra: str) -> list[str]:
    return ["backtest", "sma_cross", "--data", str(data), "--out", str(out), *extra]


def status_of(db: Path) -> tuple[str, str]:
    with RunStore.open(db) as store:
        meta = store.meta()
    return str(meta["status"]), str(meta.get("error"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data", {"TST": dated_rows(20)})


# --------------------------------------------------------------------------- starting cash


@pytest.mark.parametrize("cash", ["0", "-5", "0.00"])
def test_cash_flag_not_above_zero_exits_2_before_writing(
    data: Path, tmp_path: Path, cash: str
) -> None:
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out, "--cash", cash))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"lockstep: error: --cash must be an amount of money above 0, got '{cash}'\n"
    )
    assert result.stdout == "" and not out.exists()


@pytest.mark.parametrize(("written", "shown"), [("0", "0"), ("-100.5", "-100.5"), ('"0"', "0")])
def test_config_cash_not_above_zero_names_the_file_and_key(
    data: Path, tmp_path: Path, written: str, shown: str
) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        f'strategy = "sma_cross"\ndata = "./data"\nout = "out"\ncash = {written}\n', "utf-8"
    )
    result = run_cli("backtest", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr == (
        f"lockstep: error: {config}: key 'cash' must be an amount of money above 0, got '{shown}'\n"
    )
    assert not (tmp_path / "out").exists()
    fixed = run_cli("backtest", "--config", str(config), "--cash", "500", "--no-report")
    assert fixed.returncode == 2  # the file is refused on loading, whatever the flags say


@pytest.mark.parametrize("cash", [0, "0", "-5", Decimal("0.00"), Decimal("-0.01")])
def test_setup_for_refuses_cash_not_above_zero(data: Path, cash: object) -> None:
    with pytest.raises(SetupError) as info:
        setup_for(data, cash=cash)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"setup $.starting_cash: the cash argument must be an amount of money above 0, got '{cash}'"
    )


def test_the_core_itself_still_accepts_any_starting_cash(data: Path) -> None:
    """The rule belongs to backtest setups; core setups (and the golden cases) are untouched."""
    setup = {**setup_for(data, cash="0.01"), "starting_cash": {"USD": 0}}
    assert CoreSetup.from_dict(setup).starting_cash == {"USD": 0}
    assert build_core(setup).snapshot()["business"]["cash"] == {"USD": 0}


@pytest.mark.parametrize("units", [0, -100])
def test_run_backtest_refuses_a_hand_made_setup_without_cash(
    data: Path, tmp_path: Path, units: int
) -> None:
    """Setups built by hand (or by the Backtrader layer) skip setup_for: run_backtest checks too."""
    setup = {**setup_for(data, cash="0.01"), "starting_cash": {"USD": units}}
    with pytest.raises(SetupError, match=f"USD starts at {units} money units"):
        run_backtest(SmaCross(), data, setup, store=tmp_path / "run.db")
    assert not (tmp_path / "run.db").exists()


# --------------------------------------------------------------------------- no data


def test_a_csv_with_only_a_header_fails_the_run_naming_file_and_instrument(
    tmp_path: Path,
) -> None:
    bars = daily_rows([("10.00", "10.50", "9.50", "10.05")] * 3)
    data = write_dataset(tmp_path / "d", {"TST": [], "LOT": bars}, [TST, LOT])
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out))
    assert result.returncode == 2
    message = (
        f"{data / 'TST.csv'}: instrument TST: the file has a header but no data rows; "
        "every instrument needs at least one bar"
    )
    assert result.stderr == f"lockstep: error: {message}\n"
    assert "final equity" not in result.stdout  # no summary of a run that cannot mean anything
    assert not (out / "trades.csv").exists() and not (out / "report.html").exists()
    assert status_of(out / "run.db") == ("failed", f"FeedError: {message}")
    shown = run_cli("runs", "show", str(out / "run.db"))
    assert shown.returncode == 0 and f"FeedError: {message}" in shown.stdout


def test_run_backtest_refuses_an_empty_csv_and_marks_the_store_failed(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": []})
    db = tmp_path / "run.db"
    with pytest.raises(FeedError) as info:
        run_backtest(SmaCross(), data, setup_for(data), store=db)
    assert info.value.kind == "no_data" and info.value.file == str(data / "TST.csv")
    assert status_of(db)[0] == "failed"


PARQUET_SOURCE = """
from pathlib import Path

from lockstep.adapters import InstrumentSpec
from lockstep.adapters.feeds import ParquetBarFeed
from lockstep.runtime.extensions import Source, SourceSpec

TST = InstrumentSpec("TST", "sim", "USD", price_precision=2, size_precision=0)


def lake(path):
    return Source(
        [TST], {"USD": 2}, lambda skip: [ParquetBarFeed(Path(path), TST, skip_policy=skip)]
    )


LAKE = SourceSpec("lake", lake, "one Parquet file")
"""


def test_a_parquet_file_without_rows_fails_the_run(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "lake.py").write_text(textwrap.dedent(PARQUET_SOURCE), encoding="utf-8")
    schema = pa.schema(
        [("timestamp", pa.timestamp("ns", tz="UTC"))]
        + [(c, pa.string()) for c in ("open", "high", "low", "close")]
        + [("volume", pa.int64())]
    )
    empty = tmp_path / "TST.parquet"
    pq.write_table(schema.empty_table(), empty)
    out = tmp_path / "out"
    result = run_cli(
        "backtest", "sma_cross", "--data", "lake", "--data-option", f"path={empty}",
        "--extensions-dir", str(ext), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"lockstep: error: {empty}: instrument TST: the file has no rows; "
        "every instrument needs at least one bar\n"
    )
    assert status_of(out / "run.db")[0] == "failed"


# --------------------------------------------------------------------------- skipped rows


def test_skipping_up_to_the_limit_passes_and_shows_the_count_per_file(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": dated_rows(100, bad={50})})
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out, "--skip-bad-rows", "--no-report"))
    assert result.returncode == 0, result.stderr
    row = f"skipped rows    1 of 100 (1.00 %) in {data / 'TST.csv'}: bad_row 1"
    assert row in result.stdout.splitlines()
    assert f"lockstep: warning: {data / 'TST.csv'}: skipped 1 rows" in result.stderr
    shown = run_cli("runs", "show", str(out / "run.db"))
    assert row in shown.stdout.splitlines()


def test_every_file_gets_its_own_skipped_row(tmp_path: Path) -> None:
    tst = dated_rows(30, bad={3})
    lot = [[*r[:4], "10.05", r[5]] for r in dated_rows(20)]
    lot[7][4] = "10.03"  # off LOT's 0.05 tick
    data = write_dataset(tmp_path / "d", {"TST": tst, "LOT": lot}, [TST, LOT])
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out, "--skip-bad-rows", "--max-skip-share", "0.05"))
    assert result.returncode == 0, result.stderr
    shown = run_cli("runs", "show", str(out / "run.db")).stdout.splitlines()
    for lines in (result.stdout.splitlines(), shown):
        assert [line for line in lines if line.startswith("skipped rows")] == [
            f"skipped rows    1 of 30 (3.33 %) in {data / 'TST.csv'}: bad_row 1",
            f"skipped rows    1 of 20 (5.00 %) in {data / 'LOT.csv'}: off_tick 1",
        ]


def test_skipping_more_than_the_limit_fails_with_the_numbers(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": dated_rows(100, bad={50, 60})})
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out, "--skip-bad-rows"))
    assert result.returncode == 2
    assert result.stderr == (
        f"lockstep: error: {data / 'TST.csv'}: skipped rows: 2 of 100 rows were malformed and "
        "skipped (2 %), more than the limit of 1 % of a feed's rows (max skip share 0.01): "
        "bad_row 2 (lines 52, 62). Fix the data, or raise the limit to at least 0.02 with "
        "--max-skip-share on the command line, max_skip_share in a config file or API call\n"
    )
    assert "final equity" not in result.stdout and not (out / "trades.csv").exists()
    assert status_of(out / "run.db")[0] == "failed"
    raised = run_cli(
        *backtest(data, tmp_path / "o2", "--skip-bad-rows", "--max-skip-share", "0.02")
    )
    assert raised.returncode == 0, raised.stderr
    assert "skipped rows    2 of 100 (2.00 %)" in raised.stdout


def test_the_config_file_sets_the_limit_and_the_flag_overrides_it(tmp_path: Path) -> None:
    write_dataset(tmp_path / "data", {"TST": dated_rows(10, bad={4})})
    config = tmp_path / "run.toml"
    config.write_text(
        'strategy = "sma_cross"\ndata = "./data"\nskip_bad_rows = true\n'
        "max_skip_share = 0.1\nreport = false\n",
        encoding="utf-8",
    )
    ok = run_cli("backtest", "--config", str(config), "--out", str(tmp_path / "o1"))
    assert ok.returncode == 0, ok.stderr
    assert "skipped rows    1 of 10 (10.00 %)" in ok.stdout
    stricter = run_cli(
        "backtest",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "o2"),
        "--max-skip-share",
        "0.05",
    )
    assert stricter.returncode == 2
    assert "1 of 10 rows were malformed and skipped (10 %), more than the limit of 5 %" in (
        stricter.stderr
    )


@pytest.mark.parametrize("value", ["5", "-0.1", "abc", "1%"])
def test_a_bad_limit_on_the_command_line_exits_2_before_writing(
    data: Path, tmp_path: Path, value: str
) -> None:
    out = tmp_path / "out"
    result = run_cli(*backtest(data, out, "--max-skip-share", value))
    assert result.returncode == 2
    assert result.stderr == (
        "lockstep: error: --max-skip-share must be a fraction from 0 to 1 (0.01 is 1 %), "
        f"got '{value}'\n"
    )
    assert not out.exists()


def test_a_bad_limit_in_the_config_file_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('strategy = "sma_cross"\ndata = "daily"\nmax_skip_share = 1.5\n', "utf-8")
    result = run_cli("backtest", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr == (
        f"lockstep: error: {config}: key 'max_skip_share' must be a fraction from 0 to 1 "
        "(0.01 is 1 %), got '1.5'\n"
    )


def test_run_backtest_holds_every_feed_to_the_limit(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", {"TST": dated_rows(50, bad={10})})
    setup = setup_for(data)
    db = tmp_path / "run.db"
    with pytest.raises(FeedError) as info:
        run_backtest(SmaCross(), data, setup, skip_policy="skip", store=db)
    assert info.value.kind == "too_many_skipped" and "1 of 50 rows" in str(info.value)
    assert status_of(db)[0] == "failed"
    result = run_backtest(SmaCross(), data, setup, skip_policy="skip", max_skip_share="0.02")
    assert [(s["total"], s["rows"]) for s in result.skipped] == [(1, 50)]
    feeds = load_dataset(data).feeds(skip_policy="skip")  # feeds built by the caller, too
    with pytest.raises(FeedError, match="more than the limit of 1 %"):
        run_backtest(SmaCross(), feeds, setup)


def test_run_backtest_refuses_a_bad_limit_before_writing(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with pytest.raises(ValueError, match=r"must be a fraction from 0 to 1"):
        run_backtest(SmaCross(), data, setup_for(data), store=db, max_skip_share="2")
    assert not db.exists()
