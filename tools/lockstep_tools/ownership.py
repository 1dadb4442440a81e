"""Verify the ownership matrix (``ownership.toml``) and render its docs page.

Contributors need one answer to "who owns this surface, and how far has Rust
got?". A hand-kept table drifts, so the matrix has one source,
``ownership.toml``, and every claim in it is checked against the code:

* each Python symbol (``module:attr`` or ``module:Class.attr``) imports in the
  current interpreter (``nox -s governance`` installs the distributions first);
* each Rust symbol (``crate::Item`` or ``crate::module::Item``) is defined in
  ``rust/<crate>/src`` (``_`` in the crate name may be ``-`` in the directory);
  with a module path the module's file is searched when it exists;
* an ``optional`` or ``default`` surface lists Rust symbols and parity tests
  that exist (files, and test functions when a node id names one);
* ``default`` (and an owner of ``rust``) needs an accepted ADR in ``adr``, and
  every ADR listed anywhere must exist and be accepted;
* a surface with no symbols at all says ``planned`` in its notes;
* ``docs/governance/ownership.md`` equals what ``render`` produces.

Usage (from the repository root)::

    PYTHONPATH=tools python -m lockstep_tools.ownership check
    PYTHONPATH=tools python -m lockstep_tools.ownership render [--write]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lockstep_tools import adr_lint, rust_source
from lockstep_tools.common import REPO_ROOT, RUN, Problem, md_cell, report

SOURCE: Final = "ownership.toml"
PAGE: Final = "docs/governance/ownership.md"
RENDER_COMMAND: Final = f"{RUN}.ownership render --write"
OWNERS: Final = ("python", "rust", "shared")
RUST_STATUSES: Final = ("not migrated", "optional", "default")
LIST_KEYS: Final = ("python_symbols", "rust_symbols", "parity_tests", "adr")
REQUIRED: Final = ("id", "name", "owner", "rust_status", "notes")
ALLOWED: Final = frozenset(REQUIRED + LIST_KEYS)
ID_RE: Final = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
PY_SYMBOL_RE: Final = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
RUST_SYMBOL_RE: Final = re.compile(r"^[A-Za-z_][\w-]*(?:::[A-Za-z_]\w*)+$")


@dataclass
class Surface:
    """One ``[[surface]]`` table; list fields default to empty."""

    id: str
    name: str
    owner: str
    rust_status: str
    notes: str
    python_symbols: list[str] = field(default_factory=list)
    rust_symbols: list[str] = field(default_factory=list)
    parity_tests: list[str] = field(default_factory=list)
    adr: list[str] = field(default_factory=list)


@dataclass
class Result:
    """The surfaces read and the problems found, per surface id ('' for file-level)."""

    surfaces: list[Surface]
    problems: dict[str, list[Problem]]
    missing_packages: frozenset[str] = frozenset()

    def all(self) -> list[Problem]:
        return [p for found in self.problems.values() for p in found]


# ------------------------------------------------------------------ reading


def read_surfaces(root: Path) -> tuple[list[Surface], list[Problem]]:
    """Parse ``ownership.toml``; report shape errors (missing keys, wrong types, duplicates)."""
    path = root / SOURCE
    if not path.is_file():
        return [], [
            Problem(
                SOURCE, "", "the file is missing", "restore it; it is the ownership matrix's source"
            )
        ]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [], [Problem(SOURCE, "", f"not valid TOML ({exc})", "fix the syntax")]
    tables = data.get("surface")
    if not isinstance(tables, list) or not tables:
        return [], [
            Problem(
                SOURCE, "surface", "no [[surface]] tables", "add one [[surface]] table per surface"
            )
        ]
    extra = sorted(set(data) - {"surface"})
    problems = [
        Problem(
            SOURCE, key, "unknown top-level key", "remove it; only [[surface]] tables belong here"
        )
        for key in extra
    ]
    surfaces: list[Surface] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        label = f"surface #{index}"
        if isinstance(table.get("id"), str):
            label = f"surface {table['id']!r}"

        def bad(key: str, message: str, fix: str, label: str = label) -> None:
            problems.append(Problem(SOURCE, f"{label}: {key}", message, fix))

        ok = True
        for key in REQUIRED:
            if not isinstance(table.get(key), str) or not table[key].strip():
                bad(key, "required string is missing or empty", f'add {key} = "..."')
                ok = False
        for key in sorted(set(table) - ALLOWED):
            bad(key, "unknown key", f"remove it; allowed keys: {', '.join(sorted(ALLOWED))}")
        for key in LIST_KEYS:
            value = table.get(key, [])
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                bad(key, "must be a list of strings", f'write {key} = ["..."] (or [])')
                ok = False
        if not ok:
            continue
        surface = Surface(
            id=table["id"],
            name=table["name"],
            owner=table["owner"],
            rust_status=table["rust_status"],
            notes=table["notes"].strip(),
            **{key: list(table.get(key, [])) for key in LIST_KEYS},
        )
        if not ID_RE.match(surface.id):
            bad(
                "id",
                f"{surface.id!r} is not a lowercase-hyphenated id",
                "use e.g. 'event-normalization'",
            )
        if surface.id in seen:
            bad("id", "duplicate id", "give every surface its own id")
        seen.add(surface.id)
        surfaces.append(surface)
    return surfaces, problems


# ----------------------------------------------------------------- claims


def python_symbol_problem(symbol: str) -> str | None:
    """Why ``module:attr.path`` does not resolve in this interpreter, or None."""
    if not PY_SYMBOL_RE.match(symbol):
        return "is not of the form 'package.module:attribute'"
    module_name, attr_path = symbol.split(":", 1)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        return f"module {module_name!r} does not import ({type(exc).__name__}: {exc})"
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            return f"{module_name!r} has no attribute path {attr_path!r} (missing {part!r})"
        obj = getattr(obj, part)
    return None


def _crate_dir(root: Path, crate: str) -> Path | None:
    for name in dict.fromkeys((crate, crate.replace("_", "-"))):
        candidate = root / "rust" / name
        if (candidate / "src").is_dir():
            return candidate
    return None


def rust_symbol_problem(root: Path, symbol: str) -> str | None:
    """Why ``crate::module::Item`` is not defined in the crate sources, or None."""
    if not RUST_SYMBOL_RE.match(symbol):
        return "is not of the form 'crate::Item' or 'crate::module::Item'"
    crate, *modules, item = symbol.split("::")
    crate_dir = _crate_dir(root, crate)
    if crate_dir is None:
        return f"no crate directory rust/{crate.replace('_', '-')}/src"
    src = crate_dir / "src"
    files = sorted(src.rglob("*.rs"))
    if modules:
        module = src.joinpath(*modules)
        candidates = [module.with_suffix(".rs"), module / "mod.rs"]
        module_files = [p for p in candidates if p.is_file()]
        if module_files:
            files = module_files
    if not rust_source.defines(files, item):
        where = ", ".join(str(p.relative_to(root)) for p in files[:3]) + (
            " ..." if len(files) > 3 else ""
        )
        return f"no fn/struct/enum/trait/type/const/mod named {item!r} in {where or 'the crate'}"
    return None


def parity_test_problem(root: Path, node: str) -> str | None:
    """Why a pytest node id (``path::name`` or ``path::Class::name``) or path does not exist."""
    path_text, *names = node.split("::")
    path = root / path_text
    if not path.exists():
        return f"{path_text} does not exist"
    if not names:
        return None
    if not path.is_file():
        return f"{path_text} is not a file, so it cannot hold {'::'.join(names)}"
    text = path.read_text(encoding="utf-8")
    for name in names:
        bare = name.split("[", 1)[0]
        if not re.search(
            rf"^\s*(?:async\s+def|def|class)\s+{re.escape(bare)}\b", text, re.MULTILINE
        ):
            return f"{path_text} defines no test or class named {bare!r}"
    return None


def _top_package(symbol: str) -> str:
    return symbol.split(":", 1)[0].split(".", 1)[0]


def missing_top_packages(surfaces: Sequence[Surface]) -> set[str]:
    """Top-level packages named by Python symbols that this interpreter cannot find at all.

    Reported once instead of once per symbol: the usual cause is running the
    check outside ``nox -s governance``, where the distributions are not installed.
    """
    tops = {
        _top_package(s)
        for surface in surfaces
        for s in surface.python_symbols
        if PY_SYMBOL_RE.match(s)
    }
    return {top for top in tops if importlib.util.find_spec(top) is None}


def surface_problems(
    root: Path,
    surface: Surface,
    statuses: Mapping[str, str],
    missing_packages: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every rule about one surface (symbols in ``missing_packages`` are skipped)."""
    problems: list[Problem] = []

    def bad(key: str, message: str, fix: str) -> None:
        problems.append(Problem(SOURCE, f"surface {surface.id!r}: {key}", message, fix))

    if surface.owner not in OWNERS:
        bad("owner", f"{surface.owner!r} is not an owner", f"use one of {', '.join(OWNERS)}")
    if surface.rust_status not in RUST_STATUSES:
        bad(
            "rust_status",
            f"{surface.rust_status!r} is not a Rust status",
            f"use one of {', '.join(RUST_STATUSES)}",
        )

    for symbol in surface.python_symbols:
        if _top_package(symbol) in missing_packages:
            continue  # reported once for the whole file
        why = python_symbol_problem(symbol)
        if why:
            bad(
                "python_symbols",
                f"{symbol} {why}",
                "fix or remove the symbol (and run the check where the distributions are installed: nox -s governance)",
            )
    for symbol in surface.rust_symbols:
        why = rust_symbol_problem(root, symbol)
        if why:
            bad("rust_symbols", f"{symbol} {why}", "fix or remove the symbol")

    migrated = surface.rust_status in ("optional", "default")
    if migrated and not surface.rust_symbols:
        bad(
            "rust_symbols",
            f"rust_status is {surface.rust_status!r} but no Rust symbol is listed",
            "list the Rust items that implement it",
        )
    if migrated and not surface.parity_tests:
        bad(
            "parity_tests",
            f"rust_status is {surface.rust_status!r} but no parity test is listed",
            "list the tests that prove the Rust path matches Python (they run in the native lane)",
        )
    for node in surface.parity_tests:
        why = parity_test_problem(root, node)
        if why:
            bad("parity_tests", why, "fix the node id or write the test")

    needs_adr = surface.rust_status == "default" or surface.owner == "rust"
    if needs_adr and not surface.adr:
        bad(
            "adr",
            "a Rust default (or Rust-owned surface) needs an accepted ADR",
            "write the ADR with the parity and performance evidence, get it accepted, and list it in adr",
        )
    problems += [
        Problem(SOURCE, f"surface {surface.id!r}: adr", p.message, p.fix)
        for p in adr_lint.citation_problems(SOURCE, "adr", surface.adr, statuses)
    ]
    if (
        not surface.python_symbols
        and not surface.rust_symbols
        and "planned" not in surface.notes.lower()
    ):
        bad(
            "notes",
            "no symbols are listed, so nothing can be verified",
            "list the symbols, or say in notes that the surface is planned",
        )
    return problems


