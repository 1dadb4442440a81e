"""Differential check: the Python core and the Rust core on the same random streams.

Usage (from the repository root, with lockstep-core and hypothesis installed)::

    CARGO_TARGET_DIR=/tmp/target cargo build --release --example trace \
        --manifest-path rust/Cargo.toml
    python rust/lockstep-core/scripts/differential.py --cases 2000 --seed 1 \
        --trace-bin /tmp/target/release/examples/trace

Streams come from the hypothesis strategies in ``tests/support/testkit.py``
(valid traffic mixed with duplicates, unknown orders, overfills, out-of-range
values and illegal intents). On top of that, a seeded mutator damages some
lines the way a broken producer would: wrong types, floats (also inside
intents), missing and unknown keys, duplicate keys, identifiers with a
trailing newline, escaped and non-ASCII strings, reordered keys and
whitespace, invalid JSON, NaN and Infinity. Half of the cases also snapshot
part-way (keys sorted, as in a file) and have both cores restore that
checkpoint into a fresh core and step the rest of the stream from it.

Both sides print the same transcript: per input line either the canonical
records or ``ERROR line N <kind> <path>``, then the canonical snapshot, the
state hash and the restore result. The Rust side is the ``trace`` example,
which feeds raw lines to ``Core::step_json`` (the fast path and its
fallback), so this also checks the fast path against Python's ``json.loads``.
Any difference is printed with the first differing line and the case is kept
in ``--out`` for reproduction.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "support"))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import NonInteractiveExampleWarning

import testkit
from lockstep.core import build_core
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.errors import LockstepError, SetupError

warnings.simplefilter("ignore", NonInteractiveExampleWarning)

WEIRD_VALUES: list[Any] = [
    1.5,
    1.0,
    -0.0,
    2**70,
    2**130,
    -(2**130),
    "x",
    "",
    True,
    None,
    [],
    {},
    [1, 2],
    {"a": 1},
    0,
    -1,
    2**63 - 1,
    2**63,
    2**127,
    "o1\n",
    "é",
    'a"b\\c',
    "tab\there",
    "x" * 65,
    "y" * 201,
]

TIME_KEYS = ("event_time", "ts", "start_ns")


def mutate_value(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """Damage one spot inside ``value`` (a JSON-shaped object)."""
    if isinstance(value, dict) and value:
        roll = rng.random()
        key = rng.choice(sorted(value))
        if roll < 0.15:
            value.pop(key)
        elif roll < 0.25:
            value[rng.choice(["extra", "zzz", "Kind", "seq_id"])] = rng.choice(WEIRD_VALUES)
        elif roll < 0.6 and isinstance(value[key], dict | list) and depth < 4:
            mutate_value(rng, value[key], depth + 1)
        elif key in TIME_KEYS and rng.random() < 0.9:
            # Far-future times make the heartbeat timer fire millions of times.
            value[key] = rng.choice([-1, 1.5, None, "t", value[key] - 1, value[key] + 7])
        else:
            value[key] = rng.choice(WEIRD_VALUES)
    elif isinstance(value, list) and value:
        n = rng.randrange(len(value))
        if isinstance(value[n], dict | list) and rng.random() < 0.7:
            mutate_value(rng, value[n], depth + 1)
        elif rng.random() < 0.5:
            value[n] = rng.choice(WEIRD_VALUES)
        else:
            value.append(rng.choice(WEIRD_VALUES))
    return value


def encode(rng: random.Random, item: Any) -> str:
    """One JSON line, in one of several legal spellings (key order, spacing, escapes)."""
    roll = rng.random()
    if roll < 0.6:
        return json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    if roll < 0.75:
        return json.dumps(item, sort_keys=True)
    if roll < 0.85:
        return json.dumps(item, ensure_ascii=True, indent=None, separators=(" , ", " : "))
    return " " + json.dumps(item) + " \t"


def damage_text(rng: random.Random, line: str) -> str:
    """Text-level damage that a dict cannot express."""
    roll = rng.random()
    if roll < 0.2:
        return line[: rng.randrange(1, max(2, len(line)))]  # truncated
    if roll < 0.4 and line.startswith("{"):
        # a duplicate key: json.loads keeps the last one
        key = rng.choice(['"kind"', '"venue"', '"seq_id"', '"payload"', '"event_time"'])
        value = rng.choice(['"event"', '"SIM"', "null", "{}", "5"])
        return "{" + key + ":" + value + "," + line[1:]
    if roll < 0.55:
        return line.replace(":0,", ":-0,", 1).replace(":null", ":00", 1)
    if roll < 0.7:
        return line.replace("1", "1e0", 1)
    if roll < 0.8:
        return line.replace('"SIM"', '"S\\u0049M"', 1)
    if roll < 0.85:
        return line.replace("0,", "0.0,", 1)
    if roll < 0.92:
        # Python's json reads these as floats; serde_json does not read them at all.
        return line.replace(":null", rng.choice([":NaN", ":Infinity", ":-Infinity", ":-NaN"]), 1)
    return line + " x"


def lines_for(rng: random.Random, items: list[dict[str, Any]], damage: float) -> list[str]:
    lines = []
    for item in items:
        if rng.random() < damage:
            item = mutate_value(rng, json.loads(json.dumps(item)))
        line = encode(rng, item)
        if rng.random() < damage / 3:
            line = damage_text(rng, line)
        lines.append(line)
        if rng.random() < 0.03:
            lines.append(line)  # a re-delivered line
    return lines


def python_transcript(case: Path) -> str:
    """What the Rust ``trace`` example prints for ``case``, computed with the Python core."""
    out = [f"CASE {case}"]
    setup = json.loads((case / "setup.json").read_text())
    try:
        core = build_core(setup, backend="python")
    except SetupError as err:
        return "\n".join([*out, f"SETUP_ERROR {err.path}"]) + "\n"
    raw = (case / "input.jsonl").read_bytes()
    step_lines(core, raw, 0, out)
    out.append(canonical_json_unchecked(core.snapshot()).decode())
    out.append(core.state_hash())
    restore = case / "restore.json"
    if restore.exists():
        fresh = build_core(setup, backend="python")
        try:
            fresh.restore(json.loads(restore.read_text()))
        except LockstepError as err:
            out.append(f"RESTORE ERR {type(err).__name__} {getattr(err, 'path', None) or '-'}")
        else:
            out.append(f"RESTORE OK {fresh.state_hash()}")
            out.append(canonical_json_unchecked(fresh.snapshot()).decode())
            restore_at = case / "restore_at"
            if restore_at.exists():
                step_lines(fresh, raw, int(restore_at.read_text()), out)
                out.append(fresh.state_hash())
    return "\n".join(out) + "\n"


def step_lines(core: Any, raw: bytes, skip: int, out: list[str]) -> None:
    """Step the non-blank lines of ``raw`` after the first ``skip``, noting what each did."""
    lines = [(n, line) for n, line in enumerate(raw.split(b"\n"), start=1) if line.strip()]
    for number, line in lines[skip:]:
        try:
            item = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            out.append(f"ERROR line {number} InputError $")
            continue
        try:
            records = core.step(item)
        except LockstepError as err:
            path = getattr(err, "path", None) or "-"
            out.append(f"ERROR line {number} {type(err).__name__} {path}")
            continue
        except Exception as err:  # a crash is a finding too
            out.append(f"ERROR line {number} {type(err).__name__} -")
            continue
        out.extend(canonical_json_unchecked(r).decode() for r in records)


def checkpoint_for(lines: list[str], rng: random.Random) -> tuple[Any, int]:
    """A snapshot taken after the first ``cut`` lines by the Python core (sometimes damaged).

    Written with sorted keys, as a checkpoint file would be, so the order the
    orders were inserted in is lost and restore has to rebuild it.
    """
    core = build_core(testkit.SETUP, backend="python")
    stepped = [line for line in lines[: rng.randrange(len(lines) + 1)] if line.strip()]
    for line in stepped:
        try:
            core.step(json.loads(line))
        except Exception:
            continue
    snapshot = json.loads(json.dumps(core.snapshot(), sort_keys=True))
    if rng.random() < 0.3:
        mutate_value(rng, snapshot)
    return snapshot, len(stepped)


def collect_streams(count: int, seed: int) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @hypothesis_seed(seed)
    @given(testkit.streams(max_items=40))
    def gather(items: list[dict[str, Any]]) -> None:
        found.append(items)

    gather()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--damage", type=float, default=0.25, help="share of damaged lines")
    parser.add_argument("--trace-bin", required=True, help="the built `trace` example")
    parser.add_argument("--out", type=Path, help="keep case directories here")
    parser.add_argument("--cases-dir", type=Path, help="check existing case directories instead")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.out or Path(tempfile.mkdtemp(prefix="lockstep-diff-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.cases_dir:
        dirs = sorted(p for p in args.cases_dir.iterdir() if (p / "setup.json").exists())
    else:
        dirs = []
        for n, items in enumerate(collect_streams(args.cases, args.seed)):
            case = root / f"case{n:05d}"
            case.mkdir(exist_ok=True)
            (case / "setup.json").write_text(json.dumps(testkit.SETUP))
            lines = lines_for(rng, items, args.damage)
            (case / "input.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            if rng.random() < 0.5:
                checkpoint, cut = checkpoint_for(lines, rng)
                (case / "restore.json").write_text(json.dumps(checkpoint))
                (case / "restore_at").write_text(str(cut))
            dirs.append(case)
    failures = 0
    chunk = 200
    for start in range(0, len(dirs), chunk):
        batch = dirs[start : start + chunk]
        rust = subprocess.run([args.trace_bin, *map(str, batch)], capture_output=True, check=False)
        if rust.returncode != 0:
            print(rust.stderr.decode(errors="replace")[-2000:])
            return 2
        rust_cases = rust.stdout.decode().split("CASE ")[1:]
        for case, rust_text in zip(batch, rust_cases, strict=True):
            expected = python_transcript(case)
            actual = "CASE " + rust_text
            if expected != actual:
                failures += 1
                exp_lines, act_lines = expected.splitlines(), actual.splitlines()
                at = next(
                    (
                        i
                        for i, (a, b) in enumerate(zip(exp_lines, act_lines, strict=False))
                        if a != b
                    ),
                    min(len(exp_lines), len(act_lines)),
                )
                print(f"DIFF {case} at transcript line {at}")
                print("  python:", (exp_lines[at] if at < len(exp_lines) else "<end>")[:400])
                print("  rust:  ", (act_lines[at] if at < len(act_lines) else "<end>")[:400])
    print(f"{len(dirs) - failures}/{len(dirs)} cases identical")
    if not args.out and not failures:
        shutil.rmtree(root)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
