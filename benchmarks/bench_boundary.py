"""What the Python/Rust boundary costs: per crossing, and per item by encoding.

    python benchmarks/bench_boundary.py [--items N] [--quick]

Measures, on the rust backend:

- ``crossing_us``: one ``step_block`` call with an empty block (the fixed cost
  of a crossing: argument conversion, releasing and re-taking the GIL);
- ``json_encode_us`` vs ``packed_encode_us``: turning one bar item into the
  block encoding on the Python side, as JSON lines (what the boundary uses)
  and as a packed row of int64 columns (the alternative ADR 0011 weighed);
- ``core_step_us``: one item through the native core inside a block (parse,
  validate, match, hash, write the record line).

Writes ``benchmarks/results/boundary.json``. The baseline is the Python core
stepping the same items (``python_step_us``). ``--quick`` measures 2,000
items (the CI form). Without the native core there is nothing to measure:
the script says so and exits with code 3, which ``bench_peers.py`` reports
as skipped.
"""

from __future__ import annotations

import argparse
import array
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BASELINE, RESULTS, machine, timed


def setup() -> dict[str, Any]:
    """The bundled minute data set's setup: instrument ACME on the simulated venue."""
    from lockstep.adapters import load_dataset, setup_for

    return setup_for(load_dataset("minute"), cash="1000000")


def bars(n: int) -> list[dict[str, Any]]:
    out = []
    price = 10_000
    for k in range(n):
        price += (k * 7919) % 41 - 20
        out.append(
            {
                "kind": "event",
                "seq_id": None,
                "event_time": 1_700_000_000_000_000_000 + k * 60_000_000_000,
                "ingest_time": 1_700_000_000_000_000_000 + k * 60_000_000_000,
                "source": "market_data",
                "venue": VENUE,
                "instrument": INSTRUMENT,
                "event_type": "bar",
                "payload": {
                    "open": price,
                    "high": price + 5,
                    "low": price - 5,
                    "close": price + 1,
                    "volume": 100 + k % 50,
                },
                "idempotency_key": None,
                "producer_index": 0,
            }
        )
    return out


VENUE, INSTRUMENT = "sim", "ACME"


def per_item_us(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="2,000 items (the CI form)")
    args = parser.parse_args()
    from lockstep.core import build_core
    from lockstep.core.backend import native_status
    from lockstep.core.native import NativeCore, encode_items

    status = native_status()
    if not status.available:
        print(f"bench_boundary: skipped: the native core is not usable: {status.problem}")
        raise SystemExit(3)
    if args.quick:
        args.items = 2_000

    items = bars(args.items)
    n = len(items)

    core = build_core(setup(), backend="rust")
    assert isinstance(core, NativeCore)
    calls = 20_000
    _, empty = timed(lambda: [core.step_block(b"") for _ in range(calls)])
    data, json_s = timed(lambda: encode_items(items))

    def pack() -> bytes:
        columns = [array.array("q") for _ in range(7)]
        for item in items:
            p = item["payload"]
            row = (item["event_time"], item["ingest_time"], p["open"], p["high"], p["low"])
            for column, value in zip(columns, (*row, p["close"], p["volume"]), strict=True):
                column.append(value)
        return b"".join(c.tobytes() for c in columns)

    packed, packed_s = timed(pack)
    fresh = build_core(setup(), backend="rust")
    result, step_s = timed(lambda: fresh.step_block(data))
    assert result.error is None and result.consumed == n
    python = build_core(setup(), backend="python")
    _, python_s = timed(lambda: python.step_block(items))
    assert python.state_hash() == fresh.state_hash()
    row = {
        "items": n,
        "crossing_us": per_item_us(empty, calls),
        "json_encode_us": per_item_us(json_s, n),
        "json_bytes_per_item": round(len(data) / n, 1),
        "packed_encode_us": per_item_us(packed_s, n),
        "packed_bytes_per_item": round(len(packed) / n, 1),
        "core_step_us": per_item_us(step_s, n),
        "python_step_us": per_item_us(python_s, n),
    }
    row["ratio"] = round(row["python_step_us"] / row["core_step_us"], 2)
    result_file = {
        "benchmark": "boundary",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "baseline": BASELINE,
        "ratio_metric": "python_step_us / core_step_us",
        "params": {"items": n, "empty_calls": calls},
        "results": [{"backend": "rust", **row}],
    }
    out = args.out / "boundary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result_file, indent=2) + "\n")
    print(json.dumps(row, indent=2))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