def evaluate(root: Path = REPO_ROOT) -> Result:
    """Read the matrix and check every claim."""
    surfaces, file_problems = read_surfaces(root)
    statuses = adr_lint.adr_statuses(root)
    missing = frozenset(missing_top_packages(surfaces))
    file_problems += [
        Problem(
            SOURCE,
            "python_symbols",
            f"package {top!r} is not installed in this interpreter ({sys.executable}), so no symbol of it can be checked",
            "run `nox -s governance`, which installs the distributions first, or install them into this environment",
        )
        for top in sorted(missing)
    ]
    problems = {"": file_problems}
    for surface in surfaces:
        problems[surface.id] = surface_problems(root, surface, statuses, missing)
    return Result(surfaces, problems, missing)


# ------------------------------------------------------------------ render


def verdict(
    surface: Surface, problems: Sequence[Problem], missing_packages: frozenset[str] = frozenset()
) -> str:
    """The one-line outcome shown in the page's Verdict column."""
    if any(_top_package(s) in missing_packages for s in surface.python_symbols):
        return "UNCHECKED (distributions not installed)"
    if problems:
        return f"FAILING ({len(problems)} problem(s); run the check)"
    if not surface.python_symbols and not surface.rust_symbols:
        return "planned: nothing to verify yet"
    counts = (
        (len(surface.python_symbols), "Python symbol(s)"),
        (len(surface.rust_symbols), "Rust symbol(s)"),
        (len(surface.parity_tests), "parity test(s)"),
    )
    parts = [f"{count} {what}" for count, what in counts if count]
    return "verified: " + ", ".join(parts)


