"""Run folders and outputs: unique default names, one writer per store, retrying after a
failed run, reports that are not replaced by another run's, ``--version`` and the
install command for a checkout.

The CLI is exercised through subprocesses (as a user runs it, several at once where
the point is a race); the rules underneath through ``lockstep.runtime.outdir``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest

from lockstep.core.backend import native_status
from lockstep.runtime import RunStore
from lockstep.runtime.outdir import OutputCollision, check_report_dir, default_out_dir
from lockstep.runtime.report import read_report_identity
from lockstep.runtime.versions import (
    DISTRIBUTIONS,
    INSTALL_FROM_CHECKOUT,
    LOCAL_PATHS,
    distribution_versions,
)
from runtime_kit import daily_rows, run_cli, write_dataset
from testkit import NATIVE_HIDDEN_MESSAGE, python_only_env

REPO = Path(__file__).resolve().parents[2]
BARS = [("10.00", "10.50", "9.50", c) for c in ("10", "10.2", "10.4", "9.6", "9.8", "10.1", "10.3")]
SMA = ("--param", "fast=2", "--param", "slow=3")
DEFAULT_DIR = re.compile(r"sma_cross-\d{8}-\d{6}-[0-9a-f]{6}")

# Holds a run store open when told to, so a test can line several writers up and
# let them go at once. stdin: one line to try, one more line to close the store.
HOLDER = textwrap.dedent(
    """
    import sys
    from lockstep.runtime import RunStore, StoreError

    print("ready", flush=True)
    sys.stdin.readline()
    try:
        store = RunStore.create(sys.argv[1], overwrite=sys.argv[2] == "overwrite")
    except StoreError as err:
        print(f"refused {err}", flush=True)
        raise SystemExit(0)
    store.start({"strategy_id": "holder"})
    print("claimed", flush=True)
    sys.stdin.readline()
    store.close()
    """
)

# A strategy that waits in on_start until the test lets it go, so its run holds the
# store for as long as the test needs.
GATED = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from lockstep.runtime import Strategy

    GATE = Path(os.environ["GATE_DIR"])


    class Gated(Strategy):
        def on_start(self, ctx):
            (GATE / f"started-{os.getpid()}").touch()
            deadline = time.monotonic() + 120
            while not (GATE / "release").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("the test never released the gate")
                time.sleep(0.02)
    """
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(
        tmp_path_factory.mktemp("runs_outputs") / "data", {"TST": daily_rows(BARS)}
    )


def _cli_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``lockstep ARGS`` started in the background, as run_cli runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "lockstep.runtime.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
    )


def _status(db: Path) -> str:
    with RunStore.open(db) as store:
        return store.status


