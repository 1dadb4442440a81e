"""The backtest loop: feed the core, wake the strategy, submit its intents, record it all.

For every item of the merged feed (one timestamp: an envelope or an event
group) the loop

1. commits it with ``core.step(item)`` and applies the records to the ledger;
2. wakes the strategy for each record it subscribed to (market events of its
   instruments, timers, control events) and for fills and state changes of its
   own orders, in record order, after the whole step was committed;
3. sends everything the strategy recorded as **one** intent batch with
   ``ts`` = the core clock and ``batch_id`` = ``<strategy_id>-b<n>``, then
   repeats 2-3 for the records that batch produced until the strategy is quiet;
4. samples equity and, at a step boundary, lets the store commit.

Everything the core commits goes to the store; only the items this loop fed
the core are stored as inputs, because replay regenerates the rest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from lockstep.adapters import Dataset, Feed, instruments_from_setup, load_dataset, merge_feeds
from lockstep.adapters.bar_merge import columnar_feeds, merge_bar_columns
from lockstep.adapters.data import digest_of_fingerprints
from lockstep.adapters.feeds.skiplimit import DEFAULT_MAX_SKIP_SHARE, SkipShare, limit_skips
from lockstep.core import (
    BarBlock,
    BlockCursor,
    CoreSetup,
    LockstepCore,
    SetupError,
    build_core,
    resolve_backend,
)
from lockstep.core.block import BlockResult, ItemCursor, WakeSpec
from lockstep.core.signals import places_by_instrument
from lockstep.runtime.blame import Blame
from lockstep.runtime.context import Context, unfit_value
from lockstep.runtime.day_orders import DayOrderWatch
from lockstep.runtime.errors import StrategyError
from lockstep.runtime.ledger import Ledger
from lockstep.runtime.metrics import EquityPoint, Metrics
from lockstep.runtime.params import to_json
from lockstep.runtime.seal import SEAL_KEY, make_seal
from lockstep.runtime.signals import decimal_values
from lockstep.runtime.store import RunStore
from lockstep.runtime.strategy import Strategy
from lockstep.runtime.summary import rejection_warning
from lockstep.runtime.tally import Tally, TallyResult, is_quiet_line
from lockstep.runtime.trades import Trade
from lockstep.runtime.versions import distribution_versions
from lockstep.runtime.views import Bar, Event, Fill, OrderUpdate, Signal

DataSource = Dataset | str | Path | Sequence[Feed]
MAX_REACTION_ROUNDS = 100
"""Intent batches a strategy may send in reaction to its own reports within one time step."""
DEFAULT_CHECKPOINT_EVERY = 10_000
TRACE_MODES = ("full", "checkpoints")
"""What a run store keeps of the trace. ``full``: every record, so a replay
names the first record that differs and tools can read the trace without a
core. ``checkpoints``: the inputs, the periodic checkpoints and the final
hashes; ``replay verify`` still regenerates every record and checks the
checkpoints, the trace head hash (which chains every record), the final state
and every result, but it can place a difference only between two
checkpoints, and reading the trace means replaying it."""
COLUMNAR_BACKENDS = frozenset({"rust"})
"""Cores that read bar blocks in place; the others get envelopes (ADR 0017, decision 4).

