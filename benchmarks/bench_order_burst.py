"""Order-update burst (issue 14, scenario 2): broker reports back to back through the core.

    python benchmarks/bench_order_burst.py [--orders N] [--reports N] [--instruments N]
        [--block N] [--backends python,rust] [--repeat N] [--quick] [--out DIR]

A live session's worst moment for the core is not market data but the burst
of execution reports after a strategy has many orders out: acknowledgements,
partial and full fills, venue cancels, and the copies a broker connection
resends after a reconnect. This script builds that moment on purpose.

One core setup with ``--instruments`` instruments on an external venue
``broker`` (``simulated: false``: every report comes from outside, as in the
golden cases that use that venue). One intent batch places ``--orders``
limit orders; then ``--reports`` broker reports arrive as event envelopes,
in blocks of ``--block`` items through ``core.step_block`` (the runtime's
feed block size by default, no wake spec: nothing reacts inside the burst).

The reports are planned from a fixed seed (:func:`plan_burst`), so every
backend and every repeat sees the same bytes. Each order gets its ack, then
zero or more fills; it ends filled by its last fill, cancelled by the venue,
or still working. About 5% of the reports are resent copies of an earlier
report with the same idempotency key (acks, cancels and fills alike), a
few milliseconds later: the core must record each one as a DUPLICATE no-op.
Arrival order is the ingest time, so the orders' lifecycles interleave
while each order's own reports stay in causal order. Every item is valid per
the contract and expected to be committed: the worker counts refusals and
diagnostics, checks them and the final order states against the plan, and
fails (exit 1) on any difference.

Per backend, each run in a fresh interpreter and the repeats interleaved
(python, rust, python, rust, ...): reports/s and records/s over the time spent
in ``step_block`` (wall and CPU; building the envelope dicts of a block and
checking its records are not timed), the placing batch's time on its own,
native crossings during the burst, peak RSS, and the memory growth between
half and full length (peak RSS after the first half of the reports and after
all of them, in the same run; flat is the target). Before any time is
reported every run's final state hash and last record hash must agree; a
difference is exit 1 with the differing hashes.

Writes ``OUT/order_burst.json`` (``harness.write_result``: baseline the Python
backend, ratio metric ``reports_per_s``; each row has every run's seconds and
their min/median/max, rates over the median) and prints a table. ``--quick``
is the CI form: 2,000 orders, 5,000 reports, one round, results in
``build/bench-quick`` unless ``--out`` says otherwise, and the rust backend
only when the native core is installed. Without ``--quick``, a requested
backend that cannot run here is exit code 3, which ``bench_peers.py``
reports as skipped. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS, peak_rss_mib, print_table, run_worker, write_result
from lockstep.core.block import BlockResult

ROOT = Path(__file__).resolve().parents[1]
QUICK_OUT = ROOT / "build" / "bench-quick"
SEED = 20_140_002
START_NS = 1_767_623_400_000_000_000  # 2026-01-05 14:30 UTC, as the golden cases
VENUE = "broker"
TICKERS = ("AAPL", "MSFT", "AMZN", "NVDA", "GOOG", "META", "TSLA", "JPM", "XOM", "KO")
REPORT_GAP_NS = 100_000
"""Mean spacing of the reports at the venue: the burst spans reports x 100 us."""
WIRE_NS = 250_000
"""Venue to edge: a report's ingest_time is its event_time plus this."""
DUPLICATE_SHARE = 0.05
FULL, CANCELLED, WORKING = "full", "cancelled", "working"
QUICK_ORDERS, QUICK_REPORTS = 2_000, 5_000
TABLE_COLUMNS = (
    "backend",
    "reports_per_s",
    "records_per_s",
    "seconds_min",
    "seconds_median",
    "seconds_max",
    "cpu_seconds",
    "crossings",
    "peak_rss_mib",
    "rss_growth_mib",
    "ratio",
)
"""What the docs page's table and the printed table show of each row (the JSON keeps every field)."""


# --------------------------------------------------------------------------- the plan


class Report(NamedTuple):
    """One planned report, compact until its block is built (see :func:`envelope`).

    A plan of 100,000 envelope dicts would sit in the worker's memory for the
    whole run and blur the core's own peak RSS; these tuples are a fraction
    of that, and each block's dicts are dropped once the core has them.
    """

    ingest_ns: int
    serial: int
    event_ns: int
    kind: str  # "ack", "fill" or "cancel"
    order: int
    step: int
    qty: int
    price: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    instrument: str
    side: str
    qty: int
    price: int
    ending: str
    fills: int


