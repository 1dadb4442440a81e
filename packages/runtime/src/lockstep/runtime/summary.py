"""The plain-text summary of a run, from its stored metadata and results.

Works from the JSON the run store keeps (not from live objects), so
``lockstep backtest`` and ``lockstep runs show`` print the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstep.core import from_fixed
from lockstep.runtime.seal import run_hash
from lockstep.runtime.trades import iso_utc


def summary_rows(meta: Mapping[str, Any], results: Mapping[str, Any]) -> list[tuple[str, str]]:
    m = results.get("metrics", {})
    counts = results.get("counts", {})
    params = meta.get("params") or {}
    rows: list[tuple[str, str]] = [
        ("strategy", f"{meta.get('strategy_id')} ({_params(params)})"),
        ("engine", str(meta.get("engine"))),
        ("data", f"{meta.get('data', {}).get('name')} ({counts.get('bars', '?')} bars)"),
        ("status", str(meta.get("status", "?"))),
    ]
    equity = results.get("equity") or []
    if equity:
        years = m.get("years")
        span = f" ({years:.2f} years)" if years else ""
        rows.append(
            ("period", f"{iso_utc(equity[0][0])[:10]} .. {iso_utc(equity[-1][0])[:10]}{span}")
        )
    if m:
        ccy, mp = m["currency"], m["money_precision"]
        rows += [
            ("initial equity", f"{from_fixed(m['initial_equity'], mp)} {ccy}"),
            ("final equity", f"{from_fixed(m['final_equity'], mp)} {ccy}"),
            ("total return", _pct(m["total_return"])),
            ("CAGR", _pct(m["cagr"])),
            ("Sharpe (ann.)", _num(m["sharpe"])),
            ("Sortino (ann.)", _num(m["sortino"])),
            (
                "max drawdown",
                f"{_pct(m['max_drawdown'])} over {m['max_drawdown_duration_days']:.1f} days "
                f"({m['max_drawdown_duration_samples']} samples)",
            ),
            ("exposure", _pct(m["exposure"])),
            ("trades", _trades(m)),
            ("win rate", _pct(m["win_rate"])),
            ("profit factor", _profit_factor(m)),
        ]
    rows += [
        (
            "intents",
            f"{counts.get('intents', 0)} in {counts.get('intent_batches', 0)} batches, "
            f"{counts.get('rejected_intents', 0)} rejected",
        ),
    ]
    rows += rejection_rows(meta, results)
    if "expired_orders" in counts:
        rows.append(
            (
                "orders ended",
                f"{counts['expired_orders']} expired, {counts['cancelled_orders']} cancelled",
            )
        )
    rows += [
        ("records", f"{counts.get('records', '?')}{_trace(meta)}"),
        ("final state", str(results.get("final_state_hash", "-"))),
    ]
    sealed = run_hash(results)
    if sealed:
        rows.append(("run hash", sealed))
    for report in results.get("skipped", []):
        if report.get("total"):
            rows.append(("skipped rows", _skipped(report)))
    timing = results.get("timing")
    if timing:
        rows.append(
            (
                "speed",
                f"{timing['elapsed_seconds']:.2f} s, {timing['bars_per_second']:,.0f} bars/s",
            )
        )
    return rows


def rejection_rows(meta: Mapping[str, Any], results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rejected intents by reason code, then the first examples, each on its own row."""
    rejections = results.get("rejections") or {}
    by_reason: Mapping[str, int] = rejections.get("by_reason") or {}
    if not by_reason:
        return []
    rows = [("rejected", ", ".join(f"{code} {n}" for code, n in by_reason.items()))]
    instruments = {i["id"]: i for i in (meta.get("setup") or {}).get("instruments", [])}
    for example in rejections.get("examples") or []:
        rows.append(("  e.g.", describe_rejection(example, instruments)))
    return rows


def describe_rejection(
    example: Mapping[str, Any], instruments: Mapping[str, Mapping[str, Any]]
) -> str:
    """``2024-01-03T21:00:00Z seq 12: buy limit ACME qty 10 price 101.375 -> PRICE_OFF_TICK``."""
    spec = instruments.get(str(example.get("instrument")))
    parts = [f"{iso_utc(example.get('time'))} seq {example.get('seq_id')}:"]
    parts += [str(example[k]) for k in ("side", "order_type") if example.get(k)]
    parts.append(str(example.get("instrument") or example.get("intent_type")))
    for key, precision in (
        ("qty", "size_precision"),
        ("price", "price_precision"),
        ("stop_price", "price_precision"),
    ):
        value = example.get(key)
        if isinstance(value, int):
            shown = from_fixed(value, spec[precision]) if spec else str(value)
            parts.append(f"{key} {shown}")
    if example.get("order_id"):
        parts.append(f"(order {example['order_id']})")
    return f"{' '.join(parts)} -> {example.get('reason_code')}"


def rejection_warning(results: Mapping[str, Any], max_share: float | None = None) -> str | None:
    """A warning when rejections suggest the strategy's orders are wrong, else None.

    With ``max_share``, when more than that share of intents was rejected; without
    it (the default), when any intent was rejected and no order was ever filled,
    the case where a run "succeeds" having done nothing.
    """
    counts = results.get("counts") or {}
    rejected, intents = int(counts.get("rejected_intents", 0)), int(counts.get("intents", 0))
    if not rejected:
        return None
    by_reason = (results.get("rejections") or {}).get("by_reason") or {}
    reasons = ", ".join(f"{code} {n}" for code, n in by_reason.items())
    if max_share is not None:
        if rejected <= max_share * intents:
            return None
        why = f"more than {max_share:.2%} of its intents"
    else:
        if results.get("trades"):
            return None
        why = "and no order was ever filled"
    return (
        f"{rejected} of {intents} intents were rejected ({reasons}) {why}; see 'rejected' in "
        "the summary for examples (ctx.round_price / ctx.round_qty put prices and sizes on "
        "the instrument's grid)"
    )


def format_rows(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def _skipped(report: Mapping[str, Any]) -> str:
    """``3 of 250 (1.20 %) in ACME.csv: bad_row 2, off_tick 1``, one feed per row.

    Per file, because a total over several files hides which one is broken;
    runs stored before feeds counted their rows have no ``rows`` and show
    the count alone.
    """
    total = int(report["total"])
    rows = int(report.get("rows") or 0)
    of = f" of {rows} ({total / rows * 100:.2f} %)" if rows else ""
    kinds = ", ".join(f"{k} {n}" for k, n in sorted((report.get("counts") or {}).items()))
    return f"{total}{of} in {report.get('source')}" + (f": {kinds}" if kinds else "")


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def _trades(m: Mapping[str, Any]) -> str:
    text = f"{m['trades']} closed, {m['open_trades']} open"
    unrealised = m.get("unrealised_pnl")
    if m["open_trades"] and isinstance(unrealised, int):
        text += f" (unrealised {from_fixed(unrealised, m['money_precision'])} {m['currency']})"
    return text


def _trace(meta: Mapping[str, Any]) -> str:
    return " (not stored: trace kept as checkpoints)" if meta.get("trace") == "checkpoints" else ""


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _profit_factor(m: Mapping[str, Any]) -> str:
    if m["profit_factor"] is not None:
        return f"{m['profit_factor']:.3f}"
    return "inf (no losing trades)" if m["gross_profit"] > 0 else "-"
