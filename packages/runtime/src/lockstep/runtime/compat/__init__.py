"""Compatibility surfaces: other engines' strategy APIs translated onto the Lockstep core.

A compatibility layer is a translator, not a second engine: strategies keep
the API they were written against, and everything they do becomes intents in
intent batches for the deterministic core; fills, cancels and expiries come
back from the core's trace. ``lockstep.runtime.compat.backtrader`` is the
Backtrader layer (see ``docs/guides/backtrader.md``).
"""
