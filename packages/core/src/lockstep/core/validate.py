"""Small typed field readers used to validate JSON-shaped input by hand.

The core checks input itself rather than calling a JSON Schema validator per
item: it is on the hot path, and a native core must reproduce the same verdicts
without a schema engine. The tests check these readers agree with the schemas
in ``lockstep.contracts``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, NoReturn, TypeGuard

from lockstep.core.errors import InputError

IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:/\-]{1,64}$")
CURRENCY = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")


def is_identifier(value: object) -> TypeGuard[str]:
    """Whether ``value`` is an identifier string, as the schemas' pattern means it.

    ``fullmatch``, not ``match``: with ``match`` the ``$`` also accepts a
    trailing newline, which the schemas (ECMA-262 ``$``) and a native core
    refuse, so such an id would be taken in but could not be restored.
    """
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def is_currency(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a currency code (``fullmatch``, see :func:`is_identifier`)."""
    return isinstance(value, str) and CURRENCY.fullmatch(value) is not None


def fail(path: str, message: str) -> NoReturn:
    raise InputError(path, message)


def require_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        fail(path, f"expected an object, got {_kind(value)}")
    return value


def exact_keys(
    obj: Mapping[str, Any], path: str, required: Collection[str], optional: Collection[str] = ()
) -> None:
    """Refuse missing and unknown keys, naming the first offender in sorted order."""
    for key in sorted(required):
        if key not in obj:
            fail(f"{path}.{key}", "is required")
    allowed = set(required) | set(optional)
    for key in sorted(obj):
        if key not in allowed:
            fail(f"{path}.{key}", "is not an allowed field")


def integer(obj: Mapping[str, Any], key: str, path: str, lo: int, hi: int) -> int:
    value = _get(obj, key, path)
    if type(value) is not int:
        fail(f"{path}.{key}", f"expected an integer, got {_kind(value)}")
    if value < lo or value > hi:
        fail(f"{path}.{key}", f"{value} is outside {lo}..{hi}")
    return value


def optional_integer(obj: Mapping[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
    if obj.get(key) is None:
        return None
    return integer(obj, key, path, lo, hi)


def boolean(obj: Mapping[str, Any], key: str, path: str) -> bool:
    value = _get(obj, key, path)
    if type(value) is not bool:
        fail(f"{path}.{key}", f"expected true or false, got {_kind(value)}")
    return value


def string(obj: Mapping[str, Any], key: str, path: str, max_len: int = 200) -> str:
    value = _get(obj, key, path)
    if not isinstance(value, str):
        fail(f"{path}.{key}", f"expected a string, got {_kind(value)}")
    if len(value) > max_len:
        fail(f"{path}.{key}", f"is longer than {max_len} characters")
    return value


def identifier(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _get(obj, key, path)
    if not is_identifier(value):
        fail(
            f"{path}.{key}", f"expected an identifier matching {IDENTIFIER.pattern}, got {value!r}"
        )
    return value


def optional_identifier(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    if obj.get(key) is None:
        return None
    return identifier(obj, key, path)


def choice(obj: Mapping[str, Any], key: str, path: str, options: Collection[str]) -> str:
    value = _get(obj, key, path)
    if not isinstance(value, str) or value not in options:
        fail(f"{path}.{key}", f"expected one of {sorted(options)}, got {value!r}")
    return value


def _get(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        fail(f"{path}.{key}", "is required")
    return obj[key]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a float (numbers are fixed-point integers)"
    return type(value).__name__