The Python core's input is envelopes: handing it bars packed only to unpack
them again measured 10-20 % slower on 10 x 10,000 bars read row by row."""
BLOCK_SIZE = 4096
"""Market events handed to the core per step_block call at most (bounds memory, not
crossings). Events, not items: with many instruments an item is a group of one event per
instrument, and a block of 4,096 groups of 100 would hold 409,600 envelopes."""


@dataclass(frozen=True, slots=True)
class BacktestResult:
    strategy_id: str
    strategy: str
    params: Mapping[str, object]
    backend: str
    data: str
    data_digest: str
    inputs: int
    records: int
    bars: int
    intent_batches: int
    intents: int
    rejected_intents: int
    final_state_hash: str
    last_hash: str
    metrics: Metrics
    trades: tuple[Trade, ...]
    equity: tuple[EquityPoint, ...]
    derived: TallyResult
    """Everything above that the trace determines, as verify recomputes it."""
    skipped: tuple[dict[str, object], ...]
    elapsed_seconds: float
    store_path: Path | None = None
    setup: Mapping[str, Any] = field(default_factory=dict)
    crossings: int | None = None
    """Calls into the native core (None on the Python backend, which has no boundary)."""
    warnings: tuple[str, ...] = ()
    """Things the run did that are legal but almost certainly not what the author meant."""

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def results(self) -> dict[str, object]:
        """What the run store keeps under ``results`` (JSON; floats only in metrics)."""
        return {
            "final_state_hash": self.final_state_hash,
            "last_hash": self.last_hash,
            **self.derived.to_results(self.inputs),
            "skipped": list(self.skipped),
            "timing": {
                "elapsed_seconds": self.elapsed_seconds,
                "bars_per_second": self.bars_per_second,
            },
        }


def run_backtest(
    strategy: Strategy,
    data: DataSource,
    setup: Mapping[str, Any],
    *,
    engine: str | None = None,
    store: RunStore | str | Path | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    overwrite: bool = False,
    skip_policy: str = "fail",
    trace: str = "full",
    max_skip_share: SkipShare = DEFAULT_MAX_SKIP_SHARE,
    warn_rejected_share: float | None = None,
) -> BacktestResult:
    """Run ``strategy`` over ``data`` on a fresh core built from ``setup``.

    ``data`` is a :class:`Dataset`, a bundled data set name or directory, or a
    sequence of feeds (merged in that order). ``engine`` picks the backend
    (default ``$LOCKSTEP_ENGINE`` or ``python``); an unavailable one raises
    :class:`~lockstep.core.NativeBackendUnavailable` before anything is
    written. ``store`` is a path for a new run database or an open
    :class:`RunStore`; ``None`` keeps nothing but the returned result.
    ``skip_policy`` applies to feeds the runtime opens for a data set (``"skip"``
    drops malformed rows, counted in ``result.skipped`` and the store).
    ``max_skip_share`` (0 to 1, default 1 %) applies to every feed: one that
    skips more of its rows fails the run with a ``too_many_skipped``
    :class:`~lockstep.adapters.FeedError` when it ends, before any result.
    Rejected intents add a warning to ``result.warnings`` when more than
    ``warn_rejected_share`` of them were rejected, or (by default) when any
    was and no order ever filled.
    ``trace`` is what the store keeps of the trace: ``"full"`` (every record)
    or ``"checkpoints"`` (inputs, checkpoints and the final hashes only; see
    :data:`TRACE_MODES`).
    """
    if trace not in TRACE_MODES:
        raise ValueError(f"trace must be one of {', '.join(TRACE_MODES)}, not {trace!r}")
    feeds, data_name = _feeds(data, skip_policy, max_skip_share)
    normalized = json.loads(json.dumps(CoreSetup.from_dict(setup).raw))
    _check_cash(normalized)
    core = build_core(normalized, backend=engine)
    backend = str(getattr(core, "backend", resolve_backend(engine)))
    prints = [f.fingerprint() for f in feeds]
    digest = digest_of_fingerprints(prints)
    run_store = _open_store(store, overwrite)
    run = _Run(strategy, core, normalized, run_store, checkpoint_every)
    run.keep_records = trace == "full"
    # A host strategy (the Backtrader layer's bridge) names the class its user wrote.
    author: type = getattr(strategy, "authored_class", type(strategy))
    meta = {
        "strategy": f"{author.__module__}:{author.__qualname__}",
        "strategy_id": strategy.strategy_id,
        "strategy_source": strategy_source(author),
        "params": to_json(strategy.param_values),
        "engine": backend,
        "versions": _versions(),
        "data": {"name": data_name, "feeds": [f.name for f in feeds], "fingerprints": prints},
        "data_digest": digest,
        "setup": normalized,
        "started": _now(),
        "finished": None,
        "error": None,
        "store_schema": 1,
        "trace": trace,
    }
    started = time.perf_counter()
    try:
        if run_store is not None:
            run_store.start(meta)
        run.start()
        bar_feeds = columnar_feeds(feeds) if backend in COLUMNAR_BACKENDS else None
        if bar_feeds is not None:
            run.feed_bars(merge_bar_columns(bar_feeds, BLOCK_SIZE))
        else:
            run.feed_all(merge_feeds(feeds))
        run.stop()
        elapsed = time.perf_counter() - started
        derived = run.tally.finish()
        rejected = rejection_warning(derived.to_results(run.inputs), warn_rejected_share)
        if rejected is not None:
            run.warnings.append(rejected)
        result = BacktestResult(
            strategy_id=strategy.strategy_id,
            strategy=str(meta["strategy"]),
            params=dict(strategy.param_values),
            backend=backend,
            data=data_name,
            data_digest=digest,
            inputs=run.inputs,
            records=derived.counts["records"],
            bars=derived.counts["bars"],
            intent_batches=derived.counts["intent_batches"],
            intents=derived.counts["intents"],
            rejected_intents=derived.counts["rejected_intents"],
            final_state_hash=core.state_hash(),
            last_hash=run.ledger.last_hash,
            metrics=derived.metrics,
            trades=derived.trades,
            equity=derived.equity,
            derived=derived,
            skipped=tuple(f.skip_report.to_dict() for f in feeds),
            elapsed_seconds=elapsed,
            store_path=run_store.path if run_store is not None else None,
            setup=normalized,
            crossings=getattr(core, "crossings", None),
            warnings=tuple(run.warnings),
        )
        if run_store is not None:
            run.final_checkpoint()
            finished = {"finished": _now()}
            results = result.results()
            results[SEAL_KEY] = make_seal({**meta, **finished}, results)
            run_store.finish(results, finished)
    except BaseException as err:
        if run_store is not None:
            run_store.fail(f"{type(err).__name__}: {err}", {"finished": _now()})
            run_store.close()
        raise
    if run_store is not None:
        run_store.close()
    return result


class _Run:
    """The state of one backtest between steps."""

    def __init__(
        self,
        strategy: Strategy,
        core: LockstepCore,
        setup: Mapping[str, Any],
        store: RunStore | None,
        checkpoint_every: int,
    ) -> None:
        self.strategy = strategy
        self.core = core
        self.store = store
        self.checkpoint_every = checkpoint_every
        self.sid = strategy.strategy_id
        self.subs = type(strategy).subscriptions
        instruments = instruments_from_setup(setup)
        for inst in self.subs.instruments or ():
            if inst not in instruments:
                raise StrategyError(
                    f"strategy {self.sid} subscribes to {inst!r}, which the setup does not have"
                )
        self.ledger = Ledger(setup, history=max(1, strategy.history))
        self.signal_places = self._declare_signals(strategy, core)
        self.ctx = Context(
            self.sid, self.ledger, instruments, core, signal_places=self.signal_places
        )
        self.tally = Tally(setup, self.ledger)
        self.blame = Blame(type(strategy))
        self.day_orders = DayOrderWatch(self.sid)
        self.warnings: list[str] = []
        cls = type(strategy)
        self.wants_fill = cls.on_fill is not Strategy.on_fill
        self.wants_order = cls.on_order is not Strategy.on_order
        with_signals = self.signal_places is not None
        self.wake = WakeSpec(
            event_types=self.subs.event_types | ({"bar"} if with_signals else set()),
            instruments=self.subs.instruments,
            timers=self.subs.timers,
            fills=self.wants_fill,
            transitions=self.wants_order,
            strategy_id=self.sid,
            signals=with_signals,
        )
        self.inputs = self.batches = 0
        self.keep_records = True
        self._since_checkpoint = 0
        self._last_checkpoint = 0

    def _declare_signals(
        self, strategy: Strategy, core: LockstepCore
    ) -> dict[str, dict[str, int]] | None:
        """Hand the strategy's signals to the core (refused before anything runs) and
        return each instrument's indicator places; ``None`` without signals."""
        declared = strategy.signals()
        if declared is None:
            return None
        spec = declared.declaration(self.subs.instruments)
        try:
            core.declare_signals(spec)
        except SetupError as err:
            raise StrategyError(
                f"strategy {self.sid}: its signals are refused at {err.path}: {err.reason}"
            ) from None
        return places_by_instrument(spec, core.setup)

    # -- the loop -------------------------------------------------------------------------------

    def start(self) -> None:
        self.ctx._begin_wake()
        self._call("on_start", None)
        self._submit_and_react()
        self._step_done()

    def feed_all(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Feed market data in blocks; the core stops a block where the strategy must wake.

        On the native backend one block is one boundary crossing, so crossings
        follow strategy wake-ups, not events (ADR 0012).
        """
        source = iter(items)
        while block := _take_events(source, BLOCK_SIZE):
            self._run_block(self.core.open_block(block, item_lines=self.store is not None), block)

    def feed_bars(self, blocks: Iterable[BarBlock]) -> None:
        """As :meth:`feed_all`, for bars already packed as columns (ADR 0017).

        No item is built here: a store takes the native core's item lines, and
        the Python core's cursor holds the envelopes it read the block as.
        """
        for bars in blocks:
            cursor = self.core.open_bars(bars, item_lines=self.store is not None)
            items: Sequence[Mapping[str, Any]] = ()
            if isinstance(cursor, ItemCursor):
                # The Python core read the block as envelopes (dicts, never lines).
                items = cast("Sequence[Mapping[str, Any]]", cursor.items)
            self._run_block(cursor, items, _BlockBars(bars) if self.store is None else None)

    def _run_block(
        self,
        cursor: BlockCursor,
        block: Sequence[Mapping[str, Any]],
        bars: _BlockBars | None = None,
    ) -> None:
        """Run an opened block to its end, waking the strategy where the core stopped.

        With ``bars`` (a bar block, no store) and record lines from the core, a
        quiet item is tallied from the bars themselves (see :meth:`_after_lines`).
        """
        done = 0
        while True:
            result = cursor.run(wake=self.wake)
            lines = None if bars is None else result.record_lines()
            if bars is not None and lines is not None:
                self._after_lines(result, lines, block, bars, done)
            else:
                last = result.consumed - 1
                texts = result.per_item_lines() if self.store is not None else None
                for n, records in enumerate(result.per_item()):
                    self._after_commit(
                        block,
                        done + n,
                        records,
                        wake=result.woke and n == last,
                        lines=None if texts is None else texts[n],
                    )
            done += result.consumed
            result.raise_error()
            if not result.woke:
                break

    def _after_lines(
        self,
        result: BlockResult,
        lines: list[str],
        block: Sequence[Mapping[str, Any]],
        bars: _BlockBars,
        done: int,
    ) -> None:
        """:meth:`_after_commit` for each item of a run whose records came as lines.

        Most items of a bar run are quiet: each bar made exactly its own record,
        with no effects and no diagnostics, and nothing waits on it. Such an item
        goes to the tally from the bars this run fed, without parsing a line
        (only the last line's seq_id and hash are read, for the ledger); any
        other item is parsed and handled as usual.
        """
        last = result.consumed - 1
        start = 0
        quiet_last = False
        for n, count in enumerate(result.counts):
            texts = lines[start : start + count]
            start += count
            wake = result.woke and n == last
            if not wake and self.day_orders.idle:
                item = bars.item(done + n)
                if len(item) == count and all(map(is_quiet_line, texts)):
                    self.inputs += 1
                    for instrument, bar in item:
                        self.tally.add_quiet_bar(instrument, bar)
                    quiet_last = True
                    continue
            quiet_last = False
            self._after_commit(block, done + n, [json.loads(t) for t in texts], wake=wake)
        if quiet_last:
            head = json.loads(lines[-1])
            self.ledger.apply_head(head["seq_id"], head["hash"])

    def _after_commit(
        self,
        block: Sequence[Mapping[str, Any]],
        index: int,
        records: list[dict[str, Any]],
        *,
        wake: bool,
        lines: tuple[str, list[str]] | None = None,
    ) -> None:
        """Everything the loop does for item ``index`` of ``block`` once committed (wake
        only if it may).

        ``lines`` are the item's and its records' canonical lines when the core
        produced them, for the store to keep as they are (then the item itself
        is not read).
        """
        item = block[index] if lines is None and self.store is not None else None
        self._record(item, records, lines)
        if wake:
            self._react(self._wakes(records))
        self._step_done()

    def stop(self) -> None:
        self.ctx._begin_wake()
        self.ctx._accepting = False
        self._call("on_stop", None)
        if day_warning := self.day_orders.warning():
            self.warnings.append(day_warning)

    def final_checkpoint(self) -> None:
        if self.store is not None and self.ledger.last_seq_id != self._last_checkpoint:
            self._checkpoint()

    # -- steps ----------------------------------------------------------------------------------

    def _commit(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.core.step(item)
        self._record(item, records)
        return records

    def _record(
        self,
        item: Mapping[str, Any] | None,
        records: list[dict[str, Any]],
        lines: tuple[str, list[str]] | None = None,
    ) -> None:
        """Store and tally (ledger, trades, counts, equity) bookkeeping for one committed item
        (given as ``item`` or, with ``lines``, as its canonical line; neither is read
        without a store)."""
        self.inputs += 1
        if self.store is not None:
            record_lines = None
            if lines is not None:
                item_line, record_lines = lines
                self.store.add_input_line(item_line)
            elif item is not None:
                # Items are the runtime's own (feeds give ints; batches were float-checked).
                self.store.add_input(item, checked=False)
            else:
                raise RuntimeError("a committed item reached the store with neither item nor line")
            if self.keep_records:
                self.store.add_records(records, record_lines)
        for record in records:
            self.tally.add(record)
        self.day_orders.observe(records)
        self._since_checkpoint += len(records)

    def _react(self, wakes: list[tuple[str, object]]) -> None:
        rounds = 0
        while wakes:
            self.ctx._begin_wake()
            for callback, view in wakes:
                self._call(callback, view)
            rounds += 1
            if rounds > MAX_REACTION_ROUNDS:
                raise StrategyError(
                    f"strategy {self.sid} sent more than {MAX_REACTION_ROUNDS} intent batches in "
                    "one time step, each in reaction to the last; it is probably looping"
                )
            wakes = self._submit_and_react()

    def _submit_and_react(self) -> list[tuple[str, object]]:
        intents = self.ctx._drain()
        if not intents:
            return []
        self.batches += 1
        batch = {
            "kind": "intent_batch",
            "seq_id": None,
            "batch_id": f"{self.sid}-b{self.batches}",
            "strategy_id": self.sid,
            "ts": self.ledger.clock,
            "intents": intents,
        }
        records = self._commit(batch)
        return self._wakes(records)

    def _step_done(self) -> None:
        if self.store is None:
            return
        if self._since_checkpoint >= self.checkpoint_every:
            self._checkpoint()
        self.store.step_done()

    def _checkpoint(self) -> None:
        assert self.store is not None
        snapshot, state_hash = self.core.checkpoint()
        self.store.add_checkpoint(self.ledger.last_seq_id, snapshot, state_hash)
        self._since_checkpoint = 0
        self._last_checkpoint = self.ledger.last_seq_id

    # -- waking the strategy --------------------------------------------------------------------

    def _wakes(self, records: Iterable[Mapping[str, Any]]) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        signals = self.signal_places is not None
        firings = {f["seq_id"]: f for f in self.core.take_signals()} if signals else {}
        for rec in records:
            item = rec["input"]
            seq_id = rec["seq_id"]
            if item["kind"] == "event":
                when = item["event_time"]
                if item["source"] != "broker_report":
                    timer = item["payload"].get("timer_id") if item["source"] == "timer" else None
                    if signals and item["event_type"] == "bar":
                        if (firing := firings.get(seq_id)) is not None:
                            out.append(("on_signal", self._signal(firing)))
                    elif self.subs.wants(item["event_type"], item["instrument"], timer):
                        out.append(("on_event", Event.from_input(seq_id, item)))
            else:
                when = item["ts"]
                if item["strategy_id"] == self.sid:
                    for outcome in rec["intent_outcomes"]:
                        if outcome["outcome"] == "rejected" and self.wants_order:
                            out.append(("on_order", _rejection(seq_id, when, outcome)))
            if self.wants_fill:
                for f in rec["fills"]:
                    if self.ctx._is_own(f["order_id"]):
                        out.append(("on_fill", _fill(seq_id, when, f)))
            if self.wants_order:
                for t in rec["transitions"]:
                    if self.ctx._is_own(t["order_id"]):
                        update = OrderUpdate(
                            seq_id, when, t["order_id"], t["to"], t["from"], t["trigger"]
                        )
                        out.append(("on_order", update))
        return out

    def _signal(self, firing: Mapping[str, Any]) -> Signal:
        assert self.signal_places is not None
        places = self.signal_places[firing["instrument"]]
        raw = firing["values"]
        return Signal(
            firing["seq_id"],
            firing["event_time"],
            firing["instrument"],
            tuple(firing["fired"]),
            decimal_values(raw, places),
            MappingProxyType(dict(raw)),
            MappingProxyType(places),
        )

    def _call(self, callback: str, view: object) -> None:
        method = getattr(self.strategy, callback)
        try:
            returned = method(self.ctx) if view is None else method(self.ctx, view)
        except StrategyError as err:
            # Raised on purpose (often by ctx, for an argument): same object, strategy line added.
            named = str(err).startswith((f"strategy {self.sid} ", f"strategy {self.sid}:"))
            prefix = "" if named else f"strategy {self.sid} in {callback}: "
            err.args = (f"{prefix}{err}{self.blame.where(err)}",)
            raise
        except Exception as err:
            raise StrategyError(
                f"strategy {self.sid} raised {type(err).__name__} in {callback}: "
                f"{err}{self.blame.where(err)}"
            ) from err
        if returned is None:
            return
        if callback == "on_stop":
            raise StrategyError(f"strategy {self.sid}: on_stop must not return intents")
        if isinstance(returned, dict) or not isinstance(returned, Iterable):
            raise StrategyError(
                f"strategy {self.sid}: {callback} must return a list of intent dicts or None, "
                f"got {type(returned).__name__}"
            )
        for intent in returned:
            if not isinstance(intent, dict):
                raise StrategyError(
                    f"strategy {self.sid}: {callback} returned a {type(intent).__name__} "
                    "where an intent dict was expected"
                )
            if (unfit := unfit_value(intent)) is not None:
                code = getattr(method, "__code__", None)
                at = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""
                raise StrategyError(
                    f"strategy {self.sid}: {callback}{at} returned an intent with {unfit}; "
                    "the core takes ints (fixed-point units) only: convert with "
                    "ctx.price/ctx.qty or ctx.round_price/ctx.round_qty"
                )
            self.ctx._record(dict(intent), f"strategy {self.sid}: {callback}")


def _rejection(seq_id: int, when: int, outcome: Mapping[str, Any]) -> OrderUpdate:
    return OrderUpdate(
        seq_id, when, outcome["order_id"], "rejected", None, "intent", outcome["reason_code"]
    )


def _fill(seq_id: int, when: int, f: Mapping[str, Any]) -> Fill:
    return Fill(
        seq_id,
        when,
        f["order_id"],
        f["fill_id"],
        f["instrument"],
        f["side"],
        f["qty"],
        f["price"],
        f["notional"],
        f["fee"],
        f["currency"],
    )


def _feeds(data: DataSource, skip_policy: str, max_skip_share: SkipShare) -> tuple[list[Feed], str]:
    """The run's feeds, each held to the skipped-row limit (whoever built it)."""
    if isinstance(data, str | Path):
        data = load_dataset(data)
    if isinstance(data, Dataset):
        return limit_skips(data.feeds(skip_policy=skip_policy), max_skip_share), data.name
    feeds = list(data)
    return limit_skips(feeds, max_skip_share), ", ".join(f.name for f in feeds)


def _open_store(store: RunStore | str | Path | None, overwrite: bool) -> RunStore | None:
    if store is None or isinstance(store, RunStore):
        return store
    return RunStore.create(store, overwrite=overwrite)


def _versions() -> dict[str, str | None]:
    return distribution_versions()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def strategy_source(cls: type) -> dict[str, str | None]:
    """Where a strategy class's code lives and the sha256 of that file, for the run's seal.

    ``path`` and ``sha256`` are None for a class without a source file (defined
    in an interactive session): such a run says so rather than naming nothing.
    """
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        source = None
    if source is None or not Path(source).is_file():
        return {"path": None, "sha256": None}
    path = Path(source).resolve()
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _check_cash(setup: Mapping[str, Any]) -> None:
    """Refuse a backtest that starts with nothing (or a debt) in the currency it reports in.

    The same rule as :func:`lockstep.adapters.check_starting_cash`, for setups
    built by hand or by the Backtrader layer: returns and drawdowns are measured
    against the starting equity, so from zero they would read as a flat 0 %.
    """
    cash: Mapping[str, int] = setup.get("starting_cash") or {}
    first = setup["currencies"][0]["code"]
    negative = sorted(code for code, units in cash.items() if units < 0)
    if cash.get(first, 0) <= 0 or negative:
        which = negative[0] if negative else first
        raise SetupError(
            "$.starting_cash",
            f"a backtest needs starting cash above 0 in {first} and none below 0; "
            f"{which} starts at {cash.get(which, 0)} money units",
        )


class _BlockBars:
    """A bar block's items as the bars they hold (built only for the items asked for)."""

    __slots__ = ("_columns", "_names", "_starts")

    def __init__(self, bars: BarBlock) -> None:
        self._columns = bars.columns()
        self._names = [instrument for _, instrument in bars.sources]
        times = self._columns[0]
        self._starts = [r for r in range(len(times)) if r == 0 or times[r] != times[r - 1]]
        self._starts.append(len(times))

    def item(self, index: int) -> list[tuple[str, Bar]]:
        """Item ``index``'s bars (one per row of its time), each with its instrument."""
        t, o, h, lo, c, v, p = self._columns
        names = self._names
        return [
            (names[p[r]], Bar(t[r], o[r], h[r], lo[r], c[r], v[r]))
            for r in range(self._starts[index], self._starts[index + 1])
        ]


def _take_events(source: Iterator[Mapping[str, Any]], limit: int) -> list[Mapping[str, Any]]:
    """The next items of ``source`` up to ``limit`` events (a group counts its events);
    at least one item while any are left, so a group larger than ``limit`` still goes."""
    block: list[Mapping[str, Any]] = []
    events = 0
    for item in source:
        block.append(item)
        events += len(item["events"]) if item.get("kind") == "event_group" else 1
        if events >= limit:
            break
    return block