def _failing_strategy(path: Path, *, fail: bool) -> Path:
    body = "raise ValueError('not yet')" if fail else "return None"
    path.write_text(
        "from lockstep.runtime import Strategy\n\n"
        "class Flaky(Strategy):\n"
        f"    def on_event(self, ctx, event):\n        {body}\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- default --out


def test_default_out_dirs_differ_within_one_second() -> None:
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    first, second = default_out_dir("sma_cross", now=now), default_out_dir("sma_cross", now=now)
    assert first != second
    for path in (first, second):
        assert path.parent == Path("runs") and DEFAULT_DIR.fullmatch(path.name), path
        assert path.name.startswith("sma_cross-20240102-030405-")


def test_parallel_backtests_without_out_get_their_own_folders(tmp_path: Path, data: Path) -> None:
    procs = [
        _cli_process("backtest", "sma_cross", "--data", str(data), *SMA, cwd=tmp_path)
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, out + err
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 3, folders
    for folder in folders:
        assert DEFAULT_DIR.fullmatch(folder.name), folder.name
        assert _status(folder / "run.db") == "complete"
        assert not (folder / "run.db.lock").exists()  # the claim goes with the writer


# --------------------------------------------------------------------------- one writer per store


@pytest.mark.parametrize("mode", ["create", "overwrite"])
def test_processes_racing_for_one_store_leave_exactly_one_writer(tmp_path: Path, mode: str) -> None:
    """Four processes let go at once: one writes, the others are told who has the store,
    with --overwrite too (it must not delete a store another process is writing)."""
    db = tmp_path / "out" / "run.db"
    if mode == "overwrite":
        RunStore.create(db).close()  # something to overwrite
    script = tmp_path / "holder.py"
    script.write_text(HOLDER, encoding="utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(db), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:  # go, all at once
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        answers = {proc.pid: proc.stdout.readline().strip() for proc in procs if proc.stdout}
        winners = [pid for pid, line in answers.items() if line == "claimed"]
        assert len(winners) == 1, answers
        for pid, line in answers.items():
            if pid != winners[0]:
                assert line == (
                    f"refused {db}: is being written by process {winners[0]} (it holds "
                    "run.db.lock); wait for that run to finish, or choose another output directory"
                ), answers
        winner = next(p for p in procs if p.pid == winners[0])
        assert winner.stdin is not None
        winner.stdin.write("done\n")
        winner.stdin.flush()
        for proc in procs:
            proc.wait(timeout=60)
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    with RunStore.open(db) as store:
        assert store.meta()["strategy_id"] == "holder"
    assert not db.with_name("run.db.lock").exists()
    RunStore.create(db, overwrite=True).close()  # free again once the writer closed


def test_two_backtests_racing_on_the_same_out(tmp_path: Path, data: Path) -> None:
    """Both start at once; the one that claims the store waits in on_start until the
    other has given up, so the outcome does not depend on timing."""
    gate = tmp_path / "gate"
    gate.mkdir()
    strategy = tmp_path / "gated.py"
    strategy.write_text(GATED, encoding="utf-8")
    out = tmp_path / "shared"
    env = {**os.environ, "GATE_DIR": str(gate)}
    args = ("backtest", str(strategy), "--data", str(data), "--out", str(out))
    procs = [_cli_process(*args, env=env), _cli_process(*args, env=env)]
    try:
        deadline = time.monotonic() + 120
        while all(proc.poll() is None for proc in procs):
            assert time.monotonic() < deadline, "neither backtest gave up"
            time.sleep(0.05)
        loser = next(proc for proc in procs if proc.poll() is not None)
        winner = next(proc for proc in procs if proc is not loser)
        _, err = loser.communicate(timeout=60)
        assert loser.returncode == 2, err
        assert err.strip() == (
            f"lockstep: error: {out / 'run.db'}: is being written by process {winner.pid} "
            "(it holds run.db.lock); wait for that run to finish, or choose another output "
            "directory"
        )
        assert (gate / f"started-{winner.pid}").exists()
        assert not (gate / f"started-{loser.pid}").exists()  # it never ran the strategy
        (gate / "release").touch()
        out_text, err = winner.communicate(timeout=180)
        assert winner.returncode == 0, out_text + err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert _status(out / "run.db") == "complete"
    assert run_cli("replay", "verify", str(out / "run.db")).returncode == 0


# --------------------------------------------------------------------------- retrying


def test_a_failed_run_is_moved_aside_and_the_fixed_command_succeeds(
    tmp_path: Path, data: Path
) -> None:
    strategy = _failing_strategy(tmp_path / "flaky.py", fail=True)
    out = tmp_path / "o"
    command = ("backtest", str(strategy), "--data", str(data), "--out", str(out))
    failed = run_cli(*command)
    assert failed.returncode == 2 and "raised ValueError in on_event: not yet" in failed.stderr
    assert _status(out / "run.db") == "failed"
    with RunStore.open(out / "run.db") as store:
        started = store.meta()["started"]

    _failing_strategy(strategy, fail=False)
    fixed = run_cli(*command)
    assert fixed.returncode == 0, fixed.stderr
    stamp = started.replace("-", "").replace(":", "").replace("T", "-").rstrip("Z")
    aside = out / f"run.failed-{stamp}.db"
    assert (
        f"lockstep: note: {out / 'run.db'} held a run that did not complete; moved it to {aside}"
        in fixed.stderr
    )
    assert _status(aside) == "failed" and _status(out / "run.db") == "complete"
    with RunStore.open(aside) as store:
        assert "raised ValueError in on_event: not yet" in store.meta()["error"]  # kept

    # A complete run is never replaced unasked; --overwrite replaces it (nothing moved aside).
    again = run_cli(*command)
    assert again.returncode == 2
    assert re.fullmatch(
        rf"lockstep: error: {re.escape(str(out / 'run.db'))}: already exists and holds a complete run "
        r"\(flaky on data, finished \S+\); choose another --out, or pass --overwrite to replace it",
        again.stderr.strip(),
    ), again.stderr
    forced = run_cli(*command, "--overwrite")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in out.glob("*.db")) == ["run.db", aside.name]


def test_a_killed_run_is_moved_aside_but_a_live_one_is_not(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "o"
    db = out / "run.db"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER, encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, str(script), str(db), "create"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "claimed"
        live = run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out))
        assert live.returncode == 2
        assert f"{db}: is being written by process {holder.pid}" in live.stderr
        assert (out / "run.db.lock").is_file() and not list(out.glob("run.failed-*"))
    finally:
        holder.kill()  # dies holding the store: status stays "running", the lock goes
        holder.communicate()
    assert _status(db) == "running"
    retry = run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out))
    assert retry.returncode == 0, retry.stderr
    assert "held a run that did not complete; moved it to" in retry.stderr
    (aside,) = out.glob("run.failed-*.db")
    assert _status(aside) == "running" and _status(db) == "complete"


