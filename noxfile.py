"""Lanes of the Lockstep monorepo.

    nox -s tests              Python-only test suite against the *installed* distributions
    nox -s lint               ruff, ruff format --check, mypy (strict), import-linter
    nox -s golden             check the bundled golden cases (`-- --update` regenerates them)
    nox -s demo               backtest the example strategy on the bundled daily data into
                              runs/demo (run store, trades, report), verify it by replay,
                              then every bundled golden case through the Python core
    nox -s governance         ADRs, native change records (diff rule), ownership matrix,
                              generated docs; `-- --base REV` sets the diff base
    nox -s native             Rust lane: cargo fmt/clippy/test, build lockstep-native with
                              maturin, mypy.stubtest on its stub, whole suite + parity suite
                              with LOCKSTEP_ENGINE=rust
    nox -s fuzz               differential fuzzing of both backends (many more examples)
    nox -s docs               mkdocs build --strict (generated pages) + headless Chromium checks;
                              needs `bash .ci/install-chromium.sh` (chromium, chromedriver, dot)
    nox -s bench              the benchmarks: Lockstep against Backtrader, backtesting.py and
                              NautilusTrader, then every other benchmarks/bench_*.py;
                              `-- --quick` is the small CI form (asserts agreement, never speed)

Every session builds its own virtualenv (venv backend) and installs the four
distributions from their local paths, in dependency order.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
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

# The Backtrader release the compatibility layer is compared with (tests/compat) and
# the peer benchmark times; one pin for both.
BACKTRADER = "backtrader==1.9.78.123"
COLUMNAR = ("pyarrow>=14", "pandas>=2.0")

# pyyaml: tests/tools exercises the governance checkers (imported from tools/).
# pyarrow, pandas, matplotlib, rich: the optional feeds, report chart and progress
# bar are tested too (their absence is tested by hiding them). backtrader: the
# reference the compatibility layer is compared with.
TEST_DEPS = (
    "pytest>=8",
    "hypothesis>=6.100",
    "jsonschema>=4.18",
    "pyyaml>=6",
    "tzdata",
    *COLUMNAR,
    "matplotlib>=3.7",
    "rich>=13",
    # tests/compat runs every side-by-side strategy in the real Backtrader too.
    BACKTRADER,
)
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
        # Parity needs the native extension: the native lane runs it.
        "--ignore=tests/native",
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
    session.install("matplotlib>=3.7")  # the report's equity chart (lockstep-runtime[report])
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
        # Every commit on its own, so a multi-commit change is not judged by its last one.
        ("python", "-m", "lockstep_tools.native_records", "check", "--each-commit"),
        ("python", "-m", "lockstep_tools.ownership", "check"),
        ("python", "-m", "lockstep_tools.schema_files", "check"),
        ("python", str(ROOT / "tools" / "gen_lifecycle_doc.py"), "--check"),
    ]
    failed: list[str] = []
    for step in steps:
        try:
            session.run(*step, env=env)
        except nox.command.CommandFailed:
            failed.append(" ".join(step[:5]))
    if failed:
        session.error("governance failed: " + "; ".join(failed))


RUST = ROOT / "rust"
BINDINGS = RUST / "lockstep-python"
CARGO_ENV = {"CARGO_TERM_COLOR": "never"}
# The native lane's type checks use the lint lane's pins: mypy (stubtest included) and
# the jsonschema stubs `mypy -p lockstep.core` needs for lockstep.contracts.
TYPECHECK_DEPS = tuple(d for d in LINT_DEPS if d.startswith(("mypy==", "types-jsonschema==")))


def install_native(session: nox.Session, deps: Sequence[str] = TEST_DEPS) -> None:
    """Build lockstep-native with maturin (release) and install it with the four distributions.

    maturin builds in rust/target, the directory the cargo steps use, so one
    CI run compiles the dependencies once per profile. ``deps`` are installed
    beside it (the test requirements unless a lane needs others).
    """
    session.install("maturin>=1.7,<2")
    wheels = Path(session.create_tmp()) / "wheels"
    session.run(
        "maturin",
        "build",
        "--release",
        "--quiet",
        "--manifest-path",
        str(BINDINGS / "Cargo.toml"),
        "--interpreter",
        "python",
        "--out",
        str(wheels),
        env=CARGO_ENV,
    )
    built = sorted(wheels.glob("lockstep_native-*.whl"))
    if not built:
        session.error(f"maturin produced no lockstep_native wheel in {wheels}")
    install_lockstep(session)
    session.install("--force-reinstall", "--no-deps", str(built[-1]))
    session.install(*deps)
    # A native lane without the extension would test nothing new: fail, never skip.
    session.run(
        "python",
        "-c",
        "import lockstep_native; print('lockstep_native', lockstep_native.__version__)",
    )


@nox.session(python=PYTHON)
def native(session: nox.Session) -> None:
    """The Rust lane: fmt, clippy, cargo test, the stub, then every Python test on the rust backend.

    mypy.stubtest checks the stub the wheel ships (rust/lockstep-python/lockstep_native.pyi)
    against the built module, and mypy checks lockstep.core.native against that stub
    (the lint lane has no extension, so there it is untyped).
    `LOCKSTEP_ENGINE=rust` makes every `build_core()` without an explicit
    backend native, so the whole suite runs against the extension, and
    tests/native adds the parity suite (golden bytes, differential fuzzing,
    blocks and crossings). Tests that need the Python core say so explicitly.
    """
    cargo = ("cargo",)
    with session.chdir(RUST):
        session.run(*cargo, "fmt", "--all", "--check", external=True, env=CARGO_ENV)
        session.run(
            *cargo, "clippy", "--all-targets", "--", "-D", "warnings", external=True, env=CARGO_ENV
        )
        session.run(
            *cargo, "test", "--release", "-p", "lockstep-core", external=True, env=CARGO_ENV
        )
    install_native(session)
    session.install(*TYPECHECK_DEPS)
    allowlist = BINDINGS / "stubtest-allowlist.txt"
    session.run("python", "-m", "mypy.stubtest", "lockstep_native", "--allowlist", str(allowlist))
    session.run("mypy", "-p", "lockstep.core")
    session.run(
        "pytest", "--import-mode=importlib", *session.posargs, env={"LOCKSTEP_ENGINE": "rust"}
    )


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Differential fuzzing, longer than CI: `nox -s fuzz -- 20000` sets the example count.

    Diverging streams are shrunk by hypothesis and saved under
    build/fuzz-failures/ as golden-case directories.
    """
    examples = session.posargs[0] if session.posargs else "5000"
    install_native(session)
    session.run(
        "pytest",
        "--import-mode=importlib",
        "tests/native/test_parity.py",
        "-k",
        "random_streams or blocks_agree",
        env={"LOCKSTEP_FUZZ_EXAMPLES": examples},
    )
    # Signals: random bars and declarations (and bent ones), both cores after every item.
    session.run(
        "pytest",
        "--import-mode=importlib",
        "tests/native/test_signals_parity.py",
        env={"LOCKSTEP_FUZZ_EXAMPLES": examples},
    )


