"""`python -m p2law ...`: the same command line as the `p2law` script (p2law.cli)."""

import sys

from p2law.cli import main

sys.exit(main())
