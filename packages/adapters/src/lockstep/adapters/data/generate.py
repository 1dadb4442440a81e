"""Generate the bundled synthetic data sets, deterministically.

    python -m lockstep.adapters.data.generate [--out DIR] [--seed N]

Writes ``DIR/daily`` (500 weekdays of daily bars from 2023-01-02, stamped at the
16:00 New York close as ISO-8601 with offset) and ``DIR/minute`` (two sessions,
2024-03-07 and 2024-03-08, of 1-minute bars 09:31-16:00 New York, stamped in
epoch milliseconds), three instruments each, plus a ``dataset.json`` manifest
per set. ``DIR`` defaults to the package's own ``bundled`` directory.

Determinism: one ``random.Random(seed * 100 + k)`` per (set, instrument), using
only ``randrange`` (stable across Python versions), and integer arithmetic on
fixed-point prices; no floats touch a written number. The New York UTC offset
comes from the US daylight-saving rule coded below, not from the host's tz
database, so the bytes do not depend on the machine. The test suite
regenerates into a temporary directory and compares byte for byte.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from lockstep.adapters.events import MarketEvent, bar_event
from lockstep.adapters.feeds.barfile import BarColumns
from lockstep.adapters.feeds.csv import write_bar_csv
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat

DEFAULT_SEED = 20240601
VENUE = "sim"
CURRENCY = {"code": "USD", "money_precision": 4}
NS = 1_000_000_000
SUB = 1000
"""Sub-units per price unit inside the walk."""


@dataclass(frozen=True, slots=True)
class _Profile:
    """How one synthetic instrument moves: start price, volatility (bps per bar), volume range."""

    spec: InstrumentSpec
    description: str
    start: int
    vol_bps: int
    volume_lo: int
    volume_hi: int


PROFILES = (
    _Profile(
        InstrumentSpec("ACME", VENUE, "USD", 2, 0, tick_size=1, lot_size=1),
        "Acme Industrial (synthetic): $0.01 tick, whole shares",
        start=10_000,
        vol_bps=140,
        volume_lo=200_000,
        volume_hi=2_000_000,
    ),
    _Profile(
        InstrumentSpec("BOLT", VENUE, "USD", 2, 0, tick_size=5, lot_size=10),
        "Bolt Energy (synthetic): $0.05 tick, lots of 10 shares",
        start=4_000,
        vol_bps=220,
        volume_lo=100_000,
        volume_hi=1_500_000,
    ),
    _Profile(
        InstrumentSpec("ZETA", VENUE, "USD", 1, 3, tick_size=5, lot_size=1),
        "Zeta Coin (synthetic): $0.5 tick, sizes to 0.001",
        start=25_000,
        vol_bps=300,
        volume_lo=50_000,
        volume_hi=900_000,
    ),
)


class UsEastern(tzinfo):
    """America/New_York under the post-2007 US rule, for the years this generator writes.

    DST runs from 02:00 on the second Sunday of March to 02:00 on the first
    Sunday of November. Coded here so the output never depends on a tz database.
    """

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=-5) + self.dst(dt)

    def dst(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(0)
        start = _nth_sunday(dt.year, 3, 2)
        end = _nth_sunday(dt.year, 11, 1)
        wall = dt.replace(tzinfo=None)
        in_dst = datetime(dt.year, 3, start, 2) <= wall < datetime(dt.year, 11, end, 2)
        return timedelta(hours=1) if in_dst else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "EDT" if self.dst(dt) else "EST"


def _nth_sunday(year: int, month: int, n: int) -> int:
    first = date(year, month, 1)
    first_sunday = 1 + (6 - first.weekday()) % 7
    return first_sunday + 7 * (n - 1)


def _ns(day: date, hour: int, minute: int, tz: tzinfo) -> int:
    """Nanoseconds since the epoch of a New York wall time, with integer arithmetic."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    offset = local.utcoffset()
    assert offset is not None
    seconds = (day.toordinal() - date(1970, 1, 1).toordinal()) * 86_400 + hour * 3600 + minute * 60
    return (seconds - (offset.days * 86_400 + offset.seconds)) * NS


