"""Load the Lockstep JSON Schemas and validate instances against them.

The schemas in ``data/schemas/*.schema.json`` are the normative shapes of everything
that crosses the core's boundary (setup, input items, trace records, state).
This module is the one place that turns them into validators, so every caller
gets the same semantics:

* ``$ref``\\s resolve only through :func:`registry`, which holds the bundled
  schemas and nothing else. No reference is ever fetched over the network.
* ``format`` is an annotation only (no format checking), so validity never
  depends on which optional format libraries are installed.
* ``integer`` means a JSON integer *literal*. Draft 2020-12 would accept ``1.0``
  as an integer, but the core never handles floats and a native core parsing
  ``1.0`` would see a float, so such values are rejected.
* ``pattern`` follows ECMA-262 as the specification requires: ``$`` matches
  only at the very end of the string. Python's ``re`` would also let ``$``
  match before a trailing newline, so ``"abc\\n"`` would pass as an identifier
  here and fail in another implementation.

Errors are reported as :class:`ContractViolation`, a :class:`ValueError` whose
message names the schema, the JSON path of the offending field and the reason.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any, Final, cast

import jsonschema.exceptions
import jsonschema.protocols
import jsonschema.validators
from jsonschema import Draft202012Validator, TypeChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "SCHEMA_BASE_URI",
    "SCHEMA_NAMES",
    "ContractViolation",
    "iter_errors",
    "load_schema",
    "registry",
    "schema_id",
    "validate",
    "validator",
]

SCHEMA_BASE_URI: Final = "https://lockstep.dev/schemas/"
"""Prefix of every schema ``$id``; the full id is ``<base><kebab-name>/v<N>.json``."""

SCHEMA_NAMES: Final[tuple[str, ...]] = (
    "common",
    "setup",
    "envelope",
    "intent",
    "intent_batch",
    "event_group",
    "input_item",
    "trace_record",
    "state",
    "order_transitions",
    "signals",
)
"""Names accepted by the functions of this module (file ``data/schemas/<name>.schema.json``)."""

_SCHEMA_VERSION: Final = 1
_PACKAGE: Final = "lockstep.contracts"


class ContractViolation(ValueError):
    """An instance does not satisfy a Lockstep schema.

    It is a :class:`ValueError` so callers that only care about "bad input"
    can catch one familiar type; the attributes let tools such as the core's
    CLI print "file, line, field" without parsing the message.

    Attributes:
        schema: the schema name (one of :data:`SCHEMA_NAMES`).
        path: JSON path of the offending field, e.g. ``$.payload.qty``. For a
            missing required property or a single unexpected property it
            points at that property, since that is the field to fix.
        location: the same path as a tuple of keys and indices.
        reason: the validator's explanation.
        keyword: the JSON Schema keyword that failed (``type``, ``minimum``...).
    """

    def __init__(
        self,
        schema: str,
        path: str,
        reason: str,
        *,
        location: tuple[str | int, ...] = (),
        keyword: str | None = None,
    ) -> None:
        super().__init__(f"{schema}: {path}: {reason}")
        self.schema = schema
        self.path = path
        self.location = location
        self.reason = reason
        self.keyword = keyword


def _normalize(name: str) -> str:
    """Accept ``intent_batch``, ``intent-batch`` or ``intent_batch.schema.json``."""
    base = name.removesuffix(".schema.json").replace("-", "_")
    if base not in SCHEMA_NAMES:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    return base


def schema_id(name: str) -> str:
    """The ``$id`` a schema must carry. Kebab case matches the id the transition table already cites."""
    base = _normalize(name)
    return f"{SCHEMA_BASE_URI}{base.replace('_', '-')}/v{_SCHEMA_VERSION}.json"


@functools.cache
def _schema_text(name: str) -> str:
    return (resources.files(_PACKAGE) / "data" / "schemas" / f"{name}.schema.json").read_text(
        encoding="utf-8"
    )


def load_schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of a bundled schema, so callers may mutate it without affecting validators."""
    base = _normalize(name)
    loaded = json.loads(_schema_text(base))
    if not isinstance(loaded, dict):
        raise TypeError(f"schema {base!r} is not a JSON object")
    return loaded


