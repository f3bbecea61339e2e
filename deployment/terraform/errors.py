"""The exceptions of deployment.terraform::

    HarnessError          something the harness needs is missing or broken (tool, file, timeout)
     +-- TerraformError   a terraform command exited with an unexpected code (output attached)

``local_stack.moto_server.MotoServerError`` (the emulator did not start) is not one of them:
the emulator is the local stack's, shared with ``make dev``.
"""

from __future__ import annotations

from collections.abc import Sequence


class HarnessError(Exception):
    """Something the harness needs is missing or broken; the message says what to do."""


class TerraformError(HarnessError):
    """A terraform command failed."""

    def __init__(self, command: Sequence[str], returncode: int, output: str) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-40:])
        super().__init__(f"`{' '.join(command)}` exited with {returncode}:\n{tail}")
