"""A run killed mid-write (SIGKILL) never looks complete, and verification refuses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lockstep.runtime import RunStore, verify_run
from runtime_kit import run_cli

CHILD = textwrap.dedent(
    """
    import sys
    from lockstep.adapters import load_dataset, setup_for
    from lockstep.runtime import RunStore, run_backtest
    from lockstep.runtime.builtin.sma_cross import SmaCross

    def flushed(records):
        # Tell the parent some records are committed, then wait to be killed.
        print(f"flushed {records}", flush=True)
        sys.stdin.readline()

    store = RunStore.create(sys.argv[1], batch_size=200, on_flush=flushed)
    ds = load_dataset("minute")
    run_backtest(SmaCross(fast=5, slow=15), ds, setup_for(ds), store=store)
    print("finished", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_killed_run_is_not_complete_and_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("flushed "), (line, child.stderr.read() if child.stderr else "")
        committed = int(line.split()[1])
        assert committed >= 200
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL

    with RunStore.open(db) as store:
        assert store.status == "running"
        counts = store.counts()
        assert counts["records"] == committed and counts["inputs"] > 0
        assert store.results() == {}

    report = verify_run(db)
    assert report.refused and not report.ok
    assert "run status is 'running'" in (report.reason or "")
    assert "killed" in (report.reason or "")

    cli = run_cli("replay", "verify", str(db))
    assert cli.returncode == 1
    assert "NOT VERIFIED" in cli.stdout and "killed" in cli.stdout

    # What was committed is a consistent prefix: it replays exactly.
    partial = verify_run(db, allow_incomplete=True)
    assert partial.ok, partial
    assert partial.records_checked == committed
