"""The fan-out benchmark's sizes and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bench.paths import use_backend

use_backend()

from chat.config import DEFAULT_FANOUT_CONCURRENCY  # noqa: E402

NAME: Final = "fanout"


@dataclass(frozen=True)
class FanoutConfig:
    """Sizes and settings of the fan-out benchmark."""

    sizes: tuple[int, ...] = (100, 1000, 5000)
    delay_s: float = 0.02
    concurrency: int = DEFAULT_FANOUT_CONCURRENCY
    repeats: int = 3
    sequential_full_max: int = 1000
    """The sequential loop is measured in full up to this size, and extrapolated beyond."""
    sweep: tuple[int, ...] = (16, 32, 64, 128)
    """Concurrency settings tried at ``sweep_size`` recipients (both senders)."""
    sweep_size: int = 1000
    sweep_repeats: int = 2
    reference: bool = True
    """Also run the boto3 reference sender, taking turns with the backend's."""
    reference_size: int = 1000
    """The size the absolute targets are stated for."""
    large_size: int = 5000
    """The size linearity is checked at, against ``reference_size``."""
    tls: bool = True
    """Also post over HTTPS (both backend senders), the way the Lambda posts."""
    share_memory: tuple[int, ...] = (512, 1024, 1769)
    """Lambda memory sizes (MB) whose CPU share the broadcast is run under; () skips it."""
    share_sizes: tuple[int, ...] = (100, 1000, 5000)
    share_concurrency: tuple[int, ...] = (32, 64, 128)
    share_repeats: int = 2
    share_target_s: float = 1.0
    """A setting is fit if ``reference_size`` recipients take at most this under its share."""
    integration_timeout_s: float = 29.0
    """API Gateway's integration timeout: ``large_size`` recipients must fit in it at the
    smallest memory size."""
