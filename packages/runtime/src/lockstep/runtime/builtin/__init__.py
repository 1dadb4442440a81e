"""Strategies shipped with the runtime, runnable by name: ``lockstep backtest sma_cross``."""
