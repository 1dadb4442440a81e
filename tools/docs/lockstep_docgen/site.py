"""Everything the site generates, assembled in one place for the mkdocs hooks.

:func:`generate` renders every generated page, the nav entries that list
them and the diagrams; the hooks in ``tools/docs/hooks.py`` only hand those
to mkdocs. Keeping mkdocs out of this module means the whole generation can
be run and tested as plain Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lockstep_docgen import (
    benchmarks,
    cli_ref,
    examples,
    governance,
    lifecycle,
    outputs,
    schemas,
)

TRANSITIONS_REL: Final = "contracts/src/lockstep/contracts/data/order_transitions.json"

LIFECYCLE_DIAGRAM: Final = "order-lifecycle"
DIAGRAM_DIR: Final = "assets/diagrams"
PLACEHOLDER: Final = re.compile(r'<div data-lockstep-diagram="([a-z0-9-]+)"></div>')
"""Where a page wants a diagram; :func:`diagram_html` replaces it in the built HTML."""

MERMAID_LIFECYCLE: Final = re.compile(r"^```mermaid\n(stateDiagram[^\n]*\n.*?)^```\n?", re.M | re.S)
"""The mermaid block ``tools/gen_lifecycle_doc.py`` writes into the reference page (for GitHub)."""

PENDING_GUIDES: Final = frozenset(
    {
        "guides/backtrader.md",
        "guides/extensions.md",
        "guides/cli.md",
        "guides/run_store.md",
    }
)
"""Guides other work will add; the nav lists them and drops the ones not written yet."""


@dataclass(frozen=True)
class Diagram:
    """A build-time drawing: inline SVG for pages, and the site path of its standalone file."""

    svg: str
    caption: str
    file: str


@dataclass
class Generated:
    """The output of one generation run."""

    pages: dict[str, str] = field(default_factory=dict)
    """Site path (relative to docs/) -> Markdown."""
    children: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """Index page path -> nav entries to list after it, in its nav section."""
    diagrams: dict[str, Diagram] = field(default_factory=dict)
    """Diagram name -> the drawing to put where a page asks for it."""
    assets: dict[str, str] = field(default_factory=dict)
    """Site path -> content of generated non-page files (the standalone SVGs)."""
    outputs: dict[str, str] = field(default_factory=dict)
    """Command output name -> text, for ``<!-- lockstep:output NAME -->`` placeholders."""


def generate(root: Path) -> Generated:
    """Render every generated page from the sources in the checkout at ``root``.

    Raises on broken sources (an example that fails its schema, ``dot``
    missing, a schema ``$ref`` that does not resolve), because a site built
    from them would be wrong rather than merely incomplete.
    """
    from lockstep.contracts.schemas import SCHEMA_NAMES
    from lockstep.runtime.cli import build_parser

    out = Generated()

    schema_set = schemas.SchemaSet.load(root / schemas.SCHEMA_DIR_REL, SCHEMA_NAMES)
    renderer = schemas.Renderer(schema_set)
    found = examples.find_examples(root, schema_set.schemas)
    index = f"{schemas.PAGE_DIR}/index.md"
    out.pages[index] = renderer.index()
    out.children[index] = []
    for name in schema_set.schemas:
        example = found.get(name)
        path = f"{schemas.PAGE_DIR}/{name}.md"
        out.pages[path] = renderer.page(
            name, (example.where, example.value) if example is not None else None
        )
        out.children[index].append({name: path})

    gov = governance.render_all(root)
    for page in gov:
        out.pages[page.path] = page.markdown
    adr_index = f"{governance.ADR_DIR}/index.md"
    out.children[adr_index] = governance.adr_nav(
        [p for p in gov if p.path.startswith(governance.ADR_DIR + "/")]
    )
    record_index = f"{governance.RECORD_DIR}/index.md"
    out.children[record_index] = governance.adr_nav(
        [p for p in gov if p.path.startswith(governance.RECORD_DIR + "/")]
    )

    out.pages[cli_ref.PAGE] = cli_ref.render(build_parser)
    out.pages[benchmarks.PAGE] = benchmarks.render(root)

    out.outputs = outputs.capture_all()

    table = json.loads((root / TRANSITIONS_REL).read_text(encoding="utf-8"))
    document = lifecycle.run_dot(lifecycle.dot_source(table))
    out.diagrams[LIFECYCLE_DIAGRAM] = Diagram(
        svg=lifecycle.inline_svg(document),
        caption=(
            f"Order states and transitions, drawn at build time from <code>{TRANSITIONS_REL}</code> "
            f"(version {table.get('version')}). Double border: terminal state. Dashed: a "
            "self-loop, legal but adding no transition to the trace."
        ),
        file=f"{DIAGRAM_DIR}/{LIFECYCLE_DIAGRAM}.svg",
    )
    out.assets[f"{DIAGRAM_DIR}/{LIFECYCLE_DIAGRAM}.svg"] = document
    return out


def expand_nav(
    nav: Any, children: dict[str, list[dict[str, str]]], exists: Callable[[str], bool]
) -> Any:
    """A copy of the mkdocs nav with generated children added and unwritten pending guides removed.

    A generated index page listed in the nav gets its children (one per
    schema, one per ADR) appended right after it in the same section, so
    adding an ADR or a schema never needs an edit to ``mkdocs.yml``.
    """
    if isinstance(nav, list):
        result: list[Any] = []
        for item in nav:
            target = _target(item)
            if target in PENDING_GUIDES and not exists(target):
                continue
            result.append(expand_nav(item, children, exists))
            if target in children:
                result.extend(children[target])
        return result
    if isinstance(nav, dict):
        return {key: expand_nav(value, children, exists) for key, value in nav.items()}
    return nav


def _target(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        value = next(iter(item.values()))
        return value if isinstance(value, str) else None
    return None


def swap_mermaid_lifecycle(markdown: str) -> str:
    """Replace the reference page's mermaid state diagram with the build-time SVG placeholder.

    The mermaid text stays in the Markdown file for readers on GitHub (which
    draws it); the site shows the Graphviz drawing of the same table instead
    of shipping a diagram script.
    """
    return MERMAID_LIFECYCLE.sub(
        f'<div data-lockstep-diagram="{LIFECYCLE_DIAGRAM}"></div>\n', markdown, count=1
    )


def diagram_html(
    html: str, diagrams: dict[str, Diagram], href: Callable[[str], str] = lambda path: path
) -> tuple[str, list[str]]:
    """Fill every diagram placeholder; returns the HTML and the names that are unknown.

    ``href`` turns a site path into a link relative to the page being built.
    """
    unknown: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        diagram = diagrams.get(name)
        if diagram is None:
            unknown.append(name)
            return match.group(0)
        return lifecycle.figure(diagram.svg, diagram.caption, href(diagram.file))

    return PLACEHOLDER.sub(fill, html), unknown
