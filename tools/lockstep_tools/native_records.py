"""Check the native change records in ``changes/native/`` and the diff rule.

ADR 0002 lets native code in only with a record that fixes its shape,
boundary, measurement and risks. A record nobody checks drifts from the code
it describes, so this command turns each rule into a failure that names the
file, the field and the fix:

1. every record's YAML front matter validates against
   ``contracts/src/lockstep/contracts/data/schemas/native_record.schema.json``;
2. the cross-field rules (shape and boundary agree, the crossing frequency
   suits the shape, ``bridged`` / tolerance / worker protocol / exemption
   each cite an accepted ADR, the measurement file exists and names its
   baseline, ``unsafe_rust`` matches the covered Rust sources, every cited
   ADR exists and is accepted);
3. the diff rule: every file changed under ``rust/`` (or any ``Cargo.toml`` /
   ``Cargo.lock``) between the base and the working tree, untracked files
   included, is covered by the ``covers`` globs of a record that was added or
   edited in the same range.

Usage (from the repository root)::

    PYTHONPATH=tools python -m lockstep_tools.native_records check [--base REV]
    PYTHONPATH=tools python -m lockstep_tools.native_records check --staged

Without ``--base`` the base is the merge-base with ``main`` when on a branch,
else ``HEAD~1``, else the empty tree (see :mod:`lockstep_tools.gitrange`).
``--staged`` compares the index with ``HEAD`` instead (for pre-commit).

``measurement_baseline.result: not-yet-measured`` is accepted only while the
record covers no Python binding (no path under ``rust/lockstep-python``): a
crate nobody can call from Python yet has no user-visible path to measure,
but the change that exposes it to users must bring the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator, ValidationError

from lockstep_tools import adr_lint, gitrange, globs, rust_source
from lockstep_tools.common import (
    REPO_ROOT,
    FrontMatterError,
    Problem,
    rel,
    report,
    split_front_matter,
)

RECORDS_DIR: Final = "changes/native"
RECORD_NAME_RE: Final = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
SCHEMA_REL: Final = "contracts/src/lockstep/contracts/data/schemas/native_record.schema.json"
NOT_MEASURED: Final = "not-yet-measured"
BINDING_DIR: Final = "rust/lockstep-python"
NATIVE_PACKAGING: Final = frozenset({"Cargo.toml", "Cargo.lock"})
GUIDE: Final = "see CONTRIBUTING.md, 'Native change records'"

SHAPE_BOUNDARY: Final[Mapping[str, str]] = {
    "accelerator": "callable",
    "engine": "plan/batch/state",
    "worker": "message-passing",
}
SHAPE_FREQUENCIES: Final[Mapping[str, tuple[str, ...]]] = {
    "accelerator": ("per public call",),
    "engine": ("per run", "per operation", "per plan", "per batch", "per flush"),
    "worker": ("per protocol message",),
}
_SKIP_DIRS: Final = frozenset(
    {".git", "target", ".nox", ".venv", "venv", "node_modules", "__pycache__", "site"}
)


@dataclass
class Record:
    """One record file and its front matter (empty when unreadable)."""

    path: Path
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    readable: bool = False

    def covers(self) -> list[str]:
        value = self.meta.get("covers")
        return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []


# ------------------------------------------------------------------ loading


def schema_path(root: Path) -> Path:
    """The schema in the checked repository, or this checkout's copy when it has none."""
    candidate = root / SCHEMA_REL
    return candidate if candidate.is_file() else REPO_ROOT / SCHEMA_REL


@cache
def _validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def record_files(root: Path) -> list[Path]:
    directory = root / RECORDS_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")


def load_records(root: Path) -> tuple[list[Record], list[Problem]]:
    """Read every record; report unreadable files, bad names and duplicate numbers."""
    records: list[Record] = []
    problems: list[Problem] = []
    numbers: dict[str, str] = {}
    for path in record_files(root):
        record = Record(path=path, name=rel(path, root))
        match = RECORD_NAME_RE.match(path.name)
        if not match:
            problems.append(
                Problem(
                    record.name,
                    "file name",
                    "records are named NNNN-slug.md",
                    f"rename it, e.g. {RECORDS_DIR}/0002-short-slug.md",
                )
            )
        elif match.group(1) in numbers:
            problems.append(
                Problem(
                    record.name,
                    "file name",
                    f"number {match.group(1)} is already used by {numbers[match.group(1)]}",
                    "use the next free number",
                )
            )
        else:
            numbers[match.group(1)] = record.name
        try:
            record.meta, _ = split_front_matter(path.read_text(encoding="utf-8"))
            record.readable = True
        except FrontMatterError as exc:
            problems.append(
                Problem(
                    record.name,
                    "front matter",
                    str(exc),
                    f"start the file with YAML front matter between two --- lines ({GUIDE})",
                )
            )
        records.append(record)
    return records, problems


