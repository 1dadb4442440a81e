#!/usr/bin/env python3
"""Run a ``lockstep_tools`` command without setting PYTHONPATH.

pre-commit hooks run ``python tools/run_tool.py <module> <args>``: the hook's
virtualenv has the dependencies, and this wrapper puts ``tools/`` on
``sys.path`` so the package imports the same way it does under
``PYTHONPATH=tools``.

    python tools/run_tool.py adr_lint check
    python tools/run_tool.py native_records check --staged
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
COMMANDS = ("adr_lint", "native_records", "ownership", "schema_files")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: run_tool.py {{{','.join(COMMANDS)}}} ARGS...", file=sys.stderr)
        return 2
    sys.path.insert(0, str(TOOLS))
    module = importlib.import_module(f"lockstep_tools.{argv[0]}")
    code: int = module.main(argv[1:])
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