# Pinned so the site builds the same everywhere. selenium 4.52 needs a certifi
# newer than the index serves; ruff lets mkdocstrings format signatures.
DOCS_DEPS = (
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.1",
    "mkdocstrings[python]==1.0.8",
    "mkdocstrings-python==2.0.11",
    "ruff==0.17.6",
    "selenium==4.51.0",
)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with --strict, then check it renders in headless Chromium.

    Needs chromium, chromedriver and Graphviz `dot` from Debian:
    `.ci/install-chromium.sh` installs them (CI runs it before this lane);
    without them the build or the browser tests fail and say so. The site is
    written to site/ and the screenshots to build/docs-artifacts/. The
    distributions are installed (non-editable) because the build imports them:
    the ownership matrix verdicts, the CLI reference and the Quick start output
    come from the installed code. Extra arguments go to pytest.
    """
    install_lockstep(session)
    session.install(*DOCS_DEPS, *TEST_DEPS)
    site_dir = ROOT / "site"
    session.run(
        *("mkdocs", "build", "--strict", "--clean", "--site-dir", str(site_dir)),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )
    session.run(
        "pytest",
        "--import-mode=importlib",
        "tests/docs_site",
        *session.posargs,
        env={
            "LOCKSTEP_DOCS_SITE": str(site_dir),
            "LOCKSTEP_DOCS_ARTIFACTS": str(ROOT / "build" / "docs-artifacts"),
            "NO_MKDOCS_2_WARNING": "1",
        },
    )


# The engines the peer benchmark compares Lockstep with (benchmarks/peers/); 1.221.0 is
# the last NautilusTrader release for CPython 3.11.
PEER_DEPS = (BACKTRADER, "backtesting", "nautilus_trader==1.221.0", *COLUMNAR)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks: `nox -s bench` measures, `nox -s bench -- --quick` is the CI form.

    Runs benchmarks/bench_peers.py (extra arguments go to it): Lockstep's
    event-native API and Backtrader layer on both backends against
    Backtrader, backtesting.py and NautilusTrader, results compared before
    any time counts, then every other benchmarks/bench_*.py. The native
    extension is built when cargo is on PATH; without it the rust engines
    and the native-only scripts are reported as skipped, not failed. A full
    run writes benchmarks/results/ and takes hours (200,000 bars through the
    Backtrader layer is minutes per run); `--quick` writes build/bench-quick/
    and fails only when the engines disagree or a required one cannot run.
    """
    if shutil.which("cargo"):
        install_native(session, PEER_DEPS)
    else:
        session.warn("cargo is not installed: no native core, the rust engines will be skipped")
        install_lockstep(session)
        session.install(*PEER_DEPS)
    session.run("python", str(ROOT / "benchmarks" / "bench_peers.py"), *session.posargs)
