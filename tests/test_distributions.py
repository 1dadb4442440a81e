"""Packaging smoke tests: the four distributions install as one PEP 420 namespace.

These run in the `nox -s tests` venv, where the distributions are installed
non-editable, and check that the tests see the installed code (not the source
tree), that `lockstep` is a namespace package, that dependencies flow
contracts <- core <- adapters <- runtime, and that the contracts' data files
ship in the wheel.
"""

from __future__ import annotations

import importlib
import json
import re
from importlib import metadata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = tuple(
    REPO_ROOT / sub / "src"
    for sub in ("contracts", "packages/core", "packages/adapters", "packages/runtime")
)

# distribution name -> (import name, the one Lockstep distribution it depends on)
DISTRIBUTIONS: dict[str, tuple[str, str | None]] = {
    "lockstep-contracts": ("lockstep.contracts", None),
    "lockstep-core": ("lockstep.core", "lockstep-contracts"),
    "lockstep-adapters": ("lockstep.adapters", "lockstep-core"),
    "lockstep-runtime": ("lockstep.runtime", "lockstep-adapters"),
}


def _is_editable(dist_name: str) -> bool:
    direct_url = metadata.distribution(dist_name).read_text("direct_url.json")
    if not direct_url:
        return False
    return bool(json.loads(direct_url).get("dir_info", {}).get("editable", False))


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_lockstep_is_a_namespace_package() -> None:
    import lockstep

    assert getattr(lockstep, "__file__", None) is None, "lockstep/__init__.py must not exist"
    for entry in lockstep.__path__:
        assert not (Path(entry) / "__init__.py").exists(), entry


@pytest.mark.parametrize("dist_name", sorted(DISTRIBUTIONS))
def test_distribution_is_installed_and_importable(dist_name: str) -> None:
    import_name, _ = DISTRIBUTIONS[dist_name]
    assert metadata.version(dist_name)
    module = importlib.import_module(import_name)
    origin = Path(module.__path__[0]).resolve()
    if not _is_editable(dist_name):
        # The tests lane must exercise what pip installed, not the checkout.
        assert not any(origin.is_relative_to(src) for src in SOURCE_DIRS), (
            f"{import_name} imported from the source tree ({origin}), not site-packages"
        )
    assert (origin / "py.typed").is_file(), f"{import_name} is missing py.typed"


@pytest.mark.parametrize("dist_name", sorted(DISTRIBUTIONS))
def test_dependencies_flow_one_way(dist_name: str) -> None:
    _, expected = DISTRIBUTIONS[dist_name]
    names = {_requirement_name(r) for r in metadata.requires(dist_name) or []}
    lockstep_deps = {name for name in names if name.startswith("lockstep")}
    assert lockstep_deps == ({expected} if expected else set())


def _contracts_root() -> Path:
    return Path(importlib.import_module("lockstep.contracts").__path__[0])


def test_contracts_ship_their_data_files() -> None:
    root = _contracts_root()
    transitions = sorted(root.rglob("order_transitions.json"))
    assert transitions, f"no order_transitions.json shipped under {root}"
    schemas = sorted(root.rglob("*.schema.json"))
    assert schemas, f"no JSON Schemas (*.schema.json) shipped under {root}"
    cases = sorted(
        p.parent for p in root.rglob("setup.json") if (p.parent / "input.jsonl").is_file()
    )
    assert cases, f"no golden case directories (setup.json + input.jsonl) under {root}"


def test_every_shipped_json_file_parses() -> None:
    root = _contracts_root()
    checked = 0
    for path in sorted(root.rglob("*")):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
            checked += 1
        elif path.suffix == ".jsonl":
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    try:
                        json.loads(line)
                    except json.JSONDecodeError as exc:  # pragma: no cover - failure path
                        pytest.fail(f"{path}:{number}: {exc}")
            checked += 1
    assert checked > 0
