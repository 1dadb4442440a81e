"""``replay verify --data``: are these the data files the run read?

A run store keeps the inputs the run fed its core, so replay needs no data
files, and verify alone cannot say whether the files on disk still match the
run. Given the data set (a bundled name or a directory), this recomputes its
feeds' fingerprints (sha256 of each file) and compares them, feed by feed, with
the ones the run recorded and with its data digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lockstep.adapters import DatasetError, FeedError, digest_of_fingerprints, load_dataset


def data_problems(meta: Mapping[str, Any], data: str | Path) -> list[str]:
    """What differs between the data set ``data`` and the run's recorded data.

    Feeds are compared in the order the run merged them (their names are
    paths, which differ when the data set was moved, so position is what
    matches a file to the one the run read).
    """
    try:
        feeds = load_dataset(data).feeds()
        fingerprints = [feed.fingerprint() for feed in feeds]
        digest = digest_of_fingerprints(fingerprints)
    except (DatasetError, FeedError) as err:
        return [f"data {data}: cannot be read: {err}"]
    stored_digest = meta.get("data_digest")
    if digest == stored_digest:
        return []
    recorded = meta.get("data") or {}
    names, prints = recorded.get("feeds") or [], recorded.get("fingerprints")
    problems = [
        f"meta.data_digest: the run read data with digest {stored_digest}, {data} has {digest}"
    ]
    if not isinstance(prints, list):
        return problems
    if len(prints) != len(feeds):
        problems.append(f"data {data}: {len(feeds)} feeds, the run read {len(prints)}")
    for index, (feed, now, then) in enumerate(zip(feeds, fingerprints, prints, strict=False)):
        if now != then:
            name = Path(str(names[index])).name if index < len(names) else feed.name
            problems.append(f"data {name}: the file's contents differ from what the run read")
    return problems
