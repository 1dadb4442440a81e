"""Run configuration files: every key, exact decimals, relative paths, and errors naming the key."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstep.runtime.config import KEYS, ConfigError, RunConfig, load_config, parse_config

FULL = """
strategy = "strategies/mine.py:Mine"
data = "./data"
cash = 2500.50
fee_ppm = 100
participation_bps = 500
engine = "python"
out = "runs/x"
overwrite = true
skip_bad_rows = false
max_skip_share = 0.05
trace = "checkpoints"
warn_rejected_share = 0.25
extensions = ["ext", "/abs/ext"]
strict_extensions = true
sinks = ["csv", "sqlite"]
report = false
progress = false

[params]
fast = 5
allocation = 0.25
flag = true
label = "x"

[data_options]
days = 3
"""


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    cfg = load_config(path)
    assert cfg == RunConfig(
        path=path,
        strategy=f"{tmp_path / 'strategies' / 'mine.py'}:Mine",
        params={"fast": "5", "allocation": "0.25", "flag": "true", "label": "x"},
        data=str(tmp_path / "data"),
        data_options={"days": "3"},
        cash="2500.50",
        fee_ppm=100,
        participation_bps=500,
        engine="python",
        out=tmp_path / "runs" / "x",
        overwrite=True,
        skip_bad_rows=False,
        max_skip_share=Fraction(1, 20),
        trace="checkpoints",
        warn_rejected_share=Fraction(1, 4),
        extensions=(tmp_path / "ext", Path("/abs/ext")),
        strict_extensions=True,
        sinks=("csv", "sqlite"),
        report=False,
        progress=False,
    )
    assert set(KEYS) == {
        "strategy", "params", "data", "data_options", "cash", "fee_ppm", "participation_bps",
        "engine", "out", "overwrite", "skip_bad_rows", "max_skip_share", "trace",
        "warn_rejected_share", "extensions",
        "strict_extensions", "sinks", "report", "progress",
    }  # fmt: skip


def test_an_empty_file_sets_nothing(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == RunConfig(path=tmp_path / "run.toml")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"sma_cross"', "sma_cross"),  # a name stays a name
        ('"pkg.module:Cls"', "pkg.module:Cls"),  # so does module:Class
        ('"mine.py"', "BASE/mine.py"),
        ('"sub/mine.py:Cls"', "BASE/sub/mine.py:Cls"),
        ('"/abs/mine.py"', "/abs/mine.py"),
    ],
)
def test_strategy_paths_are_relative_to_the_file(tmp_path: Path, value: str, expected: str) -> None:
    cfg = load_config(write(tmp_path, f"strategy = {value}\n"))
    assert cfg.strategy == expected.replace("BASE", str(tmp_path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [('"daily"', "daily"), ('"./mine"', "BASE/mine"), ('"a/b"', "BASE/a/b"), ('"/x/y"', "/x/y")],
)
def test_data_paths_are_relative_to_the_file(tmp_path: Path, value: str, expected: str) -> None:
    cfg = load_config(write(tmp_path, f"data = {value}\n"))
    assert cfg.data == expected.replace("BASE", str(tmp_path))


@given(st.decimals(min_value=Decimal("0.0001"), max_value=10**9, places=4, allow_nan=False))
def test_cash_decimals_are_exact_and_positional(amount: Decimal) -> None:
    cfg = parse_config({"cash": amount}, Path("run.toml"))
    assert cfg.cash is not None and "E" not in cfg.cash.upper()
    assert Decimal(cfg.cash) == amount


def test_toml_exponents_become_plain_decimals(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "cash = 1e5\n[params]\nallocation = 2.5e-1\n"))
    assert cfg.cash == "100000" and cfg.params == {"allocation": "0.25"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'strateg = "x"\n',
            "run.toml: unknown key 'strateg' (did you mean 'strategy'?); known keys: strategy, params",
        ),
        ("colour = 1\n", "run.toml: unknown key 'colour'; known keys:"),
        ("fee_ppm = 1.5\n", "run.toml: key 'fee_ppm' must be an integer, got Decimal"),
        ("fee_ppm = true\n", "key 'fee_ppm' must be an integer, got bool True"),
        ("cash = true\n", "key 'cash' must be a number or a decimal string"),
        ('engine = "java"\n', "key 'engine' must be one of python, rust, got 'java'"),
        ('report = "yes"\n', "key 'report' must be true or false, got str 'yes'"),
        ("sinks = [1]\n", "key 'sinks' must be a list of strings"),
        ('strategy = ""\n', "key 'strategy' must be a non-empty string"),
        ("params = 3\n", "key 'params' must be a table, got int 3"),
        ("[params]\nfast = [1, 2]\n", "key 'params.fast' must be a string, number or boolean"),
        ("[params.fast]\nx = 1\n", "key 'params.fast' must be a string, number or boolean"),
        ("strategy = \n", "run.toml: invalid TOML: "),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "run.toml"))


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_extensions_may_be_a_single_string(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'extensions = "ext"\n'))
    assert cfg.extensions == (tmp_path / "ext",)
