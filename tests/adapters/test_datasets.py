"""The bundled data sets: registry, regeneration byte for byte, setups built for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lockstep.adapters import DatasetError, list_datasets, load_dataset, merge_feeds, setup_for
from lockstep.adapters.data import BUNDLED_ROOT, dataset_path
from lockstep.adapters.data.generate import DEFAULT_SEED, UsEastern, generate
from lockstep.core import CoreSetup, SetupError


def test_registry_lists_the_bundled_sets() -> None:
    assert list_datasets() == ["daily", "minute"]
    assert dataset_path("daily") == BUNDLED_ROOT / "daily"
    with pytest.raises(
        DatasetError, match="no bundled data set named 'hourly'; available: daily, minute"
    ):
        dataset_path("hourly")


def test_bundled_files_are_small() -> None:
    total = sum(p.stat().st_size for p in BUNDLED_ROOT.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize(("name", "rows"), [("daily", 500), ("minute", 780)])
def test_bundled_sets_read_cleanly(name: str, rows: int) -> None:
    ds = load_dataset(name)
    assert [i.id for i in ds.instruments] == ["ACME", "BOLT", "ZETA"]
    assert ds.row_counts() == dict.fromkeys(["ACME", "BOLT", "ZETA"], rows)
    feeds = ds.feeds()
    items = list(merge_feeds(feeds))
    assert len(items) == rows  # same timestamps for all three: one group per bar time
    assert all(i["kind"] == "event_group" and len(i["events"]) == 3 for i in items)
    assert all(f.skip_report.total == 0 for f in feeds)
    assert len(ds.digest()) == 64


def test_instrument_metadata() -> None:
    ds = load_dataset("daily")
    by_id = {i.id: i for i in ds.instruments}
    assert ds.currencies == (("USD", 4),)
    assert (by_id["BOLT"].tick_size, by_id["BOLT"].lot_size) == (5, 10)
    assert (by_id["ZETA"].price_precision, by_id["ZETA"].size_precision) == (1, 3)
    assert all(i.quote_currency == "USD" and i.venue == "sim" for i in ds.instruments)
    assert "synthetic" in ds.descriptions["ACME"]


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    written = generate(tmp_path, DEFAULT_SEED)
    assert written, "generator wrote nothing"
    bundled = sorted(p.relative_to(BUNDLED_ROOT) for p in BUNDLED_ROOT.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path) for p in written)
    assert fresh == bundled
    for rel in bundled:
        assert (tmp_path / rel).read_bytes() == (BUNDLED_ROOT / rel).read_bytes(), rel


def test_generator_command_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lockstep.adapters.data.generate",
            "--out",
            str(tmp_path),
            "--seed",
            "7",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "daily/ACME.csv" in out.stdout.replace("\\", "/")
    manifest = json.loads((tmp_path / "daily" / "dataset.json").read_text())
    assert manifest["generator"]["seed"] == 7
    other_seed = (tmp_path / "daily" / "ACME.csv").read_bytes()
    assert other_seed != (BUNDLED_ROOT / "daily" / "ACME.csv").read_bytes()


def test_no_float_looking_prices_in_bundled_files() -> None:
    for path in BUNDLED_ROOT.rglob("*.csv"):
        for line in path.read_text().splitlines()[1:]:
            assert "e" not in line.split(",", 1)[1].lower(), (path, line)


def test_us_eastern_rule() -> None:
    from datetime import datetime

    tz = UsEastern()
    assert datetime(2024, 3, 8, 16, tzinfo=tz).utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]
    assert datetime(2024, 3, 11, 16, tzinfo=tz).utcoffset().total_seconds() == -4 * 3600  # type: ignore[union-attr]
    assert datetime(2023, 11, 6, 16, tzinfo=tz).utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]


def test_setup_for_builds_a_valid_setup() -> None:
    setup = setup_for("daily", cash="2500.5", fee_ppm=100, participation_bps=500)
    parsed = CoreSetup.from_dict(setup)
    assert parsed.starting_cash == {"USD": 25_005_000}
    venue = parsed.venues["sim"]
    assert venue.simulated and venue.fee_ppm == 100 and venue.participation_bps == 500
    assert set(parsed.instruments) == {"ACME", "BOLT", "ZETA"}
    assert setup_for(load_dataset("daily"), cash=100)["starting_cash"] == {"USD": 1_000_000}


@pytest.mark.parametrize("cash", ["1.00001", "lots", 1.5])
def test_setup_for_refuses_inexact_cash(cash: object) -> None:
    with pytest.raises(SetupError, match="starting_cash"):
        setup_for("daily", cash=cash)  # type: ignore[arg-type]


def test_load_dataset_by_path_and_errors(tmp_path: Path) -> None:
    assert load_dataset(BUNDLED_ROOT / "minute").name == "minute"
    assert load_dataset(BUNDLED_ROOT / "minute" / "dataset.json").name == "minute"
    with pytest.raises(DatasetError, match="neither a bundled data set"):
        load_dataset(str(tmp_path / "missing"))
    with pytest.raises(DatasetError, match=r"no dataset\.json"):
        load_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="invalid JSON"):
        load_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text(
        json.dumps({"currencies": [], "instruments": [{"id": "X"}]})
    )
    with pytest.raises(DatasetError, match="bad manifest: missing field 'venue'"):
        load_dataset(tmp_path)
