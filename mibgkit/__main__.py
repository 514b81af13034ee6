"""``python -m mibgkit``."""

import sys

from mibgkit.cli import main

sys.exit(main())
