"""Lockstep adapters: the edge between the outside world and the deterministic core.

Feeds read market data (CSV, in-memory; Parquet and pandas later), convert
decimal strings to the core's fixed-point integers and check every row, naming
file, line and field when something is wrong. :func:`merge_feeds` turns several
feeds into one deterministic stream of envelopes and event groups, and
:mod:`lockstep.adapters.data` ships a small seeded sample data set. Adapters may
depend on ``lockstep.core`` and ``lockstep.contracts``; nothing in the core
depends on them.
"""

from lockstep.adapters.data import (
    Dataset,
    data_digest,
    dataset_path,
    digest_of_fingerprints,
    list_datasets,
    load_dataset,
    setup_for,
)
from lockstep.adapters.errors import DatasetError, FeedError
from lockstep.adapters.events import MarketEvent, bar_event
from lockstep.adapters.feeds import (
    DEFAULT_MAX_SKIP_SHARE,
    BarColumns,
    CsvBarFeed,
    Feed,
    MemoryFeed,
    SkipLimitFeed,
    SkipReport,
    limit_skips,
    skip_share,
    write_bar_csv,
)
from lockstep.adapters.instruments import InstrumentSpec, instruments_from_setup
from lockstep.adapters.merge import merge_feeds

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_SKIP_SHARE",
    "BarColumns",
    "CsvBarFeed",
    "Dataset",
    "DatasetError",
    "Feed",
    "FeedError",
    "InstrumentSpec",
    "MarketEvent",
    "MemoryFeed",
    "SkipLimitFeed",
    "SkipReport",
    "__version__",
    "bar_event",
    "data_digest",
    "dataset_path",
    "digest_of_fingerprints",
    "instruments_from_setup",
    "limit_skips",
    "list_datasets",
    "load_dataset",
    "merge_feeds",
    "setup_for",
    "skip_share",
    "write_bar_csv",
]
