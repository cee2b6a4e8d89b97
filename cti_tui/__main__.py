"""``python -m cti_tui`` is ``cti-tui``."""

import sys

from cti_tui.cli import main

sys.exit(main())
