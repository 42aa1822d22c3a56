"""``python -m newsintel``: the same as the ``newsintel`` command."""

import sys

from newsintel.cli import main

sys.exit(main())
