"""Replay verification: a clean run verifies; any tampering or truncation names the first bad seq_id."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.core import canonical_json
from lockstep.runtime import RunStore, replay, run_backtest, verify_run
from lockstep.runtime.builtin.sma_cross import SmaCross


@pytest.fixture(params=[(8192, 32768), (7, 10), (3, 1)], ids=["default", "small", "one-record"])
def replay_sizes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay with several input-block and trace-chunk sizes, so items straddle chunk ends."""
    block, chunk = request.param
    monkeypatch.setattr(replay, "REPLAY_BLOCK", block)
    monkeypatch.setattr(replay, "TRACE_CHUNK", chunk)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clean") / "run.db"
    ds = load_dataset("daily")
    run_backtest(SmaCross(), ds, setup_for(ds, fee_ppm=100), store=path, checkpoint_every=400)
    return path


def _copy(clean: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run.db"
    shutil.copy(clean, target)
    return target


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _record(path: Path, seq_id: int) -> dict[str, object]:
    conn = sqlite3.connect(path)
    text = conn.execute("SELECT record FROM records WHERE seq_id = ?", (seq_id,)).fetchone()[0]
    conn.close()
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.usefixtures("replay_sizes")
def test_clean_run_verifies(clean_run: Path) -> None:
    report = verify_run(clean_run)
    assert report.ok, report
    assert report.first_divergence is None and report.records_checked > 1000
    assert report.checkpoints_checked >= 4
    assert report.actual_state_hash == report.expected_state_hash
    assert "OK" in str(report)


def _first_fill_seq(path: Path) -> int:
    with RunStore.open(path) as store:
        return next(r.seq_id for r in store.records() if json.loads(r.record)["fills"])


def _edit_record_content(path: Path) -> int:
    seq = _first_fill_seq(path)
    record = _record(path, seq)
    record["fills"][0]["price"] += 1  # type: ignore[index]
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    _sql(path, f"UPDATE records SET record = '{text}' WHERE seq_id = {seq}")
    return seq


def _edit_hash(path: Path) -> int:
    _sql(
        path, "UPDATE records SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq_id = 777"
    )
    return 777


def _edit_origin_column(path: Path) -> int:
    """Only the indexed column changes; the record text is intact."""
    _sql(
        path,
        "UPDATE records SET origin = CASE origin WHEN 'input' THEN 'generated' ELSE 'input' END "
        "WHERE seq_id = 300",
    )
    return 300


def _delete_tail_records(path: Path) -> int:
    _sql(path, "DELETE FROM records WHERE seq_id > 1200")
    return 1201


def _delete_middle_record(path: Path) -> int:
    _sql(path, "DELETE FROM records WHERE seq_id = 50")
    return 50


def _delete_tail_inputs(path: Path) -> int:
    conn = sqlite3.connect(path)
    last_input = conn.execute("SELECT max(seq) FROM inputs").fetchone()[0]
    conn.close()
    _sql(path, f"DELETE FROM inputs WHERE seq > {last_input - 10}")
    conn = sqlite3.connect(path)
    kept = sum(1 for _ in RunStore.open(path).inputs())
    conn.close()
    # Replay of the kept inputs produces a prefix; the first stored record beyond it diverges.
    from lockstep.core import build_core

    with RunStore.open(path) as store:
        core = build_core(store.meta()["setup"])
        produced = sum(len(core.step(item)) for _, item in store.inputs())
    assert kept == last_input - 10
    return produced + 1


def _edit_input(path: Path) -> int:
    conn = sqlite3.connect(path)
    seq, text = conn.execute("SELECT seq, item FROM inputs WHERE seq = 100").fetchone()
    conn.close()
    item = json.loads(text)
    event = item["events"][0]
    event["payload"]["high"] += 5
    _sql(path, f"UPDATE inputs SET item = '{json.dumps(item)}' WHERE seq = {seq}")
    with RunStore.open(path) as store:
        for stored in store.records():
            record = json.loads(stored.record)
            inp = record["input"]
            if (
                inp.get("event_time") == event["event_time"]
                and inp.get("instrument") == event["instrument"]
            ):
                return stored.seq_id
    raise AssertionError("edited event not found")


def _merge_two_records(path: Path) -> int:
    """Two rows folded into one, the second's columns smuggled in after line breaks."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT seq_id, origin, record, hash, prev_hash FROM records WHERE seq_id IN (40, 41)"
    ).fetchall()
    conn.close()
    (seq, origin, record, hash_, prev), (seq2, origin2, record2, hash2, prev2) = rows
    _sql(path, "DELETE FROM records WHERE seq_id = 41")
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE records SET record = ?, origin = ?, hash = ?, prev_hash = ? WHERE seq_id = 40",
        (
            record + "\n" + record2,
            f"{origin} {hash_} {prev}\n{seq2} {origin2}",
            hash2,
            prev2,
        ),
    )
    conn.commit()
    conn.close()
    return seq


def _edit_final_hash(path: Path) -> int:
    _sql(path, "UPDATE results SET value = '\"" + "0" * 64 + "\"' WHERE key = 'final_state_hash'")
    with RunStore.open(path) as store:
        return max(r.seq_id for r in store.records())


def _edit_checkpoint(path: Path) -> int:
    conn = sqlite3.connect(path)
    seq = conn.execute("SELECT min(seq_id) FROM checkpoints").fetchone()[0]
    conn.close()
    _sql(path, f"UPDATE checkpoints SET state_hash = '{'f' * 64}' WHERE seq_id = {seq}")
    return int(seq)


def _edit_snapshot(path: Path, change: Callable[[dict[str, Any]], None]) -> int:
    """Rewrite the second checkpoint's snapshot, still as canonical JSON, after ``change``."""
    conn = sqlite3.connect(path)
    seq, text = conn.execute(
        "SELECT seq_id, snapshot FROM checkpoints ORDER BY seq_id LIMIT 1 OFFSET 1"
    ).fetchone()
    snapshot = json.loads(text)
    change(snapshot)
    conn.execute(
        "UPDATE checkpoints SET snapshot = ? WHERE seq_id = ?",
        (canonical_json(snapshot).decode(), seq),
    )
    conn.commit()
    conn.close()
    return int(seq)


def _edit_snapshot_cash(path: Path) -> int:
    def richer(snapshot: dict[str, Any]) -> None:
        cash = snapshot["business"]["cash"]
        cash[next(iter(cash))] += 1

    return _edit_snapshot(path, richer)


def _edit_snapshot_engine(path: Path) -> int:
    def elsewhere(snapshot: dict[str, Any]) -> None:
        snapshot["engine"]["last_hash"] = "0" * 64

    return _edit_snapshot(path, elsewhere)


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (_edit_record_content, "content differs"),
        (_edit_hash, "hash differs"),
        (_edit_origin_column, "origin differs"),
        (_delete_tail_records, "trace truncated"),
        (_delete_middle_record, "stored record 51 where replay produced 50"),
        (_delete_tail_inputs, "input log truncated"),
        (_edit_input, "hash differs"),
        (_merge_two_records, "spans several lines"),
        (_edit_final_hash, "final state hash"),
        (_edit_checkpoint, "checkpoint state hash"),
        (_edit_snapshot_cash, "snapshot does not hash to its checkpoint's state hash"),
        (_edit_snapshot_engine, "engine part is not at its checkpoint's record"),
    ],
)
@pytest.mark.usefixtures("replay_sizes")
def test_tampering_is_found_at_the_first_diverging_seq_id(
    clean_run: Path, tmp_path: Path, tamper: Callable[[Path], int], words: str
) -> None:
    path = _copy(clean_run, tmp_path)
    expected = tamper(path)
    report = verify_run(path)
    assert not report.ok and not report.refused
    assert report.first_divergence == expected, report
    assert words in (report.reason or "")
    assert f"FAILED at seq_id {expected}" in str(report)


