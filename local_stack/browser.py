"""How every headless Chromium of the project is launched (browser tests, rehearsal).

``CHROMIUM_ARGS``: flags for headless Chromium in containers and CI, with no background
traffic (everything must stay on 127.0.0.1). Pass ``args=list(CHROMIUM_ARGS)`` to
Playwright's ``chromium.launch``.
"""

from __future__ import annotations

from typing import Final

CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
