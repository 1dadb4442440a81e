"""The benchmarks page: a table and a bar chart per result file in ``benchmarks/results/``.

Benchmarks write JSON (``benchmarks/README.md``); native change records cite
those files as their measurement. The page renders whatever result files
exist, with the machine, date and baseline of each, so a claim such as
"35x faster" is one click away from the numbers behind it.

The expected shape (tolerant of extra keys, and of rows that lack some
metrics)::

    {"benchmark": "replay", "machine": {...} or "text", "date": "2026-11-23",
     "baseline": "python backend at main" or {"name": ..., ...},
     "results": [{"backend": "python", "events_per_s": 1000, "ratio": 1.0}, ...]}

Charts are inline SVG drawn here (bars of each row's ``ratio``), so the page
needs no charting script. Rows are labelled by ``backend``, ``engine``,
``name`` or ``case``. A file whose rows carry many metrics (the peer
benchmark's ``peers_*.json``) may name the ones worth a table column in a
top-level ``table_columns`` list; the rest stay in the file. Other top-level
keys are listed under "Other details", nested objects as nested lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Final

from lockstep_docgen.markdown import cell, code, generated_notice, table

PAGE: Final = "benchmarks/index.md"
RESULTS_REL: Final = "benchmarks/results"
_LABEL_KEYS: Final = ("backend", "engine", "name", "case")
_KNOWN_KEYS: Final = frozenset(
    {"benchmark", "machine", "date", "baseline", "results", "table_columns"}
)
"""Top-level keys with a place of their own; any other key (parameters, what ``ratio`` means) is listed."""


@dataclass(frozen=True)
class ResultFile:
    """One parsed result file, or the reason it could not be read."""

    path: str
    data: Mapping[str, Any] | None
    error: str | None = None


def load_results(root: Path) -> list[ResultFile]:
    """Every ``*.json`` under ``benchmarks/results/``, sorted by name; unreadable ones keep their error."""
    directory = root / RESULTS_REL
    out: list[ResultFile] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        rel = f"{RESULTS_REL}/{path.name}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            out.append(ResultFile(rel, None, f"not readable JSON ({exc})"))
            continue
        if not isinstance(data, dict):
            out.append(ResultFile(rel, None, "the top level is not a JSON object"))
            continue
        out.append(ResultFile(rel, data))
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return cell(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, bool) or value is None:
        return code(json.dumps(value))
    if isinstance(value, int):
        return f"{value:,}"
    return code(json.dumps(value, sort_keys=True))


def _mapping_lines(value: Any, depth: int = 0) -> list[str]:
    """A machine or baseline description as bullet lines; a non-empty mapping value nests."""
    pad = "    " * depth
    if isinstance(value, Mapping):
        lines: list[str] = []
        for k, v in value.items():
            if isinstance(v, Mapping) and v and depth < 2:
                lines += [f"{pad}- **{cell(str(k))}**:", *_mapping_lines(v, depth + 1)]
            else:
                lines.append(f"{pad}- **{cell(str(k))}**: {_text(v)}")
        return lines
    if value is None:
        return [f"{pad}- not recorded"]
    return [f"{pad}- {_text(value)}"]


def _table_columns(data: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The file's ``table_columns`` that some row has, else every row key (labels first, ratio last)."""
    chosen = data.get("table_columns")
    if isinstance(chosen, list) and all(isinstance(c, str) for c in chosen):
        present = {k for row in rows for k in row}
        return [c for c in dict.fromkeys(chosen) if c in present]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    ordered: list[str] = [c for c in _LABEL_KEYS if c in columns]
    ordered += [c for c in columns if c not in ordered and c != "ratio"]
    ordered += ["ratio"] if "ratio" in columns else []
    return ordered


def _baseline_name(value: Any) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        return str(value["name"])
    return value if isinstance(value, str) else json.dumps(value)


def _row_label(row: Mapping[str, Any], number: int) -> str:
    for key in _LABEL_KEYS:
        if isinstance(row.get(key), str):
            return str(row[key])
    return f"row {number}"


