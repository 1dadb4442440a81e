"""Find data sets by name (bundled) or path, and build a core setup for them.

A data set is a directory with a ``dataset.json`` manifest and one CSV file of
bars per instrument. The manifest declares everything the core needs to know
about the instruments (precisions, tick and lot size, quote currency) and how
the CSV files are laid out, so ``lockstep backtest --data DIR`` works on any
directory that follows the same format (see ``docs/guides/data.md``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lockstep.adapters.errors import DatasetError
from lockstep.adapters.feeds.barfile import BarColumns
from lockstep.adapters.feeds.base import Feed
from lockstep.adapters.feeds.csv import CsvBarFeed
from lockstep.adapters.instruments import InstrumentSpec
from lockstep.adapters.timestamps import TimeFormat, check_format
from lockstep.core import CoreSetup, FixedPointError, SetupError, to_fixed
from lockstep.core.fixedpoint import MONEY_MAX, MONEY_MIN

BUNDLED_ROOT = Path(__file__).resolve().parent / "bundled"
MANIFEST = "dataset.json"
ALL_ORDER_TYPES = ["limit", "market", "stop", "stop_limit"]
ALL_TIME_IN_FORCE = ["DAY", "FOK", "GTC", "IOC"]


@dataclass(frozen=True, slots=True)
class Dataset:
    """A loaded manifest: instruments, their files and the CSV layout."""

    name: str
    path: Path
    description: str
    bar_interval: str
    currencies: tuple[tuple[str, int], ...]
    instruments: tuple[InstrumentSpec, ...]
    files: Mapping[str, Path]
    descriptions: Mapping[str, str]
    columns: BarColumns
    time_format: TimeFormat
    tz: str | None

    def feeds(self, *, skip_policy: str = "fail") -> list[Feed]:
        """One CSV feed per instrument, in manifest order (which fixes producer indexes)."""
        return [
            CsvBarFeed(
                self.files[inst.id],
                inst,
                columns=self.columns,
                time_format=self.time_format,
                tz=self.tz,
                skip_policy=skip_policy,
            )
            for inst in self.instruments
        ]

    def digest(self) -> str:
        return data_digest(self.feeds())

    def row_counts(self) -> dict[str, int]:
        """Data rows per instrument (lines after the header), without parsing them."""
        counts = {}
        for inst in self.instruments:
            with self.files[inst.id].open("rb") as handle:
                counts[inst.id] = max(0, sum(1 for line in handle if line.strip()) - 1)
        return counts


def data_digest(feeds: Sequence[Feed]) -> str:
    """sha256 over the feeds' fingerprints, in order: same data, same digest, on any machine."""
    return digest_of_fingerprints([f.fingerprint() for f in feeds])


def digest_of_fingerprints(fingerprints: Sequence[str]) -> str:
    """:func:`data_digest` from fingerprints already taken (taking one hashes a whole file)."""
    return hashlib.sha256("\n".join(fingerprints).encode()).hexdigest()


def list_datasets() -> list[str]:
    """Names of the bundled data sets, sorted."""
    if not BUNDLED_ROOT.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_ROOT.iterdir() if (p / MANIFEST).is_file())


def dataset_path(name: str) -> Path:
    """Directory of the bundled data set ``name``."""
    path = BUNDLED_ROOT / name
    if name not in list_datasets():
        raise DatasetError(
            f"no bundled data set named {name!r}; available: {', '.join(list_datasets()) or 'none'}"
        )
    return path


