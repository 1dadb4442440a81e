"""The run report: an equity and drawdown chart (PNG) and one self-contained HTML page.

``lockstep report RUN.db`` (and ``lockstep backtest``, into its output
directory) writes three files from a complete run store:

``report.html``
    one page with inline CSS, the chart embedded as a ``data:`` URI, a
    banner with the run's verification status, the summary metrics, the
    run's provenance (strategy and its source hash, parameters, data digest,
    engine, package versions, final state and run hashes) and the trade list.
    It loads nothing from anywhere, so it can be mailed, archived or opened
    offline. The same run gives the same bytes except for the banner (it says
    when the run was verified) and the run store's path in the page's head.
``equity.png``
    equity over time with the drawdown below it, drawn with matplotlib's Agg
    backend (no display needed).
``trades.csv``
    the trade list, as ``lockstep backtest`` writes it.

matplotlib is optional (``pip install 'lockstep-runtime[report]'``). Without
it, ``write_report(..., chart=True)`` raises :class:`MissingDependencyError`
before writing anything; ``chart=False`` writes the HTML page (which then
says how to get the chart) and the trade list.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lockstep.adapters.feeds.columnar import MissingDependencyError, import_optional
from lockstep.runtime.seal import run_hash
from lockstep.runtime.sinks import RunResults
from lockstep.runtime.store import RunStore
from lockstep.runtime.summary import summary_rows
from lockstep.runtime.verification import VerificationStatus, store_status

REPORT_HTML = "report.html"
CHART_PNG = "equity.png"
TRADES_CSV = "trades.csv"
INSTALL = "lockstep-runtime[report]"
MAX_TRADE_ROWS = 2000
"""Trades listed in the HTML page; the CSV always has all of them."""
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path
    chart: Path | None
    trades: Path


def chart_available() -> bool:
    """Whether matplotlib can be imported (the chart is optional; the rest is not)."""
    try:
        _matplotlib()
    except MissingDependencyError:
        return False
    return True


def _matplotlib() -> tuple[Any, Any]:
    purpose = "the equity chart"
    figure = import_optional("matplotlib.figure", purpose=purpose, install=INSTALL)
    agg = import_optional("matplotlib.backends.backend_agg", purpose=purpose, install=INSTALL)
    return figure, agg


def write_report(
    run: RunResults | str | Path,
    out_dir: str | Path | None = None,
    *,
    chart: bool = True,
    verification: VerificationStatus | None = None,
) -> ReportFiles:
    """Write ``report.html``, ``trades.csv`` and (with ``chart``) ``equity.png``.

    ``out_dir`` defaults to the run store's directory. A run that did not
    complete is refused (:class:`~lockstep.runtime.StoreError`), as is a
    missing matplotlib when ``chart`` is true; both before any file is written.
    ``verification`` is what the page's banner says; by default, what the
    store's last recorded verification and its seal say now (no replay here:
    ``lockstep report`` verifies by replay first and passes the outcome).
    """
    results = run if isinstance(run, RunResults) else RunResults.load(run)
    if verification is None:
        with RunStore.open(results.path) as store:
            verification = store_status(store)
    png = render_chart(results) if chart else None
    directory = Path(out_dir) if out_dir is not None else results.path.parent
    directory.mkdir(parents=True, exist_ok=True)
    trades = directory / TRADES_CSV
    results.write_trades_csv(trades)
    chart_path = None
    if png is not None:
        chart_path = directory / CHART_PNG
        chart_path.write_bytes(png)
    page = directory / REPORT_HTML
    page.write_text(render_html(results, png, verification), encoding="utf-8")
    return ReportFiles(page, chart_path, trades)


def render_chart(run: RunResults) -> bytes:
    """The equity and drawdown chart as PNG bytes (Agg backend; no pyplot, no display)."""
    figure_module, agg = _matplotlib()
    fig = figure_module.Figure(figsize=(10, 6), dpi=100)
    agg.FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    rows = run.equity()
    times = [_EPOCH + timedelta(microseconds=r.time // 1000) for r in rows]
    scale = 10**run.money_precision
    top.plot(times, [r.equity / scale for r in rows], color="#1f5fa8", linewidth=1.2)
    top.ticklabel_format(axis="y", style="plain", useOffset=False)
    top.set_ylabel(f"equity ({run.currency})")
    top.set_title(f"{run.meta.get('strategy_id', 'run')} on {_data_name(run.meta)}")
    top.grid(True, alpha=0.3)
    drawdown = [-r.drawdown * 100 for r in rows]
    bottom.fill_between(times, drawdown, 0, color="#c0392b", alpha=0.45, linewidth=0)
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(True, alpha=0.3)
    if not rows:
        top.text(0.5, 0.5, "no equity samples", ha="center", va="center", transform=top.transAxes)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    # No "Software" text chunk: the same run gives the same bytes with the same matplotlib.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330;
       margin: 0 auto; max-width: 1100px; padding: 24px; background: #fbfbfd; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #dde1ea; padding-bottom: 4px; }
.sub { color: #5b6475; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eceff4; }
th { background: #f1f3f8; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { width: 220px; }
.scroll { overflow-x: auto; }
table.trades td, table.trades th { white-space: nowrap; }
img { max-width: 100%; border: 1px solid #dde1ea; background: #fff; }
.note { color: #5b6475; font-style: italic; }
.ok { color: #1e7d32; } .bad { color: #b3261e; }
.banner { padding: 10px 14px; border-radius: 4px; margin: 0 0 18px; border: 1px solid; }
.banner ul { margin: 6px 0 0; padding-left: 20px; }
.banner.verified { background: #e8f5e9; border-color: #a5d6a7; color: #1b5e20; }
.banner.unverified { background: #fff8e1; border-color: #ffe082; color: #6d4c00; }
.banner.failed, .banner.changed { background: #fdecea; border-color: #f5a3a0; color: #8c1d18; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
"""

