"""Market-data feeds: sources that yield fixed-point :class:`MarketEvent` values in time order."""

from lockstep.adapters.feeds.base import Feed, SkipPolicy, SkipReport
from lockstep.adapters.feeds.csv import BarColumns, CsvBarFeed, write_bar_csv
from lockstep.adapters.feeds.memory import MemoryFeed

__all__ = [
    "BarColumns",
    "CsvBarFeed",
    "Feed",
    "MemoryFeed",
    "SkipPolicy",
    "SkipReport",
    "write_bar_csv",
]