# ------------------------------------------------------------------- schema


def _schema_fix(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "enum":
        choices: list[Any] = (
            list(error.validator_value) if isinstance(error.validator_value, list) else []
        )
        return "use one of: " + ", ".join(repr(v) for v in choices)
    if error.validator == "required":
        return "add the key (every field is listed in the schema and in CONTRIBUTING.md)"
    if error.validator == "additionalProperties":
        return "remove or rename the key; the allowed keys are the schema's properties"
    if error.validator == "pattern" and error.validator_value == "^[0-9]{4}$":
        return 'write the ADR number as a quoted four-digit string, e.g. "0002"'
    if "description" in schema:
        return str(schema["description"])
    return f"see {SCHEMA_REL}"


def _field_of(error: ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.message, str):
        missing = error.message.split("'")
        if len(missing) >= 2:
            parts.append(missing[1])
    return ".".join(parts) or "front matter"


def schema_problems(record: Record, root: Path) -> list[Problem]:
    validator = _validator(schema_path(root))
    return [
        Problem(record.name, _field_of(error), error.message, _schema_fix(error))
        for error in sorted(
            validator.iter_errors(record.meta), key=lambda e: list(map(str, e.absolute_path))
        )
    ]


# --------------------------------------------------------------- cross-field


def repo_files(root: Path, suffix: str = "") -> list[str]:
    """Repository-relative POSIX paths of the files on disk (build and tool dirs skipped)."""
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for filename in filenames:
            if filename.endswith(suffix):
                found.append(rel(Path(directory) / filename, root))
    return sorted(found)


def covers_binding(patterns: Sequence[str], root: Path) -> bool:
    """True when the globs cover any path of the Python binding crate (existing or typical)."""
    probes = [
        f"{BINDING_DIR}/Cargo.toml",
        f"{BINDING_DIR}/pyproject.toml",
        f"{BINDING_DIR}/src/lib.rs",
    ]
    binding = root / BINDING_DIR
    if binding.is_dir():
        probes += [p for p in repo_files(root) if p.startswith(BINDING_DIR + "/")]
    return any(globs.covered(patterns, probe) for probe in probes)


def _measurement_problems(record: Record, root: Path) -> list[Problem]:
    measurement = record.meta.get("measurement_baseline")
    if not isinstance(measurement, dict):
        return []  # the schema reports it
    result = measurement.get("result")
    baseline = measurement.get("baseline")
    fld = "measurement_baseline.result"
    if result == NOT_MEASURED:
        if covers_binding(record.covers(), root):
            return [
                Problem(
                    record.name,
                    fld,
                    f"'{NOT_MEASURED}' is not allowed once the record covers the Python binding ({BINDING_DIR})",
                    "run the benchmark of the user-visible path, commit its JSON under benchmarks/results/ "
                    "and point result at it",
                )
            ]
        return []
    if not isinstance(result, str):
        return []
    path = root / result
    if not path.is_file():
        return [
            Problem(
                record.name,
                fld,
                f"{result} does not exist",
                "commit the benchmark result file, or fix the path",
            )
        ]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [
            Problem(
                record.name,
                fld,
                f"{result} is not valid JSON ({exc})",
                "regenerate the result file",
            )
        ]
    named = data.get("baseline") if isinstance(data, dict) else None
    if isinstance(named, dict):
        named = named.get("name")
    if not isinstance(named, str):
        return [
            Problem(
                record.name,
                fld,
                f"{result} does not name its baseline (no top-level 'baseline' string or baseline.name)",
                "make the benchmark write the baseline it compares with into the result file",
            )
        ]
    if isinstance(baseline, str) and named != baseline:
        return [
            Problem(
                record.name,
                "measurement_baseline.baseline",
                f"the record says {baseline!r} but {result} names baseline {named!r}",
                "make the two agree (the record must describe the measurement it cites)",
            )
        ]
    return []


def _unsafe_problems(record: Record, root: Path) -> list[Problem]:
    mode = record.meta.get("unsafe_rust")
    if mode not in ("none", "audited"):
        return []
    patterns = record.covers()
    files = [p for p in repo_files(root, ".rs") if globs.covered(patterns, p)]
    uses = [use for p in files for use in rust_source.unsafe_uses(root / p)]
    if mode == "none":
        return [
            Problem(
                record.name,
                "unsafe_rust",
                f"is 'none' but {rel(use.path, root)}:{use.line} uses unsafe",
                "remove the unsafe code, or set 'audited' and justify each use with a '// SAFETY:' comment",
            )
            for use in uses
        ]
    if not uses:
        return [
            Problem(
                record.name,
                "unsafe_rust",
                "is 'audited' but the covered Rust files contain no unsafe",
                "set it to 'none'",
            )
        ]
    return [
        Problem(
            record.name,
            "unsafe_rust",
            f"{rel(use.path, root)}:{use.line} uses unsafe without a '// SAFETY:' comment",
            "add a '// SAFETY: <why this is sound>' comment on the lines just above it",
        )
        for use in uses
        if not use.justified
    ]


def _require_adr(record: Record, key: str, why: str, statuses: Mapping[str, str]) -> list[Problem]:
    value = record.meta.get(key)
    if value is None:
        return [
            Problem(
                record.name,
                key,
                f"is required because {why}",
                f"add '{key}: \"NNNN\"' naming an accepted ADR",
            )
        ]
    return adr_lint.citation_problems(record.name, key, [value], statuses)


def cross_field_problems(record: Record, root: Path, statuses: Mapping[str, str]) -> list[Problem]:
    """The rules between fields; each assumes only the fields it reads are well-typed."""
    meta = record.meta
    name = record.name
    problems: list[Problem] = []
    raw_shape = meta.get("integration_shape")
    shape = raw_shape if isinstance(raw_shape, str) else ""

    if shape in SHAPE_BOUNDARY:
        boundary = meta.get("boundary")
        if boundary in SHAPE_BOUNDARY.values() and boundary != SHAPE_BOUNDARY[shape]:
            problems.append(
                Problem(
                    name,
                    "boundary",
                    f"{boundary!r} does not fit integration_shape {shape!r}",
                    f"an {shape} has boundary '{SHAPE_BOUNDARY[shape]}'; fix the boundary or re-classify the shape (ADR 0002)",
                )
            )
        frequency = meta.get("crossing_frequency")
        allowed = SHAPE_FREQUENCIES[shape]
        if isinstance(frequency, str) and frequency not in allowed:
            problems.append(
                Problem(
                    name,
                    "crossing_frequency",
                    f"{frequency!r} is not allowed for an {shape}",
                    "use "
                    + " or ".join(repr(a) for a in allowed)
                    + "; a finer crossing means the boundary is too low",
                )
            )
        if shape == "worker":
            version = meta.get("protocol_version")
            if not (isinstance(version, str) and version.strip()):
                problems.append(
                    Problem(
                        name,
                        "protocol_version",
                        "a worker must state its protocol version",
                        "write the schema/channel version, e.g. '1'",
                    )
                )
            problems += _require_adr(
                record, "protocol_adr", "a worker's protocol needs its own ADR", statuses
            )
        elif meta.get("semantic_comparison") == "protocol equivalence":
            problems.append(
                Problem(
                    name,
                    "semantic_comparison",
                    f"'protocol equivalence' applies to workers, not to an {shape}",
                    "use 'identity' (or 'documented tolerance' with tolerance_adr)",
                )
            )

    if meta.get("user_python_in_hot_loop") == "bridged":
        problems += _require_adr(
            record, "bridge_adr", "user Python runs inside the native loop ('bridged')", statuses
        )
    elif "bridge_adr" in meta:
        problems.append(
            Problem(
                name,
                "bridge_adr",
                "is set but user_python_in_hot_loop is 'no'",
                "remove it, or set 'bridged' if the bridge is real",
            )
        )
    if meta.get("semantic_comparison") == "documented tolerance":
        problems += _require_adr(
            record, "tolerance_adr", "the comparison uses a documented tolerance", statuses
        )
    if meta.get("python_only_preserved") == "no":
        problems += _require_adr(
            record, "exemption_adr", "Python-only operation is not preserved", statuses
        )

    adrs = meta.get("adrs")
    if isinstance(adrs, list):
        problems += adr_lint.citation_problems(name, "adrs", adrs, statuses)
    problems += _measurement_problems(record, root)
    problems += _unsafe_problems(record, root)
    return problems


# ---------------------------------------------------------------- diff rule


def is_native_path(path: str) -> bool:
    """Files whose change needs a record: anything under rust/, and Cargo manifests/locks anywhere."""
    return path.startswith("rust/") or path.rsplit("/", 1)[-1] in NATIVE_PACKAGING


def diff_problems(
    changed: Iterable[str], records: Sequence[Record], describe_base: str
) -> list[Problem]:
    """Changed native files not covered by a record added or edited in the same range."""
    changed = set(changed)
    native = sorted(p for p in changed if is_native_path(p))
    if not native:
        return []
    touched = [r for r in records if r.name in changed]
    patterns = [p for r in touched for p in r.covers()]
    if touched:
        names = ", ".join(r.name for r in touched)
        fix = f"add a covers pattern matching it to one of the records changed here ({names}), or add a new record"
    else:
        fix = f"add a record {RECORDS_DIR}/NNNN-slug.md whose covers include it ({GUIDE})"
    return [
        Problem(
            path,
            "covers",
            f"native file changed since {describe_base} but no record added or edited in that range covers it",
            fix,
        )
        for path in native
        if not globs.covered(patterns, path)
    ]


def history_problems(root: Path, rev_range: str = "HEAD") -> list[Problem]:
    """The diff rule applied to every commit of ``rev_range`` on its own.

    A submission of several commits is then checked commit by commit, not only
    on its last one: each commit that changes native files must add or edit a
    record (as that commit has it) covering them.
    """
    problems: list[Problem] = []
    for commit in gitrange.commits(root, rev_range):
        changed = gitrange.commit_changes(root, commit)
        if not any(is_native_path(p) for p in changed):
            continue
        records = []
        for name in sorted(p for p in changed if p.startswith(f"{RECORDS_DIR}/")):
            text = gitrange.file_at(root, commit, name)
            if text is None:
                continue  # deleted by this commit
            record = Record(path=root / name, name=name)
            try:
                record.meta, _ = split_front_matter(text)
                record.readable = True
            except FrontMatterError:
                pass
            records.append(record)
        problems += diff_problems(changed, records, f"commit {commit[:12]}")
    return problems


# --------------------------------------------------------------------- API


def check(
    root: Path, changed: Iterable[str] | None, describe_base: str = "the base"
) -> list[Problem]:
    """All problems: per-record rules, plus the diff rule when ``changed`` is given."""
    records, problems = load_records(root)
    statuses = adr_lint.adr_statuses(root)
    for record in records:
        if record.readable:
            problems += schema_problems(record, root)
            problems += cross_field_problems(record, root, statuses)
    if changed is not None:
        problems += diff_problems(changed, records, describe_base)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockstep_tools.native_records", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("check", help="validate every record and apply the diff rule")
    scope = cmd.add_mutually_exclusive_group()
    scope.add_argument(
        "--base", help="compare the working tree with this revision (default: see module doc)"
    )
    scope.add_argument(
        "--staged", action="store_true", help="compare the index with HEAD (pre-commit)"
    )
    scope.add_argument(
        "--each-commit",
        metavar="RANGE",
        nargs="?",
        const="",
        help="apply the diff rule to every commit of RANGE on its own (default: every commit "
        "since the first one that added a record)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.each_commit is not None:
        try:
            rev_range = args.each_commit or gitrange.since_first_addition(root, RECORDS_DIR)
            found = gitrange.commits(root, rev_range)
            history = history_problems(root, rev_range)
        except (gitrange.GitError, OSError) as exc:
            return report([Problem(str(root), "--each-commit", str(exc), "pass a valid range")], "")
        print(f"native_records: diff rule applied to each of {len(found)} commit(s) ({rev_range})")
        return report(check(root, None) + history, "native_records: every commit covered")

    try:
        if args.staged:
            changed = gitrange.staged_files(root)
            describe = "HEAD (staged changes)"
        else:
            base = gitrange.resolve_base(root, args.base)
            changed = gitrange.changed_files(root, base.rev)
            describe = base.rev[:12]
            print(f"native_records: diff base {describe}: {base.reason}")
    except (gitrange.GitError, OSError) as exc:
        return report(
            [
                Problem(
                    str(root),
                    "--base",
                    str(exc),
                    "run inside a git checkout, or pass --base with an existing revision",
                )
            ],
            "",
        )
    count = len(record_files(root))
    native = sum(1 for p in changed if is_native_path(p))
    print(f"native_records: {native} native file(s) changed since {describe}")
    return report(
        check(root, changed, describe),
        f"native_records: {count} record(s) valid, every native change covered",
    )


if __name__ == "__main__":
    raise SystemExit(main())