_NUMERIC = frozenset(
    {"trade", "qty", "entry_price", "exit_price", "pnl", "unrealised_pnl", "mark_price", "fees"}
    | {"return"}
)


def render_html(
    run: RunResults, png: bytes | None, verification: VerificationStatus | None = None
) -> str:
    """The report page; every value is escaped and nothing refers outside the page.

    The verification banner comes first: a reader must know whether the
    numbers below were checked against the trace before reading them.
    """
    meta, results = run.meta, run.results
    status = str(meta.get("status"))
    title = f"Lockstep run report: {meta.get('strategy_id', 'run')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        run_identity_meta(run),
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        _banner(verification),
        f'<p class="sub">{_e(_data_name(meta))} &middot; engine {_e(meta.get("engine"))} '
        f'&middot; status <span class="{"ok" if status == "complete" else "bad"}">'
        f"{_e(status)}</span></p>",
        "<h2>Summary</h2>",
        _kv_table(summary_rows(meta, results)),
        "<h2>Equity and drawdown</h2>",
    ]
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<img alt="equity and drawdown chart" src="data:image/png;base64,{data}">')
    else:
        parts.append(
            '<p class="note">No chart: it needs matplotlib '
            f"(<code>pip install '{_e(INSTALL)}'</code>), then run "
            f"<code>lockstep report {_e(run.path)}</code>.</p>"
        )
    parts += ["<h2>Trades</h2>", _trades_table(run)]
    parts += ["<h2>Run</h2>", _kv_table(_provenance(run))]
    skipped = [s for s in results.get("skipped", []) if s.get("total")]
    if skipped:
        parts += ["<h2>Skipped data rows</h2>", _skipped_table(skipped)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


_BANNER_TITLE = {
    "verified": "Verified by replay",
    "unverified": "Not verified by replay",
    "failed": "This run FAILS verification: do not trust the numbers below",
    "changed": "Changed since it was verified: do not trust the numbers below",
}


def _banner(status: VerificationStatus | None) -> str:
    if status is None:
        status = VerificationStatus("unverified", "verification status unknown")
    problems = "".join(f"<li>{_e(p)}</li>" for p in status.problems)
    listing = f"<ul>{problems}</ul>" if problems else ""
    return (
        f'<div class="banner {_e(status.state)}" id="verification" role="status" '
        f'data-state="{_e(status.state)}"><strong>{_e(_BANNER_TITLE[status.state])}</strong>: '
        f"{_e(status.summary)}{listing}</div>"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _data_name(meta: Mapping[str, Any]) -> str:
    data = meta.get("data") or {}
    return str(data.get("name", "?")) if isinstance(data, Mapping) else str(data)


def _kv_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _trades_table(run: RunResults) -> str:
    header, rows = run.trade_table()
    if not rows:
        return '<p class="note">No trades.</p>'
    shown = rows[:MAX_TRADE_ROWS]
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(c)}</td>' if h in _NUMERIC else f"<td>{_e(c)}</td>"
            for h, c in zip(header, row, strict=True)
        )
        + "</tr>"
        for row in shown
    )
    note = ""
    if len(rows) > len(shown):
        note = (
            f'<p class="note">The first {len(shown):,} of {len(rows):,} trades; '
            f"{TRADES_CSV} has them all.</p>"
        )
    return (
        f'<div class="scroll"><table class="trades"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{note}"
    )


