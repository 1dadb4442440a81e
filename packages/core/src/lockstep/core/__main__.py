import sys

from lockstep.core.cli import main

sys.exit(main())
