"""Lanes of the Lockstep monorepo.

    nox -s tests              Python-only test suite against the *installed* distributions
    nox -s lint               ruff, ruff format --check, mypy (strict), import-linter
    nox -s golden             check the bundled golden cases (`-- --update` regenerates them)
    nox -s demo               run every bundled golden case through the Python core
    nox -s governance         ADRs, native change records (diff rule), ownership matrix,
                              generated docs; `-- --base REV` sets the diff base

Every session builds its own virtualenv (venv backend) and installs the four
distributions from their local paths, in dependency order.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "governance"]

ROOT = Path(__file__).resolve().parent
PYTHON = "3.11"

# Local distributions in dependency order: each depends (by name) on the one before.
DISTRIBUTIONS: tuple[Path, ...] = (
    ROOT / "contracts",  # lockstep-contracts -> lockstep.contracts
    ROOT / "packages" / "core",  # lockstep-core -> lockstep.core
    ROOT / "packages" / "adapters",  # lockstep-adapters -> lockstep.adapters
    ROOT / "packages" / "runtime",  # lockstep-runtime -> lockstep.runtime
)

# pyyaml: tests/tools exercises the governance checkers (imported from tools/).
TEST_DEPS = ("pytest>=8", "hypothesis>=6.100", "jsonschema>=4.18", "pyyaml>=6", "tzdata")
GOVERNANCE_DEPS = ("jsonschema>=4.18", "pyyaml>=6")
# Pinned so that `nox -s lint` and pre-commit agree; bump together with
# .pre-commit-config.yaml.
LINT_DEPS = (
    "ruff==0.17.6",
    "mypy==2.4.1",
    "import-linter==2.16",
    "types-jsonschema==4.26.0.20261006",
)


def install_lockstep(session: nox.Session, *, editable: bool = False) -> None:
    """Install the four Lockstep distributions from local paths, in dependency order.

    Non-editable by default, so that code runs from site-packages exactly as a
    user would get it. Inter-package requirements are by name and are satisfied
    by the local paths given in the same pip call, never by an index.
    """
    args: list[str] = []
    for dist in DISTRIBUTIONS:
        if editable:
            args.append("-e")
        args.append(str(dist))
    # pip always rebuilds and reinstalls a local directory requirement, so a
    # reused venv (`nox -r`) never keeps a stale build of the same version.
    session.install(*args)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Python-only test suite against the installed (non-editable) distributions."""
    install_lockstep(session)
    session.install(*TEST_DEPS)
    # Python-only lane: `import lockstep_native` must fail in this venv.
    session.run("python", str(ROOT / "tools" / "check_python_only.py"))
    session.run(
        "pytest",
        "--import-mode=importlib",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check + format), mypy --strict on core and contracts, import-linter."""
    install_lockstep(session, editable=True)
    session.install(*LINT_DEPS, *TEST_DEPS)
    steps: list[tuple[str, ...]] = [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        (
            "mypy",
            *("-p", "lockstep.contracts", "-p", "lockstep.core"),
            *("-p", "lockstep.adapters", "-p", "lockstep.runtime"),
        ),
        ("lint-imports",),
    ]
    failed: list[str] = []
    for step in steps:
        try:
            session.run(*step)
        except nox.command.CommandFailed:
            failed.append(" ".join(step))
    if failed:
        session.error("lint failed: " + "; ".join(failed))


@nox.session(python=PYTHON)
def golden(session: nox.Session) -> None:
    """Check the bundled golden cases; `nox -s golden -- --update` regenerates them."""
    # Editable, so that `--update` writes into contracts/src/..., not site-packages.
    install_lockstep(session, editable=True)
    session.run("python", str(ROOT / "tools" / "golden.py"), *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: backtest the example strategy on bundled data, store the run, verify it.

    Then re-run every bundled golden case, so the demo also shows the core
    reproducing its contracts byte for byte.
    """
    install_lockstep(session)
    session.run("lockstep", "demo", "--out", str(ROOT / "runs" / "demo"), *session.posargs)
    session.run("python", "-m", "lockstep.core", "demo")


@nox.session(python=PYTHON)
def governance(session: nox.Session) -> None:
    """Every governance check; `nox -s governance -- --base REV` sets the diff base.

    The distributions are installed (non-editable) so that the ownership check
    can import every Python symbol it lists. The checkers themselves run from
    tools/ (PYTHONPATH), they are not part of any distribution. Without
    `--base`, native_records compares with the merge-base with main, else
    HEAD~1, else the empty tree (see tools/lockstep_tools/gitrange.py).
    """
    install_lockstep(session)
    session.install(*GOVERNANCE_DEPS)
    env = {"PYTHONPATH": str(ROOT / "tools")}
    steps: list[tuple[str, ...]] = [
        ("python", "-m", "lockstep_tools.adr_lint", "check"),
        ("python", "-m", "lockstep_tools.native_records", "check", *session.posargs),
        ("python", "-m", "lockstep_tools.ownership", "check"),
        ("python", "-m", "lockstep_tools.schema_files", "check"),
        ("python", str(ROOT / "tools" / "gen_lifecycle_doc.py"), "--check"),
    ]
    failed: list[str] = []
    for step in steps:
        try:
            session.run(*step, env=env)
        except nox.command.CommandFailed:
            failed.append(" ".join(step[:4]))
    if failed:
        session.error("governance failed: " + "; ".join(failed))
