"""Make the example helpers of this directory importable.

The suite runs with ``--import-mode=importlib``, which does not put test
directories on ``sys.path``; the helper module ``contract_examples`` is shared
by several test files here (and may be by other suites), so it is added once.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
