"""A handler module whose import fails, as a typo in a deployed zip would."""

from __future__ import annotations

raise ImportError("this module is broken on purpose")
