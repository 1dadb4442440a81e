"""Lockstep against the engines users would otherwise pick: same strategy, same data, results agreeing first.

    python benchmarks/bench_peers.py [--quick] [--repeat N] [--scenarios 1a,1b]
        [--strategies sma,rsi] [--engines NAME,...] [--bars N] [--profile]
        [--growth | --no-growth] [--jobs N] [--out DIR] [--data-dir DIR] [--no-others]

For every scenario x strategy of ``peers/spec.py``, every engine adapter in
``peers/engines/`` that can run here runs the same strategy on the same
generated files (``peers/data.py``), each run in a fresh interpreter. The
repeats are interleaved (each round runs every engine once, the order
rotated from round to round), so a noisy neighbour on this shared machine
hits every engine alike instead of one engine's whole series.

Before any time counts, the outcomes are compared: trade count and final
equity to the cent. The reference is Backtrader (else ``lockstep-python``);
an engine that differs from it, or from itself across repeats, is reported
with ``"agrees": false`` and the differing values, and gets no timing, no
ratio and no place in the chart. Engines that cannot run here (a missing
package, no native core) are listed under ``skipped`` with the reason.

Per engine: min/median/max of ``seconds_total`` (from the data files to the
result) and ``seconds_loop`` (the engine's loop alone, as each adapter's
``notes`` say), bars/s of both, CPU seconds, peak RSS, native crossings, and
the memory growth between half and full length (peak RSS of one extra run on
the first half of the same bars; flat is the target). ``ratio`` is bars/s
over Backtrader's bars/s measured in the same run (above 1 is faster);
``loop_ratio`` the same for the loop.

Writes ``OUT/peers_<scenario>_<strategy>.json`` and ``OUT/peers.md``. ``OUT``
is ``benchmarks/results`` for a full run and ``build/bench-quick`` for
``--quick``, so the CI form never overwrites the committed measurements.

``--quick`` is the CI form: each scenario at its ``quick_bars``, one round,
no growth run, two workers at a time (its timings are not for reading), and
it fails (exit 1) unless Backtrader, ``lockstep-python`` and
``lockstep-bt-python`` ran and agree. Whatever the mode, a Lockstep
engine that disagrees is a failure too (it is ours to fix); a peer that
disagrees is reported, not fatal. Then (unless ``--no-others``) every other
``benchmarks/bench_*.py`` runs, with ``--quick`` when given and ``--out``:
that is how the Lockstep-only scenarios (replay verify of >= 1,000,000
events in ``bench_backtest_replay.py``; the order-update burst in
``bench_order_burst.py``) join ``nox -s bench``. A script that exits with
code 3 could not run here (no native core) and is listed as skipped.

Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import importlib
import io
import json
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS, machine, peak_rss_mib
from peers import data as peer_data
from peers.spec import SCENARIOS, SEED, STRATEGIES, Engine, Outcome, Scenario, Strategy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENGINE_DIR = HERE / "peers" / "engines"
QUICK_OUT = ROOT / "build" / "bench-quick"
PROFILES = ROOT / "build" / "bench-profiles"
REFERENCE = "backtrader"
FALLBACK_REFERENCE = "lockstep-python"
REQUIRED = ("backtrader", "lockstep-python", "lockstep-bt-python")
"""Must run and agree in ``--quick`` (CI) mode, among the engines selected."""
ORDER = (
    "backtrader",
    "lockstep-python",
    "lockstep-rust",
    "lockstep-python+store",
    "lockstep-rust+store",
    "lockstep-python+signals",
    "lockstep-rust+signals",
    "lockstep-bt-python",
    "lockstep-bt-rust",
)
"""Display order; other engines follow by name."""
TABLE_COLUMNS = (
    "engine",
    "agrees",
    "trades",
    "final_equity",
    "bars_per_s",
    "loop_bars_per_s",
    "seconds_total_median",
    "cpu_seconds",
    "peak_rss_mib",
    "rss_growth_mib",
    "crossings",
    "loop_ratio",
    "ratio",
)
"""What the docs page's table shows of each row (the JSON keeps every field)."""
SKIPPED_EXIT = 3
"""Exit code of a bench_*.py that cannot run here (the CLI's "engine unavailable")."""
WORKER_TIMEOUT = 4 * 3600


