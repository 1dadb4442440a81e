"""A stored snapshot is checked by hashing its business bytes in place.

The split between the business and engine parts is found in the canonical
text, where ``,"engine":`` may also appear inside either part (an order or a
timer may be named ``engine``): whatever the names, a snapshot written by the
store passes, and a change to its business part, its frame, or the engine
part's place in the trace fails. The engine part's clock, marks and timers
are not checked (see the module's docstring).
"""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lockstep.core import canonical_json
from lockstep.runtime.snapshot_check import snapshot_problem

NAMES = st.sampled_from(["engine", "business", "a", "z", "o-1", "last_hash"]) | st.text(
    "abcdefgh_-:", min_size=1, max_size=6
)
HASH = "ab" * 32


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[int, dict[str, Any]]:
    seq = draw(st.integers(1, 10**9))
    order = st.fixed_dictionaries({"qty": st.integers(0, 10**6), "status": NAMES})
    business = {
        "cash": draw(st.dictionaries(NAMES, st.integers(-(10**12), 10**12), max_size=3)),
        "orders": draw(st.dictionaries(NAMES, order, max_size=4)),
        "seen_keys": draw(st.lists(NAMES, max_size=3)),
    }
    engine = {
        "clock": draw(st.integers(0, 10**18)),
        "last_hash": HASH,
        "last_seq_id": seq,
        "marks": draw(st.dictionaries(NAMES, st.integers(1, 10**9), max_size=3)),
        "timers": draw(st.dictionaries(NAMES, st.none() | st.integers(0, 10**9), max_size=3)),
    }
    return seq, {"business": business, "engine": engine}


def _state_hash(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(snapshot["business"])).hexdigest()


@given(snapshots())
def test_a_stored_snapshot_passes_whatever_its_orders_and_timers_are_named(
    case: tuple[int, dict[str, Any]],
) -> None:
    seq, snapshot = case
    text = canonical_json(snapshot)
    assert snapshot_problem(seq, text, _state_hash(snapshot), HASH) is None


@given(snapshots(), st.data())
def test_any_changed_byte_of_the_business_part_or_the_frame_is_refused(
    case: tuple[int, dict[str, Any]], data: st.DataObject
) -> None:
    """Up to and including the ``,"engine":`` key (the engine values are checked below)."""
    seq, snapshot = case
    text = bytearray(canonical_json(snapshot))
    frame = len(b'{"business":') + len(canonical_json(snapshot["business"])) + len(b',"engine":')
    at = data.draw(st.integers(0, frame - 1) | st.just(len(text) - 1))
    text[at] = data.draw(st.sampled_from([b for b in b'0123456789az{}[]:,"' if b != text[at]]))
    assert snapshot_problem(seq, bytes(text), _state_hash(snapshot), HASH) is not None


def test_the_engine_part_must_sit_at_the_checkpoint() -> None:
    snapshot = {"business": {"cash": {"USD": 5}}, "engine": {"last_seq_id": 7, "last_hash": HASH}}
    text, state_hash = canonical_json(snapshot), _state_hash(snapshot)
    assert snapshot_problem(7, text, state_hash, HASH) is None
    assert "engine part" in (snapshot_problem(8, text, state_hash, HASH) or "")
    assert "engine part" in (snapshot_problem(7, text, state_hash, None) or "")
    assert "does not hash" in (snapshot_problem(7, text, "0" * 64, HASH) or "")
    assert "not a canonical" in (snapshot_problem(7, b'{"engine":{}}', state_hash, HASH) or "")
