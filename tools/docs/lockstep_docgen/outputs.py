"""Real command output for the Quick start page, captured while the site builds.

The Quick start shows what ``nox -s demo`` prints. Pasting a transcript into
the page would go stale with the next change to the summary format or the
golden cases, so the two commands the demo lane runs (``lockstep demo`` and
``python -m lockstep.core demo``) are run in-process here, on the Python
backend, and their output is put where a page says
``<!-- lockstep:output NAME -->``. Both take about a second.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Final

from lockstep_docgen.markdown import fenced

PLACEHOLDER: Final = re.compile(r"^<!-- lockstep:output ([a-z0-9-]+) -->$", re.MULTILINE)
DEMO_DIR: Final = "runs/demo"
"""The path ``nox -s demo`` writes to, shown instead of the temporary directory used here."""


class OutputError(RuntimeError):
    """A command whose output a page shows failed."""


def _capture(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(argv)
    if status != 0:
        raise OutputError(
            f"`{' '.join(argv)}` exited with {status} while building the docs:\n{buffer.getvalue()}"
        )
    return buffer.getvalue()


def capture_all() -> dict[str, str]:
    """Run the demo lane's two commands and return their standard output by placeholder name."""
    from lockstep.core.cli import main as core_main
    from lockstep.runtime.cli import main as runtime_main

    with tempfile.TemporaryDirectory(prefix="lockstep-docs-") as tmp:
        out_dir = Path(tmp) / "demo"
        text = _capture(runtime_main, ["demo", "--out", str(out_dir), "--engine", "python"])
        text = text.replace(str(out_dir), DEMO_DIR)
    return {
        "lockstep-demo": text,
        "core-demo": _capture(core_main, ["demo", "--backend", "python"]),
    }


def fill(markdown: str, outputs: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace each placeholder with a text block; returns the Markdown and unknown names."""
    unknown: list[str] = []

    def block(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in outputs:
            unknown.append(name)
            return match.group(0)
        return "\n".join(fenced(outputs[name], "text"))

    return PLACEHOLDER.sub(block, markdown), unknown