def test_a_file_that_is_not_a_run_store_is_not_moved(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "run.db").write_text("my notes", encoding="utf-8")
    result = run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out))
    assert result.returncode == 2
    assert "already exists and is not a run store this lockstep can read" in result.stderr
    assert "--overwrite" in result.stderr
    assert (out / "run.db").read_text(encoding="utf-8") == "my notes"


# --------------------------------------------------------------------------- reports


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("two_runs")
    dbs = []
    for name, fast in (("a", "2"), ("b", "3")):
        out = base / name
        result = run_cli(
            "backtest", "sma_cross", "--data", str(data), "--param", f"fast={fast}",
            "--param", "slow=4", "--out", str(out), "--no-report",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        dbs.append(out / "run.db")
    return dbs[0], dbs[1]


def _final(db: Path) -> str:
    with RunStore.open(db) as store:
        return str(store.results()["final_state_hash"])


def test_report_refuses_another_runs_report_unless_overwrite(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    a, b = two_runs
    shared = tmp_path / "shared"
    first = run_cli("report", str(a), "--out", str(shared), "--no-chart")
    assert first.returncode == 0, first.stderr
    identity = read_report_identity(shared / "report.html")
    assert identity is not None and identity.store == a.resolve()
    assert identity.final_state_hash == _final(a)

    same = run_cli("report", str(a), "--out", str(shared), "--no-chart")  # same run: in place
    assert same.returncode == 0, same.stderr
    page, trades = (shared / "report.html").read_bytes(), (shared / "trades.csv").read_bytes()

    other = run_cli("report", str(b), "--out", str(shared), "--no-chart")
    assert other.returncode == 2
    assert other.stderr.strip() == (
        f"lockstep: error: {shared} holds the report of another run, {a.resolve()} "
        f"(final state {_final(a)[:16]}); this is the report of {b.resolve()} "
        f"(final state {_final(b)[:16]}): pass --overwrite to replace it, or choose another --out"
    )
    assert (shared / "report.html").read_bytes() == page  # untouched
    assert (shared / "trades.csv").read_bytes() == trades

    forced = run_cli("report", str(b), "--out", str(shared), "--no-chart", "--overwrite")
    assert forced.returncode == 0, forced.stderr
    identity = read_report_identity(shared / "report.html")
    assert identity is not None and identity.store == b.resolve()


def test_report_files_naming_no_run(tmp_path: Path, two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    # In a foreign directory they are someone else's: refused.
    foreign = tmp_path / "exports"
    foreign.mkdir()
    (foreign / "trades.csv").write_text("from another tool\n", encoding="utf-8")
    refused = run_cli("report", str(a), "--out", str(foreign), "--no-chart")
    assert refused.returncode == 2
    assert f"{foreign} already holds trades.csv, which name no run" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert (foreign / "trades.csv").read_text(encoding="utf-8") == "from another tool\n"
    # Next to the store (here: the trades.csv of the --no-report backtest) they are its own.
    assert (a.parent / "trades.csv").is_file() and not (a.parent / "report.html").exists()
    own = run_cli("report", str(a), "--no-chart")
    assert own.returncode == 0, own.stderr


def test_a_moved_run_folder_rewrites_its_own_report(tmp_path: Path, data: Path) -> None:
    old = tmp_path / "old"
    result = run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(old))
    assert result.returncode == 0, result.stderr
    new = tmp_path / "renamed"
    old.rename(new)
    rewritten = run_cli("report", str(new / "run.db"), "--no-chart")
    assert rewritten.returncode == 0, rewritten.stderr
    identity = read_report_identity(new / "report.html")
    assert identity is not None and identity.store == (new / "run.db").resolve()


def test_backtest_refuses_a_folder_holding_another_runs_report_before_running(
    tmp_path: Path, data: Path, two_runs: tuple[Path, Path]
) -> None:
    a, _ = two_runs
    out = tmp_path / "o"
    assert run_cli("report", str(a), "--out", str(out), "--no-chart").returncode == 0
    result = run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out))
    assert result.returncode == 2
    assert f"{out} holds the report of another run, {a.resolve()}" in result.stderr
    assert not (out / "run.db").exists()  # refused before anything ran
    forced = run_cli(
        "backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out), "--overwrite"
    )
    assert forced.returncode == 0, forced.stderr
    identity = read_report_identity(out / "report.html")
    assert identity is not None and identity.store == (out / "run.db").resolve()


