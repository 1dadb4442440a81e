"""Replay reads a record line's keys by position; that must agree with parsing it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.core import build_core
from lockstep.core.canonical import canonical_json
from lockstep.runtime.replay import line_keys
from testkit import SETUP, T0, batch, streams

TRAPS = ["hash", "prev_hash", "origin", "seq_id", "input", "transitions"]
"""Top-level record keys an echoed intent may also carry, to mislead a text search."""

trap_values = st.one_of(
    st.sampled_from(['x","seq_id":9,"transitions":[', "0" * 64, "input"]),
    st.integers(),
)
trap_intents = st.builds(
    lambda traps, kind: {**traps, "type": kind},
    st.dictionaries(st.sampled_from(TRAPS), trap_values, min_size=1),
    st.sampled_from(["place_order", "cancel_order", "no_op", "input"]),
)


def _keys(record: dict[str, Any]) -> tuple[int, str, str, str, str]:
    return (record["seq_id"], record["origin"], "", record["hash"], record["prev_hash"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(max_items=20), st.lists(trap_intents, min_size=1, max_size=3))
def test_line_keys_match_the_parsed_record(items: list[dict[str, Any]], traps: list[Any]) -> None:
    core = build_core(SETUP, backend="python")
    records = core.step_block([batch(T0 - 1, *traps, batch_id="trap"), *items]).records()
    assert records[0]["input"]["intents"] == traps  # echoed raw into the hashed record
    for record in records:
        line = canonical_json(record).decode()
        assert line_keys(line) == _keys(json.loads(line))