def chart(rows: Sequence[Mapping[str, Any]], title: str) -> str:
    """A horizontal bar chart (inline SVG) of each row's numeric ``ratio``; '' when none has one."""
    bars = [
        (_row_label(row, i), float(row["ratio"]))
        for i, row in enumerate(rows, start=1)
        if isinstance(row.get("ratio"), int | float) and not isinstance(row.get("ratio"), bool)
    ]
    if not bars:
        return ""
    label_w, bar_w, row_h = 160, 420, 26
    top = max(1.0, *(v for _, v in bars))
    height = row_h * len(bars) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lockstep-chart" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {label_w + bar_w + 80} {height}" '
        f'style="width:100%;max-width:{label_w + bar_w + 80}px;height:auto">'
    ]
    for i, (label, value) in enumerate(bars):
        y = 10 + i * row_h
        width = max(1.0, bar_w * max(value, 0.0) / top)
        parts += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" '
            f'fill="currentColor">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}" '
            f'fill="#3949ab"><title>{escape(label)}: {value:g}x</title></rect>',
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" font-size="12" '
            f'fill="currentColor">{value:g}x</text>',
        ]
    baseline_x = label_w + bar_w * 1.0 / top
    parts.append(
        f'<line x1="{baseline_x:.1f}" y1="4" x2="{baseline_x:.1f}" y2="{height - 18}" '
        f'stroke="#b71c1c" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{baseline_x:.1f}" y="{height - 4}" text-anchor="middle" font-size="11" '
        f'fill="#b71c1c">baseline = 1x</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def render(root: Path) -> str:
    """The whole page; says plainly when there are no result files yet."""
    files = load_results(root)
    lines = [
        generated_notice(f"{RESULTS_REL}/*.json"),
        "",
        "# Benchmarks",
        "",
        "Measurements written by the benchmarks in `benchmarks/`, one section per result file",
        f"in `{RESULTS_REL}/`, rendered when the site is built. Each states the machine it ran",
        "on, the date and the baseline; `ratio` compares a row with that baseline (above 1",
        "is faster or bigger, as the metric's name says). Results are evidence for review,",
        "not pass/fail gates, and only compare within one file (one machine, one day).",
        "",
    ]
    if not files:
        lines += [
            f"No benchmark results yet: `{RESULTS_REL}/` holds no `*.json` file in this",
            "checkout. Run a benchmark (see `benchmarks/README.md`) and commit its result file.",
            "",
        ]
        return "\n".join(lines)
    for result in files:
        name = result.path.rsplit("/", 1)[-1].removesuffix(".json")
        if result.data is None:
            lines += [f"## `{name}`", "", f"`{result.path}`: {result.error}.", ""]
            continue
        data = result.data
        title = str(data.get("benchmark", name))
        lines += [f"## {cell(title)}", "", f"Source: `{result.path}`.", ""]
        lines += [f"**Date:** {_text(data.get('date', 'not recorded'))}", ""]
        lines += [f"**Baseline:** {cell(_baseline_name(data.get('baseline')))}", ""]
        if isinstance(data.get("baseline"), Mapping):
            lines += [*_mapping_lines(data["baseline"]), ""]
        lines += ["**Machine:**", "", *_mapping_lines(data.get("machine")), ""]
        extra = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
        if extra:
            lines += ["**Other details:**", "", *_mapping_lines(extra), ""]
        rows = [r for r in data.get("results", []) if isinstance(r, Mapping)]
        if not rows:
            lines += ["This file has no result rows.", ""]
            continue
        ordered = _table_columns(data, rows)
        if not ordered:
            lines += ["The result rows of this file carry no values.", ""]
            continue
        body = [[_text(row.get(c, "")) if c in row else "—" for c in ordered] for row in rows]
        lines += table([code(c) for c in ordered], body)
        lines.append("")
        svg = chart(rows, f"{title}: ratio to baseline")
        if svg:
            lines += ['<div class="lockstep-chart-wrap" markdown="0">', svg, "</div>", ""]
    return "\n".join(lines)
