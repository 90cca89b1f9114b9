"""``python -m aalu_sk.cli``: the ``aalu-sk`` command."""

import sys

from . import main

sys.exit(main())
