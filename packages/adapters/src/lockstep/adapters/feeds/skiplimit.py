"""The skipped-row limit: a run fails when a feed drops more than a set share of its rows.

``skip_policy="skip"`` lets a backtest step over the odd malformed row, and
every skipped row is counted. A feed that loses a large share of its rows
(the wrong tick size, a column in the wrong unit, another instrument's file)
still gives a result that looks valid and is not, so the share a feed may
skip is capped: 1 % unless the caller says otherwise.

:class:`SkipLimitFeed` wraps any :class:`Feed` (the runtime wraps every feed
of a run), so the limit holds for CSV, Parquet, DataFrame, in-memory and
extension feeds alike without a change to the feed protocol. It counts the
events the feed yields and, when the feed ends, compares the skipped rows with
everything the feed read. The comparison is exact (:class:`~fractions.Fraction`),
so a share exactly at the limit passes on every machine and anything above it
fails.

The check runs when a feed ends because a streamed file's row count is only
known once it has been read. The merge reads every feed to its end before a
run can finish, so a run over the limit fails (and its run store says so)
before any result is reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from lockstep.adapters.errors import TOO_MANY_SKIPPED, FeedError
from lockstep.adapters.events import MarketEvent
from lockstep.adapters.feeds.base import Feed, SkipReport, WrappedFeed

DEFAULT_MAX_SKIP_SHARE = Fraction(1, 100)
"""1 %: enough for a stray bad line in a long file, far too little for a systematic error."""

SkipShare = Fraction | Decimal | int | float | str
"""What callers may pass as a limit: a fraction of the rows from 0 to 1 (``0.01`` is 1 %)."""

HOW_TO_RAISE = "--max-skip-share on the command line, max_skip_share in a config file or API call"


def skip_share(value: SkipShare) -> Fraction:
    """``value`` as an exact fraction from 0 to 1; :class:`ValueError` says what is wrong.

    Text and decimals are read exactly; a float is read as its shortest
    decimal form (``0.05`` is 5/100, not the binary value nearest to it), so
    the limit is the number the user wrote.
    """
    refused = ValueError(f"must be a fraction from 0 to 1 (0.01 is 1 %), got {str(value)!r}")
    if isinstance(value, bool):
        raise refused
    if isinstance(value, Fraction | int):
        share = Fraction(value)
    else:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise refused from None
        if not number.is_finite():
            raise refused
        share = Fraction(number)
    if not 0 <= share <= 1:
        raise refused
    return share


def check_skip_share(report: SkipReport, rows: int, max_share: Fraction) -> None:
    """Raise a ``too_many_skipped`` :class:`FeedError` if ``report`` skipped too much of ``rows``.

    ``rows`` counts every data row the feed read, kept or skipped. The error
    gives the counts, both shares, what was skipped (reasons and first lines)
    and the smallest limit that would have let the feed through.
    """
    skipped = report.total
    if not skipped or skipped <= max_share * rows:
        return
    share = Fraction(skipped, rows)
    reason = (
        f"{skipped} of {rows} rows were malformed and skipped ({_percent(share, ceiling=True)}), "
        f"more than the limit of {_percent(max_share)} of a feed's rows "
        f"(max skip share {_decimal(max_share)}): {report.breakdown()}. Fix the data, or raise "
        f"the limit to at least {_needed(share)} with {HOW_TO_RAISE}"
    )
    raise FeedError("skipped rows", reason, source=report.source, kind=TOO_MANY_SKIPPED)


class SkipLimitFeed(WrappedFeed):
    """``inner`` unchanged, except that it fails at its end when it skipped too many rows."""

    __slots__ = ("max_share",)

    def __init__(self, inner: Feed, max_share: SkipShare = DEFAULT_MAX_SKIP_SHARE) -> None:
        super().__init__(inner)
        self.max_share = skip_share(max_share)

    def __iter__(self) -> Iterator[MarketEvent]:
        kept = 0
        for event in self._inner:
            kept += 1
            yield event
        report = self._inner.skip_report
        check_skip_share(report, kept + report.total, self.max_share)


class SkipLimitBarFeed(SkipLimitFeed):
    """A :class:`SkipLimitFeed` around a feed that also gives its bars as columns."""

    __slots__ = ()

    def bar_columns(self, max_rows: int = 65536) -> Iterator[Any]:
        kept = 0
        for batch in self._inner.bar_columns(max_rows):  # type: ignore[attr-defined]
            kept += len(batch.event_time)
            yield batch
        report = self._inner.skip_report
        check_skip_share(report, kept + report.total, self.max_share)


def limit_skips(feeds: Iterable[Feed], max_share: SkipShare = DEFAULT_MAX_SKIP_SHARE) -> list[Feed]:
    """Every feed wrapped in a :class:`SkipLimitFeed`; the limit is checked once, up front.

    A feed that gives bar columns keeps that ability through the wrapper.
    """
    share = skip_share(max_share)
    return [
        (SkipLimitBarFeed if callable(getattr(feed, "bar_columns", None)) else SkipLimitFeed)(
            feed, share
        )
        for feed in feeds
    ]


def _decimal(value: Fraction) -> str:
    """Exact decimal text when the fraction has one (``1/40`` is ``0.025``), else 6 places."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        number = Decimal(value.numerator) / Decimal(value.denominator)
        return format(number.normalize(), "f")
    return f"{float(value):.6f}"


def _percent(value: Fraction, *, ceiling: bool = False) -> str:
    """``value`` in percent with at most two decimals; rounded up when ``ceiling``.

    A share above the limit is rounded up, so it does not print as the limit
    it broke (for limits of whole hundredths of a percent, the only ones
    the command line and config files are likely to hold).
    """
    hundredths = value * 10_000
    n = math.ceil(hundredths) if ceiling else round(hundredths)
    text = format((Decimal(n) / 100).normalize(), "f")
    return f"{text} %"


def _needed(share: Fraction) -> str:
    """The smallest limit with four decimals that ``share`` is not above."""
    return format((Decimal(math.ceil(share * 10_000)) / 10_000).normalize(), "f")