# --------------------------------------------------------------------------- engines


@dataclass
class Found:
    """The engines the adapter modules offer, and the modules that could not be imported."""

    engines: dict[str, Engine] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    """Engine name -> the module that provides it (what a worker imports, and nothing else)."""
    broken: dict[str, str] = field(default_factory=dict)


def discover(directory: Path = ENGINE_DIR, only: str | None = None) -> Found:
    """Every engine of every adapter module (a module is one engine, or lists several in ENGINES).

    ``only`` imports that one module: a worker must not carry the other
    adapters' imports (a peer's whole package) into its memory and start-up.
    """
    found = Found()
    stems = [only] if only else sorted(p.stem for p in directory.glob("*.py"))
    for stem in stems:
        if stem.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"peers.engines.{stem}")
        except Exception as err:  # a broken adapter is reported, it must not stop the others
            found.broken[f"{stem}.py"] = f"cannot import: {type(err).__name__}: {err}"
            continue
        engines: Iterable[Any] = getattr(module, "ENGINES", None) or [module]
        for engine in engines:
            found.engines[str(engine.NAME)] = engine
            found.modules[str(engine.NAME)] = stem
    return found


def ordered(names: Iterable[str]) -> list[str]:
    rank = {name: n for n, name in enumerate(ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(ORDER)), name))


# --------------------------------------------------------------------------- worker


def worker(argv: Sequence[str]) -> None:
    """Run one engine once and print its outcome as the last stdout line (JSON)."""
    module, name, strategy_name, scenario_name, bars_text, cache, profile = argv
    engine = discover(only=module).engines[name]
    bars = int(bars_text)
    scenario = _sized(SCENARIOS[scenario_name], bars)
    strategy = STRATEGIES[strategy_name]
    data = peer_data.dataset(scenario.instruments, bars, cache=Path(cache))
    cpu = time.process_time()
    if profile != "-":
        profiler = cProfile.Profile()
        outcome: Outcome = profiler.runcall(engine.run, strategy, scenario, data)
        write_profile(profiler, Path(profile))
    else:
        outcome = engine.run(strategy, scenario, data)
    if not outcome.cpu_seconds:
        outcome.cpu_seconds = time.process_time() - cpu
    if not outcome.peak_rss_mib:
        outcome.peak_rss_mib = peak_rss_mib()
    print(outcome.to_json())


def _sized(scenario: Scenario, bars: int) -> Scenario:
    """The scenario at the size actually run, so an adapter reading either field gets it."""
    return dataclasses.replace(scenario, bars=bars, quick_bars=bars)


