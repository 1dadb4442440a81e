"""Shared plumbing of the benchmarks: machine facts, isolated runs, result files.

Each measurement runs in its own interpreter (``python bench.py --worker ...``)
so peak memory (``ru_maxrss``) belongs to one backend only and nothing warmed
up by one run helps the next.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = "python backend at main"
"""What every ratio compares with: the Python reference core on the same path."""


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib: float | None = round(pages / 2**30, 1)
    except (ValueError, OSError):
        memory_gib = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "rustc": _command_version(["rustc", "--version"]),
    }


def _command_version(argv: list[str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def peak_rss_mib() -> float:
    """Peak resident memory of this process, in MiB.

    Linux's ``VmHWM`` first: it belongs to this program's own address space.
    ``ru_maxrss`` survives ``exec``, so a worker started by a big parent
    (``subprocess`` forks it from the parent's memory) would report the
    parent's peak instead of its own; it is the fallback elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def timed_with_cpu(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(value, wall seconds, CPU seconds of every thread of this process)``.

    The rust core works on helper threads during replay, so wall time alone
    does not say how much of the machine a run used; the CPU time does.
    """
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - started, time.process_time() - cpu


def run_worker(script: Path, args: Sequence[str]) -> dict[str, Any]:
    """Run ``script --worker ARGS`` in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {script.name} {' '.join(args)} failed:\n{done.stderr}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def best_of(script: Path, args: Sequence[str], repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh-interpreter runs, with every run's seconds in ``runs``.

    The benchmark machine is shared and its timings move by up to a quarter
    between runs; the fastest run is the one least disturbed, and keeping all
    of them shows how much the rest moved.
    """
    rows = [run_worker(script, args) for _ in range(max(1, repeat))]
    best = min(rows, key=lambda row: float(row["seconds"]))
    best["runs"] = [row["seconds"] for row in rows]
    return best


def with_ratios(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Add ``ratio`` = row metric / python row metric (higher is better for rates)."""
    base = next((r[metric] for r in rows if r["backend"] == "python"), None)
    for row in rows:
        row["ratio"] = round(row[metric] / base, 2) if base else None
    return rows


def write_result(
    name: str,
    params: Mapping[str, Any],
    rows: list[dict[str, Any]],
    metric: str,
    out: Path,
    table_columns: Sequence[str] | None = None,
) -> Path:
    """Write a result file; ``table_columns`` picks what the docs page's table shows.

    Rows that carry many fields (hashes, per-run lists, tallies) would make
    the page's table unreadable; the file keeps every field either way.
    """
    result: dict[str, Any] = {
        "benchmark": name,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "baseline": BASELINE,
        "ratio_metric": metric,
        "params": dict(params),
        "results": with_ratios(rows, metric),
    }
    if table_columns is not None:
        result["table_columns"] = list(table_columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    print("  ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print("  ".join(f"{row.get(c)!s:>14}" for c in columns))
