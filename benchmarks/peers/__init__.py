"""The peer benchmark: Lockstep against the engines users would otherwise pick (see spec.py)."""
