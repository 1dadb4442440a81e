"""Path globs for the ``covers`` list of native change records.

``fnmatch`` lets ``*`` cross ``/``, which would make ``rust/*`` silently cover
every file of every crate. Records need predictable coverage, so the rules
here are the usual gitignore-like ones:

* patterns are POSIX paths relative to the repository root;
* ``*`` and ``?`` match inside one path segment, ``[...]`` is a character class;
* ``**`` as a whole segment matches zero or more segments;
* a pattern without wildcards, or ending in ``/``, also covers everything below it
  (``rust/lockstep-core`` covers ``rust/lockstep-core/src/lib.rs``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_WILDCARDS = frozenset("*?[")


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = segment.find("]", i + 1)
            if close < 0:
                out.append(re.escape(char))
            else:
                body = segment[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = close
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile one ``covers`` pattern to an anchored regular expression."""
    directory = pattern.endswith("/") or not (_WILDCARDS & set(pattern))
    segments = [s for s in pattern.strip("/").split("/") if s not in ("", ".")]
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    regex = "".join(parts)
    if directory:
        regex += "(?:/.*)?"
    return re.compile(f"^{regex}$")


def matches(pattern: str, path: str) -> bool:
    """True when ``pattern`` covers the repository-relative POSIX ``path``."""
    return compile_glob(pattern).match(path) is not None


def covered(patterns: Iterable[str], path: str) -> bool:
    """True when any of ``patterns`` covers ``path``."""
    return any(matches(pattern, path) for pattern in patterns)
