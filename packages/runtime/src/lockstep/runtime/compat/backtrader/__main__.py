"""``python -m lockstep.runtime.compat.backtrader SCRIPT.py [ARGS...]``: run a Backtrader script.

A Backtrader strategy lives in a script that builds its own ``Cerebro``, so
``lockstep backtest`` cannot run it. Run directly (``python SCRIPT.py``), a
refusal from the layer (a missing data file, an unsupported indicator)
arrives as a Python traceback through the layer's internals and exit code 1.
This runner gives those errors the ``lockstep`` command's treatment instead:
one line on standard error and the same exit codes (2 for bad input or an
unsupported feature). Errors of the script's own code still show their
traceback, since that is what its author needs to fix them.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from lockstep.core import CoreFailed, InvariantViolation, LockstepError, NativeBackendUnavailable
from lockstep.runtime.cli import EXIT_BAD_INPUT, EXIT_ENGINE_UNAVAILABLE, EXIT_INVARIANT

USAGE = "usage: python -m lockstep.runtime.compat.backtrader SCRIPT.py [ARGS...]"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``argv[0]`` as ``__main__`` with ``argv[1:]`` as its arguments; return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)
        return 0 if args else EXIT_BAD_INPUT
    script = Path(args[0])
    if not script.is_file():
        return _fail(EXIT_BAD_INPUT, f"{script}: no such script")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *args[1:]]
    sys.path.insert(0, str(script.resolve().parent))  # as `python SCRIPT.py` does
    try:
        runpy.run_path(str(script), run_name="__main__")
    except NativeBackendUnavailable as err:
        return _fail(EXIT_ENGINE_UNAVAILABLE, str(err))
    except (InvariantViolation, CoreFailed) as err:
        return _fail(EXIT_INVARIANT, f"invariant violated: {err}")
    except LockstepError as err:
        return _fail(EXIT_BAD_INPUT, str(err))
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _fail(code: int, message: str) -> int:
    if os.environ.get("LOCKSTEP_DEBUG") and sys.exc_info()[0] is not None:
        traceback.print_exc()
    print(f"lockstep: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
