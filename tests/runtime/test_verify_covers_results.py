"""``replay verify`` covers everything a user reads: recomputed results, sealed metadata, data.

One tamper case per table and field class; each must fail verification with
the field named. Then what ``runs show`` and ``report`` say about verification,
``verify --data``, and stores that keep the trace as checkpoints only.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import run_backtest, verify_run
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.seal import make_seal
from lockstep.runtime.store import RunStore
from runtime_kit import daily_rows, run_cli, write_dataset

# A series with several crossings and a position still open at the end.
CLOSES = ["10", "10", "10", "9", "12", "13", "11", "8", "9", "12", "14", "15"]
BARS = [("10.00", "16.00", "7.00", c) for c in CLOSES]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A verified run store (through the CLI) and the data it read."""
    base = tmp_path_factory.mktemp("verify_cover")
    data = write_dataset(base / "data", {"TST": daily_rows(BARS)})
    out = base / "run"
    result = run_cli(
        "backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=3",
        "--out", str(out), "--no-report", "--fee-ppm", "1000",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out / "run.db", data


def _copy(pristine: tuple[Path, Path], tmp_path: Path) -> Path:
    target = tmp_path / "run.db"
    shutil.copy(pristine[0], target)
    return target


def _edit(path: Path, table: str, key: str, change: Callable[[Any], Any]) -> None:
    """Rewrite one JSON entry of ``meta`` or ``results`` in place (as a forger would)."""
    conn = sqlite3.connect(path)
    try:
        (text,) = conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        value = change(json.loads(text))
        conn.execute(
            f"UPDATE {table} SET value = ? WHERE key = ?", (json.dumps(value, sort_keys=True), key)
        )
        conn.commit()
    finally:
        conn.close()


def _set(path: tuple[Any, ...], value: object) -> Callable[[Any], Any]:
    def change(data: Any) -> Any:
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return data

    return change


def _sql(path: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(statement, args)
        conn.commit()
    finally:
        conn.close()


# (test id, table, key, change, the text the report must name)
EDITS: list[tuple[str, str, str, Callable[[Any], Any], str]] = [
    ("sharpe", "results", "metrics", _set(("sharpe",), 9.99), "results.metrics.sharpe"),
    (
        "final equity",
        "results",
        "metrics",
        _set(("final_equity",), 10**9),
        "results.metrics.final_equity",
    ),
    ("trade pnl", "results", "trades", _set((0, "pnl"), 123), "results.trades[0].pnl"),
    ("trade dropped", "results", "trades", lambda t: t[1:], "results.trades:"),
    ("equity point", "results", "equity", _set((4, 1), 1), "results.equity[4][1]"),
    (
        "counts",
        "results",
        "counts",
        _set(("rejected_intents",), 7),
        "results.counts.rejected_intents",
    ),
    (
        "rejections",
        "results",
        "rejections",
        _set(("by_reason",), {"PRICE_OFF_TICK": 1}),
        "results.rejections.by_reason.PRICE_OFF_TICK",
    ),
    ("timing", "results", "timing", _set(("elapsed_seconds",), 0.001), "results.timing"),
    ("skipped", "results", "skipped", lambda s: [], "results.skipped"),
    ("last hash", "results", "last_hash", lambda h: "0" * 64, "results.last_hash"),
    ("seal run hash", "results", "seal", _set(("run_hash",), "0" * 64), "results.seal"),
    ("params", "meta", "params", _set(("fast",), 5), "meta.params"),
    ("data digest", "meta", "data_digest", lambda d: "f" * 64, "meta.data_digest"),
    (
        "strategy source",
        "meta",
        "strategy_source",
        _set(("sha256",), "0" * 64),
        "meta.strategy_source",
    ),
    ("strategy", "meta", "strategy", lambda s: "mine:Better", "meta.strategy"),
    ("versions", "meta", "versions", _set(("lockstep-runtime",), "9.9"), "meta.versions"),
    ("engine", "meta", "engine", lambda e: "python ", "meta.engine"),
    ("finished", "meta", "finished", lambda f: "2020-01-01T00:00:00Z", "meta.finished"),
]


@pytest.mark.parametrize(
    ("table", "key", "change", "named"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS]
)
def test_each_edit_a_user_could_see_is_caught_and_named(
    pristine: tuple[Path, Path],
    tmp_path: Path,
    table: str,
    key: str,
    change: Callable[[Any], Any],
    named: str,
) -> None:
    assert verify_run(pristine[0]).ok
    path = _copy(pristine, tmp_path)
    _edit(path, table, key, change)
    report = verify_run(path)
    assert not report.ok and not report.refused
    assert any(p.startswith(named) for p in report.problems), report.problems
    assert named in str(report)


def test_added_and_removed_entries_are_caught(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    _sql(path, "INSERT INTO results VALUES ('alpha', '0.5')")
    _sql(path, "INSERT INTO meta VALUES ('note', '\"audited\"')")
    _sql(path, "DELETE FROM results WHERE key = 'metrics'")
    problems = verify_run(path).problems
    assert "results.alpha: not written by the run (added later)" in problems
    assert "meta.note: added after the run was sealed" in problems
    assert "results.metrics: missing from the store" in problems


def test_a_store_without_a_seal_does_not_verify(
    pristine: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _copy(pristine, tmp_path)
    _sql(path, "DELETE FROM results WHERE key = 'seal'")
    report = verify_run(path)
    assert not report.ok and report.problems[0].startswith("results.seal: missing")


def test_a_recomputed_seal_changes_the_run_hash(
    pristine: tuple[Path, Path], tmp_path: Path
) -> None:
    """The limit stated in the docs: a forger who re-seals passes, but under another run hash."""
    path = _copy(pristine, tmp_path)
    before = verify_run(path).run_hash
    _edit(path, "meta", "params", _set(("fast",), 5))

    with RunStore.open(path) as store:
        meta, results = store.meta(), store.results()
    _edit(path, "results", "seal", lambda _: make_seal(meta, results))
    after = verify_run(path)
    assert after.ok and after.run_hash != before


def test_the_cli_names_the_field_and_exits_1(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    _edit(path, "results", "metrics", _set(("total_return",), 0.5))
    result = run_cli("replay", "verify", str(path))
    assert result.returncode == 1
    assert "results.metrics.total_return: stored 0.5, recomputed" in result.stdout


def test_runs_show_and_report_state_verification(
    pristine: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _copy(pristine, tmp_path)
    shown = run_cli("runs", "show", str(path))
    assert shown.returncode == 0 and "never verified" in shown.stdout

    verified = run_cli("replay", "verify", str(path))
    assert verified.returncode == 0, verified.stdout
    shown = run_cli("runs", "show", str(path))
    assert shown.returncode == 0
    assert "verification" in shown.stdout and "trace, results and metadata match" in shown.stdout

    _edit(path, "meta", "params", _set(("slow",), 30))
    shown = run_cli("runs", "show", str(path))
    assert shown.returncode == 1
    assert "changed since" in shown.stdout and "meta.params" in shown.stdout

    out = tmp_path / "report"
    refused = run_cli("report", str(path), "--out", str(out), "--no-chart")
    assert refused.returncode == 1 and "fails verification" in refused.stderr
    assert not (out / "report.html").exists()

    forced = run_cli("report", str(path), "--out", str(out), "--no-chart", "--unverified")
    assert forced.returncode == 0, forced.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-state="failed"' in page and "meta.params: differs" in page

    shown = run_cli("runs", "show", str(path))
    assert shown.returncode == 1 and "FAILED verification" in shown.stdout


def test_verify_data_checks_the_files(pristine: tuple[Path, Path], tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    data = pristine[1]
    result = run_cli("replay", "verify", str(path), "--data", str(data))
    assert result.returncode == 0 and "data files match" in result.stdout

    changed = tmp_path / "data"
    shutil.copytree(data, changed)
    csv = changed / "TST.csv"
    csv.write_text(csv.read_text().replace("16.00", "16.50", 1))
    result = run_cli("replay", "verify", str(path), "--data", str(changed))
    assert result.returncode == 1
    assert "meta.data_digest: the run read data with digest" in result.stdout
    assert "data TST.csv: the file's contents differ" in result.stdout or (
        "data TST: the file's contents differ" in result.stdout
    )


def test_checkpoint_traces_verify_and_still_catch_edits(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    setup = setup_for(load_dataset(data), cash="10000", fee_ppm=1000)
    full = run_backtest(SmaCross(fast=2, slow=3), data, setup, store=tmp_path / "full.db")
    compact = run_backtest(
        SmaCross(fast=2, slow=3),
        data,
        setup,
        store=tmp_path / "compact.db",
        trace="checkpoints",
        checkpoint_every=5,
    )
    assert compact.results()["metrics"] == full.results()["metrics"]
    conn = sqlite3.connect(tmp_path / "compact.db")
    assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] > 1
    conn.close()

    report = verify_run(tmp_path / "compact.db")
    assert report.ok and report.trace == "checkpoints"
    assert report.records_checked == full.records and report.checkpoints_checked > 1
    assert "records regenerated" in str(report)

    edited = tmp_path / "edited.db"
    shutil.copy(tmp_path / "compact.db", edited)
    _edit(edited, "results", "trades", _set((0, "fees"), 0))
    assert "results.trades[0].fees" in verify_run(edited).problems[0]

    forged = tmp_path / "forged.db"
    shutil.copy(tmp_path / "compact.db", forged)
    conn = sqlite3.connect(forged)
    seq, text = conn.execute(
        "SELECT seq, item FROM inputs WHERE item LIKE '%\"close\":1200%' ORDER BY seq"
    ).fetchone()
    conn.execute("UPDATE inputs SET item = ? WHERE seq = ?", (text.replace("1200", "1190"), seq))
    conn.commit()
    conn.close()
    report = verify_run(forged)
    assert not report.ok and report.first_divergence is not None


def test_checkpoint_trace_from_the_cli(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    out = tmp_path / "run"
    result = run_cli(
        "backtest", "sma_cross", "--data", str(data), "--param", "fast=2", "--param", "slow=3",
        "--out", str(out), "--no-report", "--trace", "checkpoints",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not stored: trace kept as checkpoints" in result.stdout
    verified = run_cli("replay", "verify", str(out / "run.db"))
    assert verified.returncode == 0 and "records regenerated" in verified.stdout


@pytest.mark.parametrize("trace", ["full", "checkpoints"])
def test_verify_reports_progress_over_every_stored_input(tmp_path: Path, trace: str) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    setup = setup_for(load_dataset(data), cash="10000")
    result = run_backtest(
        SmaCross(fast=2, slow=3), data, setup, store=tmp_path / "run.db", trace=trace
    )
    seen: list[int] = []
    report = verify_run(tmp_path / "run.db", on_progress=seen.append)
    assert report.ok and sum(seen) == result.inputs == report.inputs_checked
    shown = run_cli("replay", "verify", str(tmp_path / "run.db"), "--progress")
    assert shown.returncode == 0 and "OK" in shown.stdout


def test_trace_mode_and_rejection_share_from_a_config_file(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", {"TST": daily_rows(BARS)})
    config = tmp_path / "run.toml"
    config.write_text(
        f'strategy = "sma_cross"\ndata = "{data}"\ntrace = "checkpoints"\n'
        "warn_rejected_share = 0.5\nreport = false\n[params]\nfast = 2\nslow = 3\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    result = run_cli("backtest", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(out / "run.db")
    try:
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
        assert json.loads(
            conn.execute("SELECT value FROM meta WHERE key='trace'").fetchone()[0]
        ) == ("checkpoints")
    finally:
        conn.close()
    bad = config.read_text(encoding="utf-8").replace('"checkpoints"', '"some"')
    config.write_text(bad, encoding="utf-8")
    refused = run_cli("backtest", "--config", str(config), "--out", str(tmp_path / "other"))
    assert refused.returncode == 2
    assert "key 'trace' must be one of full, checkpoints, got 'some'" in refused.stderr
