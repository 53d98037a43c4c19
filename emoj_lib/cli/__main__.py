"""``python -m emoj_lib.cli``: the ``emoj`` command line."""

import sys

from emoj_lib.cli import main

sys.exit(main())
