"""Lockstep runtime: runs strategies against the core through adapters.

The runtime owns I/O, clocks and process lifecycle (backtest, paper, live) and
feeds the deterministic core one input item at a time. It may depend on
``lockstep.adapters``, ``lockstep.core`` and ``lockstep.contracts``. This is a
skeleton: the runtime issue fills it in.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
