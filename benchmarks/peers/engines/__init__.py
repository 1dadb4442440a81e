"""Engine adapters of the peer benchmark, one module each (the Engine protocol in ../spec.py)."""