def write_profile(profiler: cProfile.Profile, path: Path) -> None:
    """The raw profile (for snakeviz, pstats) and its top 20 by cumulative time beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(path)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(20)
    path.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")


@dataclass
class Run:
    """One worker run: its outcome, or why there is none."""

    outcome: Outcome | None
    error: str | None = None


def run_once(
    module: str,
    engine: str,
    strategy: str,
    scenario: str,
    bars: int,
    cache: Path,
    profile: Path | None,
) -> Run:
    """One fresh interpreter running ``engine`` once (``cache``: where the data sets are)."""
    argv = [module, engine, strategy, scenario, str(bars), str(cache), str(profile or "-")]
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=WORKER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Run(None, f"no result after {WORKER_TIMEOUT} s")
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-12:])
        return Run(None, f"exit code {done.returncode}: {tail}")
    try:
        return Run(Outcome.from_json(done.stdout.strip().splitlines()[-1]))
    except (ValueError, TypeError, IndexError) as err:
        return Run(None, f"unreadable worker output ({err}): {done.stdout[-500:]}")


RunArgs = tuple[str, str, str, str, int, Path, Path | None]


def run_many(calls: Sequence[RunArgs], jobs: int) -> list[Run]:
    """The runs in order; ``jobs`` > 1 overlaps them (only ``--quick``, whose timings nobody reads)."""
    if jobs <= 1:
        return [run_once(*call) for call in calls]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda call: run_once(*call), calls))


# --------------------------------------------------------------------------- agreement


def key(outcome: Outcome) -> tuple[int, str]:
    return outcome.trades, outcome.final_equity


def reference_of(outcomes: Mapping[str, Outcome]) -> str | None:
    for name in (REFERENCE, FALLBACK_REFERENCE):
        if name in outcomes:
            return name
    return min(outcomes) if outcomes else None


def check_agreement(runs: Mapping[str, Sequence[Outcome]]) -> dict[str, dict[str, Any]]:
    """Per engine: ``agrees`` and, when not, what differs from the reference.

    An engine agrees when every one of its runs reports the reference's trade
    count and final equity (its first run's). Runs of one engine that differ
    from each other make it disagree even if one of them matches: a result
    that moves between runs of the same data is not a result.
    """
    firsts = {name: outcomes[0] for name, outcomes in runs.items() if outcomes}
    ref = reference_of(firsts)
    verdicts: dict[str, dict[str, Any]] = {}
    if ref is None:
        return verdicts
    expected = key(firsts[ref])
    for name, outcomes in runs.items():
        if not outcomes:
            continue
        seen = sorted({key(o) for o in outcomes})
        verdict: dict[str, Any] = {"agrees": seen == [expected], "reference": ref}
        if not verdict["agrees"]:
            differs: dict[str, Any] = {}
            trades = sorted({t for t, _ in seen})
            equity = sorted({e for _, e in seen})
            if trades != [expected[0]]:
                differs["trades"] = {"got": trades, "expected": expected[0]}
            if equity != [expected[1]]:
                differs["final_equity"] = {"got": equity, "expected": expected[1]}
            if len(seen) > 1:
                differs["between_runs"] = [list(s) for s in seen]
            verdict["differs"] = differs
        verdicts[name] = verdict
    return verdicts


# --------------------------------------------------------------------------- rows


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


def row_for(
    name: str,
    outcomes: Sequence[Outcome],
    verdict: Mapping[str, Any],
    half: Outcome | None,
) -> dict[str, Any]:
    """The result row of one engine: timings only when it agrees."""
    first = outcomes[0]
    row: dict[str, Any] = {
        "engine": name,
        "agrees": bool(verdict.get("agrees")),
        "trades": first.trades,
        "final_equity": first.final_equity,
        "bars": first.bars,
    }
    if not row["agrees"]:
        row["differs"] = verdict.get("differs", {})
        return row
    total = _spread([o.seconds_total for o in outcomes])
    loop = _spread([o.seconds_loop for o in outcomes])
    rss = statistics.median(o.peak_rss_mib for o in outcomes)
    row.update(
        {
            "bars_per_s": round(first.bars / total["median"]) if total["median"] else None,
            "loop_bars_per_s": round(first.bars / loop["median"]) if loop["median"] else None,
            "seconds_total_min": total["min"],
            "seconds_total_median": total["median"],
            "seconds_total_max": total["max"],
            "seconds_loop_min": loop["min"],
            "seconds_loop_median": loop["median"],
            "seconds_loop_max": loop["max"],
            "cpu_seconds": round(statistics.median(o.cpu_seconds for o in outcomes), 3),
            "peak_rss_mib": round(rss, 1),
            "rss_half_mib": round(half.peak_rss_mib, 1) if half is not None else None,
            "rss_growth_mib": round(rss - half.peak_rss_mib, 1) if half is not None else None,
            "crossings": first.crossings,
            "runs": len(outcomes),
        }
    )
    return row


def add_ratios(rows: list[dict[str, Any]]) -> str | None:
    """``ratio``/``loop_ratio`` against the reference row measured in this run; returns its name."""
    timed = {r["engine"]: r for r in rows if r["agrees"] and r.get("bars_per_s")}
    base_name = next((n for n in (REFERENCE, FALLBACK_REFERENCE) if n in timed), None)
    for row in rows:
        row["ratio"] = row["loop_ratio"] = None
        if base_name is None or row["engine"] not in timed:
            continue
        base = timed[base_name]
        row["ratio"] = round(row["bars_per_s"] / base["bars_per_s"], 2)
        if row.get("loop_bars_per_s") and base.get("loop_bars_per_s"):
            row["loop_ratio"] = round(row["loop_bars_per_s"] / base["loop_bars_per_s"], 2)
    return base_name


# --------------------------------------------------------------------------- one pair


@dataclass
class Pair:
    """One scenario x strategy: the result file's content and what went wrong."""

    result: dict[str, Any]
    failures: list[str]


def run_pair(
    scenario: Scenario,
    strategy: Strategy,
    modules: Mapping[str, str],
    skipped: Mapping[str, str],
    args: argparse.Namespace,
) -> Pair:
    """Run every engine in ``modules`` (name -> adapter module) on one scenario x strategy."""
    bars = args.bars or scenario.bars_for(args.quick)
    dataset = peer_data.dataset(scenario.instruments, bars, cache=args.data_dir)
    names = ordered(modules)
    runs: dict[str, list[Outcome]] = {name: [] for name in names}
    errors: dict[str, str] = {}
    label = f"{scenario.name}/{strategy.name} ({scenario.instruments} x {bars:,} bars)"
    for round_no in range(args.repeat):
        shift = round_no % len(names) if names else 0
        batch = [n for n in names[shift:] + names[:shift] if n not in errors]
        done = run_many(
            [
                (modules[n], n, strategy.name, scenario.name, bars, args.data_dir, None)
                for n in batch
            ],
            args.jobs,
        )
        for name, run in zip(batch, done, strict=True):
            if run.outcome is None:
                errors[name] = run.error or "no outcome"
                print(f"  {label} {name}: FAILED", file=sys.stderr)
                continue
            runs[name].append(run.outcome)
            print(f"  {label} round {round_no + 1} {name}: {run.outcome.seconds_total:.2f} s")
    for name in errors:  # a failed run voids the engine's others: it is reported as failed only
        runs[name] = []
    verdicts = check_agreement({n: o for n, o in runs.items() if o})
    halves: dict[str, Outcome] = {}
    if args.growth and bars >= 2:
        for name in names:
            if verdicts.get(name, {}).get("agrees"):
                half = run_once(
                    modules[name],
                    name,
                    strategy.name,
                    scenario.name,
                    bars // 2,
                    args.data_dir,
                    None,
                )
                if half.outcome is not None:
                    halves[name] = half.outcome
    if args.profile:
        for name in names:
            if runs[name]:
                path = PROFILES / f"{name}-{scenario.name}-{strategy.name}.prof"
                profiled = run_once(
                    modules[name], name, strategy.name, scenario.name, bars, args.data_dir, path
                )
                print(f"  profile {name}: {profiled.error or path}")
    rows = [
        row_for(name, runs[name], verdicts[name], halves.get(name)) for name in names if runs[name]
    ]
    base = add_ratios(rows)
    outcomes = [o[0] for o in runs.values() if o]
    ref = reference_of({o.engine: o for o in outcomes})
    ref_outcome = next((o for o in outcomes if o.engine == ref), None)
    anchors = [runs[a][0] for a in (REFERENCE, FALLBACK_REFERENCE) if runs.get(a)]
    result = {
        "benchmark": f"peers {scenario.name} {strategy.name}: {label}",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "commit": git_commit(),
        "baseline": {
            "name": base or "none (no reference engine agreed)",
            "bars_per_s": next((r["bars_per_s"] for r in rows if r["engine"] == base), None),
        },
        "ratio_metric": (
            f"bars_per_s / {base} bars_per_s, file to result, median of the runs (above 1 is "
            "faster); loop_ratio the same for the engine loop alone"
        ),
        "params": {
            "scenario": scenario.name,
            "strategy": strategy.name,
            "strategy_params": strategy.params,
            "instruments": scenario.instruments,
            "bars_per_instrument": bars,
            "bars": scenario.instruments * bars,
            "repeat": args.repeat,
            "quick": args.quick,
            "jobs": args.jobs,
            "order": "interleaved: every engine once per round, the order rotated each round",
            "growth": "peak RSS of one run on the first half of the bars" if halves else None,
            "seed": SEED,
            "data": f"benchmarks/peers/data.py: {dataset.directory.name}",
        },
        "agreement": {
            "reference": ref,
            "trades": ref_outcome.trades if ref_outcome else None,
            "final_equity": ref_outcome.final_equity if ref_outcome else None,
            "anchors_agree": len({key(a) for a in anchors}) <= 1,
            "disagreeing": [r["engine"] for r in rows if not r["agrees"]],
        },
        "skipped": {**skipped, **{n: f"failed: {e}" for n, e in errors.items()}},
        "engine_notes": {o.engine: o.notes for o in outcomes},
        "versions": versions(outcomes),
        "table_columns": [
            *TABLE_COLUMNS,
            *(["differs"] if any(not r["agrees"] for r in rows) else []),
        ],
        "results": rows,
    }
    return Pair(result, failures(result, names, errors, args))


def failures(
    result: Mapping[str, Any], names: Sequence[str], errors: Mapping[str, str], args: Any
) -> list[str]:
    """What makes this run fail: required engines missing or disagreeing, any Lockstep disagreement."""
    label = f"{result['params']['scenario']}/{result['params']['strategy']}"
    out: list[str] = []
    rows = {r["engine"]: r for r in result["results"]}
    if args.quick:
        for name in args.required:
            if name not in rows:
                why = errors.get(name) or result["skipped"].get(name, "not found")
                out.append(f"{label}: required engine {name} did not run ({why})")
    for name, row in rows.items():
        if not row["agrees"] and (name.startswith("lockstep") or name in args.required):
            out.append(f"{label}: {name} disagrees with the reference: {row['differs']}")
    for name in names:
        if name in errors and name.startswith("lockstep") and name not in args.required:
            out.append(f"{label}: {name} failed: {errors[name]}")
    return out


# --------------------------------------------------------------------------- facts


def git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def versions(outcomes: Iterable[Outcome]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for outcome in outcomes:
        out.update(outcome.versions)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- output


def summary(results: Sequence[Mapping[str, Any]]) -> str:
    """The markdown summary (``peers.md``) of every peer result file, each with its own run facts."""
    lines = [
        "# Peer benchmark",
        "",
        "Each engine ran the same strategy on the same generated files in a fresh",
        "interpreter, repeats interleaved. `ratio` is bars/s (file to result) over",
        "Backtrader's in the same run, `loop ratio` the same for the engine loop alone;",
        "above 1 is faster. An engine that disagrees gets no timing. Generated by",
        "`benchmarks/bench_peers.py`; what each column means: `benchmarks/README.md`.",
        "",
    ]
    for result in results:
        p = result["params"]
        agreement = result["agreement"]
        m = result["machine"]
        lines += [
            f"## {p['scenario']} {p['strategy']}: {p['instruments']} x "
            f"{p['bars_per_instrument']:,} bars",
            "",
            f"Run {result['date']} at commit `{result['commit']}` on {m.get('cpu')} "
            f"({m.get('cores')} cores), Python {m.get('python')}; {p['repeat']} run(s) per "
            f"engine. Reference {agreement['reference']}: {agreement['trades']} trades, "
            f"final equity {agreement['final_equity']}.",
            "",
            "| engine | agrees | bars/s | ratio | loop bars/s | loop ratio | total s (min-max) "
            "| peak RSS MiB | growth MiB | crossings |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for row in result["results"]:
            if not row["agrees"]:
                lines.append(
                    f"| {row['engine']} | **no**: {json.dumps(row['differs'])} | | | | | | | | |"
                )
                continue
            lines.append(
                f"| {row['engine']} | yes | {_num(row['bars_per_s'])} | {_num(row['ratio'])} "
                f"| {_num(row['loop_bars_per_s'])} | {_num(row['loop_ratio'])} "
                f"| {row['seconds_total_median']:.2f} ({row['seconds_total_min']:.2f}-"
                f"{row['seconds_total_max']:.2f}) | {row['peak_rss_mib']:.0f} "
                f"| {_num(row['rss_growth_mib'])} | {_num(row['crossings'])} |"
            )
        if result["skipped"]:
            lines += ["", "Skipped:", ""]
            lines += [f"- {name}: {why}" for name, why in sorted(result["skipped"].items())]
        lines.append("")
    return "\n".join(lines)


def collected(out: Path) -> list[dict[str, Any]]:
    """Every peer result file in ``out``, this run's and earlier ones (a run may cover one pair)."""
    found = []
    for path in sorted(out.glob("peers_*.json")):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            continue
    return found


def _num(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:g}"


def print_rows(result: Mapping[str, Any]) -> None:
    print(f"{result['benchmark']}")
    columns = ("engine", "agrees", "trades", "bars_per_s", "ratio", "loop_ratio", "peak_rss_mib")
    print("  ".join(f"{c:>22}" for c in columns))
    for row in result["results"]:
        print("  ".join(f"{row.get(c)!s:>22}" for c in columns))
    for name, why in sorted(result["skipped"].items()):
        print(f"  skipped {name}: {why.splitlines()[0] if why else ''}")


# --------------------------------------------------------------------------- others


def run_others(quick: bool, out: Path) -> list[str]:
    """Every other ``bench_*.py`` (the Lockstep-only scenarios); returns failures."""
    failed: list[str] = []
    for script in sorted(HERE.glob("bench_*.py")):
        if script.resolve() == Path(__file__).resolve():
            continue
        argv = [sys.executable, str(script), *(["--quick"] if quick else []), "--out", str(out)]
        print(f"== {script.name} {' '.join(argv[2:])}", flush=True)
        done = subprocess.run(argv, check=False)
        if done.returncode == SKIPPED_EXIT:
            print(f"== {script.name}: skipped (cannot run here)")
        elif done.returncode != 0:
            failed.append(f"{script.name} exited with {done.returncode}")
    return failed


# --------------------------------------------------------------------------- main


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI form: small, one round, strict")
    parser.add_argument("--repeat", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--engines", help="comma-separated engine names (default: all)")
    parser.add_argument("--bars", type=int, help="bars per instrument, overriding the scenario")
    parser.add_argument(
        "--profile", action="store_true", help=f"cProfile each engine into {PROFILES}"
    )
    parser.add_argument(
        "--growth",
        action=argparse.BooleanOptionalAction,
        help="measure memory growth with a half-length run (default: on, off with --quick)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        help="workers at a time (default 1; 2 with --quick, whose timings are not for reading)",
    )
    parser.add_argument("--out", type=Path, help=f"default {RESULTS}, or {QUICK_OUT} with --quick")
    parser.add_argument(
        "--data-dir", type=Path, default=peer_data.CACHE, help="where generated data is cached"
    )
    parser.add_argument(
        "--no-others", action="store_true", help="only the peers, not the other bench_*.py"
    )
    args = parser.parse_args(argv)
    args.repeat = max(1, args.repeat or (1 if args.quick else 3))
    args.growth = (not args.quick) if args.growth is None else args.growth
    args.out = args.out or (QUICK_OUT if args.quick else RESULTS)
    args.jobs = max(1, args.jobs or (2 if args.quick else 1))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    found = discover()
    wanted = args.engines.split(",") if args.engines else list(found.engines)
    unknown = [n for n in wanted if n not in found.engines]
    if unknown:
        raise SystemExit(
            f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(found.engines)}"
        )
    args.required = [n for n in REQUIRED if n in wanted]
    skipped: dict[str, str] = dict(found.broken)
    runnable: dict[str, str] = {}
    for name in wanted:
        reason = found.engines[name].available()
        if reason is None:
            runnable[name] = found.modules[name]
        else:
            skipped[name] = reason
    problems: list[str] = []
    args.out.mkdir(parents=True, exist_ok=True)
    for scenario_name in args.scenarios.split(","):
        for strategy_name in args.strategies.split(","):
            pair = run_pair(
                SCENARIOS[scenario_name], STRATEGIES[strategy_name], runnable, skipped, args
            )
            path = args.out / f"peers_{scenario_name}_{strategy_name}.json"
            path.write_text(json.dumps(pair.result, indent=2) + "\n", encoding="utf-8")
            print_rows(pair.result)
            print(f"-> {path}")
            problems += pair.failures
    (args.out / "peers.md").write_text(summary(collected(args.out)), encoding="utf-8")
    print(f"-> {args.out / 'peers.md'}")
    if not args.no_others:
        problems += run_others(args.quick, args.out)
    for problem in problems:
        print(f"bench_peers: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
    else:
        sys.exit(main())
