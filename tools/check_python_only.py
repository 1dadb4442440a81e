"""Fail unless this interpreter is a Python-only Lockstep environment.

Used by `nox -s tests`: `import lockstep_native` must fail, and no compiled
module (.so/.pyd/.dylib) may sit inside the `lockstep` namespace. Exit 0 with a
one-line confirmation, or exit 1 naming what was found.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

NATIVE_SUFFIXES = {".so", ".pyd", ".dylib"}


def main() -> int:
    try:
        native = importlib.import_module("lockstep_native")
    except ImportError:
        pass
    else:
        print(
            "Python-only lane violated: `import lockstep_native` succeeded "
            f"({getattr(native, '__file__', None)}); the tests lane must not see native code.",
            file=sys.stderr,
        )
        return 1

    lockstep = importlib.import_module("lockstep")
    compiled = sorted(
        str(path)
        for root in lockstep.__path__
        for path in Path(root).rglob("*")
        if path.suffix in NATIVE_SUFFIXES
    )
    if compiled:
        print(
            "Python-only lane violated: compiled modules in the lockstep namespace: "
            + ", ".join(compiled),
            file=sys.stderr,
        )
        return 1

    print("ok: `import lockstep_native` fails; the lockstep namespace is pure Python.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