def _weekdays(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _walk(
    profile: _Profile, rng: random.Random, times: Sequence[int], scale: int
) -> Iterator[MarketEvent]:
    """A regime-switching random walk; ``scale`` divides the volatility and volume.

    The walk keeps its level in thousandths of a price unit so that moves
    smaller than a tick accumulate instead of vanishing; only the written
    prices are snapped (half up) to the tick grid.
    """
    spec = profile.spec
    tick = spec.tick_size
    vol = max(2, profile.vol_bps // scale)
    level = profile.start * SUB
    drift = 0
    regime_left = 0
    for t in times:
        if regime_left == 0:
            regime_left = rng.randrange(30, 90)
            drift = rng.randrange(-vol // 8, vol // 6 + 1)
        regime_left -= 1
        gap = rng.randrange(-vol // 4, vol // 4 + 1)
        open_level = level + level * gap // 10_000
        noise = sum(rng.randrange(-vol, vol + 1) for _ in range(3)) // 2
        level = max(10 * tick * SUB, open_level + open_level * (drift + noise) // 10_000)
        open_, close = _snap(open_level, tick), _snap(level, tick)
        reach = max(1, open_ * vol // 10_000 // tick // 2)
        high = max(open_, close) + tick * rng.randrange(0, reach + 1)
        low = max(tick, min(open_, close) - tick * rng.randrange(0, reach + 1))
        volume = rng.randrange(profile.volume_lo, profile.volume_hi) // scale
        volume -= volume % spec.lot_size
        yield bar_event(t, spec.venue, spec.id, open_, high, low, close, volume)


def _snap(level: int, tick: int) -> int:
    """A sub-unit level to the nearest tick (half up), never below ten ticks."""
    return max(10 * tick, (level + SUB * tick // 2) // (SUB * tick) * tick)


@dataclass(frozen=True, slots=True)
class _SetSpec:
    name: str
    description: str
    bar_interval: str
    time_format: TimeFormat
    scale: int
    seed_offset: int


SETS = (
    _SetSpec(
        "daily",
        "500 weekdays of synthetic daily bars for ACME, BOLT and ZETA (2023-01-02 onwards), "
        "stamped at the 16:00 New York close",
        "1d",
        "iso",
        1,
        0,
    ),
    _SetSpec(
        "minute",
        "two sessions (2024-03-07 and 2024-03-08) of synthetic 1-minute bars for ACME, BOLT "
        "and ZETA, 09:31-16:00 New York, stamped at each bar's close",
        "1m",
        "epoch_ms",
        20,
        50,
    ),
)


def _times(name: str, tz: tzinfo) -> list[int]:
    if name == "daily":
        return [_ns(day, 16, 0, tz) for day in _weekdays(date(2023, 1, 2), 500)]
    times: list[int] = []
    for day in (date(2024, 3, 7), date(2024, 3, 8)):
        open_ns = _ns(day, 9, 30, tz)
        times.extend(open_ns + minute * 60 * NS for minute in range(1, 391))
    return times


def generate(out: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every bundled set under ``out``; returns the files written, in order."""
    tz = UsEastern()
    written: list[Path] = []
    columns = BarColumns()
    for spec in SETS:
        directory = out / spec.name
        directory.mkdir(parents=True, exist_ok=True)
        times = _times(spec.name, tz)
        instruments = []
        for k, profile in enumerate(PROFILES):
            rng = random.Random(seed * 100 + spec.seed_offset + k)
            path = directory / f"{profile.spec.id}.csv"
            write_bar_csv(
                path,
                profile.spec,
                _walk(profile, rng, times, spec.scale),
                columns=columns,
                time_format=spec.time_format,
                tz=tz if spec.time_format == "iso" else None,
            )
            written.append(path)
            instruments.append(
                {**profile.spec.to_setup(), "description": profile.description, "file": path.name}
            )
        manifest = {
            "name": spec.name,
            "description": spec.description,
            "bar_interval": spec.bar_interval,
            "generator": {"module": "lockstep.adapters.data.generate", "seed": seed},
            "currencies": [CURRENCY],
            "instruments": instruments,
            "csv": {
                "columns": columns.mapping(),
                "time_format": spec.time_format,
                "tz": None,
            },
        }
        path = directory / "dataset.json"
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lockstep.adapters.data.generate",
        description="Regenerate the bundled synthetic data sets (deterministic for a given seed).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "bundled",
        help="output directory (default: the package's bundled data)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for path in generate(args.out, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
