"""``python -m redact_gw.cli ...``: the same as the ``redact-gw`` script."""

import sys

from redact_gw.cli import main

sys.exit(main())
