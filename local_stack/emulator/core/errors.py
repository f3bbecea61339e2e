"""The emulator's one exception: a setting that cannot work."""

from __future__ import annotations


class EmulatorConfigError(ValueError):
    """A setting of the emulator is invalid; the message says which and why."""
