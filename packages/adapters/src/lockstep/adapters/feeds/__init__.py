"""Market-data feeds: sources that yield fixed-point :class:`MarketEvent` values in time order.

CSV and in-memory feeds need only the standard library; :class:`ParquetBarFeed`
needs pyarrow and :class:`DataFrameBarFeed` needs pandas (the ``parquet`` and
``pandas`` extras), imported only when such a feed is built. With pyarrow
installed, :class:`CsvBarFeed` also reads plain rows vectorised (same results).
Bar file feeds give their bars as :class:`BarBatch` columns too (``bar_columns()``).
"""

from lockstep.adapters.feeds.barfile import BarColumns
from lockstep.adapters.feeds.base import Feed, SkipPolicy, SkipReport
from lockstep.adapters.feeds.batch import BarBatch
from lockstep.adapters.feeds.columnar import MissingDependencyError
from lockstep.adapters.feeds.csv import CsvBarFeed, write_bar_csv
from lockstep.adapters.feeds.memory import MemoryFeed
from lockstep.adapters.feeds.pandas_feed import DataFrameBarFeed
from lockstep.adapters.feeds.parquet import ParquetBarFeed
from lockstep.adapters.feeds.skiplimit import (
    DEFAULT_MAX_SKIP_SHARE,
    SkipLimitFeed,
    limit_skips,
    skip_share,
)

__all__ = [
    "DEFAULT_MAX_SKIP_SHARE",
    "BarBatch",
    "BarColumns",
    "CsvBarFeed",
    "DataFrameBarFeed",
    "Feed",
    "MemoryFeed",
    "MissingDependencyError",
    "ParquetBarFeed",
    "SkipLimitFeed",
    "SkipPolicy",
    "SkipReport",
    "limit_skips",
    "skip_share",
    "write_bar_csv",
]
