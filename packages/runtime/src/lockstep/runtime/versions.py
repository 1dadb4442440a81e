"""Which Lockstep distributions are installed, and whether the native core can be used.

One home for the list of distributions: the run store records their versions
(``meta.versions``) and ``lockstep --version`` prints them, so a run and a bug
report name the same things.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from lockstep.core.backend import BUILD_HINT, NATIVE_MODULE, native_status

DISTRIBUTIONS = ("lockstep-contracts", "lockstep-core", "lockstep-adapters", "lockstep-runtime")
"""In dependency order: each depends, by name and version range, on the one before."""

LOCAL_PATHS = ("./contracts", "./packages/core", "./packages/adapters", "./packages/runtime")
"""Where each of :data:`DISTRIBUTIONS` lives in a Lockstep checkout, in the same order."""

INSTALL_FROM_CHECKOUT = (
    "pip install ./contracts ./packages/core ./packages/adapters './packages/runtime[all]'"
)
"""The one command that installs every distribution from a checkout (run at its root).

The distributions depend on each other by name, which an index would have to
serve; naming every local path in one pip call lets pip take them from the
checkout instead (drop ``[all]`` for the standard-library-only install).
"""


def distribution_versions() -> dict[str, str | None]:
    """``{distribution: version}``, None for a missing one rather than an error: a partial
    install is what ``--version`` most needs to be able to show."""
    out: dict[str, str | None] = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def version_report() -> str:
    """The lines of ``lockstep --version``; the native core comes with the cause and the
    build command when it cannot be used, since "why is --engine rust refused?" is the
    question this output most often has to answer."""
    versions = distribution_versions()
    rows = [(name, version or "not installed") for name, version in versions.items()]
    status = native_status()
    if status.available:
        native = (
            f"{status.version or 'unknown version'} (--engine rust available; {status.location})"
        )
    else:
        native = f"not importable: {status.problem}; {BUILD_HINT}"
    rows.append((NATIVE_MODULE, native))
    rows.append(("python", f"{platform.python_version()} ({platform.python_implementation()})"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {text}" for name, text in rows]
    if None in versions.values():
        lines.append(f"some distributions are missing; from a checkout: {INSTALL_FROM_CHECKOUT}")
    return "\n".join(lines)


class ShowVersions(argparse.Action):
    """``--version``: computed only when asked, since it imports the native extension."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help",
            "print the version of every Lockstep distribution and "
            "whether the native core is importable, then exit",
        )
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(version_report())
        parser.exit()
