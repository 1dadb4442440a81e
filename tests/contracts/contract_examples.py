"""Hand-written example instances for every Lockstep schema, shared by test suites.

The examples are plain JSON files under ``examples/<schema>/<name>.json`` so
any test suite, in any language, can reuse them: each file must be valid
against the schema named by its directory. ``examples/invalid.json`` lists
targeted invalid cases as small edits of a valid example (``set`` a JSON
pointer to a value, ``delete`` pointers) with the JSON path the violation must
be reported at and a fragment of the reason.

Other Python suites can import this module after putting this directory on
``sys.path`` (see ``conftest.py``), or simply read the JSON files.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
INVALID_FILE = EXAMPLES_DIR / "invalid.json"


def load_example(ref: str) -> Any:
    """A fresh copy of one example, by ``"<schema>/<name>"`` (``.json`` optional)."""
    path = EXAMPLES_DIR / (ref if ref.endswith(".json") else f"{ref}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def valid_examples(schema: str | None = None) -> list[tuple[str, str, Any]]:
    """``(schema, name, instance)`` for every valid example, sorted; one schema's only if given."""
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*/*.json")):
        if schema is None or path.parent.name == schema:
            found.append(
                (path.parent.name, path.stem, json.loads(path.read_text(encoding="utf-8")))
            )
    return found


def _split(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _step(container: Any, part: str) -> Any:
    return container[int(part)] if isinstance(container, list) else container[part]


def set_pointer(document: Any, pointer: str, value: Any) -> None:
    """Set (or add) the value at a JSON pointer, in place."""
    *parents, last = _split(pointer)
    target = document
    for part in parents:
        target = _step(target, part)
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def delete_pointer(document: Any, pointer: str) -> None:
    """Remove the value at a JSON pointer, in place."""
    *parents, last = _split(pointer)
    target = document
    for part in parents:
        target = _step(target, part)
    del target[int(last) if isinstance(target, list) else last]


@dataclass(frozen=True)
class InvalidCase:
    """An instance that must fail ``schema``, reported at ``path`` with ``reason`` in the message."""

    name: str
    schema: str
    instance: Any
    path: str
    reason: str


def invalid_cases() -> list[InvalidCase]:
    """The cases of ``examples/invalid.json``, each built from a fresh copy of its base example."""
    cases = []
    for spec in json.loads(INVALID_FILE.read_text(encoding="utf-8")):
        instance = copy.deepcopy(load_example(spec["base"]))
        for pointer, value in spec.get("set", {}).items():
            set_pointer(instance, pointer, value)
        for pointer in spec.get("delete", []):
            delete_pointer(instance, pointer)
        cases.append(
            InvalidCase(spec["name"], spec["schema"], instance, spec["path"], spec["reason"])
        )
    return cases
