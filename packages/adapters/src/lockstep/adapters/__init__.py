"""Lockstep adapters: the edge between the outside world and the deterministic core.

Adapters translate venue, broker and market-data feeds into the event envelopes
of ``lockstep.contracts`` and carry the core's intents back out. They may depend
on ``lockstep.core`` and ``lockstep.contracts``; nothing in the core depends on
them. This is a skeleton: the runtime issue fills it in.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
