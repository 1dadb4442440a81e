"""The plain-text summary of a run, from its stored metadata and results.

Works from the JSON the run store keeps (not from live objects), so
``lockstep backtest`` and ``lockstep runs show`` print the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstep.core import from_fixed
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
            ("trades", f"{m['trades']} closed, {m['open_trades']} open"),
            ("win rate", _pct(m["win_rate"])),
            ("profit factor", _profit_factor(m)),
        ]
    rows += [
        (
            "intents",
            f"{counts.get('intents', 0)} in {counts.get('intent_batches', 0)} batches, "
            f"{counts.get('rejected_intents', 0)} rejected",
        ),
        ("records", str(counts.get("records", "?"))),
        ("final state", str(results.get("final_state_hash", "-"))),
    ]
    skipped = sum(int(s.get("total", 0)) for s in results.get("skipped", []))
    if skipped:
        rows.append(("skipped rows", str(skipped)))
    timing = results.get("timing")
    if timing:
        rows.append(
            (
                "speed",
                f"{timing['elapsed_seconds']:.2f} s, {timing['bars_per_second']:,.0f} bars/s",
            )
        )
    return rows


def format_rows(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _profit_factor(m: Mapping[str, Any]) -> str:
    if m["profit_factor"] is not None:
        return f"{m['profit_factor']:.3f}"
    return "inf (no losing trades)" if m["gross_profit"] > 0 else "-"
