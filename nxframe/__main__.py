"""``python -m nxframe`` is the ``nxframe`` command."""

import sys

from .cli import main

sys.exit(main())