def _provenance(run: RunResults) -> list[tuple[str, str]]:
    meta, results = run.meta, run.results
    params = meta.get("params") or {}
    versions = meta.get("versions") or {}
    data = meta.get("data") or {}
    feeds: Sequence[str] = data.get("feeds", []) if isinstance(data, Mapping) else []
    return [
        ("strategy", str(meta.get("strategy"))),
        ("parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or "none"),
        ("data", f"{_data_name(meta)} ({len(feeds)} feeds)"),
        ("data digest", str(meta.get("data_digest"))),
        ("engine", str(meta.get("engine"))),
        ("started", str(meta.get("started"))),
        ("finished", str(meta.get("finished"))),
        ("strategy source", _source(meta.get("strategy_source"))),
        ("final state hash", str(results.get("final_state_hash"))),
        ("run hash", str(run_hash(results))),
        ("last record hash", str(results.get("last_hash"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
        ("run store", str(run.path)),
    ]


def _source(source: object) -> str:
    if not isinstance(source, Mapping) or not source.get("path"):
        return "unknown (the class has no source file)"
    return f"{source['path']} (sha256 {source.get('sha256')})"


def _skipped_table(reports: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            str(r.get("source")),
            f"{r.get('total')} rows: "
            + ", ".join(f"{k} {v}" for k, v in (r.get("counts") or {}).items()),
        )
        for r in reports
    ]
    return _kv_table(rows)


# --------------------------------------------------------------------------- identity

RUN_STORE_META = "lockstep-run-store"
FINAL_STATE_META = "lockstep-final-state-hash"
_IDENTITY_SCAN = 1 << 16
"""The meta tags are in the page's head: this many characters always hold them."""


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """The run a report page was written for, as the page's meta tags name it."""

    store: Path
    final_state_hash: str | None


def run_identity_meta(run: RunResults) -> str:
    """Meta tags naming the run store (absolute path) and its final state hash.

    The output directory of ``lockstep report`` may already hold another run's
    report; reading these back (:func:`read_report_identity`) is how it tells
    a rewrite of the same run from a report it must not replace unasked.
    """
    final = run.results.get("final_state_hash")
    return (
        f'<meta name="{RUN_STORE_META}" content="{_e(run.path.resolve())}">\n'
        f'<meta name="{FINAL_STATE_META}" content="{_e(final or "")}">'
    )


def read_report_identity(page: Path) -> ReportIdentity | None:
    """The run ``page`` was written for; None when it names none (or is unreadable)."""
    try:
        with page.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(_IDENTITY_SCAN)
    except OSError:
        return None
    store = _meta_content(head, RUN_STORE_META)
    if not store:
        return None
    return ReportIdentity(Path(store), _meta_content(head, FINAL_STATE_META) or None)


def _meta_content(text: str, name: str) -> str | None:
    match = re.search(rf'<meta name="{re.escape(name)}" content="([^"]*)">', text)
    return html.unescape(match.group(1)) if match else None
