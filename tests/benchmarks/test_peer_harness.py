"""The peer benchmark keeps working and keeps its engines honest (no timing is ever checked).

- the harness in ``--quick`` form, on whichever engines this venv has
  (Backtrader, Lockstep's event-native API and its Backtrader layer always;
  the rust backend, backtesting.py and NautilusTrader where installed),
  writes its result files and every engine that ran agrees;
- the data generator is deterministic, prefix-stable, valid and free of the
  ties that would let float engines part from exact ones;
- the agreement check flags an engine that disagrees and never ranks it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_peers  # noqa: E402 - benchmarks/ is not a package; its scripts do the same
from lockstep.adapters import load_dataset  # noqa: E402
from peers import data as peer_data  # noqa: E402
from peers.spec import STRATEGIES, Outcome  # noqa: E402

ALWAYS = {"backtrader", "lockstep-python", "lockstep-python+store", "lockstep-bt-python"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("peers-out")
    cache = tmp_path_factory.mktemp("peers-data")
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_peers.py"),
            *("--quick", "--no-others", "--bars", "300"),
            *("--out", str(out), "--data-dir", str(cache)),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout


@pytest.mark.parametrize("scenario", ["1a", "1b"])
@pytest.mark.parametrize("strategy", ["sma", "rsi"])
def test_quick_run_writes_agreeing_results(
    quick_run: tuple[Path, str], scenario: str, strategy: str
) -> None:
    out, _ = quick_run
    result = json.loads((out / f"peers_{scenario}_{strategy}.json").read_text())
    for top in ("benchmark", "date", "machine", "commit", "baseline", "params", "results"):
        assert top in result
    assert result["baseline"]["name"] == "backtrader"
    assert result["params"]["bars_per_instrument"] == 300
    assert result["params"]["strategy_params"] == STRATEGIES[strategy].params
    rows = {row["engine"]: row for row in result["results"]}
    assert set(rows) >= ALWAYS
    agreement = result["agreement"]
    assert agreement["anchors_agree"] and agreement["disagreeing"] == []
    assert agreement["trades"] > 0
    for name, row in rows.items():
        assert row["agrees"] is True, (name, row)
        assert (row["trades"], row["final_equity"]) == (
            agreement["trades"],
            agreement["final_equity"],
        )
        assert row["seconds_total_min"] <= row["seconds_total_median"] <= row["seconds_total_max"]
        assert row["bars"] == 300 * (10 if scenario == "1b" else 1)
        assert row["peak_rss_mib"] > 0 and isinstance(row["ratio"], float)
        assert name in result["engine_notes"]
    assert rows["backtrader"]["ratio"] == 1.0
    for name, reason in result["skipped"].items():
        assert name not in rows and reason
    assert set(rows) | set(result["skipped"]) >= ALWAYS | {"lockstep-rust", "lockstep-bt-rust"}


def test_quick_run_writes_a_markdown_summary(quick_run: tuple[Path, str]) -> None:
    out, stdout = quick_run
    text = (out / "peers.md").read_text()
    assert text.count("| backtrader | yes |") == 4
    assert "peers.md" in stdout


# --------------------------------------------------------------------------- data


def test_generated_data_is_deterministic_and_prefix_stable(tmp_path: Path) -> None:
    first = peer_data.dataset(2, 400, cache=tmp_path / "a")
    again = peer_data.dataset(2, 400, cache=tmp_path / "b")
    half = peer_data.dataset(2, 200, cache=tmp_path / "a")
    for one, two, short in zip(first.files, again.files, half.files, strict=True):
        assert one.read_bytes() == two.read_bytes()
        assert one.read_text().splitlines()[:201] == short.read_text().splitlines()
    assert peer_data.dataset(2, 400, cache=tmp_path / "a").directory == first.directory


def test_generated_bars_are_valid_and_lockstep_reads_them(tmp_path: Path) -> None:
    data = peer_data.dataset(3, 2_000, cache=tmp_path)
    for path in data.files:
        rows = list(csv.DictReader(path.open()))
        assert len(rows) == 2_000
        for row in rows:
            o, h, lo, c = (Decimal(row[k]) for k in ("open", "high", "low", "close"))
            assert 0 < lo <= min(o, c) and max(o, c) <= h
            assert all(len(row[k].split(".")[1]) == 2 for k in ("open", "high", "low", "close"))
            assert int(row["volume"]) > 0 and row["timestamp"].endswith("Z")
    dataset = load_dataset(data.directory)
    assert [i.id for i in dataset.instruments] == list(data.instruments)
    assert dataset.currencies == (("USD", 2),)


def test_long_walks_stay_near_100() -> None:
    closes = [bar[3] for bar in peer_data.bars_for(peer_data.SEED, 0, 200_000)]
    assert min(closes) > 5_000 and max(closes) < 20_000


def test_no_sma_tie_and_no_rsi_near_a_threshold() -> None:
    """Recomputed here independently (exact SMA sums, a fresh RSI), on several instruments."""
    sma, rsi = STRATEGIES["sma"].params, STRATEGIES["rsi"].params
    fast, slow, period = sma["fast"], sma["slow"], rsi["period"]
    for instrument in range(3):
        closes = [bar[3] for bar in peer_data.bars_for(peer_data.SEED, instrument, 5_000)]
        for t in range(slow - 1, len(closes)):
            window = closes[t - slow + 1 : t + 1]
            assert sum(window[-fast:]) * slow != sum(window) * fast, (instrument, t)
        changes = [b - a for a, b in itertools.pairwise(closes)]
        gain = sum(max(c, 0) for c in changes[:period]) / period
        loss = sum(max(-c, 0) for c in changes[:period]) / period
        for n, change in enumerate(changes[period - 1 :]):
            if n:
                gain = (gain * (period - 1) + max(change, 0)) / period
                loss = (loss * (period - 1) + max(-change, 0)) / period
            if loss:
                value = 100 - 100 / (1 + gain / loss)
                assert abs(value - rsi["lower"]) > 1e-7 and abs(value - rsi["upper"]) > 1e-7


# --------------------------------------------------------------------------- agreement


def _outcome(engine: str, trades: int, equity: str, seconds: float = 1.0) -> Outcome:
    return Outcome(
        engine=engine,
        strategy="sma",
        scenario="1a",
        trades=trades,
        final_equity=equity,
        bars=1_000,
        seconds_total=seconds,
        seconds_loop=seconds / 2,
        peak_rss_mib=50.0,
    )


def _rows(runs: dict[str, list[Outcome]]) -> dict[str, dict[str, object]]:
    verdicts = bench_peers.check_agreement(runs)
    rows = [bench_peers.row_for(name, runs[name], verdicts[name], None) for name in runs]
    bench_peers.add_ratios(rows)
    return {str(row["engine"]): row for row in rows}


def test_a_disagreeing_engine_is_flagged_and_not_ranked() -> None:
    rows = _rows(
        {
            "backtrader": [_outcome("backtrader", 12, "100.00", 2.0)],
            "lockstep-python": [_outcome("lockstep-python", 12, "100.00", 1.0)],
            "fast-but-wrong": [_outcome("fast-but-wrong", 13, "99.50", 0.1)],
        }
    )
    assert rows["backtrader"]["ratio"] == 1.0 and rows["lockstep-python"]["ratio"] == 2.0
    wrong = rows["fast-but-wrong"]
    assert wrong["agrees"] is False and wrong["ratio"] is None
    assert "bars_per_s" not in wrong and "seconds_total_median" not in wrong
    assert wrong["differs"] == {
        "trades": {"got": [13], "expected": 12},
        "final_equity": {"got": ["99.50"], "expected": "100.00"},
    }


def test_an_engine_whose_runs_differ_disagrees_even_if_one_run_matches() -> None:
    rows = _rows(
        {
            "backtrader": [_outcome("backtrader", 5, "1.00")],
            "flaky": [_outcome("flaky", 5, "1.00"), _outcome("flaky", 5, "1.01")],
        }
    )
    assert rows["flaky"]["agrees"] is False
    assert rows["flaky"]["differs"]["between_runs"] == [[5, "1.00"], [5, "1.01"]]  # type: ignore[index]


def test_without_backtrader_lockstep_python_is_the_reference() -> None:
    rows = _rows(
        {
            "lockstep-python": [_outcome("lockstep-python", 3, "7.00", 2.0)],
            "lockstep-rust": [_outcome("lockstep-rust", 3, "7.00", 1.0)],
        }
    )
    assert rows["lockstep-python"]["ratio"] == 1.0 and rows["lockstep-rust"]["ratio"] == 2.0


def test_a_lockstep_disagreement_fails_the_run_but_a_peers_does_not() -> None:
    runs = {
        "backtrader": [_outcome("backtrader", 5, "1.00")],
        "lockstep-python": [_outcome("lockstep-python", 5, "1.00")],
        "lockstep-rust": [_outcome("lockstep-rust", 6, "1.00")],
        "some-peer": [_outcome("some-peer", 4, "1.00")],
    }
    verdicts = bench_peers.check_agreement(runs)
    rows = [bench_peers.row_for(n, runs[n], verdicts[n], None) for n in runs]
    result = {"params": {"scenario": "1a", "strategy": "sma"}, "results": rows, "skipped": {}}

    args = argparse.Namespace(quick=True, required=list(bench_peers.REQUIRED))
    problems = bench_peers.failures(result, list(runs), {}, args)
    assert any("lockstep-rust disagrees" in p for p in problems)
    assert any("lockstep-bt-python did not run" in p for p in problems)
    assert not any("some-peer" in p for p in problems)
