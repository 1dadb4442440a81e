"""Governance pages: ownership matrix, ADRs, native change records, contributor guide, lanes.

These pages restate files that live outside ``docs/`` (``ownership.toml``,
``adr/``, ``changes/native/``, ``CONTRIBUTING.md``, ``noxfile.py``) and the
verdicts of the checkers that guard them. They are rendered at build time
with the checkers' own code (``tools/lockstep_tools``), so the site shows
exactly what ``nox -s governance`` would say about the same checkout.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lockstep_docgen.markdown import cell, code, generated_notice, table
from lockstep_tools import adr_lint, native_records, ownership
from lockstep_tools.common import Problem, split_front_matter

ADR_DIR: Final = "governance/adr"
RECORD_DIR: Final = "governance/native-records"
CONTRIBUTING_PAGE: Final = "governance/contributing.md"
LANES_PAGE: Final = "governance/lanes.md"

_LINK: Final = re.compile(r"(?<!!)\[([^\]\n]+)\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Page:
    """A generated page: its path in the site (relative to docs/) and its Markdown."""

    path: str
    markdown: str


def site_path_of(repo_path: str) -> str | None:
    """The site page a repository Markdown file becomes, or None when it is not in the site."""
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    if repo_path == "CONTRIBUTING.md":
        return CONTRIBUTING_PAGE
    name = repo_path.rsplit("/", 1)[-1]
    if repo_path == "adr/README.md":
        return f"{ADR_DIR}/index.md"
    if repo_path.startswith("adr/") and adr_lint.FILENAME_RE.match(name):
        return f"{ADR_DIR}/{name}"
    if repo_path.startswith("changes/native/") and native_records.RECORD_NAME_RE.match(name):
        return f"{RECORD_DIR}/{name}"
    return None


def rewrite_links(markdown: str, repo_file: str, page: str) -> str:
    """Retarget relative links of a repository file for its place in the site.

    A link to another Markdown file that the site also renders points at that
    page; a link to anything else in the repository (a source file, a
    template) becomes the path in code, because the site does not serve it and
    a dead link would fail the strict build. Web links and anchors are kept.
    """

    def fix(match: re.Match[str]) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)
        path, _, fragment = target.partition("#")
        repo_target = posixpath.normpath(posixpath.join(posixpath.dirname(repo_file), path))
        site_target = site_path_of(repo_target)
        if site_target is None:
            return (
                f"{text} ({code(repo_target)})"
                if text.strip("`") != repo_target
                else code(repo_target)
            )
        relative = posixpath.relpath(site_target, posixpath.dirname(page) or ".")
        return f"[{text}]({relative}{'#' + fragment if fragment else ''})"

    return _LINK.sub(fix, markdown)


def _problem_list(problems: Sequence[Problem]) -> list[str]:
    return [f"- {cell(str(p))}" for p in sorted(set(problems))]


# ------------------------------------------------------------------ ownership


@dataclass(frozen=True)
class OwnershipPage:
    """The freshly rendered matrix and, when the committed copy differs, why that matters."""

    markdown: str
    stale: str | None


def ownership_page(root: Path, committed: str) -> OwnershipPage:
    """Render the ownership matrix with the checker's verdict per row.

    ``docs/governance/ownership.md`` is committed and checked by ``nox -s
    governance``; the site shows a fresh render so the verdicts are those of
    the checkout being built, and reports a stale committed copy.
    """
    result = ownership.evaluate(root)
    fresh = ownership.render(result)
    stale = None
    if committed != fresh:
        stale = (
            f"{ownership.PAGE} differs from what {ownership.SOURCE} renders to; "
            f"run `{ownership.RENDER_COMMAND}` and commit it"
        )
    return OwnershipPage(fresh, stale)


# ----------------------------------------------------------------------- ADRs


def _adr_link(number: int, by_number: Mapping[int, adr_lint.Adr], here: str) -> str:
    adr = by_number.get(number)
    label = f"{number:04d}"
    if adr is None:
        return label
    return f"[{label}]({posixpath.relpath(f'{ADR_DIR}/{adr.path.name}', posixpath.dirname(here))})"


def adr_pages(root: Path) -> list[Page]:
    """The ADR index (README prose plus a generated table and the linter's verdict) and one page per ADR."""
    adrs, _ = adr_lint.load_adrs(root)
    problems = adr_lint.lint(root)
    by_number = {a.number: a for a in adrs if a.number is not None}
    ordered = sorted(by_number.values(), key=lambda a: a.number or 0)
    pages: list[Page] = []
    index_path = f"{ADR_DIR}/index.md"

    rows = []
    for adr in ordered:
        here = index_path
        rows.append(
            [
                f"[{adr.ref}]({adr.path.name})",
                cell(adr.title),
                adr.status,
                adr.date,
                ", ".join(_adr_link(n, by_number, here) for n in adr.supersedes) or "—",
                ", ".join(_adr_link(n, by_number, here) for n in adr.superseded_by) or "—",
            ]
        )
    generated = table(["ADR", "Title", "Status", "Date", "Supersedes", "Superseded by"], rows)
    verdict = (
        [f"**ADR linter:** {len(ordered)} ADRs, no problems.", ""]
        if not problems
        else [f"**ADR linter: {len(problems)} problem(s)**", "", *_problem_list(problems), ""]
    )
    readme_path = root / "adr" / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else "# ADRs\n"
    begin, end = adr_lint.INDEX_REGION, adr_lint.INDEX_REGION
    start_marker, end_marker = (
        f"<!-- BEGIN GENERATED: {begin} -->",
        f"<!-- END GENERATED: {end} -->",
    )
    body = "\n".join([*verdict, *generated])
    if start_marker in readme and end_marker in readme:
        head, _, rest = readme.partition(start_marker)
        _, _, tail = rest.partition(end_marker)
        readme = f"{head}{body}\n{tail}"
    else:
        readme = f"{readme.rstrip()}\n\n## Index\n\n{body}\n"
    readme = rewrite_links(readme, "adr/README.md", index_path)
    pages.append(Page(index_path, f"{generated_notice('adr/')}\n\n{readme}"))

    for adr in ordered:
        here = f"{ADR_DIR}/{adr.path.name}"
        facts = [
            ["Status", f"**{adr.status}**"],
            ["Date", adr.date],
            ["Source", code(f"adr/{adr.path.name}")],
        ]
        if adr.supersedes:
            facts.append(
                ["Supersedes", ", ".join(_adr_link(n, by_number, here) for n in adr.supersedes)]
            )
        if adr.superseded_by:
            facts.append(
                [
                    "Superseded by",
                    ", ".join(_adr_link(n, by_number, here) for n in adr.superseded_by),
                ]
            )
        body_text = rewrite_links(adr.body, f"adr/{adr.path.name}", here).strip("\n")
        heading, _, rest = body_text.partition("\n")
        if not heading.startswith("# "):
            heading, rest = f"# ADR {adr.ref}: {adr.title}", body_text
        lines = [
            generated_notice(f"adr/{adr.path.name}"),
            "",
            heading,
            "",
            *table(["Property", "Value"], facts),
            "",
            rest.strip("\n"),
            "",
        ]
        pages.append(Page(here, "\n".join(lines)))
    return pages


def adr_nav(pages: Sequence[Page]) -> list[dict[str, str]]:
    """Nav entries (title: path) for ADR or record pages, the index excluded, in number order."""
    out = []
    for page in pages:
        if page.path.endswith("/index.md"):
            continue
        first = next((ln for ln in page.markdown.splitlines() if ln.startswith("# ")), page.path)
        out.append({first.removeprefix("# ").strip(): page.path})
    return out


# ------------------------------------------------------------ native records


def _meta_text(value: Any) -> str:
    if isinstance(value, list):
        return "<br>".join(code(str(v)) for v in value) or "—"
    if isinstance(value, dict):
        return "<br>".join(f"{code(str(k))}: {cell(str(v))}" for k, v in value.items())
    if value is None:
        return "`null`"
    return cell(str(value))


def record_pages(root: Path) -> list[Page]:
    """The native change record index (with the checker's verdict per record) and one page per record."""
    records, load_problems = native_records.load_records(root)
    statuses = adr_lint.adr_statuses(root)
    index_path = f"{RECORD_DIR}/index.md"
    rows = []
    pages: list[Page] = []
    for record in records:
        name = record.path.name
        problems: list[Problem] = [p for p in load_problems if p.file == record.name]
        if record.readable:
            problems += native_records.schema_problems(record, root)
            problems += native_records.cross_field_problems(record, root, statuses)
        meta = record.meta
        verdict = "valid" if not problems else f"FAILING ({len(problems)} problem(s))"
        measurement = meta.get("measurement_baseline")
        result = measurement.get("result", "") if isinstance(measurement, dict) else ""
        rows.append(
            [
                f"[{name.removesuffix('.md')}]({name})",
                cell(str(meta.get("integration_shape", ""))),
                cell(str(meta.get("boundary", ""))),
                code(str(result)) if result else "—",
                _meta_text(meta.get("covers", [])),
                ", ".join(str(a) for a in meta.get("adrs", []))
                if isinstance(meta.get("adrs"), list)
                else "",
                verdict,
            ]
        )
        here = f"{RECORD_DIR}/{name}"
        body = ""
        if record.readable:
            _, body = split_front_matter(record.path.read_text(encoding="utf-8"))
        lines = [
            generated_notice(f"changes/native/{name}"),
            "",
            f"# Native change record {name.removesuffix('.md')}",
            "",
            f"Source: {code(f'changes/native/{name}')}. "
            "Fields are defined by the [`native_record` schema](../../reference/schemas/native_record.md).",
            "",
            *table(["Field", "Value"], [[code(str(k)), _meta_text(v)] for k, v in meta.items()]),
            "",
            "**Checker verdict:** "
            + ("valid (schema and cross-field rules)." if not problems else ""),
            "",
            *_problem_list(problems),
            "",
            rewrite_links(body, f"changes/native/{name}", here).strip("\n"),
            "",
        ]
        pages.append(Page(here, "\n".join(lines)))
    file_level = [p for p in load_problems if not any(p.file == r.name for r in records)]
    index = [
        generated_notice("changes/native/"),
        "",
        "# Native change records",
        "",
        "Every change to native code (anything under `rust/`, or a Cargo manifest) carries a",
        "record in `changes/native/` that declares its shape, boundary, measurement, fallback",
        "and the ADRs it relies on (ADR [0002](../adr/0002-native-code-boundaries.md)).",
        "The verdict column is the checker's (`lockstep_tools.native_records`: schema and",
        "cross-field rules). The diff rule, which needs a git base, runs in `nox -s governance`.",
        "How to write one: [contributor guide](../contributing.md#native-change-records).",
        "",
    ]
    if rows:
        index += table(
            ["Record", "Shape", "Boundary", "Measurement", "Covers", "ADRs", "Verdict"], rows
        )
    else:
        index.append("No native change record exists yet.")
    index.append("")
    if file_level:
        index += ["Problems outside any one record:", "", *_problem_list(file_level), ""]
    return [Page(index_path, "\n".join(index)), *pages]


# --------------------------------------------------------- contributing, lanes


def contributing_page(root: Path) -> Page:
    """``CONTRIBUTING.md`` as a site page, links retargeted."""
    text = (root / "CONTRIBUTING.md").read_text(encoding="utf-8")
    body = rewrite_links(text, "CONTRIBUTING.md", CONTRIBUTING_PAGE)
    return Page(CONTRIBUTING_PAGE, f"{generated_notice('CONTRIBUTING.md')}\n\n{body}")


@dataclass(frozen=True)
class Lane:
    """One nox session: its name, whether plain ``nox`` runs it, and its docstring."""

    name: str
    default: bool
    doc: str


def _is_session_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return isinstance(target, ast.Attribute) and target.attr == "session"


def read_lanes(noxfile: Path) -> list[Lane]:
    """The sessions declared in ``noxfile.py``, read with :mod:`ast` (nox need not be importable)."""
    tree = ast.parse(noxfile.read_text(encoding="utf-8"))
    defaults: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(ast.unparse(t) == "nox.options.sessions" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            defaults = {
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    lanes = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            _is_session_decorator(d) for d in node.decorator_list
        ):
            name = node.name
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            name = str(keyword.value.value)
            lanes.append(Lane(name, name in defaults, ast.get_docstring(node) or ""))
    return lanes


def lanes_page(root: Path) -> Page:
    """Every nox session with its docstring: the lanes contributors and CI run."""
    lanes = read_lanes(root / "noxfile.py")
    rows = [
        [
            code(f"nox -s {lane.name}"),
            "yes" if lane.default else "no",
            cell(lane.doc.split("\n\n", 1)[0]),
        ]
        for lane in lanes
    ]
    lines = [
        generated_notice("noxfile.py"),
        "",
        "# Lanes",
        "",
        "Everything a contributor or CI runs is a nox session in `noxfile.py`; each builds its",
        "own virtualenv and installs the packages it needs, so a lane behaves the same on a",
        "laptop and in CI. This table is read from `noxfile.py` when the site is built.",
        "`.ci/run` is what CI executes.",
        "",
        *table(["Command", "In plain `nox`", "What it does"], rows),
        "",
    ]
    for lane in lanes:
        rest = lane.doc.split("\n\n", 1)[1] if "\n\n" in lane.doc else ""
        if rest.strip():
            lines += [f"## `{lane.name}`", "", rest.strip(), ""]
    lines += [
        "Arguments after `--` go to the lane (for example `nox -s tests -- tests/core`). See the",
        "[contributor guide](contributing.md) for when to run which lane.",
        "",
    ]
    return Page(LANES_PAGE, "\n".join(lines))


def render_all(root: Path) -> list[Page]:
    """Every governance page except the ownership matrix (which replaces a committed page)."""
    builders: list[Callable[[Path], list[Page]]] = [
        adr_pages,
        record_pages,
        lambda r: [contributing_page(r), lanes_page(r)],
    ]
    return [page for build in builders for page in build(root)]
