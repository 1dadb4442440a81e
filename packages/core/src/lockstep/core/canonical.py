"""Canonical JSON bytes and hashes.

Hashes chain trace records and fingerprint state, so the bytes must be the same
in every implementation: sorted keys, no whitespace, UTF-8, integers only. See
``docs/reference/canonical_json.md`` for the exact rules.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes; floats are refused."""
    _reject_floats(value)
    return _encoder.encode(value).encode("utf-8")


def canonical_json_unchecked(value: Any) -> bytes:
    """Encode values the core built itself (known to be float-free) without the scan."""
    return _encoder.encode(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lowercase hex sha256, the only digest the contracts use."""
    return hashlib.sha256(data).hexdigest()


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("canonical JSON carries integers only; got a float")
    if isinstance(value, dict):
        for item in value.values():
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)
