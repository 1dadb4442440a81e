"""Golden cases: every bundled case is reproduced byte for byte and pins what its name promises.

The cases come from the *installed* ``lockstep-contracts`` (``list_cases()`` /
``golden_root()``). For each one the tests check that

* a fresh run reproduces ``expected_trace.jsonl`` and ``expected_state.json``;
* the CLI (``python -m lockstep.core trace CASE --out F``) writes the same bytes
  and prints the state hash on its last line;
* the hash chain is intact, recomputed here with ``hashlib``/``json`` only;
* every setup, input line, trace record and state validates against the schemas;
* replaying the recorded inputs (seq_ids kept) into a fresh core gives the same
  records and state, and so does restoring a snapshot taken at any point and
  applying the rest;
* the behaviour the case is named for really is in its trace (one targeted
  check per case, in ``CHECKS``).

``tools/golden.py`` (the ``nox -s golden`` check) is exercised from the source
tree as well. Expected files are never written by these tests.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lockstep.contracts import golden, load_schema, load_transition_table
from lockstep.contracts.schemas import iter_errors
from lockstep.core import build_core
from lockstep.core.cases import run_case

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_TOOL = REPO_ROOT / "tools" / "golden.py"
CASES = golden.list_cases()
GENESIS = "0" * 64
DAY_NS = 86_400_000_000_000

REQUIRED_CASES = {
    "happy_path_market_fill",
    "limit_fill_bar_rules",
    "stop_and_stop_limit_triggers",
    "partial_fills_participation_cap",
    "ioc_and_fok",
    "day_order_expiry",
    "cancel_simulated",
    "cancel_racing_fill",
    "rejected_cancel",
    "venue_reject",
    "expiry_external",
    "replace_order",
    "fill_before_ack",
    "duplicate_reports",
    "unknown_order_report",
    "overfill_attempt",
    "same_timestamp_tie_breaks",
    "invalid_intents_every_reason",
    "risk_limit_breach",
    "halt_and_resume",
    "timers_time_steps",
    "short_and_flip_pnl",
}


# ---------------------------------------------------------------------------- helpers


def canonical(value: Any) -> bytes:
    """Canonical JSON written from scratch here (not the core's encoder)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def case_of(name: str) -> golden.GoldenCase:
    return golden.load_case(name)


def case_dir(name: str) -> Path:
    return golden.golden_root() / name


def expected_records(name: str) -> list[dict[str, Any]]:
    trace = case_of(name).expected_trace
    assert trace is not None, (
        f"{name}: expected_trace.jsonl is missing (run: nox -s golden -- --update)"
    )
    return trace


def expected_state(name: str) -> dict[str, Any]:
    state = case_of(name).expected_state
    assert state is not None, (
        f"{name}: expected_state.json is missing (run: nox -s golden -- --update)"
    )
    return state


def expected_hash(name: str) -> str:
    return sha256(canonical(expected_state(name)["business"]))


@dataclass
class Step:
    """One input line applied to a core: its records and the state hash around it."""

    item: dict[str, Any]
    records: list[dict[str, Any]]
    hash_before: str
    hash_after: str
    snapshot: dict[str, Any]


@functools.cache
def steps(name: str) -> tuple[Step, ...]:
    case = case_of(name)
    core = build_core(copy.deepcopy(case.setup))
    out: list[Step] = []
    for item in case.inputs:
        before = core.state_hash()
        records = core.step(copy.deepcopy(item))
        out.append(Step(item, records, before, core.state_hash(), core.snapshot()))
    return tuple(out)


def fills(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for r in records for f in r["fills"]]


def fill_summary(records: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(f["order_id"], f["qty"], f["price"]) for f in fills(records)]


def transitions(
    records: list[dict[str, Any]], trigger: str | None = None
) -> list[tuple[str, str, str, str]]:
    return [
        (t["order_id"], t["from"], t["to"], t["trigger"])
        for r in records
        for t in r["transitions"]
        if trigger is None or t["trigger"] == trigger
    ]


def diagnostics(records: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [d for r in records for d in r["diagnostics"] if d["code"] == code]


def outcomes(records: list[dict[str, Any]]) -> dict[str | None, list[str | None]]:
    """order id -> reason codes of every intent naming it (None for accepted)."""
    out: dict[str | None, list[str | None]] = {}
    for r in records:
        for o in r["intent_outcomes"]:
            out.setdefault(o["order_id"], []).append(o["reason_code"])
    return out


def has_effects(record: dict[str, Any]) -> bool:
    return bool(
        record["transitions"]
        or record["fills"]
        or record["position_deltas"]
        or record["cash_deltas"]
    )


def event_type(record: dict[str, Any]) -> str:
    return str(record["input"].get("event_type", "intent_batch"))


def generated_after(records: list[dict[str, Any]], seq_id: int) -> list[dict[str, Any]]:
    """The generated records that directly follow the record ``seq_id``."""
    out: list[dict[str, Any]] = []
    for r in records:
        if r["seq_id"] <= seq_id:
            continue
        if r["origin"] != "generated":
            break
        out.append(r)
    return out


def ceil_fee(notional: int, fee_ppm: int) -> int:
    return -(-notional * fee_ppm // 1_000_000)


def venue_of(name: str, venue: str) -> dict[str, Any]:
    return next(v for v in case_of(name).setup["venues"] if v["name"] == venue)


def orders(name: str) -> dict[str, dict[str, Any]]:
    return expected_state(name)["business"]["orders"]


# ---------------------------------------------------------------------------- the case set


def test_enough_cases_and_every_required_one() -> None:
    assert len(CASES) >= 18
    assert set(CASES) >= REQUIRED_CASES, f"missing: {sorted(REQUIRED_CASES - set(CASES))}"


def test_every_case_has_a_targeted_check() -> None:
    assert set(CASES) == set(CHECKS), "each golden case needs an entry in CHECKS"


@pytest.mark.parametrize("name", CASES)
def test_case_files_are_complete(name: str) -> None:
    d = case_dir(name)
    for file in (
        "setup.json",
        "input.jsonl",
        "expected_trace.jsonl",
        "expected_state.json",
        "case.md",
    ):
        assert (d / file).is_file(), f"{name}: missing {file}"
    assert len((d / "case.md").read_text(encoding="utf-8").split()) > 20, (
        "case.md must say what the case pins"
    )
    for item in case_of(name).inputs:
        events = item["events"] if item["kind"] == "event_group" else [item]
        for event in events:
            assert event["seq_id"] is None, "fresh input lines carry seq_id null"


# ---------------------------------------------------------------------------- reproduction


@pytest.mark.parametrize("name", CASES)
def test_run_reproduces_expected_files_byte_for_byte(name: str) -> None:
    run = run_case(case_dir(name))
    assert run.trace_bytes() == (case_dir(name) / "expected_trace.jsonl").read_bytes()
    assert run.state_bytes() == (case_dir(name) / "expected_state.json").read_bytes()
    assert run.state_hash == expected_hash(name)


@pytest.mark.parametrize("name", CASES)
def test_cli_writes_the_same_trace_and_prints_the_state_hash(name: str, tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "lockstep.core", "trace", str(case_dir(name)), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (case_dir(name) / "expected_trace.jsonl").read_bytes()
    assert proc.stdout.strip().splitlines()[-1] == expected_hash(name)


@pytest.mark.parametrize("name", CASES)
def test_hash_chain_is_intact(name: str) -> None:
    lines = (case_dir(name) / "expected_trace.jsonl").read_bytes().splitlines()
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert canonical(record) == line, f"line {number} is not canonical JSON"
        assert record["seq_id"] == number, "fresh input gives seq_ids 1, 2, 3, ..."
        assert record["prev_hash"] == prev, f"line {number}: prev_hash does not link"
        body = {k: v for k, v in record.items() if k != "hash"}
        assert record["hash"] == sha256(canonical(body)), f"line {number}: hash mismatch"
        prev = record["hash"]
    engine = expected_state(name)["engine"]
    assert engine["last_hash"] == prev
    assert engine["last_seq_id"] == len(lines)


@pytest.mark.parametrize("name", CASES)
def test_every_file_validates_against_the_schemas(name: str) -> None:
    case = case_of(name)
    problems = [f"setup.json: {v}" for v in iter_errors("setup", case.setup)]
    for n, item in enumerate(case.inputs, start=1):
        problems += [f"input.jsonl:{n}: {v}" for v in iter_errors("input_item", item)]
    for n, record in enumerate(expected_records(name), start=1):
        problems += [f"expected_trace.jsonl:{n}: {v}" for v in iter_errors("trace_record", record)]
    problems += [f"expected_state.json: {v}" for v in iter_errors("state", expected_state(name))]
    assert problems == []
    assert case.schema_violations() == []


@pytest.mark.parametrize("name", CASES)
def test_every_transition_is_a_row_of_the_contract_table(name: str) -> None:
    table = load_transition_table()
    rows = {(row.from_state, row.trigger, row.to_state) for row in table.rows}
    for order_id, src, dst, trigger in transitions(expected_records(name)):
        if src is None:
            assert (dst, trigger) == ("created", "create"), order_id
            continue
        assert src not in table.terminal_states, f"{order_id} left terminal state {src}"
        assert (src, trigger, dst) in rows, f"{order_id}: {src} -{trigger}-> {dst}"


@pytest.mark.parametrize("name", CASES)
def test_replaying_the_recorded_inputs_reproduces_everything(name: str) -> None:
    records = expected_records(name)
    core = build_core(copy.deepcopy(case_of(name).setup))
    replayed: list[dict[str, Any]] = []
    for record in records:
        if record["origin"] == "input":
            replayed.extend(core.step(copy.deepcopy(record["input"])))
    assert [canonical(r) for r in replayed] == [canonical(r) for r in records]
    assert core.state_hash() == expected_hash(name)
    assert core.snapshot() == expected_state(name)


@pytest.mark.parametrize("name", CASES)
def test_restoring_a_mid_case_snapshot_gives_the_same_end(name: str) -> None:
    case = case_of(name)
    records = expected_records(name)
    assert len(case.inputs) >= 2
    for split in range(1, len(case.inputs)):
        first = build_core(copy.deepcopy(case.setup))
        done = first.apply_many(copy.deepcopy(case.inputs[:split]))
        checkpoint = json.loads(json.dumps(first.snapshot()))  # as if stored and read back
        assert iter_errors("state", checkpoint) == []
        second = build_core(copy.deepcopy(case.setup))
        second.restore(checkpoint)
        assert second.state_hash() == first.state_hash()
        rest = second.apply_many(copy.deepcopy(case.inputs[split:]))
        assert [canonical(r) for r in done + rest] == [canonical(r) for r in records], (
            f"split {split}"
        )
        assert second.state_hash() == expected_hash(name), f"split {split}"
        assert second.snapshot() == expected_state(name), f"split {split}"


# ---------------------------------------------------------------------------- targeted checks


def check_happy_path_market_fill(name: str, records: list[dict[str, Any]]) -> None:
    fee_ppm = venue_of(name, "sim")["fee_ppm"]
    got = fills(records)
    assert [(f["order_id"], f["side"], f["qty"], f["price"]) for f in got] == [
        ("o-1", "buy", 10, 18503),
        ("o-2", "sell", 4, 18611),
    ]
    for f in got:
        assert f["notional"] == f["price"] * f["qty"] * 100
        assert f["fee"] == ceil_fee(f["notional"], fee_ppm)
        assert f["notional"] * fee_ppm % 1_000_000 != 0, "the case must exercise rounding up"
        assert f["fee"] > f["notional"] * fee_ppm // 1_000_000
    assert [f["fee"] for f in got] == [4626, 1862]
    # The place record creates and submits; the acceptance is generated right after it.
    place = next(
        r for r in records if r["intent_outcomes"] and r["intent_outcomes"][0]["order_id"] == "o-1"
    )
    assert transitions([place]) in (
        [("o-1", "created", "submitted", "submit")],
        [("o-1", None, "created", "create"), ("o-1", "created", "submitted", "submit")],
    )
    (ack,) = generated_after(records, place["seq_id"])
    assert transitions([ack]) == [("o-1", "submitted", "accepted", "accept")]
    # Market orders fill at the OPEN of the next bar, in a generated record right after it.
    bars = [r for r in records if event_type(r) == "bar"]
    for bar, fill in zip(bars[1:], got, strict=True):
        (gen,) = generated_after(records, bar["seq_id"])
        assert gen["fills"] == [fill]
        assert fill["price"] == bar["input"]["payload"]["open"]
        assert fill["fill_id"] == f"sim-{bar['seq_id']}-0"
    assert [r["cash_deltas"] for r in records if r["fills"]] == [
        [{"currency": "USD", "delta": -(18_503_000 + 4626)}],
        [{"currency": "USD", "delta": 7_444_400 - 1862}],
    ]
    business = expected_state(name)["business"]
    assert business["realized_pnl"]["USD"] == 7_444_400 - 18_503_000 * 4 // 10
    assert business["fees"]["USD"] == 4626 + 1862
    assert business["positions"]["AAPL"] == 6


def check_limit_fill_bar_rules(name: str, records: list[dict[str, Any]]) -> None:
    prices = {f["order_id"]: f["price"] for f in fills(records)}
    assert prices == {
        "b-open": 17950,  # open 179.50 <= limit 180.00: fills at the open
        "b-range": 17900,  # only the low crosses: fills at the limit
        "s-open": 17950,  # open 179.50 >= limit 179.00: fills at the open
        "s-range": 18100,  # only the high crosses: fills at the limit
        "b-rest": 17700,  # rested through bar 1, touched exactly by bar 2's low
        "s-rest": 18200,  # rested through bar 1, touched exactly by bar 2's high
    }
    bars = [r for r in records if event_type(r) == "bar"]
    first = [f["order_id"] for r in generated_after(records, bars[0]["seq_id"]) for f in r["fills"]]
    second = [
        f["order_id"] for r in generated_after(records, bars[1]["seq_id"]) for f in r["fills"]
    ]
    assert first == ["b-open", "b-range", "s-open", "s-range"]  # creation order
    assert second == ["b-rest", "s-rest"]


def check_stop_and_stop_limit_triggers(name: str, records: list[dict[str, Any]]) -> None:
    assert {f["order_id"]: f["price"] for f in fills(records)} == {
        "st-buy-bar": 18200,  # triggered inside the bar: at the stop
        "st-sell-gap": 17850,  # gapped through the stop: at the open
        "st-buy-trade": 18010,  # triggered by the second trade: at its price
        "sl-buy-intrabar": 18400,  # stop-limit, bar open replaced by the stop
        "sl-buy-wait": 18540,  # triggered on one bar, filled at the next open
        "sl-sell-trade": 18380,  # at its limit on a trade print
        "st-sell-quote": 18290,  # at the bid that triggered it
    }
    trades = [r for r in records if event_type(r) == "trade"]
    assert generated_after(records, trades[0]["seq_id"]) == [], (
        "179.90 must not trigger a 180.00 buy stop"
    )
    # sl-buy-wait: triggered (and stays so) on the bar that does not fill it.
    trigger_step = next(
        s
        for s in steps(name)
        if s.item.get("event_type") == "bar" and s.item["payload"]["high"] == 18650
    )
    order = trigger_step.snapshot["business"]["orders"]["sl-buy-wait"]
    assert (order["status"], order["filled_qty"], order["triggered"]) == ("accepted", 0, True)
    assert fills(trigger_step.records) == []


def check_partial_fills_participation_cap(name: str, records: list[dict[str, Any]]) -> None:
    bps = venue_of(name, "sim")["participation_bps"]
    fee_ppm = venue_of(name, "sim")["fee_ppm"]
    lot = case_of(name).setup["instruments"][0]["lot_size"]
    assert fill_summary(records) == [
        ("p-1", 100, 17990),
        ("p-1", 120, 17980),
        ("p-1", 180, 17970),
        ("p-2", 100, 17970),
    ]
    for bar in (r for r in records if event_type(r) == "bar"):
        cap = bar["input"]["payload"]["volume"] * bps // 10_000
        got = fills(generated_after(records, bar["seq_id"]))
        assert sum(f["qty"] for f in got) <= cap
        assert all(f["qty"] % lot == 0 for f in got)
        if bar["input"]["payload"]["volume"] == 1234:
            assert cap == 123 and [f["qty"] for f in got] == [120], "cap rounds down to the lot"
        if bar["input"]["payload"]["volume"] == 0:
            assert got == []
    for f in fills(records):
        assert f["fee"] == ceil_fee(f["notional"], fee_ppm)
    p1 = [(src, dst) for oid, src, dst, _ in transitions(records) if oid == "p-1"]
    assert p1[-2:] == [("accepted", "partially_filled"), ("partially_filled", "filled")]
    second_fill = next(r for r in records if r["fills"] and r["fills"][0]["qty"] == 120)
    assert second_fill["transitions"] == [], "partially_filled -> partially_filled adds no entry"


def check_ioc_and_fok(name: str, records: list[dict[str, Any]]) -> None:
    assert fill_summary(records) == [("ioc-1", 200, 17990), ("fok-2", 150, 17990)]
    cancels = [
        (r["input"]["payload"]["order_id"], r["input"]["payload"]["reason"])
        for r in records
        if event_type(r) == "order_cancelled"
    ]
    assert cancels == [
        ("ioc-1", "IOC remainder cancelled"),
        ("ioc-2", "IOC remainder cancelled"),
        ("fok-1", "FOK order could not be filled in full"),
    ]
    assert all(r["origin"] == "generated" for r in records if event_type(r) == "order_cancelled")
    # The IOC remainder is cancelled in the same time step as its partial fill.
    fill = next(r for r in records if r["fills"] and r["fills"][0]["order_id"] == "ioc-1")
    nxt = next(r for r in records if r["seq_id"] == fill["seq_id"] + 1)
    assert transitions([nxt]) == [("ioc-1", "partially_filled", "cancelled", "cancel")]
    assert nxt["input"]["event_time"] == fill["input"]["event_time"]
    state = orders(name)
    assert {k: (o["status"], o["filled_qty"]) for k, o in state.items()} == {
        "ioc-1": ("cancelled", 200),
        "ioc-2": ("cancelled", 0),
        "fok-1": ("cancelled", 0),
        "fok-2": ("filled", 150),
    }


def check_day_order_expiry(name: str, records: list[dict[str, Any]]) -> None:
    bars = [r for r in records if event_type(r) == "bar"]
    monday = records[0]["input"]["ts"] // DAY_NS
    midnight_bar = next(b for b in bars if b["input"]["event_time"] % DAY_NS == 0)
    assert midnight_bar["input"]["event_time"] // DAY_NS == monday + 1
    gen = generated_after(records, midnight_bar["seq_id"])
    assert [(event_type(r), r["input"]["payload"]["order_id"]) for r in gen] == [
        ("order_expired", "day-1"),
        ("order_filled", "gtc-1"),
        ("order_expired", "day-late"),
    ]
    late = next(r for r in records if r["input"].get("batch_id") == "b-2")
    assert late["input"]["ts"] // DAY_NS == monday, "day-late was placed on Monday"
    assert transitions(records, "expire") == [
        ("day-1", "accepted", "expired", "expire"),
        ("day-late", "accepted", "expired", "expire"),
    ]
    assert {k: o["status"] for k, o in orders(name).items()} == {
        "day-1": "expired",
        "gtc-1": "filled",
        "day-late": "expired",
        "day-2": "filled",
    }


def check_cancel_simulated(name: str, records: list[dict[str, Any]]) -> None:
    batch = next(r for r in records if r["input"].get("batch_id") == "b-2")
    assert transitions([batch]) == [
        ("c-1", "accepted", "cancel_pending", "cancel_request"),
        ("c-2", "partially_filled", "cancel_pending", "cancel_request"),
    ]
    gen = generated_after(records, batch["seq_id"])
    assert [(r["input"]["payload"]["order_id"], r["input"]["payload"]["reason"]) for r in gen] == [
        ("c-1", "cancel requested"),
        ("c-2", "cancel requested"),
    ]
    assert transitions(gen) == [
        ("c-1", "cancel_pending", "cancelled", "cancel"),
        ("c-2", "cancel_pending", "cancelled", "cancel"),
    ]
    again = next(r for r in records if r["input"].get("batch_id") == "b-3")
    assert outcomes([again]) == {"c-1": ["ORDER_NOT_CANCELABLE"], "c-9": ["UNKNOWN_ORDER"]}
    assert not has_effects(again)
    assert records[-1]["origin"] == "input" and event_type(records[-1]) == "bar", (
        "no fill after the cancels"
    )
    assert (orders(name)["c-2"]["status"], orders(name)["c-2"]["filled_qty"]) == ("cancelled", 50)


def check_cancel_racing_fill(name: str, records: list[dict[str, Any]]) -> None:
    racing = next(r for r in records if r["fills"] and r["fills"][0]["order_id"] == "r-1")
    assert racing["transitions"] == [], "a partial fill while cancel_pending is a self-loop"
    assert racing["position_deltas"] == [{"instrument": "AAPL", "delta": 40}]
    step = next(s for s in steps(name) if racing in s.records)
    assert step.snapshot["business"]["orders"]["r-1"]["status"] == "cancel_pending"
    assert ("r-1", "cancel_pending", "cancelled", "cancel") in transitions(records)
    assert ("r-2", "cancel_pending", "filled", "fill_complete") in transitions(records)
    last = records[-1]
    assert event_type(last) == "order_cancelled" and last["input"]["payload"]["order_id"] == "r-2"
    assert [d["code"] for d in last["diagnostics"]] == ["TERMINAL_ABSORBED"]
    assert not has_effects(last)
    state = orders(name)
    assert (state["r-1"]["status"], state["r-1"]["filled_qty"]) == ("cancelled", 40)
    assert (state["r-2"]["status"], state["r-2"]["filled_qty"]) == ("filled", 100)


def check_rejected_cancel(name: str, records: list[dict[str, Any]]) -> None:
    assert transitions(records, "cancel_reject") == [
        ("k-1", "cancel_pending", "accepted", "cancel_reject"),
        ("k-2", "cancel_pending", "partially_filled", "cancel_reject"),
    ]
    (unexpected,) = diagnostics(records, "UNEXPECTED_REPORT")
    assert unexpected["order_id"] == "k-1"
    assert {k: o["status"] for k, o in orders(name).items()} == {
        "k-1": "cancelled",
        "k-2": "partially_filled",
    }
    assert orders(name)["k-2"]["filled_qty"] == 30


def check_venue_reject(name: str, records: list[dict[str, Any]]) -> None:
    assert transitions(records, "reject") == [
        ("v-1", "submitted", "rejected", "reject"),
        ("v-2", "accepted", "rejected", "reject"),
    ]
    assert [d["order_id"] for d in diagnostics(records, "TERMINAL_ABSORBED")] == ["v-1"]
    assert outcomes(records)["v-2"][-1] == "ORDER_NOT_CANCELABLE"
    assert fills(records) == []
    business = expected_state(name)["business"]
    assert business["cash"] == case_of(name).setup["starting_cash"]


def check_expiry_external(name: str, records: list[dict[str, Any]]) -> None:
    assert transitions(records, "expire") == [
        ("x-1", "accepted", "expired", "expire"),
        ("x-2", "partially_filled", "expired", "expire"),
        ("x-3", "cancel_pending", "expired", "expire"),
        ("x-4", "submitted", "expired", "expire"),
    ]
    (unexpected,) = diagnostics(records, "UNEXPECTED_REPORT")
    assert unexpected["order_id"] == "x-3"
    business = expected_state(name)["business"]
    assert business["orders"]["x-2"]["filled_qty"] == 40
    assert business["positions"]["AAPL"] == 40


def check_replace_order(name: str, records: list[dict[str, Any]]) -> None:
    assert transitions(records, "replace") == [
        ("rp-s", "replace_pending", "accepted", "replace"),
        ("rp-x2", "replace_pending", "partially_filled", "replace"),
    ]
    assert transitions(records, "replace_reject") == [
        ("rp-x1", "replace_pending", "accepted", "replace_reject")
    ]
    generated_replace = [
        r for r in records if event_type(r) == "order_replaced" and r["origin"] == "generated"
    ]
    assert len(generated_replace) == 1, "the simulated venue answers the replace itself"
    (invalid,) = [
        r for r in records if r["diagnostics"] and r["diagnostics"][0]["code"] == "INVALID_REPORT"
    ]
    assert invalid["input"]["payload"]["qty"] == 30 and not has_effects(invalid)
    pending_fill = next(r for r in records if r["fills"] and r["fills"][0]["fill_id"] == "x-f-2")
    assert pending_fill["transitions"] == []
    state = orders(name)
    assert (state["rp-s"]["qty"], state["rp-s"]["price"], state["rp-s"]["status"]) == (
        150,
        17750,
        "filled",
    )
    assert ("rp-s", 150, 17750) in fill_summary(records)
    assert (state["rp-x1"]["qty"], state["rp-x1"]["price"], state["rp-x1"]["status"]) == (
        100,
        41000,
        "accepted",
    )
    assert (state["rp-x2"]["qty"], state["rp-x2"]["price"], state["rp-x2"]["filled_qty"]) == (
        120,
        41150,
        50,
    )


def check_fill_before_ack(name: str, records: list[dict[str, Any]]) -> None:
    assert [d["order_id"] for d in diagnostics(records, "IMPLIED_ACCEPT")] == ["fa-1", "fa-2"]
    fa2 = next(r for r in records if r["fills"] and r["fills"][0]["order_id"] == "fa-2")
    assert transitions([fa2]) == [
        ("fa-2", "submitted", "accepted", "implied_accept"),
        ("fa-2", "accepted", "filled", "fill_complete"),
    ]
    fa1 = next(r for r in records if r["fills"] and r["fills"][0]["order_id"] == "fa-1")
    assert transitions([fa1]) == [
        ("fa-1", "submitted", "accepted", "implied_accept"),
        ("fa-1", "accepted", "partially_filled", "fill"),
    ]
    assert [d["order_id"] for d in diagnostics(records, "UNEXPECTED_REPORT")] == ["fa-1"]
    assert [d["order_id"] for d in diagnostics(records, "TERMINAL_ABSORBED")] == ["fa-2"]
    assert {k: o["status"] for k, o in orders(name).items()} == {"fa-1": "filled", "fa-2": "filled"}


def check_duplicate_reports(name: str, records: list[dict[str, Any]]) -> None:
    dups = [r for r in records if any(d["code"] == "DUPLICATE" for d in r["diagnostics"])]
    assert [event_type(r) for r in dups] == ["order_accepted", "order_filled", "bar"]
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        key = r["input"].get("idempotency_key")
        if key is None:
            continue
        if r in dups:
            first = seen[key]
            assert r["input"]["payload"] == first["input"]["payload"]
            assert not has_effects(r)
        else:
            seen[key] = r
    for step in steps(name):
        if any(r in dups for r in step.records):
            assert step.hash_after == step.hash_before, (
                "a duplicate must leave the state hash unchanged"
            )
            assert len(step.records) == 1, "a duplicate bar must not be matched again"
    assert fill_summary(records) == [("d-1", 30, 18000), ("d-2", 50, 40990)]
    business = expected_state(name)["business"]
    assert business["seen_keys"] == sorted(seen)
    assert business["positions"] == {"AAPL": 30, "MSFT": 50}


def check_unknown_order_report(name: str, records: list[dict[str, Any]]) -> None:
    quarantined = [(d["order_id"], d["detail"]) for d in diagnostics(records, "QUARANTINED_FILL")]
    assert quarantined == [("ghost-1", "UNKNOWN_ORDER"), ("u-1", "UNKNOWN_ORDER")]
    assert [d["order_id"] for d in diagnostics(records, "UNKNOWN_ORDER_REPORT")] == [
        "ghost-1",
        "ghost-2",
        "u-1",
    ]
    assert fills(records) == []
    business = expected_state(name)["business"]
    fill_seqs = [r["seq_id"] for r in records if event_type(r) == "order_filled"]
    assert [(q["seq_id"], q["order_id"], q["reason"]) for q in business["quarantine"]] == [
        (fill_seqs[0], "ghost-1", "UNKNOWN_ORDER"),
        (fill_seqs[1], "u-1", "UNKNOWN_ORDER"),
    ]
    assert business["cash"] == case_of(name).setup["starting_cash"]
    assert set(business["positions"].values()) == {0}
    assert business["orders"]["u-1"]["status"] == "accepted"


def check_overfill_attempt(name: str, records: list[dict[str, Any]]) -> None:
    quarantined = [r for r in records if diagnostics([r], "QUARANTINED_FILL")]
    assert [(d["order_id"], d["detail"]) for d in diagnostics(records, "QUARANTINED_FILL")] == [
        ("of-1", "OVERFILL"),
        ("of-1", "OVERFILL"),
        ("of-2", "FILL_AFTER_TERMINAL"),
        ("of-3", "FILL_AFTER_TERMINAL"),
    ]
    assert all(not has_effects(r) for r in quarantined)
    business = expected_state(name)["business"]
    assert [(q["seq_id"], q["qty"]) for q in business["quarantine"]] == [
        (r["seq_id"], r["input"]["payload"]["qty"]) for r in quarantined
    ]
    of1 = business["orders"]["of-1"]
    assert (of1["status"], of1["filled_qty"], of1["qty"]) == ("filled", 100, 100)
    assert business["positions"]["AAPL"] == 100


def check_same_timestamp_tie_breaks(name: str, records: list[dict[str, Any]]) -> None:
    setup = case_of(name).setup
    assert setup["source_priority"] != ["control", "broker_report", "market_data", "timer"]
    (grp,) = [i for i in case_of(name).inputs if i["kind"] == "event_group"]
    events = grp["events"]
    assert {e["source"] for e in events} == {"market_data", "broker_report", "timer", "control"}
    rank = {s: n for n, s in enumerate(setup["source_priority"])}

    def key(e: dict[str, Any]) -> tuple[int, int, str, str, int]:
        return (
            e["event_time"],
            rank[e["source"]],
            e["venue"],
            e["instrument"] or "",
            e["producer_index"],
        )

    expected_order = sorted(events, key=key)  # stable, like the sequencer
    assert expected_order != events, "the group must be listed out of order"
    first_group_seq = records[0]["seq_id"] + len(generated_after(records, records[0]["seq_id"])) + 1
    committed = [r for r in records if r["seq_id"] >= first_group_seq]
    assert [
        r["input"] | {"seq_id": None} for r in committed if r["origin"] == "input"
    ] == expected_order
    summary = [
        (
            r["origin"],
            r["input"]["source"],
            r["input"]["venue"],
            r["input"]["instrument"],
            r["input"]["producer_index"],
            event_type(r),
        )
        for r in committed
    ]
    assert summary == [
        ("input", "market_data", "beta", "B1", 0, "quote"),  # 1 ms earlier: time first
        ("input", "broker_report", "ext", "X1", 0, "order_accepted"),
        ("input", "market_data", "alpha", "A1", 0, "trade"),
        ("generated", "broker_report", "alpha", "A1", 0, "order_filled"),  # settles right away
        ("input", "market_data", "alpha", "A2", 0, "trade"),
        ("input", "market_data", "alpha", "A2", 1, "trade"),
        ("generated", "broker_report", "alpha", "A2", 0, "order_filled"),
        ("input", "market_data", "beta", "B1", 0, "trade"),
        ("input", "control", "ops", None, 0, "set_risk_flag"),
        ("input", "control", "ops", None, 0, "set_risk_flag"),
        ("input", "timer", "clock", None, 0, "timer"),
    ]
    flags = [r["input"]["payload"]["value"] for r in committed if event_type(r) == "set_risk_flag"]
    assert flags == [True, False], "equal keys keep their listed order"
    assert expected_state(name)["business"]["risk"]["reduce_only"] is False


def check_invalid_intents_every_reason(name: str, records: list[dict[str, Any]]) -> None:
    enum = set(load_schema("common")["$defs"]["reason_code"]["enum"])
    seen = {
        o["reason_code"]
        for r in records
        for o in r["intent_outcomes"]
        if o["outcome"] == "rejected"
    }
    assert seen == enum
    for r in records:
        if r["intent_outcomes"] and all(o["outcome"] == "rejected" for o in r["intent_outcomes"]):
            assert not has_effects(r), f"seq {r['seq_id']}: rejected intents changed something"
    mixed = next(r for r in records if r["input"].get("batch_id") == "b-risk-state")
    assert transitions([mixed]) in (
        [("new-1", "created", "submitted", "submit")],
        [("new-1", None, "created", "create"), ("new-1", "created", "submitted", "submit")],
    )
    business = expected_state(name)["business"]
    assert sorted(business["orders"]) == ["good-1", "good-2", "new-1"]
    assert business["risk"] == {"halted": False, "reduce_only": False, "no_new_orders": False}


def check_risk_limit_breach(name: str, records: list[dict[str, Any]]) -> None:
    got = {oid: codes[0] for oid, codes in outcomes(records).items()}
    assert got == {
        "r-1": None,
        "r-2": "MAX_POSITION_EXCEEDED",
        "r-3": None,
        "r-4": "MAX_POSITION_EXCEEDED",
        "r-5": "MAX_POSITION_EXCEEDED",
        "r-6": "MAX_NOTIONAL_EXCEEDED",
        "r-7": None,
        "r-8": "MAX_NOTIONAL_EXCEEDED",
        "r-9": None,
        "r-10": "MAX_POSITION_EXCEEDED",
        "r-11": None,
    }
    limit = case_of(name).setup["risk"]["max_order_notional"]["USD"]
    r1, r3 = 17000 * 60 * 100, 17000 * 40 * 100
    assert r1 <= limit and r3 <= limit < r1 + r3, "notional is checked per order"
    assert 17000 * 90 * 100 > limit >= 17000 * 80 * 100, (
        "market orders are valued at the last close"
    )
    assert expected_state(name)["business"]["positions"]["AAPL"] == 19


def check_halt_and_resume(name: str, records: list[dict[str, Any]]) -> None:
    halted = next(r for r in records if r["input"].get("batch_id") == "b-2")
    assert [(o["type"], o["order_id"], o["reason_code"]) for o in halted["intent_outcomes"]] == [
        ("place_order", "h-3", "HALTED"),
        ("replace_order", "h-1", "HALTED"),
        ("cancel_order", "h-2", None),
        ("noop", None, None),
    ]
    assert ("h-2", "cancel_pending", "cancelled", "cancel") in transitions(records)
    halt_seq = next(r["seq_id"] for r in records if event_type(r) == "halt")
    resume_seq = next(r["seq_id"] for r in records if event_type(r) == "resume")
    (h1_fill,) = [r for r in records if r["fills"] and r["fills"][0]["order_id"] == "h-1"]
    assert halt_seq < h1_fill["seq_id"] < resume_seq, "resting orders keep working during a halt"
    after = next(r for r in records if r["input"].get("batch_id") == "b-3")
    assert outcomes([after]) == {"h-3": [None]}
    flagged = next(r for r in records if r["input"].get("batch_id") == "b-4")
    assert outcomes([flagged]) == {"h-4": ["RISK_FLAG_BLOCKED"], "h-5": [None]}
    assert expected_state(name)["business"]["risk"] == {
        "halted": False,
        "reduce_only": True,
        "no_new_orders": False,
    }


def check_timers_time_steps(name: str, records: list[dict[str, Any]]) -> None:
    t0 = records[0]["input"]["event_time"]
    sec = 1_000_000_000

    def describe(r: dict[str, Any]) -> tuple[str, str, Any, int]:
        i = r["input"]
        when = i["ts"] if i["kind"] == "intent_batch" else i["event_time"]
        label = i["payload"]["timer_id"] if event_type(r) == "timer" else None
        return (r["origin"], event_type(r), label, (when - t0) // sec)

    assert [describe(r) for r in records] == [
        ("input", "bar", None, 0),
        ("generated", "timer", "t-a-rep", 60),
        ("generated", "timer", "t-a-rep", 120),
        ("generated", "timer", "t-b-once", 120),  # same time: timer_id order
        ("input", "bar", None, 150),
        ("input", "intent_batch", None, 180),
        ("generated", "order_accepted", None, 180),
        ("input", "bar", None, 180),
        ("generated", "order_filled", None, 180),
        ("generated", "timer", "t-a-rep", 180),  # due at exactly 180: after everything at 180
        ("input", "bar", None, 181),
    ]
    for r in records:
        if event_type(r) == "timer":
            assert (r["input"]["venue"], r["input"]["instrument"], r["input"]["source"]) == (
                "core",
                None,
                "timer",
            )
    assert expected_state(name)["engine"]["timers"] == {"t-a-rep": t0 + 240 * sec, "t-b-once": None}


def check_short_and_flip_pnl(name: str, records: list[dict[str, Any]]) -> None:
    def trunc_div(a: int, b: int) -> int:
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q

    position = cost = realized = fees = 0
    signs: list[int] = []
    truncated_toward_zero = False
    for f in fills(records):
        q = f["qty"] if f["side"] == "buy" else -f["qty"]
        n = f["notional"]
        fees += f["fee"]
        if position == 0 or (position > 0) == (q > 0):
            position += q
            cost += n if q > 0 else -n
        else:
            closed = min(abs(q), abs(position))
            removed = trunc_div(cost * closed, abs(position))
            if cost < 0 and (cost * closed) % abs(position):
                truncated_toward_zero |= removed != (cost * closed) // abs(position)
            closed_notional = trunc_div(n * closed, abs(q))
            realized += (1 if position > 0 else -1) * (closed_notional - abs(removed))
            cost -= removed
            position += q
            if abs(q) > closed:
                cost = (1 if q > 0 else -1) * (n - closed_notional)
        signs.append((position > 0) - (position < 0))
    business = expected_state(name)["business"]
    assert business["positions"]["AAPL"] == position == 3
    assert business["cost_basis"]["AAPL"] == cost == 2_955_000
    assert business["realized_pnl"]["USD"] == realized == 51_500
    assert business["fees"]["USD"] == fees == 1_550
    assert truncated_toward_zero, "a short reduction must exercise truncation toward zero"
    flips = [(a, b) for a, b in itertools.pairwise(signs) if a and b and a != b]
    assert flips == [(1, -1), (-1, 1)], "long -> short and short -> long in one fill each"


def check_trade_and_quote_matching(name: str, records: list[dict[str, Any]]) -> None:
    assert fill_summary(records) == [
        ("q-1", 10, 18005),  # market vs trade: the trade price
        ("q-2", 20, 18000),  # market sell vs quote: the bid, capped at 50% of bid size 40
        ("q-2", 10, 17995),
        ("q-3", 10, 18000),  # limit vs trade print 179.90: at the limit
        ("q-4", 10, 17995),  # buy limit vs quote: the ask
        ("q-5", 10, 18025),  # sell limit vs quote: the bid
    ]


CHECKS: dict[str, Callable[[str, list[dict[str, Any]]], None]] = {
    name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_")
}


@pytest.mark.parametrize("name", CASES)
def test_case_pins_the_behaviour_it_is_named_for(name: str) -> None:
    CHECKS[name](name, expected_records(name))


# ---------------------------------------------------------------------------- tools/golden.py


def _golden_tool(*args: str) -> subprocess.CompletedProcess[str]:
    assert GOLDEN_TOOL.is_file(), f"{GOLDEN_TOOL} is missing"
    return subprocess.run(
        [sys.executable, str(GOLDEN_TOOL), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_golden_tool_check_passes_on_the_source_tree() -> None:
    proc = _golden_tool()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "match byte for byte" in proc.stdout


def _copy_case(name: str, root: Path) -> Path:
    dst = root / name
    shutil.copytree(case_dir(name), dst)
    return dst


def test_golden_tool_reports_a_mismatch_and_updates_only_on_request(tmp_path: Path) -> None:
    name = "cancel_racing_fill"
    d = _copy_case(name, tmp_path)
    original = (d / "expected_trace.jsonl").read_bytes()
    lines = original.splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"qty":40', b'"qty":41')
    (d / "expected_trace.jsonl").write_bytes(b"".join(lines))

    proc = _golden_tool("--root", str(tmp_path), "--case", name)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "MISMATCH" in proc.stdout and "expected_trace.jsonl" in proc.stdout
    assert "line 4 (seq_id 4)" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "run: nox -s golden -- --update"
    assert (d / "expected_trace.jsonl").read_bytes() != original, "a check never writes"

    proc = _golden_tool("--root", str(tmp_path), "--update")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "updated" in proc.stdout and "expected_trace.jsonl" in proc.stdout
    assert (d / "expected_trace.jsonl").read_bytes() == original
    state_mtime = (d / "expected_state.json").stat().st_mtime_ns

    proc = _golden_tool("--root", str(tmp_path), "--update")
    assert proc.returncode == 0 and "0 updated" in proc.stdout
    assert (d / "expected_state.json").stat().st_mtime_ns == state_mtime, (
        "unchanged files are not rewritten"
    )


def test_golden_tool_names_file_and_line_of_a_schema_error(tmp_path: Path) -> None:
    name = "venue_reject"
    d = _copy_case(name, tmp_path)
    lines = (d / "input.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"producer_index": 0', '"producer_index": 0.5')
    (d / "input.jsonl").write_text("".join(lines), encoding="utf-8")
    proc = _golden_tool("--root", str(tmp_path))
    assert proc.returncode == 2
    assert f"{name}/input.jsonl:3:" in proc.stderr and "producer_index" in proc.stderr


def test_golden_tool_refuses_an_unknown_case() -> None:
    proc = _golden_tool("--case", "no_such_case")
    assert proc.returncode == 2
    assert "no_such_case" in proc.stderr
