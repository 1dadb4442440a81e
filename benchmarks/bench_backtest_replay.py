"""Backtest and replay-verify benchmarks on both backends.

    python benchmarks/bench_backtest_replay.py [--bars N] [--replay-events N]
        [--backends python,rust] [--repeat N] [--only backtest|replay] [--quick]

1. **backtest**: the built-in ``sma_cross`` strategy (Python) over N seeded
   minute bars on three instruments, with the run store on; bars/s, the
   number of boundary crossings, peak memory.
2. **replay_verify**: ``lockstep replay verify`` of a stored run whose input
   log holds ``--replay-events`` events (made once by a backtest on the
   fastest available backend); inputs/s and records/s, crossings, peak memory.
3. **replay_core**: the core's share of that: the same stored inputs and
   trace loaded into memory first, then only stepping and checking against
   the trace is timed (what replay costs without SQLite reading the file).

Results go to ``benchmarks/results/{backtest,replay_verify,replay_core}.json`` with the
machine, the baseline (the Python backend) and ratios. Each measurement runs
in its own interpreter, ``--repeat`` times; the fastest run is reported and
every run's seconds are kept in ``runs``. Nothing here asserts a speed; tests only run a tiny
size to check the script works. ``--quick`` is that tiny size (the form
``bench_peers.py --quick``, i.e. CI, runs): 2,000 bars, a 5,000-event replay,
and the rust backend only when the native core is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    RESULTS,
    best_of,
    peak_rss_mib,
    print_table,
    run_worker,
    timed_with_cpu,
    write_result,
)

SEED = 7
MINUTE_NS = 60 * 1_000_000_000
START_NS = 1_709_818_260 * 1_000_000_000  # 2024-03-07 14:31 UTC
STRATEGY = "sma_cross"


def _feeds(bars: int) -> tuple[list[Any], dict[str, Any]]:
    """Seeded random-walk minute bars for the instruments of the bundled minute set."""
    from lockstep.adapters import MemoryFeed, bar_event, load_dataset, setup_for

    dataset = load_dataset("minute")
    setup = setup_for(dataset, cash="1000000")
    per = max(1, bars // len(dataset.instruments))
    feeds = []
    for k, inst in enumerate(dataset.instruments):
        rng = random.Random(SEED * 100 + k)
        tick = inst.tick_size
        price = 10_000 * tick * (k + 2)
        events = []
        for n in range(per):
            opened = price
            price = max(50 * tick, price + rng.randrange(-20, 21) * tick)
            high = max(opened, price) + rng.randrange(0, 6) * tick
            low = max(tick, min(opened, price) - rng.randrange(0, 6) * tick)
            t = START_NS + n * MINUTE_NS
            events.append(
                bar_event(t, inst.venue, inst.id, opened, high, low, price, rng.randrange(1, 5000))
            )
        feeds.append(MemoryFeed(events, name=f"walk-{inst.id}", instrument=inst))
    return feeds, setup


def _backtest(backend: str, bars: int, store: Path | None) -> dict[str, Any]:
    from lockstep.runtime import run_backtest
    from lockstep.runtime.registry import load_strategy_class

    feeds, setup = _feeds(bars)
    strategy = load_strategy_class(STRATEGY)()
    result, seconds, cpu = timed_with_cpu(
        lambda: run_backtest(strategy, feeds, setup, engine=backend, store=store, overwrite=True)
    )
    return {
        "backend": backend,
        "bars": result.bars,
        "records": result.records,
        "intent_batches": result.intent_batches,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "bars_per_s": round(result.bars / seconds),
        "crossings": result.crossings,
        "peak_rss_mib": peak_rss_mib(),
        "final_state_hash": result.final_state_hash,
    }


def _replay(backend: str, store: Path) -> dict[str, Any]:
    from lockstep.runtime.replay import verify_run

    report, seconds, cpu = timed_with_cpu(lambda: verify_run(store, backend=backend))
    if not report.ok:
        raise SystemExit(f"replay verify failed on {backend}: {report}")
    return {
        "backend": backend,
        "inputs": report.inputs_checked,
        "records": report.records_checked,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "inputs_per_s": round(report.inputs_checked / seconds),
        "records_per_s": round(report.records_checked / seconds),
        "crossings": report.crossings,
        "peak_rss_mib": peak_rss_mib(),
    }


def _replay_core(backend: str, store: Path) -> dict[str, Any]:
    from lockstep.core import build_core
    from lockstep.core.block import Expected
    from lockstep.runtime.store import RunStore

    with RunStore.open(store) as run:
        setup = run.meta()["setup"]
        data = b"".join(block.data for block in run.input_blocks(1 << 16))
        (trace,) = run.trace_chunks(1 << 30)
        hash_at = [seq for seq, _ in run.checkpoint_hashes()]
    core = build_core(setup, backend=backend)

    def replay() -> tuple[int, int]:
        cursor = core.open_block(data)
        inputs = records = 0
        start = (0, 0)
        while True:
            result = cursor.run(hash_at=hash_at, expect=Expected(trace.lines, trace.keys, start))
            inputs, records, start = (
                inputs + result.consumed,
                records + result.verified,
                result.expect_end,
            )
            if result.diverged or result.error is not None or result.lines():
                raise SystemExit(f"replay_core diverged on {backend}")
            if result.consumed == 0:
                return inputs, records

    (inputs, records), seconds, cpu = timed_with_cpu(replay)
    return {
        "backend": backend,
        "inputs": inputs,
        "records": records,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "records_per_s": round(records / seconds),
        "crossings": getattr(core, "crossings", None),
        "peak_rss_mib": peak_rss_mib(),
    }


def worker(argv: list[str]) -> None:
    kind, backend, size, store = argv[0], argv[1], int(argv[2]), argv[3]
    path = Path(store) if store != "-" else None
    if kind == "backtest":
        row = _backtest(backend, size, path)
    elif kind == "replay-core":
        assert path is not None
        row = _replay_core(backend, path)
    else:
        assert path is not None
        row = _replay(backend, path)
    print(json.dumps(row))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=60_000)
    parser.add_argument("--replay-events", type=int, default=1_000_000)
    parser.add_argument("--backends", default="python,rust")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument(
        "--only", choices=("backtest", "replay"), help="run one part (replay writes two files)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes; rust only if installed (CI form)"
    )
    args = parser.parse_args()
    native = importlib.util.find_spec("lockstep_native") is not None
    if args.quick:
        args.bars, args.replay_events = 2_000, 5_000
        if not native:
            args.backends = ",".join(b for b in args.backends.split(",") if b != "rust")
    backends = args.backends.split(",")
    if "rust" in backends and not native:
        # Exit code 3: "cannot run here", which bench_peers.py reports as skipped.
        print("the rust backend is not installed (build it with `nox -s native`)", file=sys.stderr)
        raise SystemExit(3)
    script = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "replay":
            _backtest_part(script, args, Path(tmp))
        if args.only != "backtest":
            _replay_part(script, args, Path(tmp), backends)


def _backtest_part(script: Path, args: argparse.Namespace, tmp: Path) -> None:
    rows = [
        best_of(script, ["backtest", b, str(args.bars), str(tmp / f"bt-{b}.db")], args.repeat)
        for b in args.backends.split(",")
    ]
    if len({r["final_state_hash"] for r in rows}) != 1:
        raise SystemExit(f"backends disagree on the final state: {rows}")
    params = {
        "bars": args.bars,
        "strategy": STRATEGY,
        "instruments": 3,
        "store": True,
        "repeat": args.repeat,
    }
    out = write_result("backtest", params, rows, "bars_per_s", args.out / "backtest.json")
    print(f"backtest -> {out}")
    columns = ["backend", "bars_per_s", "seconds", "cpu_seconds", "crossings", "ratio"]
    print_table(rows, columns)


def _replay_part(script: Path, args: argparse.Namespace, tmp: Path, backends: list[str]) -> None:
    log = tmp / "replay.db"
    maker = "rust" if "rust" in backends else backends[0]
    run_worker(script, ["backtest", maker, str(args.replay_events), str(log)])
    params = {
        "events": args.replay_events,
        "log_made_by": maker,
        "strategy": STRATEGY,
        "repeat": args.repeat,
    }
    rows = [best_of(script, ["replay", b, "0", str(log)], args.repeat) for b in backends]
    out = write_result(
        "replay_verify", params, rows, "inputs_per_s", args.out / "replay_verify.json"
    )
    print(f"replay_verify -> {out}")
    print_table(rows, ["backend", "inputs_per_s", "seconds", "cpu_seconds", "crossings", "ratio"])
    rows = [best_of(script, ["replay-core", b, "0", str(log)], args.repeat) for b in backends]
    out = write_result("replay_core", params, rows, "records_per_s", args.out / "replay_core.json")
    print(f"replay_core -> {out}")
    print_table(rows, ["backend", "records_per_s", "seconds", "cpu_seconds", "crossings", "ratio"])


if __name__ == "__main__":
    main()
