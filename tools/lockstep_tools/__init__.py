"""Governance checkers for the Lockstep repository.

Each rule the project writes down (ADR format, native change records, the
ownership matrix) is enforced here by a small command so that it cannot drift
from the code. The package is not a distribution: run it from the repository
root with ``PYTHONPATH=tools python -m lockstep_tools.<module> ...``, through
``nox -s governance``, or through ``python tools/run_tool.py <module> ...``
(what the pre-commit hooks use).

Every module exposes ``main(argv) -> int`` and reports each problem as
``file: field: what is wrong. Fix: what to do``.
"""