@dataclass(frozen=True, slots=True)
class Burst:
    setup: dict[str, Any]
    orders: list[Order]
    reports: list[Report]

    def mix(self) -> dict[str, int]:
        """What the burst holds, by kind: the counts the core's records must show."""
        fills = sum(o.fills for o in self.orders)
        full = sum(o.ending == FULL for o in self.orders)
        dups = Counter(r.kind for r in self.reports if r.duplicate)
        return {
            "acks": len(self.orders),
            "partial_fills": fills - full,
            "full_fills": full,
            "cancels": sum(o.ending == CANCELLED for o in self.orders),
            "duplicates": sum(dups.values()),
            "duplicate_acks": dups["ack"],
            "duplicate_fills": dups["fill"],
            "duplicate_cancels": dups["cancel"],
        }

    def transitions(self) -> int:
        """Transition entries the records must hold: a fill that leaves an order
        partially filled is a self-loop, which the trace does not list."""
        return sum(
            1 + (o.fills > 0) + (o.ending == FULL and o.fills > 1) + (o.ending == CANCELLED)
            for o in self.orders
        )

    def final_statuses(self) -> dict[str, int]:
        """Order status counts after the burst, as the plan implies them."""
        out: Counter[str] = Counter()
        for o in self.orders:
            if o.ending == FULL:
                out["filled"] += 1
            elif o.ending == CANCELLED:
                out["cancelled"] += 1
            else:
                out["partially_filled" if o.fills else "accepted"] += 1
        return dict(sorted(out.items()))


def core_setup(instruments: int) -> dict[str, Any]:
    """One external venue: the core generates no report of its own, so every record
    of the burst answers exactly one of the reports sent in."""
    return {
        "currencies": [{"code": "USD", "money_precision": 4}],
        "venues": [
            {
                "name": VENUE,
                "simulated": False,
                "order_types": ["market", "limit", "stop", "stop_limit"],
                "time_in_force": ["GTC", "IOC", "FOK", "DAY"],
                "supports_replace": True,
                "fee_ppm": 0,
                "participation_bps": None,
            }
        ],
        "instruments": [
            {
                "id": ticker,
                "venue": VENUE,
                "quote_currency": "USD",
                "price_precision": 2,
                "size_precision": 0,
                "tick_size": 1,
                "lot_size": 1,
            }
            for ticker in TICKERS[:instruments]
        ],
        "starting_cash": {"USD": 10**15},
    }


