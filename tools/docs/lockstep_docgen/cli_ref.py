"""The CLI reference page, generated from the ``lockstep`` argparse parser.

The parser is imported and walked (``build_parser()`` in
``lockstep.runtime.cli``) rather than run in a subprocess: the page shows the
exact ``--help`` text of every command and subcommand, including the lists
the parser computes (built-in strategies, bundled data sets), without
depending on a console script being on PATH.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from lockstep_docgen.markdown import cell, code, fenced, generated_notice, table

PAGE: Final = "reference/cli.md"
HELP_WIDTH: Final = 88
"""Columns argparse wraps help text at; fixed so the page does not depend on the terminal."""


@contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse reads ``$COLUMNS`` to wrap; pin it while rendering, then restore it."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def walk(
    parser: argparse.ArgumentParser, summary: str = ""
) -> Iterator[tuple[argparse.ArgumentParser, str]]:
    """The parser and every subparser below it, depth first, with each one's one-line help."""
    yield parser, summary
    for action in parser._actions:  # argparse has no public API for subparsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: str(choice.help or "") for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield from walk(sub, helps.get(name, ""))


def render(build_parser: Callable[[], argparse.ArgumentParser]) -> str:
    """The Markdown page: an overview table, then each command's full help."""
    with _columns(HELP_WIDTH):
        parser = build_parser()
        commands = [(p, s, p.format_help()) for p, s in walk(parser)]
    lines = [
        generated_notice("the argparse parser in packages/runtime/src/lockstep/runtime/cli.py"),
        "",
        "# CLI reference",
        "",
        "Every `lockstep` command with its `--help` text, generated from the CLI's own",
        "parser when the site is built. Install `lockstep-runtime` to get the command;",
        "`python -m lockstep.runtime` is the same program.",
        "",
    ]
    rows = [
        [f"[{code(p.prog)}](#{_anchor(p.prog)})", cell(summary or (p.description or ""))]
        for p, summary, _ in commands
        if p is not parser
    ]
    lines += table(["Command", "What it does"], rows)
    lines.append("")
    for sub, _, help_text in commands:
        lines += [f"## `{sub.prog}` {{#{_anchor(sub.prog)}}}", ""]
        lines += fenced(help_text, "text")
        lines.append("")
    return "\n".join(lines)


def _anchor(prog: str) -> str:
    return prog.replace(" ", "-")