def test_report_dir_rules_directly(tmp_path: Path, two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    out = tmp_path / "r"
    check_report_dir(out, b, _final(b), overwrite=False)  # nothing there yet
    assert run_cli("report", str(a), "--out", str(out), "--no-chart").returncode == 0
    check_report_dir(out, a, _final(a), overwrite=False)
    check_report_dir(out, b, _final(b), overwrite=True)
    with pytest.raises(OutputCollision, match="holds the report of another run"):
        check_report_dir(out, b, _final(b), overwrite=False)
    # Same final state but outside the store's own folder: still another run's place.
    with pytest.raises(OutputCollision):
        check_report_dir(out, b, _final(a), overwrite=False)


def test_demo_replaces_its_own_run_but_not_someone_elses(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "mine"
    assert (
        run_cli("backtest", "sma_cross", "--data", str(data), *SMA, "--out", str(out)).returncode
        == 0
    )
    refused = run_cli("demo", "--out", str(out))
    assert refused.returncode == 2
    assert "already exists and holds a complete run (sma_cross on data" in refused.stderr
    assert "--overwrite" in refused.stderr
    forced = run_cli("demo", "--out", str(out), "--overwrite")
    assert forced.returncode == 0, forced.stderr
    again = run_cli("demo", "--out", str(out))  # an earlier demo: replaced unasked
    assert again.returncode == 0, again.stderr
    assert list(out.glob("run.failed-*")) == []


# --------------------------------------------------------------------------- --version


def _version_lines(stdout: str) -> dict[str, str]:
    lines = {}
    for line in stdout.splitlines():
        name, _, text = line.partition("  ")
        lines[name] = text.strip()
    return lines


def test_version_lists_every_distribution_and_the_native_core() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    lines = _version_lines(result.stdout)
    for name in DISTRIBUTIONS:
        assert lines[name] == metadata.version(name)
    status = native_status()  # the subprocess sees the same interpreter and environment
    if status.available:
        assert lines["lockstep_native"].startswith(f"{status.version} (--engine rust available")
    else:
        assert lines["lockstep_native"].startswith(f"not importable: {status.problem}")
    assert lines["python"].startswith(".".join(map(str, sys.version_info[:3])))


def test_version_without_the_native_core_says_why_and_how_to_build_it(tmp_path: Path) -> None:
    result = run_cli("--version", env=python_only_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert _version_lines(result.stdout)["lockstep_native"] == (
        f"not importable: lockstep_native cannot be imported ({NATIVE_HIDDEN_MESSAGE}); "
        "build the native extension from a Lockstep checkout with "
        "`pip install ./rust/lockstep-python` (needs the Rust toolchain, cargo; pip fetches "
        "maturin), or run the suite on it with `nox -s native`"
    )


def test_a_run_records_the_versions_of_the_same_distributions(two_runs: tuple[Path, Path]) -> None:
    with RunStore.open(two_runs[0]) as store:
        assert store.meta()["versions"] == distribution_versions()
    assert tuple(distribution_versions()) == DISTRIBUTIONS


# --------------------------------------------------------------------------- installing from a checkout


def test_the_checkout_install_command_names_every_local_distribution_in_order() -> None:
    """The one command (printed by --version when something is missing, and in the docs)
    installs the four local distributions; each depends on the one before *by name and
    version range* (no direct reference), so they stay publishable on their own."""
    assert INSTALL_FROM_CHECKOUT.startswith("pip install ")
    words = [w.strip("'").removesuffix("[all]") for w in INSTALL_FROM_CHECKOUT.split()[2:]]
    assert tuple(words) == LOCAL_PATHS
    previous = None
    for path, name in zip(LOCAL_PATHS, DISTRIBUTIONS, strict=True):
        project = tomllib.loads((REPO / path / "pyproject.toml").read_text(encoding="utf-8"))
        assert project["project"]["name"] == name
        local = [d for d in project["project"]["dependencies"] if d.startswith("lockstep")]
        if previous is None:
            assert local == []
        else:
            assert len(local) == 1 and re.fullmatch(rf"{previous}>=[\d.]+,<[\d.]+", local[0]), local
        previous = name
    for doc in ("README.md", "docs/guides/cli.md", "packages/runtime/README.md"):
        assert INSTALL_FROM_CHECKOUT in (REPO / doc).read_text(encoding="utf-8"), doc
