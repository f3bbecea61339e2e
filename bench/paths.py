"""Where things are, and the import path the backend needs (``chat`` lives in ``backend/``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
BACKEND: Final = ROOT / "backend"
LAMBDA_ZIP: Final = ROOT / "build" / "lambda.zip"
RESULTS: Final = ROOT / "bench" / "results"


def use_backend() -> None:
    """Make ``import chat`` work, as pytest's ``pythonpath`` setting does for the tests."""
    if str(BACKEND) not in sys.path:
        sys.path.insert(0, str(BACKEND))
