"""``python -m preflight <stack>``: see :mod:`preflight.cli`."""

import sys

from .cli import main

sys.exit(main())
