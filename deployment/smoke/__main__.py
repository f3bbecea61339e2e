"""``python -m deployment.smoke`` (``make smoke``)."""

from __future__ import annotations

import sys

from deployment.smoke.cli import main

sys.exit(main())