def _code_list(items: Sequence[str]) -> str:
    return "<br>".join(f"`{md_cell(item)}`" for item in items) if items else "—"


def render(result: Result) -> str:
    """The complete Markdown page for ``docs/governance/ownership.md``."""
    lines = [
        "<!-- GENERATED from ownership.toml by lockstep_tools.ownership; do not edit.",
        f"     Regenerate: {RENDER_COMMAND} -->",
        "",
        "# Ownership matrix",
        "",
        "Who owns each surface of Lockstep today, and how far the Rust backend has got.",
        "The source is `ownership.toml` at the repository root; `nox -s governance`",
        "checks every claim below against the code (Python symbols import, Rust symbols",
        "exist in the crate sources, parity tests exist, a Rust default cites an accepted",
        "ADR) and fails when this page is out of date.",
        "",
        "Rust status: **not migrated** (Python only), **optional** (a Rust",
        'implementation exists behind `backend="rust"`, proven by parity tests),',
        "**default** (Rust is used unless Python is asked for; needs an accepted ADR).",
        "",
        "| Surface | Owner | Rust status | Python symbols | Rust symbols | Parity tests | ADRs | Verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for surface in result.surfaces:
        adrs = ", ".join(surface.adr) if surface.adr else "—"
        lines.append(
            "| "
            + " | ".join(
                [
                    f"**{md_cell(surface.name)}** (`{surface.id}`)",
                    md_cell(surface.owner),
                    md_cell(surface.rust_status),
                    _code_list(surface.python_symbols),
                    _code_list(surface.rust_symbols),
                    _code_list(surface.parity_tests),
                    adrs,
                    verdict(surface, result.problems.get(surface.id, []), result.missing_packages),
                ]
            )
            + " |"
        )
    lines += ["", "## Notes", ""]
    for surface in result.surfaces:
        lines.append(f"- **{md_cell(surface.name)}**: {' '.join(surface.notes.split())}")
    return "\n".join(lines) + "\n"


def page_problems(root: Path, result: Result) -> list[Problem]:
    page = root / PAGE
    if not page.is_file():
        return [Problem(PAGE, "", "the generated page is missing", f"run `{RENDER_COMMAND}`")]
    if page.read_text(encoding="utf-8") != render(result):
        return [
            Problem(
                PAGE,
                "",
                "the generated page is stale (it differs from ownership.toml)",
                f"run `{RENDER_COMMAND}` and commit the result",
            )
        ]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockstep_tools.ownership", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="verify every claim and the rendered page")
    render_cmd = sub.add_parser("render", help="print the page, or rewrite it with --write")
    render_cmd.add_argument("--write", action="store_true", help=f"write {PAGE}")
    args = parser.parse_args(argv)
    root: Path = args.root

    result = evaluate(root)
    if args.command == "render":
        text = render(result)
        if not args.write:
            sys.stdout.write(text)
            return 0
        page = root / PAGE
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text, encoding="utf-8")
        print(f"{PAGE} written from {SOURCE}")
        # Writing a page with failing verdicts is allowed (it is the truth), but say so.
        return report(result.all(), f"ownership: {len(result.surfaces)} surfaces verified")
    problems = result.all() + page_problems(root, result)
    return report(
        problems, f"ownership: {len(result.surfaces)} surfaces verified, {PAGE} up to date"
    )


if __name__ == "__main__":
    raise SystemExit(main())
