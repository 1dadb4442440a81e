"""The tally's text path (verify's) gives exactly what the parsed path (the backtest's) gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockstep.adapters import load_dataset, setup_for
from lockstep.runtime import run_backtest
from lockstep.runtime.builtin.sma_cross import SmaCross
from lockstep.runtime.store import RunStore
from lockstep.runtime.tally import Tally, _quiet_bar, is_quiet_line


@pytest.fixture(scope="module", params=["daily", "minute"])
def stored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = str(request.param)
    path = tmp_path_factory.mktemp(f"tally-{data}") / "run.db"
    setup = setup_for(load_dataset(data), cash="50000", fee_ppm=250)
    run_backtest(SmaCross(fast=3, slow=8), data, setup, store=path)
    return path


def _texts(path: Path) -> tuple[dict[str, object], list[str]]:
    with RunStore.open(path) as store:
        return store.meta(), list(store.record_texts())


def test_quiet_bar_reads_exactly_the_records_it_may(stored: Path) -> None:
    _, texts = _texts(stored)
    quiet = 0
    for text in texts:
        record = json.loads(text)
        item = record["input"]
        is_quiet = (
            _calm(record)
            and item["kind"] == "event"
            and item["source"] == "market_data"
            and item["event_type"] == "bar"
        )
        read = _quiet_bar(text)
        if not is_quiet:
            assert read is None, text
            continue
        quiet += 1
        assert read == (
            item["event_time"],
            item["instrument"],
            item["payload"]["close"],
            record["seq_id"],
            record["hash"],
        )
    assert 0 < quiet < len(texts)  # both paths are exercised


def test_text_and_parsed_tallies_agree(stored: Path) -> None:
    meta, texts = _texts(stored)
    setup = meta["setup"]
    assert isinstance(setup, dict)
    by_text, parsed = Tally(setup), Tally(setup)
    for text in texts:
        by_text.add_text(text)
        parsed.add(json.loads(text))
    assert by_text.ledger.last_hash == parsed.ledger.last_hash
    assert by_text.finish().to_results(0) == parsed.finish().to_results(0)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace('"fills":[]', '"fills":[{}]'),
        lambda t: t.replace('"event_type":"bar"', '"event_type":"trade"'),
        lambda t: t.replace('"source":"market_data"', '"source":"timer"'),
        lambda t: t.replace('"origin":"input"', '"origin":"generated"'),
        lambda t: t[:-1],
    ],
    ids=["effects", "not a bar", "not market data", "generated", "cut"],
)
def test_quiet_bar_refuses_other_shapes(stored: Path, edit: object) -> None:
    _, texts = _texts(stored)
    text = next(t for t in texts if _quiet_bar(t) is not None)
    assert callable(edit)
    assert _quiet_bar(edit(text)) is None


def test_is_quiet_line_says_no_effects_exactly_where_the_record_has_none(stored: Path) -> None:
    """The backtest's quiet-bar guard: true for every record without effects or diagnostics
    from an input, false for every other record of a real run and for bent lines."""
    _, texts = _texts(stored)
    quiet = 0
    for text in texts:
        record = json.loads(text)
        calm = _calm(record)
        assert is_quiet_line(text) == calm, text
        quiet += calm
    assert 0 < quiet < len(texts)
    line = next(t for t in texts if is_quiet_line(t))
    for bent in (
        line.replace('"diagnostics":[]', '"diagnostics":[{"code":"DUPLICATE"}]'),
        line.replace('"origin":"input"', '"origin":"generated"'),
        line.replace('"transitions":[]', '"transitions":[{}]'),
        line[:-1],
    ):
        assert not is_quiet_line(bent)


def _calm(record: dict[str, object]) -> bool:
    """An input's record with no effects and no diagnostics (read from the dict)."""
    effects = ("cash_deltas", "diagnostics", "fills", "intent_outcomes")
    return record["origin"] == "input" and not any(
        record[k] for k in (*effects, "position_deltas", "transitions")
    )