@functools.cache
def registry() -> Registry[Any]:
    """All bundled schemas, keyed by ``$id``; the only place ``$ref`` can resolve to.

    The registry has no ``retrieve`` hook, so an unknown reference raises
    instead of reaching for the network.
    """
    resources_: list[tuple[str, Resource[Any]]] = []
    for name in SCHEMA_NAMES:
        contents = load_schema(name)
        declared = contents.get("$id")
        if declared != schema_id(name):
            raise RuntimeError(
                f"schema {name!r} declares $id {declared!r}, expected {schema_id(name)!r}"
            )
        # Drop `$schema` from the registered copy: jsonschema picks the validator
        # class of a referenced schema from its `$schema`, which would swap our
        # strict-integer validator for the stock one behind every `$ref`.
        body = {key: value for key, value in contents.items() if key != "$schema"}
        resources_.append((declared, DRAFT202012.create_resource(body)))
    return Registry().with_resources(resources_).crawl()


def _is_json_integer(checker: TypeChecker, instance: object) -> bool:
    # bool is an int subclass in Python but a distinct JSON type.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _to_python_regex(pattern: str) -> str:
    r"""Translate ECMA-262 ``$`` (end of input) into Python's ``\Z``.

    Only unescaped ``$`` outside character classes is rewritten; everything
    else in the bundled patterns means the same in both dialects.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
        elif ch == "$":
            out.append(r"\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_to_python_regex(pattern))


def _ecma_pattern(
    validator: jsonschema.protocols.Validator,
    pattern: str,
    instance: object,
    schema: Mapping[str, Any],
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and _compiled(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# `extend` is untyped in the stubs; the result is a validator class like Draft202012Validator.
_LockstepValidator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={"pattern": _ecma_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_json_integer),
)


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    built: jsonschema.protocols.Validator = _LockstepValidator(
        schema, registry=registry(), format_checker=None
    )
    return built


def validator(name: str) -> jsonschema.protocols.Validator:
    """A cached Draft 2020-12 validator for one schema, with Lockstep's semantics (see module docs)."""
    return _validator(_normalize(name))


def _location(error: ValidationError) -> tuple[str | int, ...]:
    """Path of the field to fix: the error's path, extended to a missing or unexpected property."""
    location: tuple[str | int, ...] = tuple(error.absolute_path)
    instance = error.instance
    required = error.validator_value
    if error.validator == "required" and isinstance(instance, dict) and isinstance(required, list):
        for prop in required:
            if prop not in instance and error.message == f"{prop!r} is a required property":
                return (*location, prop)
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        declared = error.schema.get("properties", {})
        extras = [key for key in instance if key not in declared]
        if len(extras) == 1:
            return (*location, extras[0])
    return location


def _json_path(location: Iterable[str | int]) -> str:
    parts = ["$"]
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item):
            parts.append(f".{item}")
        else:
            parts.append(f"[{json.dumps(item)}]")
    return "".join(parts)


def _violation(name: str, error: ValidationError) -> ContractViolation:
    location = _location(error)
    keyword = error.validator if isinstance(error.validator, str) else None
    return ContractViolation(
        name, _json_path(location), error.message, location=location, keyword=keyword
    )


def validate(name: str, instance: object) -> None:
    """Raise :class:`ContractViolation` for the most relevant error, if any.

    "Most relevant" is :func:`jsonschema.exceptions.best_match`: the error
    highest up in the instance, descending into the variant that was meant.
    """
    base = _normalize(name)
    best = jsonschema.exceptions.best_match(_validator(base).iter_errors(cast(Any, instance)))
    if best is not None:
        raise _violation(base, best)


def iter_errors(name: str, instance: object) -> list[ContractViolation]:
    """Every violation, sorted by path then reason so the list is stable across runs."""
    base = _normalize(name)
    found = [_violation(base, error) for error in _validator(base).iter_errors(cast(Any, instance))]
    found.sort(key=lambda v: (v.path, v.reason))
    return found