def plan_burst(orders: int, reports: int, instruments: int, seed: int = SEED) -> Burst:
    """The orders and their reports in arrival order; a function of the arguments alone.

    Fills are spread over the orders at random (many orders get a few, some
    get many), so the burst has the uneven shape of a real one rather than
    the same lifecycle ten thousand times.
    """
    if not 1 <= instruments <= len(TICKERS):
        raise ValueError(f"instruments must be 1..{len(TICKERS)}")
    duplicates = round(reports * DUPLICATE_SHARE)
    essential = reports - duplicates
    if orders < 1 or essential < orders:
        raise ValueError(
            f"{reports} reports cannot ack {orders} orders and leave "
            f"{DUPLICATE_SHARE:.0%} for duplicates"
        )
    rng = random.Random(seed)
    steps = [0] * orders
    for _ in range(essential - orders):
        steps[rng.randrange(orders)] += 1
    span = reports * REPORT_GAP_NS
    plan: list[Report] = []
    planned: list[Order] = []
    for n, extra in enumerate(steps):
        ticker = TICKERS[n % instruments]
        side = rng.choice(("buy", "sell"))
        qty = max(rng.randrange(1, 11) * 100, extra + 1)
        price = 10_000 * (2 + n % instruments) + rng.randrange(-200, 201)
        roll = rng.random()
        ending = (
            WORKING if extra == 0 else FULL if roll < 0.5 else CANCELLED if roll < 0.75 else WORKING
        )
        fills = extra - (ending == CANCELLED)
        if ending == FULL:
            cuts = [*sorted(rng.sample(range(1, qty), fills - 1)), qty]
        else:
            cuts = sorted(rng.sample(range(1, qty), fills))
        parts = [b - a for a, b in pairwise([0, *cuts])]
        ack_ns = START_NS + 1_000_000 + rng.randrange(span // 10)
        times = sorted(ack_ns + rng.randrange(1, span) for _ in range(extra))
        better = -1 if side == "buy" else 1
        events = [("ack", ack_ns, 0, 0)]
        events += [
            ("fill", t, part, price + better * rng.randrange(0, 3))
            for t, part in zip(times, parts, strict=False)
        ]
        if ending == CANCELLED:
            events.append(("cancel", times[-1], 0, 0))
        for step, (kind, at, part, fill_price) in enumerate(events):
            plan.append(Report(at + WIRE_NS, len(plan), at, kind, n, step, part, fill_price, False))
        planned.append(Order(f"o-{n:06d}", ticker, side, qty, price, ending, fills))
    for _ in range(duplicates):
        original = plan[rng.randrange(essential)]
        resent = original.ingest_ns + rng.randrange(1_000_000, 20_000_000)
        plan.append(original._replace(ingest_ns=resent, serial=len(plan), duplicate=True))
    plan.sort()
    return Burst(core_setup(instruments), planned, plan)


def place_batch(burst: Burst) -> dict[str, Any]:
    """Every order in one batch, so the whole burst finds them working; this batch is
    timed apart (``place_seconds``) because it is not part of the burst."""
    return {
        "kind": "intent_batch",
        "seq_id": None,
        "batch_id": "burst-place",
        "strategy_id": "burst",
        "ts": START_NS,
        "intents": [
            {
                "type": "place_order",
                "client_order_id": o.order_id,
                "venue": VENUE,
                "instrument": o.instrument,
                "side": o.side,
                "order_type": "limit",
                "time_in_force": "GTC",
                "qty": o.qty,
                "price": o.price,
                "stop_price": None,
            }
            for o in burst.orders
        ],
    }


def envelope(report: Report, orders: Sequence[Order]) -> dict[str, Any]:
    """The full event envelope of a planned report, as a broker adapter would hand it over."""
    order = orders[report.order]
    if report.kind == "ack":
        event_type, key = "order_accepted", f"brk:ack:{order.order_id}"
        payload: dict[str, Any] = {"order_id": order.order_id}
    elif report.kind == "fill":
        fill_id = f"x-{order.order_id}-{report.step:03d}"
        event_type, key = "order_filled", f"brk:fill:{fill_id}"
        payload = {
            "order_id": order.order_id,
            "fill_id": fill_id,
            "qty": report.qty,
            "price": report.price,
            "fee": report.qty * 50,
        }
    else:
        event_type, key = "order_cancelled", f"brk:cxl:{order.order_id}"
        payload = {"order_id": order.order_id, "reason": "cancelled by venue"}
    return {
        "kind": "event",
        "seq_id": None,
        "event_time": report.event_ns,
        "ingest_time": report.ingest_ns,
        "source": "broker_report",
        "venue": VENUE,
        "instrument": order.instrument,
        "event_type": event_type,
        "payload": payload,
        "idempotency_key": key,
        "producer_index": 0,
    }


# --------------------------------------------------------------------------- one run


@dataclass(slots=True)
class Tally:
    """What the core did with the burst, checked against the plan after the run."""

    records: int = 0
    fills: int = 0
    transitions: int = 0
    duplicate_noops: int = 0
    refusals: int = 0
    first_refusal: str | None = None
    diagnostics: Counter[str] = field(default_factory=Counter)

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.records += 1
            self.fills += len(record["fills"])
            self.transitions += len(record["transitions"])
            codes = [d["code"] for d in record["diagnostics"]]
            self.diagnostics.update(codes)
            if "DUPLICATE" in codes and not (
                record["transitions"]
                or record["fills"]
                or record["cash_deltas"]
                or record["position_deltas"]
            ):
                self.duplicate_noops += 1


def measure(
    backend: str, orders: int, reports: int, instruments: int, block: int
) -> dict[str, Any]:
    """Place the orders, then time the burst through ``step_block``; the checked row."""
    from lockstep.core import build_core

    burst = plan_burst(orders, reports, instruments)
    core = build_core(burst.setup, backend=backend)
    started = time.perf_counter()
    placed = core.step_block([place_batch(burst)])
    place_seconds = time.perf_counter() - started
    placed.raise_error()
    (record,) = placed.records()
    refused = [o for o in record["intent_outcomes"] if o["outcome"] != "accepted"]
    if refused:
        raise SystemExit(f"{backend}: the placing batch had rejected intents: {refused[:3]}")
    native = core.backend != "python"
    crossings_before = getattr(core, "crossings", None)
    half = reports // 2
    bounds = [*range(0, half, block), *range(half, reports, block), reports]
    tally = Tally()
    wall = cpu = 0.0
    rss_half = 0.0
    for start, end in pairwise(bounds):
        items = [envelope(r, burst.orders) for r in burst.reports[start:end]]
        while items:
            t0, c0 = time.perf_counter(), time.process_time()
            result = core.step_block(items)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            tally.add(_records(result, native))
            if result.error is None:
                break
            tally.refusals += 1
            if tally.first_refusal is None:
                at = start + result.consumed + 1
                tally.first_refusal = f"report {at} of the burst: {result.error}"
            start += result.consumed + 1
            items = items[result.consumed + 1 :]
        if end == half:
            rss_half = peak_rss_mib()
    peak = peak_rss_mib()
    crossings_after = getattr(core, "crossings", None)
    crossings = None if crossings_before is None else crossings_after - crossings_before
    statuses = Counter(o["status"] for o in core.snapshot()["business"]["orders"].values())
    problems = _check(burst, tally, dict(sorted(statuses.items())))
    if problems:
        raise SystemExit(f"{backend}: the burst did not go as planned:\n  " + "\n  ".join(problems))
    return {
        "backend": backend,
        "orders": orders,
        "reports": reports,
        "records": tally.records,
        "blocks": len(bounds) - 1,
        "seconds": round(wall, 4),
        "cpu_seconds": round(cpu, 4),
        "reports_per_s": round(reports / wall),
        "records_per_s": round(tally.records / wall),
        "place_seconds": round(place_seconds, 4),
        "crossings": crossings,
        "peak_rss_mib": peak,
        "rss_half_mib": rss_half,
        "rss_growth_mib": round(peak - rss_half, 1),
        "refusals": tally.refusals,
        "fills": tally.fills,
        "transitions": tally.transitions,
        "diagnostics": dict(sorted(tally.diagnostics.items())),
        "final_statuses": dict(sorted(statuses.items())),
        "final_state_hash": core.state_hash(),
        "last_hash": core.last_hash,
    }


def _records(result: BlockResult, native: bool) -> Iterator[dict[str, Any]]:
    """A block's records one at a time.

    The rust core hands back canonical lines; parsing them all at once (what
    ``records()`` does) would hold a block's worth of dicts and add a
    checking artefact to the peak RSS measured for that backend.
    """
    if not native:
        yield from result.records()
    else:
        for line in result.lines():
            yield json.loads(line)


def _check(burst: Burst, tally: Tally, statuses: dict[str, int]) -> list[str]:
    """Differences between what the core recorded and what the plan says it must."""
    mix = burst.mix()
    problems = []
    if tally.refusals:
        problems.append(f"{tally.refusals} items refused, the first at {tally.first_refusal}")
    expected = {
        "records": len(burst.reports),
        "fills": mix["partial_fills"] + mix["full_fills"],
        "transitions": burst.transitions(),
        "duplicate no-ops": mix["duplicates"],
        "diagnostics": {"DUPLICATE": mix["duplicates"]} if mix["duplicates"] else {},
        "final statuses": burst.final_statuses(),
    }
    seen = {
        "records": tally.records,
        "fills": tally.fills,
        "transitions": tally.transitions,
        "duplicate no-ops": tally.duplicate_noops,
        "diagnostics": dict(tally.diagnostics),
        "final statuses": statuses,
    }
    problems += [f"{k}: expected {v}, got {seen[k]}" for k, v in expected.items() if seen[k] != v]
    return problems


def worker(argv: list[str]) -> None:
    orders, reports, instruments, block = (int(a) for a in argv[1:5])
    print(json.dumps(measure(argv[0], orders, reports, instruments, block)))


# --------------------------------------------------------------------------- the runs


def summarize(backend: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result row over the runs of a backend: rates over the median run time."""
    seconds = [float(r["seconds"]) for r in runs]
    median = statistics.median(seconds)
    first = runs[0]
    return {
        "backend": backend,
        "orders": first["orders"],
        "reports": first["reports"],
        "records": first["records"],
        "blocks": first["blocks"],
        "seconds": round(median, 4),
        "seconds_min": min(seconds),
        "seconds_median": round(median, 4),
        "seconds_max": max(seconds),
        "runs": seconds,
        "cpu_seconds": round(statistics.median(float(r["cpu_seconds"]) for r in runs), 4),
        "reports_per_s": round(first["reports"] / median),
        "records_per_s": round(first["records"] / median),
        "place_seconds": round(statistics.median(float(r["place_seconds"]) for r in runs), 4),
        "crossings": first["crossings"],
        "peak_rss_mib": max(float(r["peak_rss_mib"]) for r in runs),
        "rss_half_mib": max(float(r["rss_half_mib"]) for r in runs),
        "rss_growth_mib": max(float(r["rss_growth_mib"]) for r in runs),
        "refusals": first["refusals"],
        "fills": first["fills"],
        "transitions": first["transitions"],
        "diagnostics": first["diagnostics"],
        "final_statuses": first["final_statuses"],
        "final_state_hash": first["final_state_hash"],
        "last_hash": first["last_hash"],
    }


def disagreement(runs: dict[str, list[dict[str, Any]]]) -> str | None:
    """The hashes of every run when they do not all match, else None."""
    ends = {
        f"{backend} run {n + 1}": (row["final_state_hash"], row["last_hash"])
        for backend, rows in runs.items()
        for n, row in enumerate(rows)
    }
    if len(set(ends.values())) <= 1:
        return None
    lines = [f"  {who}: state {state}  last record {last}" for who, (state, last) in ends.items()]
    return "backends disagree on the burst's end:\n" + "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from lockstep.runtime.backtest import BLOCK_SIZE

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--instruments", type=int, default=5)
    parser.add_argument(
        "--block", type=int, default=BLOCK_SIZE, help="items per step_block (the runtime's)"
    )
    parser.add_argument("--backends", default="python,rust")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--out", type=Path, help=f"default {RESULTS}, or {QUICK_OUT} with --quick")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI form: {QUICK_ORDERS:,} orders, {QUICK_REPORTS:,} reports, one round",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.reports, args.repeat = QUICK_ORDERS, QUICK_REPORTS, 1
    args.out = args.out or (QUICK_OUT if args.quick else RESULTS)
    args.repeat = max(1, args.repeat)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from lockstep.core.backend import native_status

    args = parse(argv)
    backends = args.backends.split(",")
    native = native_status()
    if args.quick and not native.available:
        backends = [b for b in backends if b != "rust"]
    if "rust" in backends and not native.available:
        # Exit code 3: "cannot run here", which bench_peers.py reports as skipped.
        print(f"the rust backend cannot run here: {native.problem}", file=sys.stderr)
        return 3
    script = Path(__file__).resolve()
    argv_worker = [str(n) for n in (args.orders, args.reports, args.instruments, args.block)]
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    for _ in range(args.repeat):
        for backend in backends:
            runs[backend].append(run_worker(script, [backend, *argv_worker]))
        if problem := disagreement(runs):
            print(problem, file=sys.stderr)
            return 1
    burst = plan_burst(args.orders, args.reports, args.instruments)
    params = {
        "orders": args.orders,
        "reports": args.reports,
        "instruments": args.instruments,
        "venue": f"{VENUE} (external: simulated false)",
        "block": args.block,
        "wake": None,
        "repeat": args.repeat,
        "quick": args.quick,
        "seed": SEED,
        "mix": burst.mix(),
        "order": "interleaved: every backend once per round, in the order given",
        "timed": "core.step_block calls of the burst (the placing batch is place_seconds)",
        "rates": "reports and records over the median run's seconds",
        "growth": "peak RSS after the first half of the reports vs after all, same run",
    }
    rows = [summarize(b, runs[b]) for b in backends]
    out = write_result(
        "order_burst",
        params,
        rows,
        "reports_per_s",
        args.out / "order_burst.json",
        table_columns=TABLE_COLUMNS,
    )
    print(f"order_burst -> {out}")
    columns = [c for c in TABLE_COLUMNS if c not in ("seconds_min", "seconds_max")]
    print_table(rows, columns)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
    else:
        sys.exit(main())
