"""The order lifecycle state diagram, drawn by Graphviz from the transition-table contract.

The diagram is an SVG produced while the site builds (``dot -Tsvg``) from
``order_transitions.json``, the same file the cores load, so it can never
show a transition the engine does not make. Drawing it at build time, not in
the browser, means the site needs no diagram script at all: nothing to
vendor, nothing fetched from a CDN, and the picture is in the HTML for
readers without JavaScript.

``dot`` comes from Debian's ``graphviz`` package (``.ci/install-chromium.sh``
installs it with the browser the docs lane needs).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

INSTALL_HINT: Final = (
    "install Graphviz: `bash .ci/install-chromium.sh` (as root or with sudo) "
    "or `apt-get install graphviz`"
)


class DiagramError(RuntimeError):
    """``dot`` is missing or failed; the message says how to fix it."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(table: Mapping[str, Any]) -> str:
    """Graphviz source for the transition table.

    Rows between the same two states are merged into one edge carrying every
    trigger (``trigger [guard]``) on its own line, so parallel arrows do not
    pile up; self-loops (legal, but adding no trace entry) are dashed.
    Terminal states get a double border and share the last column, and a
    start point leads to the first state, which is where every order begins.
    """
    states: Sequence[str] = table["states"]
    terminal = set(table["terminal_states"])
    labels: dict[tuple[str, str], list[str]] = {}
    for row in table["transitions"]:
        label = row["trigger"] + (f" [{row['guard']}]" if row.get("guard") else "")
        labels.setdefault((row["from"], row["to"]), []).append(label)
    lines = [
        "digraph order_lifecycle {",
        '  graph [rankdir=LR, bgcolor="transparent", nodesep=0.25, ranksep=0.45,'
        ' fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#e8eaf6", color="#3949ab",'
        ' fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=10, color="#546e7a", fontcolor="#37474f"];',
        '  start [shape=point, width=0.15, label="", fillcolor="#263238", color="#263238"];',
    ]
    for state in states:
        if state in terminal:
            lines.append(
                f'  {_quote(state)} [peripheries=2, fillcolor="#eceff1", color="#455a64"];'
            )
        else:
            lines.append(f"  {_quote(state)};")
    if states:
        lines.append(f"  start -> {_quote(states[0])};")
    for (source, target), triggers in labels.items():
        style = ", style=dashed" if source == target else ""
        label = "\\n".join(t.replace('"', "'") for t in triggers)
        lines.append(f'  {_quote(source)} -> {_quote(target)} [label="{label}"{style}];')
    if terminal:
        # Terminal states share the last column, so "where an order can end" reads at a glance.
        same = "; ".join(_quote(s) for s in states if s in terminal)
        lines.append(f"  {{rank=same; {same};}}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(source: str, *, dot: str | None = None, timeout: float = 60.0) -> str:
    """Run ``dot -Tsvg`` on ``source`` and return the SVG element (no XML prolog or doctype)."""
    return inline_svg(run_dot(source, dot=dot, timeout=timeout))


def run_dot(source: str, *, dot: str | None = None, timeout: float = 60.0) -> str:
    """Run ``dot -Tsvg`` on ``source`` and return the standalone SVG document it prints."""
    executable = dot or shutil.which("dot")
    if executable is None:
        raise DiagramError(f"Graphviz `dot` is not on PATH; {INSTALL_HINT}")
    try:
        result = subprocess.run(
            [executable, "-Tsvg"],
            input=source,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiagramError(f"running {executable} failed: {exc}; {INSTALL_HINT}") from exc
    if result.returncode != 0:
        raise DiagramError(f"dot exited with {result.returncode}: {result.stderr.strip()}")
    return result.stdout


_SVG_START: Final = re.compile(r"<svg\b[^>]*>", re.DOTALL)


def inline_svg(document: str, *, label: str = "Order lifecycle state diagram") -> str:
    """Turn a standalone SVG document into an element to embed in HTML.

    Drops the XML prolog, doctype and comments, and replaces the fixed
    ``width``/``height`` in points with CSS so the picture scales down on
    narrow screens while keeping its ``viewBox`` proportions.
    """
    match = _SVG_START.search(document)
    if match is None:
        raise DiagramError("dot produced no <svg> element")
    body = document[match.end() :]
    body = re.sub(r"<!--.*?-->\n?", "", body, flags=re.DOTALL)
    tag = match.group(0)
    width = re.search(r'\bwidth="([\d.]+)pt"', tag)
    view_box = re.search(r'\bviewBox="([^"]+)"', tag)
    if view_box is None:
        raise DiagramError("dot produced an <svg> without a viewBox")
    max_width = f"max-width:{float(width.group(1)):.0f}pt;" if width else ""
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view_box.group(1)}" '
        f'role="img" aria-label="{escape(label)}" class="lockstep-svg" '
        f'style="width:100%;height:auto;{max_width}">'
    )
    return opening + "\n" + body.strip() + "\n"


def figure(svg: str, caption: str, full_size_href: str | None = None) -> str:
    """The HTML that replaces a diagram placeholder in a page (with a link to the full-size file)."""
    link = f' <a href="{escape(full_size_href)}">Open at full size.</a>' if full_size_href else ""
    return (
        f'<figure class="lockstep-diagram">\n{svg}<figcaption>{caption}{link}</figcaption>\n'
        "</figure>"
    )
