"""``python -m lockstep.runtime``: the ``lockstep`` command."""

import sys

from lockstep.runtime.cli import main

sys.exit(main())