def load_dataset(name_or_path: str | Path) -> Dataset:
    """A bundled data set by name, or a directory (or its ``dataset.json``) by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in list_datasets():
        directory = dataset_path(text)
    else:
        candidate = Path(name_or_path)
        if candidate.is_file() and candidate.name == MANIFEST:
            directory = candidate.parent
        elif candidate.is_dir() and (candidate / MANIFEST).is_file():
            directory = candidate
        elif candidate.is_dir():
            raise DatasetError(f"directory has no {MANIFEST} manifest", source=str(candidate))
        else:
            raise DatasetError(
                f"{text!r} is neither a bundled data set ({', '.join(list_datasets())}) "
                f"nor a directory with a {MANIFEST}"
            )
    return _parse_manifest(directory)


def _parse_manifest(directory: Path) -> Dataset:
    path = directory / MANIFEST
    source = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(
            f"invalid JSON at line {err.lineno} ({err.msg})", source=source
        ) from None
    try:
        return _dataset(raw, directory)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, DatasetError):
            raise
        detail = f"missing field {err}" if isinstance(err, KeyError) else str(err)
        raise DatasetError(f"bad manifest: {detail}", source=source) from None


def _dataset(raw: Mapping[str, Any], directory: Path) -> Dataset:
    instruments = []
    files = {}
    descriptions = {}
    for entry in raw["instruments"]:
        spec = InstrumentSpec.from_setup(entry)
        instruments.append(spec)
        files[spec.id] = directory / entry.get("file", f"{spec.id}.csv")
        descriptions[spec.id] = entry.get("description", "")
        if not files[spec.id].is_file():
            raise DatasetError(
                f"instrument {spec.id}: data file {files[spec.id].name} does not exist",
                source=str(directory / MANIFEST),
            )
    csv_options = raw.get("csv", {})
    columns = BarColumns(**csv_options.get("columns", {}))
    return Dataset(
        name=raw.get("name", directory.name),
        path=directory,
        description=raw.get("description", ""),
        bar_interval=raw.get("bar_interval", ""),
        currencies=tuple((c["code"], c["money_precision"]) for c in raw["currencies"]),
        instruments=tuple(instruments),
        files=files,
        descriptions=descriptions,
        columns=columns,
        time_format=check_format(csv_options.get("time_format", "iso")),
        tz=csv_options.get("tz"),
    )


def check_starting_cash(cash: str | int | Decimal) -> Decimal:
    """``cash`` as a decimal if it is an amount above zero; else :class:`ValueError`.

    The core itself accepts any starting balance, none at all being the setup
    schema's default, so the rule lives here, where backtest setups are made:
    returns, CAGR and drawdowns are measured against the starting equity, and
    from zero or a debt the summary would print a 0 % return that looks like
    a verdict on the strategy. The reason
    reads after the name of where the value came from (``--cash``, a config
    key, ``the cash argument``).
    """
    try:
        amount = Decimal(str(cash).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"must be an amount of money above 0, got {str(cash)!r}")
    return amount


def setup_for(
    dataset: Dataset | str | Path,
    *,
    cash: str | int | Decimal = "100000",
    fee_ppm: int = 0,
    participation_bps: int | None = None,
    risk: Mapping[str, Any] | None = None,
    timers: Sequence[Mapping[str, Any]] = (),
    invariant_mode: str = "strict",
) -> dict[str, Any]:
    """A valid core setup for ``dataset`` with a simulated venue per venue it names.

    ``cash`` is an amount in currency units (``"100000"`` or ``100000`` is one
    hundred thousand dollars, not money units) given to every currency of the
    data set; it is converted exactly or refused, and so is an amount that is
    not above zero (:func:`check_starting_cash`). Raises :class:`SetupError`.
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if isinstance(cash, float):
        raise SetupError("$.starting_cash", "give cash as a decimal string or int, not a float")
    try:
        check_starting_cash(cash)
    except ValueError as err:
        raise SetupError("$.starting_cash", f"the cash argument {err}") from None
    starting: dict[str, int] = {}
    for code, precision in ds.currencies:
        try:
            starting[code] = to_fixed(str(cash), precision, lo=MONEY_MIN, hi=MONEY_MAX)
        except FixedPointError as err:
            raise SetupError(f"$.starting_cash.{code}", err.reason) from None
    venues = sorted({inst.venue for inst in ds.instruments})
    setup: dict[str, Any] = {
        "currencies": [{"code": c, "money_precision": p} for c, p in ds.currencies],
        "venues": [
            {
                "name": venue,
                "simulated": True,
                "order_types": ALL_ORDER_TYPES,
                "time_in_force": ALL_TIME_IN_FORCE,
                "supports_replace": True,
                "fee_ppm": fee_ppm,
                "participation_bps": participation_bps,
            }
            for venue in venues
        ],
        "instruments": [inst.to_setup() for inst in ds.instruments],
        "starting_cash": starting,
        "risk": dict(risk) if risk else {"max_position": {}, "max_order_notional": {}},
        "invariant_mode": invariant_mode,
        "timers": [dict(t) for t in timers],
    }
    CoreSetup.from_dict(setup)  # refuse here, with the setup's own path, not later in the run
    return setup
