"""The deterministic core: one timeline, one state, one trace.

``Core`` owns the sequencer, the order book, the portfolio and the simulated
venues. Every input item is validated whole before anything changes, then
committed as one trace record whose hash chains to the previous one; reports the
core generates itself (simulated acks and fills, timers) are committed the same
way, so a replay of the inputs reproduces every record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lockstep.contracts.schemas import ContractViolation
from lockstep.contracts.schemas import validate as validate_contract
from lockstep.core import fixedpoint as fp
from lockstep.core.bars import BarBlock
from lockstep.core.block import BlockResult, Expected, ItemCursor, WakeSpec, run_block
from lockstep.core.canonical import GENESIS_HASH, canonical_json_unchecked, sha256_hex
from lockstep.core.coresetup import CoreSetup
from lockstep.core.errors import (
    CoreFailed,
    InputError,
    InvariantViolation,
    SequenceError,
    SetupError,
)
from lockstep.core.intents import (
    NEEDS_PRICE,
    NEEDS_STOP,
    CancelOrder,
    NoOp,
    PlaceOrder,
    Rejected,
    ReplaceOrder,
    SetRiskFlag,
    check_cancel,
    check_place,
    check_replace,
    describe,
    parse_intent,
)
from lockstep.core.invariants import InvariantChecker
from lockstep.core.items import Event, EventGroup, IntentBatch, parse_input
from lockstep.core.matching import match_event
from lockstep.core.orders import TERMINAL, WORKING, Order, next_state, sorted_order_ids
from lockstep.core.portfolio import Portfolio
from lockstep.core.sequencer import Sequencer
from lockstep.core.signals import SignalBook, parse_declaration

TraceRecord = dict[str, Any]

_REPORT_TRIGGER = {
    "order_accepted": "accept",
    "order_rejected": "reject",
    "order_cancelled": "cancel",
    "order_expired": "expire",
    "order_replaced": "replace",
}
GENERATED_VENUE = "core"


class _Record:
    """Collects what one committed item did, in the order it happened."""

    __slots__ = (
        "cash",
        "diagnostics",
        "fills",
        "on_close",
        "outcomes",
        "positions",
        "transitions",
    )

    def __init__(self, on_close: Callable[[Order], None]) -> None:
        self.on_close = on_close
        """Called with an order about to become terminal (its remaining still open)."""
        self.transitions: list[dict[str, Any]] = []
        self.fills: list[dict[str, Any]] = []
        self.cash: dict[str, int] = {}
        self.positions: dict[str, int] = {}
        self.outcomes: list[dict[str, Any]] = []
        self.diagnostics: list[dict[str, Any]] = []

    def transition(self, order: Order, to: str, trigger: str) -> None:
        if to != order.status:
            self.transitions.append(
                {"order_id": order.order_id, "from": order.status, "to": to, "trigger": trigger}
            )
            if to in TERMINAL and order.status not in TERMINAL:
                self.on_close(order)
            order.status = to

    def diagnose(self, code: str, order_id: str | None, detail: str) -> None:
        self.diagnostics.append({"code": code, "order_id": order_id, "detail": detail})


class Core:
    """The Python reference core. Build it with :func:`lockstep.core.build_core`."""

    backend = "python"

    def __init__(self, setup: CoreSetup) -> None:
        self.setup = setup
        self.sequencer = Sequencer(setup.source_priority)
        self.orders: dict[str, Order] = {}
        self.portfolio = Portfolio({c: setup.starting_cash.get(c, 0) for c in setup.currencies})
        for code in setup.currencies:
            self.portfolio.realized_pnl[code] = 0
            self.portfolio.fees[code] = 0
        for inst in setup.instruments:
            self.portfolio.positions[inst] = 0
            self.portfolio.cost_basis[inst] = 0
        self.halted = False
        self.reduce_only = False
        self.no_new_orders = False
        self.seen_keys: set[str] = set()
        self.quarantine: list[dict[str, Any]] = []
        self.marks: dict[str, int] = {}
        self.timers: dict[str, int | None] = {t.timer_id: t.start_ns for t in setup.timers}
        self._intervals = {t.timer_id: t.interval_ns for t in setup.timers}
        self.clock = 0
        self.last_hash = GENESIS_HASH
        self._pending: deque[Event] = deque()
        self._working: dict[str, list[str]] = {inst: [] for inst in setup.instruments}
        self._open_signed: dict[str, int] = dict.fromkeys(setup.instruments, 0)
        """Per instrument, the signed remaining quantity of its non-terminal orders, kept as
        orders open, fill, change size and close: the exposure check reads it for every
        intent, and summing the working orders each time made a batch quadratic."""
        self._failed: str | None = None
        self._checker = self._new_checker()
        self._signals: SignalBook | None = None
        """Declared signals: derived from bars, so outside snapshots, hashes and the trace."""

    # -- read-only views used by the intent rules -------------------------------------------

    @property
    def positions(self) -> Mapping[str, int]:
        return self.portfolio.positions

    @property
    def last_seq_id(self) -> int:
        return self.sequencer.last_seq_id

    def open_signed_remaining(self, instrument: str, excluding: str | None = None) -> int:
        total = self._open_signed.get(instrument, 0)
        order = None if excluding is None else self.orders.get(excluding)
        if order is not None and order.instrument == instrument and not order.is_terminal:
            total -= order.sign * order.remaining
        return total

    # -- public surface -----------------------------------------------------------------------

    def apply(self, item: Mapping[str, Any]) -> TraceRecord:
        """Commit one event envelope or intent batch and return its own trace record.

        Records the core generates in the same time step (timers that fell due,
        simulated venue reports) are committed too; :meth:`step` returns all of them.
        """
        parsed = parse_input(item)
        if isinstance(parsed, EventGroup):
            raise InputError(
                "$.kind", "apply() takes one item; use apply_many() or step() for groups"
            )
        records = self._step([parsed], group=False)
        return next(r for r in records if r["origin"] == "input")

    def step(self, item: Mapping[str, Any]) -> list[TraceRecord]:
        """Commit one input item (or event group) and return every record it produced."""
        parsed = parse_input(item)
        if isinstance(parsed, EventGroup):
            return self._step(list(parsed.events), group=True)
        return self._step([parsed], group=False)

    def apply_many(self, items: Iterable[Mapping[str, Any]]) -> list[TraceRecord]:
        """Commit items in order; the result lists every record, generated ones included."""
        out: list[TraceRecord] = []
        for item in items:
            out.extend(self.step(item))
        return out

    def step_block(
        self,
        items: Iterable[Mapping[str, Any]] | bytes,
        *,
        wake: WakeSpec | None = None,
        hash_at: Sequence[int] = (),
        expect: Expected | None = None,
    ) -> BlockResult:
        """Step items until the block ends, one is refused, ``wake`` matches or
        a record differs from ``expect``.

        ``items`` may be JSON-lines bytes. See :mod:`lockstep.core.block`; the
        native core does the same in one call.
        """
        return run_block(
            self.step,
            lambda: self.last_seq_id,
            self.state_hash,
            items,
            wake,
            hash_at,
            expect,
            self._signal_fired,
        )

    def open_block(
        self, items: Sequence[Mapping[str, Any]] | bytes, *, item_lines: bool = False
    ) -> ItemCursor:
        """A cursor that runs ``items`` in stretches, each up to the next wake-up.

        ``item_lines`` is accepted as the native core accepts it; this core makes
        records as dicts and has no lines to hand back (``per_item_lines()`` is None).
        """
        return ItemCursor(self, items)

    def open_bars(self, block: BarBlock, *, item_lines: bool = False) -> ItemCursor:
        """A cursor over a :class:`BarBlock`: this core reads it as the envelopes it implies.

        The native core reads the columns as they are; here each row becomes
        the envelope :meth:`BarBlock.items` builds, so both cores check the same
        values with the same rules.
        """
        return ItemCursor(self, block.items())

    # -- signals (docs/reference/signals.md) --------------------------------------------------

    def declare_signals(self, spec: Mapping[str, Any]) -> None:
        """Take a signal declaration (refused whole, as a ``SetupError``, if it breaks a rule).

        From the next committed bar on, its indicators follow every bar of its
        instruments and a wake filter with ``signals`` set wakes on a bar only
        when one of its conditions holds.
        """
        declaration = parse_declaration(spec, self.setup)
        if self._signals is not None:
            raise SetupError("$", "signals are already declared")
        self._signals = SignalBook(declaration)

    def take_signals(self) -> list[dict[str, Any]]:
        """The firings since the previous call, in commit order."""
        return [] if self._signals is None else self._signals.take()

    def signal_values(self, instrument: str) -> dict[str, int | None]:
        """``instrument``'s indicator values after its latest bar (``None``: not yet defined)."""
        if self._signals is None:
            raise SetupError("$", "no signals are declared")
        return self._signals.values(instrument)

    def _signal_fired(self, seq_id: int) -> bool:
        return self._signals is not None and self._signals.fired(seq_id)

    def snapshot(self) -> dict[str, Any]:
        return {"business": self._business(), "engine": self._engine_state()}

    def state_hash(self) -> str:
        return sha256_hex(canonical_json_unchecked(self._business()))

    def checkpoint(self) -> tuple[bytes, str]:
        """The canonical JSON of :meth:`snapshot` and the state hash, in one go.

        What a run store keeps at a checkpoint; the business state is encoded
        once and hashed from those very bytes.
        """
        business = canonical_json_unchecked(self._business())
        engine = canonical_json_unchecked(self._engine_state())
        return b'{"business":' + business + b',"engine":' + engine + b"}", sha256_hex(business)

    def order_states(self, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The named orders as :meth:`snapshot` lists them, sorted by id (unknown ids left out).

        A strategy looks up a few orders per wake-up; a snapshot would write
        every order the run has ever seen, so a long run would slow down with
        each order it placed.
        """
        return {
            oid: self.orders[oid].to_dict()
            for oid in sorted_order_ids(order_ids)
            if oid in self.orders
        }

    def open_order_states(self) -> dict[str, dict[str, Any]]:
        """Every order not in a terminal state, as :meth:`snapshot` lists it, sorted by id."""
        open_ids = [oid for inst in self._working for oid in self._working_ids(inst)]
        return {oid: self.orders[oid].to_dict() for oid in sorted(open_ids)}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Load a checkpoint taken by :meth:`snapshot` (from a core with the same setup).

        A checkpoint that is not a valid state, or that names instruments,
        currencies or timers this setup does not have, is refused whole and the
        core is left as it was: resuming from a corrupt checkpoint would
        silently fork the timeline.
        """
        try:
            validate_contract("state", snapshot)
        except ContractViolation as err:
            raise InputError(err.path, f"checkpoint is not a valid state: {err.reason}") from None
        business, engine = snapshot["business"], snapshot["engine"]
        for path, names, known in (
            ("$.business.positions", business["positions"], self.setup.instruments),
            ("$.business.cash", business["cash"], self.setup.currencies),
            ("$.engine.timers", engine["timers"], self._intervals),
        ):
            if set(names) != set(known):
                raise InputError(path, "checkpoint was taken with a different setup")
        for oid, order in business["orders"].items():
            if order["order_id"] != oid:  # orders are keyed by their own id (no schema can say so)
                raise InputError(
                    "$.business.orders",
                    f"checkpoint is not a valid state: order {oid!r} has order_id {order['order_id']!r}",
                )
        self.orders = {oid: Order.from_dict(dict(o)) for oid, o in business["orders"].items()}
        self.portfolio.positions = dict(business["positions"])
        self.portfolio.cost_basis = dict(business["cost_basis"])
        self.portfolio.cash = dict(business["cash"])
        self.portfolio.realized_pnl = dict(business["realized_pnl"])
        self.portfolio.fees = dict(business["fees"])
        risk = business["risk"]
        self.halted, self.reduce_only, self.no_new_orders = (
            risk["halted"],
            risk["reduce_only"],
            risk["no_new_orders"],
        )
        self.seen_keys = set(business["seen_keys"])
        self.quarantine = [dict(q) for q in business["quarantine"]]
        self.sequencer.last_seq_id = engine["last_seq_id"]
        self.clock = engine["clock"]
        self.marks = dict(engine["marks"])
        self.timers = dict(engine["timers"])
        self.last_hash = engine["last_hash"]
        self._working = {inst: [] for inst in self.setup.instruments}
        self._open_signed = dict.fromkeys(self.setup.instruments, 0)
        for oid, order in sorted(self.orders.items(), key=lambda kv: (kv[1].created_seq, kv[0])):
            if order.status not in TERMINAL:
                self._working[order.instrument].append(oid)
                self._open_signed[order.instrument] += order.sign * order.remaining
        self._checker = self._new_checker()
        if self._signals is not None:
            self._signals.reset()

    # -- time steps ---------------------------------------------------------------------------

    def _step(self, items: list[Event | IntentBatch], *, group: bool) -> list[TraceRecord]:
        if self._failed is not None:
            raise CoreFailed(f"the core stopped after an invariant violation: {self._failed}")
        positions: list[int] | None = None
        if group:
            for n, item in enumerate(items):
                if item.seq_id is not None:
                    raise InputError(
                        f"$.events[{n}].seq_id",
                        "events in a group are sequenced by the core; use null",
                    )
            # Commit order; errors name each event's position in the group as given.
            positions = self.sequencer.positions([i for i in items if isinstance(i, Event)])
            items = [items[n] for n in positions]
        self._precheck(items, positions)
        records: list[TraceRecord] = []
        for item in items:
            records.extend(self._fire_timers(before=item.time))
            self.clock = max(self.clock, item.time)
            records.append(self._commit(item, "input"))
            while self._pending:
                records.append(self._commit(self._pending.popleft(), "generated"))
        return records

    def _precheck(self, items: list[Event | IntentBatch], positions: list[int] | None) -> None:
        """Refuse items that would break the timeline, before anything changes.

        ``items`` are in commit order; for a group, ``positions[n]`` is where
        ``items[n]`` stood in the group as given, which is what paths name.
        """
        clock = self.clock
        last = self.sequencer.last_seq_id
        for n, item in enumerate(items):
            path = "$" if positions is None else f"$.events[{positions[n]}]"
            timed = not isinstance(item, Event) or item.source in ("market_data", "timer")
            if isinstance(item, Event) and item.source == "market_data":
                inst = self.setup.instruments.get(item.instrument or "")
                if inst is None or inst.venue != item.venue:
                    raise InputError(
                        f"{path}.instrument",
                        f"instrument {item.instrument!r} is not listed on venue {item.venue!r} in the setup",
                    )
            if timed and item.time < clock:
                raise SequenceError(
                    f"{path}.{'ts' if isinstance(item, IntentBatch) else 'event_time'}",
                    f"time {item.time} is before the core clock {clock}",
                )
            due = self._timers_due(before=item.time) if item.time > clock else 0
            if item.seq_id is not None and item.seq_id <= last + due:
                raise SequenceError(
                    f"{path}.seq_id", f"seq_id {item.seq_id} does not follow {last + due}"
                )
            clock = max(clock, item.time)

    def _timers_due(self, before: int) -> int:
        """How many timer records will be committed before time ``before``."""
        count = 0
        for timer_id, at in self.timers.items():
            if at is None or at >= before:
                continue
            interval = self._intervals.get(timer_id, 0)
            last = min(before - 1, fp.TIME_MAX)
            count += 1 if interval == 0 else (last - at) // interval + 1
        return count

    def _fire_timers(self, before: int) -> list[TraceRecord]:
        records: list[TraceRecord] = []
        while True:
            due = [(at, tid) for tid, at in self.timers.items() if at is not None and at < before]
            if not due:
                return records
            at, timer_id = min(due)
            interval = self._intervals.get(timer_id, 0)
            self.timers[timer_id] = (
                at + interval if interval > 0 and at + interval <= fp.TIME_MAX else None
            )
            self.clock = max(self.clock, at)
            event = Event(
                None,
                at,
                at,
                "timer",
                GENERATED_VENUE,
                None,
                "timer",
                {"timer_id": timer_id},
                None,
                0,
            )
            records.append(self._commit(event, "generated"))

    # -- committing ---------------------------------------------------------------------------

    def _commit(self, item: Event | IntentBatch, origin: str) -> TraceRecord:
        seq_id = self.sequencer.assign(item.seq_id)
        item = item.with_seq(seq_id)
        rec = _Record(self._order_closing)
        replaced: set[str] = set()
        if isinstance(item, IntentBatch):
            self._apply_intents(item, rec)
        else:
            self._apply_event(item, rec, replaced)
        record: TraceRecord = {
            "seq_id": seq_id,
            "origin": origin,
            "input": item.to_dict(),
            "transitions": rec.transitions,
            "fills": rec.fills,
            "position_deltas": [
                {"instrument": k, "delta": rec.positions[k]} for k in sorted(rec.positions)
            ],
            "cash_deltas": [{"currency": k, "delta": rec.cash[k]} for k in sorted(rec.cash)],
            "intent_outcomes": rec.outcomes,
            "diagnostics": rec.diagnostics,
            "prev_hash": self.last_hash,
        }
        try:
            problems = self._checker.check(
                record,
                self.orders,
                self.portfolio.cash,
                self.portfolio.positions,
                frozenset(replaced),
            )
        except InvariantViolation as err:
            self._failed = str(err)
            raise
        for problem in problems:
            rec.diagnose("INVARIANT_WARNING", None, problem)
        record["hash"] = sha256_hex(canonical_json_unchecked(record))
        self.last_hash = record["hash"]
        return record

    # -- events -------------------------------------------------------------------------------

    def _apply_event(self, event: Event, rec: _Record, replaced: set[str]) -> None:
        key = event.idempotency_key
        if key is not None:
            if key in self.seen_keys:
                rec.diagnose(
                    "DUPLICATE",
                    event.payload.get("order_id"),
                    "idempotency_key was already applied",
                )
                return
            self.seen_keys.add(key)
        kind = event.event_type
        if event.source == "market_data":
            self._on_market(event)
        elif kind == "order_filled":
            self._on_fill(event, rec)
        elif event.source == "broker_report":
            self._on_report(event, rec, replaced)
        elif kind == "halt":
            self.halted = True
        elif kind == "resume":
            self.halted = False
        elif kind == "set_risk_flag":
            setattr(self, event.payload["flag"], event.payload["value"])

    def _on_market(self, event: Event) -> None:
        inst_id = event.instrument
        assert inst_id is not None
        inst = self.setup.instruments[inst_id]
        p = event.payload
        if event.event_type == "bar":
            self.marks[inst_id] = p["close"]
            if self._signals is not None:
                assert event.seq_id is not None
                self._signals.observe(event.seq_id, event.event_time, inst_id, p)
        elif event.event_type == "trade":
            self.marks[inst_id] = p["price"]
        else:
            self.marks[inst_id] = (p["bid"] + p["ask"]) // 2
        venue = self.setup.venues[inst.venue]
        if not venue.simulated:
            return
        working = [self.orders[oid] for oid in self._working_ids(inst_id)]
        working = [o for o in working if o.status in WORKING]
        assert event.seq_id is not None
        proposals = match_event(
            event.event_type, p, event.seq_id, event.event_time // fp.DAY_NS, venue, inst, working
        )
        for n, proposal in enumerate(proposals):
            self._pending.append(
                Event(
                    None,
                    event.event_time,
                    event.event_time,
                    "broker_report",
                    inst.venue,
                    inst_id,
                    proposal.event_type,
                    proposal.payload,
                    None,
                    n,
                )
            )

    def _report_target(self, event: Event) -> Order | None:
        order = self.orders.get(event.payload["order_id"])
        if order is None or order.instrument != event.instrument or order.venue != event.venue:
            return None
        return order

    def _on_report(self, event: Event, rec: _Record, replaced: set[str]) -> None:
        order_id = event.payload["order_id"]
        order = self._report_target(event)
        if order is None:
            rec.diagnose(
                "UNKNOWN_ORDER_REPORT", order_id, f"{event.event_type} for an unknown order"
            )
            return
        if order.is_terminal:
            rec.diagnose(
                "TERMINAL_ABSORBED",
                order_id,
                f"{event.event_type} ignored: order is {order.status}",
            )
            return
        kind = event.event_type
        trigger = _REPORT_TRIGGER.get(kind)
        if kind == "cancel_rejected":
            trigger = "cancel_reject" if event.payload["request"] == "cancel" else "replace_reject"
        assert trigger is not None
        target = next_state(order.status, trigger, order.filled_qty)
        if target is None:
            rec.diagnose(
                "UNEXPECTED_REPORT", order_id, f"{kind} is not expected while {order.status}"
            )
            return
        if kind == "order_replaced":
            p = event.payload
            if (
                p["qty"] <= order.filled_qty
                or (p["price"] is not None) != (order.order_type in NEEDS_PRICE)
                or (p["stop_price"] is not None) != (order.order_type in NEEDS_STOP)
            ):
                rec.diagnose("INVALID_REPORT", order_id, "replacement does not fit the order")
                return
            self._open_signed[order.instrument] += order.sign * (p["qty"] - order.qty)
            order.qty, order.price, order.stop_price = p["qty"], p["price"], p["stop_price"]
            replaced.add(order_id)
        rec.transition(order, target, trigger)

    def _on_fill(self, event: Event, rec: _Record) -> None:
        p = event.payload
        order = self._report_target(event)
        if order is None:
            self._quarantine(event, rec, "UNKNOWN_ORDER")
            return
        if order.is_terminal:
            self._quarantine(
                event, rec, "OVERFILL" if order.status == "filled" else "FILL_AFTER_TERMINAL"
            )
            return
        if p["qty"] > order.remaining:
            self._quarantine(event, rec, "OVERFILL")
            return
        inst = self.setup.instruments[order.instrument]
        status = order.status
        if status == "submitted":
            status = "accepted"
        trigger = "fill_complete" if p["qty"] == order.remaining else "fill"
        target = next_state(status, trigger, order.filled_qty)
        if target is None:
            self._quarantine(event, rec, "NOT_ACCEPTED")
            return
        try:
            value = fp.notional(p["price"], p["qty"], inst.scale_shift)
            effects = self.portfolio.plan_fill(
                inst.id, inst.quote_currency, order.sign * p["qty"], value, p["fee"]
            )
            filled_notional = fp.money(order.filled_notional + value)
            fees = fp.money(order.fees + p["fee"])
        except fp.OutOfRange:
            self._quarantine(event, rec, "VALUE_OUT_OF_RANGE")
            return
        if order.status == "submitted":
            rec.transition(order, "accepted", "implied_accept")
            rec.diagnose("IMPLIED_ACCEPT", order.order_id, "fill arrived before the acceptance")
        self.portfolio.commit(effects)
        self._open_signed[order.instrument] -= order.sign * p["qty"]
        order.filled_qty += p["qty"]
        order.filled_notional = filled_notional
        order.fees = fees
        rec.fills.append(
            {
                "order_id": order.order_id,
                "fill_id": p["fill_id"],
                "instrument": inst.id,
                "side": order.side,
                "qty": p["qty"],
                "price": p["price"],
                "notional": value,
                "fee": p["fee"],
                "currency": inst.quote_currency,
            }
        )
        rec.cash[inst.quote_currency] = rec.cash.get(inst.quote_currency, 0) + effects.cash_delta
        rec.positions[inst.id] = rec.positions.get(inst.id, 0) + effects.position_delta
        rec.transition(order, target, trigger)

    def _quarantine(self, event: Event, rec: _Record, reason: str) -> None:
        p = event.payload
        assert event.seq_id is not None
        self.quarantine.append(
            {
                "seq_id": event.seq_id,
                "order_id": p["order_id"],
                "reason": reason,
                "qty": p["qty"],
                "price": p["price"],
            }
        )
        rec.diagnose("QUARANTINED_FILL", p["order_id"], reason)

    # -- intents ------------------------------------------------------------------------------

    def _apply_intents(self, batch: IntentBatch, rec: _Record) -> None:
        assert batch.seq_id is not None
        producer = 0
        for index, raw in enumerate(batch.intents):
            kind, order_id = describe(raw)
            try:
                intent = parse_intent(raw)
                generated = self._apply_intent(intent, batch, rec)
            except Rejected as rejection:
                rec.outcomes.append(
                    {
                        "index": index,
                        "type": kind,
                        "order_id": order_id,
                        "outcome": "rejected",
                        "reason_code": rejection.reason_code,
                    }
                )
                continue
            rec.outcomes.append(
                {
                    "index": index,
                    "type": kind,
                    "order_id": order_id,
                    "outcome": "accepted",
                    "reason_code": None,
                }
            )
            if generated is not None:
                event_type, payload, order = generated
                self._pending.append(
                    Event(
                        None,
                        batch.ts,
                        batch.ts,
                        "broker_report",
                        order.venue,
                        order.instrument,
                        event_type,
                        payload,
                        None,
                        producer,
                    )
                )
                producer += 1

    def _apply_intent(
        self, intent: object, batch: IntentBatch, rec: _Record
    ) -> tuple[str, dict[str, Any], Order] | None:
        """Apply a validated intent; returns the report a simulated venue answers with."""
        if isinstance(intent, PlaceOrder):
            check_place(intent, self)
            assert batch.seq_id is not None
            order = Order(
                order_id=intent.client_order_id,
                instrument=intent.instrument,
                venue=intent.venue,
                side=intent.side,
                order_type=intent.order_type,
                time_in_force=intent.time_in_force,
                qty=intent.qty,
                price=intent.price,
                stop_price=intent.stop_price,
                status="created",
                filled_qty=0,
                filled_notional=0,
                fees=0,
                created_seq=batch.seq_id,
                submit_day=batch.ts // fp.DAY_NS,
                triggered=False,
            )
            self.orders[order.order_id] = order
            self._add_working(order)
            rec.transition(order, "submitted", "submit")
            return self._simulated(order, "order_accepted", {"order_id": order.order_id})
        if isinstance(intent, CancelOrder):
            order = check_cancel(intent, self)
            rec.transition(order, "cancel_pending", "cancel_request")
            return self._simulated(
                order, "order_cancelled", {"order_id": order.order_id, "reason": "cancel requested"}
            )
        if isinstance(intent, ReplaceOrder):
            order = check_replace(intent, self)
            rec.transition(order, "replace_pending", "replace_request")
            payload = {
                "order_id": order.order_id,
                "qty": intent.qty,
                "price": intent.price,
                "stop_price": intent.stop_price,
            }
            return self._simulated(order, "order_replaced", payload)
        if isinstance(intent, SetRiskFlag):
            setattr(self, intent.flag, intent.value)
            return None
        assert isinstance(intent, NoOp)
        return None

    def _simulated(
        self, order: Order, event_type: str, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any], Order] | None:
        if self.setup.venues[order.venue].simulated:
            return (event_type, payload, order)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _add_working(self, order: Order) -> None:
        """Add a new order to its instrument's working list, in creation order.

        Creation order is ``(created_seq, order_id)``: orders placed by one
        batch share ``created_seq`` and are ordered by id among themselves, so
        the order is a function of the state alone and :meth:`restore` rebuilds
        it exactly (intent order within a batch is not part of the state).
        """
        self._open_signed[order.instrument] += order.sign * order.remaining
        ids = self._working[order.instrument]
        at = len(ids)
        while at > 0:
            previous = self.orders[ids[at - 1]]
            if previous.created_seq != order.created_seq or previous.order_id < order.order_id:
                break
            at -= 1
        ids.insert(at, order.order_id)

    def _order_closing(self, order: Order) -> None:
        self._open_signed[order.instrument] -= order.sign * order.remaining

    def _working_ids(self, instrument: str) -> list[str]:
        """Non-terminal order ids of an instrument in creation order (pruned lazily)."""
        ids = self._working.get(instrument, [])
        if any(self.orders[oid].status in TERMINAL for oid in ids):
            ids = [oid for oid in ids if self.orders[oid].status not in TERMINAL]
            self._working[instrument] = ids
        return ids

    def _new_checker(self) -> InvariantChecker:
        return InvariantChecker(
            self.setup.invariant_mode, self.portfolio.cash, self.portfolio.positions, self.orders
        )

    def _business(self) -> dict[str, Any]:
        return {
            "orders": {oid: o.to_dict() for oid, o in self.orders.items()},
            "positions": dict(self.portfolio.positions),
            "cost_basis": dict(self.portfolio.cost_basis),
            "cash": dict(self.portfolio.cash),
            "realized_pnl": dict(self.portfolio.realized_pnl),
            "fees": dict(self.portfolio.fees),
            "risk": {
                "halted": self.halted,
                "reduce_only": self.reduce_only,
                "no_new_orders": self.no_new_orders,
            },
            "seen_keys": sorted(self.seen_keys),
            "quarantine": [dict(q) for q in self.quarantine],
        }

    def _engine_state(self) -> dict[str, Any]:
        return {
            "last_seq_id": self.sequencer.last_seq_id,
            "clock": self.clock,
            "marks": dict(self.marks),
            "timers": dict(self.timers),
            "last_hash": self.last_hash,
        }
