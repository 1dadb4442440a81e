"""Generators for the documentation site (``mkdocs.yml`` loads them through ``tools/docs/hooks.py``).

Every table in the site that restates something the code or the contracts
already say is produced here, at build time, from the same files the checks
read: the JSON Schemas and golden cases, the order transition table, the
ownership matrix, the ADRs, the native change records, the CLI's argparse
parser, the nox sessions and the benchmark results. Nothing generated is
committed, so the site cannot drift from its sources.

Each module returns Markdown (or SVG) strings and touches no global state, so
the generators can be tested without running mkdocs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
"""The checkout this package lives in (``tools/docs/lockstep_docgen/`` is three levels down)."""
