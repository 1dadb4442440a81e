"""The run store: round trip, schema markers, status, and clear errors for bad files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lockstep.core import build_core
from lockstep.runtime import RunStore, StoreError
from lockstep.runtime.store import APPLICATION_ID, SCHEMA_VERSION

SETUP = {
    "currencies": [{"code": "USD", "money_precision": 2}],
    "venues": [
        {
            "name": "sim",
            "simulated": True,
            "order_types": ["market"],
            "time_in_force": ["GTC"],
            "supports_replace": False,
            "fee_ppm": 0,
            "participation_bps": None,
        }
    ],
    "instruments": [
        {
            "id": "A",
            "venue": "sim",
            "quote_currency": "USD",
            "price_precision": 2,
            "size_precision": 0,
            "tick_size": 1,
            "lot_size": 1,
        }
    ],
}


def _bar(t: int) -> dict[str, object]:
    return {
        "kind": "event",
        "seq_id": None,
        "event_time": t,
        "ingest_time": t,
        "source": "market_data",
        "venue": "sim",
        "instrument": "A",
        "event_type": "bar",
        "payload": {"open": 100, "high": 100, "low": 100, "close": 100, "volume": 1},
        "idempotency_key": None,
        "producer_index": 0,
    }


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r" / "run.db"
    core = build_core(SETUP)
    store = RunStore.create(path, batch_size=2)
    store.start({"strategy_id": "s", "setup": SETUP, "params": {"x": "1.5"}})
    assert RunStore.open(path).status == "running"
    items = [_bar(t) for t in (1, 2, 3)]
    all_records = []
    for item in items:
        records = core.step(item)
        store.add_input(item)
        store.add_records(records)
        all_records += records
        store.step_done()
    store.add_checkpoint(3, core.snapshot(), core.state_hash())
    store.finish({"final_state_hash": core.state_hash()}, {"finished": "now"})
    store.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0

    with RunStore.open(path) as reader:
        meta = reader.meta()
        assert meta["status"] == "complete" and meta["finished"] == "now"
        assert meta["params"] == {"x": "1.5"} and meta["setup"] == SETUP
        assert [item for _, item in reader.inputs()] == items
        stored = list(reader.records())
        assert [json.loads(r.record) for r in stored] == all_records
        assert [(r.seq_id, r.hash, r.prev_hash, r.origin) for r in stored] == [
            (r["seq_id"], r["hash"], r["prev_hash"], r["origin"]) for r in all_records
        ]
        [(seq, snapshot, state_hash)] = list(reader.checkpoints())
        assert (seq, json.loads(snapshot), state_hash) == (3, core.snapshot(), core.state_hash())
        assert reader.results() == {"final_state_hash": core.state_hash()}
        assert reader.counts() == {"inputs": 3, "records": 3, "checkpoints": 1}
        assert reader.integrity_problem() is None

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_batches_commit_only_at_step_boundaries(tmp_path: Path) -> None:
    flushed: list[int] = []
    store = RunStore.create(tmp_path / "run.db", batch_size=2, on_flush=flushed.append)
    store.start({})
    core = build_core(SETUP)
    for t in range(1, 6):
        item = _bar(t)
        store.add_input(item)
        store.add_records(core.step(item))
        store.step_done()
        with RunStore.open(tmp_path / "run.db") as reader:  # what a crash right now would leave
            counts = reader.counts()
            assert counts["inputs"] == counts["records"]
    assert flushed == [2, 4]
    store.fail("stopped on purpose", {})
    store.close()
    with RunStore.open(tmp_path / "run.db") as reader:
        assert reader.status == "failed" and reader.meta()["error"] == "stopped on purpose"
        assert reader.counts()["records"] == 5


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    RunStore.create(tmp_path / "run.db").close()
    with pytest.raises(StoreError, match="already exists"):
        RunStore.create(tmp_path / "run.db")
    RunStore.create(tmp_path / "run.db", overwrite=True).close()


def test_float_inputs_are_refused(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run.db")
    with pytest.raises(TypeError, match="integers only"):
        store.add_input({"kind": "intent_batch", "qty": 1.5})
    store.close()


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no such run store") as info:
        RunStore.open(missing)
    assert str(missing) in str(info.value)

    text = tmp_path / "notes.db"
    text.write_text("hello, I am not a database")
    with pytest.raises(
        StoreError, match=r"notes.db: not a Lockstep run store \(not an SQLite database\)"
    ):
        RunStore.open(text)

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="SQLite file of another application"):
        RunStore.open(other)

    newer = tmp_path / "newer.db"
    RunStore.create(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="written with store schema 2"):
        RunStore.open(newer)

    dropped = tmp_path / "dropped.db"
    RunStore.create(dropped).close()
    conn = sqlite3.connect(dropped)
    conn.execute("DROP TABLE checkpoints")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="missing tables checkpoints"):
        RunStore.open(dropped)


def test_truncated_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    store = RunStore.create(good, batch_size=1)
    store.start({"blob": "x" * 20_000})
    store.close()
    cut = tmp_path / "cut.db"
    cut.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(StoreError) as info, RunStore.open(cut) as reader:
        reader.meta()
        reader.integrity_problem()
    assert str(cut) in str(info.value)