def test_incomplete_and_failed_runs_are_refused(clean_run: Path, tmp_path: Path) -> None:
    path = _copy(clean_run, tmp_path)
    _sql(
        path,
        "UPDATE meta SET value = '\"failed\"' WHERE key = 'status'",
        "UPDATE meta SET value = '\"kaboom\"' WHERE key = 'error'",
    )
    report = verify_run(path)
    assert report.refused and not report.ok
    assert "run status is 'failed': the run failed: kaboom" in (report.reason or "")
    assert verify_run(path, allow_incomplete=True).ok


def test_replay_on_another_backend_is_explicit(clean_run: Path) -> None:
    from lockstep.core import NativeBackendUnavailable

    try:
        import lockstep_native  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(NativeBackendUnavailable):
            verify_run(clean_run, backend="rust")
    else:  # pragma: no cover - native lane
        assert verify_run(clean_run, backend="rust").ok


def test_stores_with_the_earlier_checkpoint_column_order_still_verify(
    clean_run: Path, tmp_path: Path
) -> None:
    """Stores written before state_hash moved ahead of snapshot read the same way."""
    path = _copy(clean_run, tmp_path)
    _sql(
        path,
        "CREATE TABLE old (seq_id INTEGER PRIMARY KEY, snapshot TEXT NOT NULL, "
        "state_hash TEXT NOT NULL)",
        "INSERT INTO old SELECT seq_id, snapshot, state_hash FROM checkpoints",
        "DROP TABLE checkpoints",
        "ALTER TABLE old RENAME TO checkpoints",
    )
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(checkpoints)")]
    conn.close()
    assert columns == ["seq_id", "snapshot", "state_hash"]
    report = verify_run(path)
    assert report.ok, report
    assert report.checkpoints_checked == verify_run(clean_run).checkpoints_checked >= 4
