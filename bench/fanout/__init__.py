"""Benchmark 1, fan-out: the backend's broadcast path against a sequential loop.

The backend's real path: ``chat.broadcast.broadcast`` with the sender that
``chat.gateway.SenderPool.from_session`` builds (the Lambda's: SigV4-signed HTTP posts over
pooled keep-alive connections, ``FANOUT_CONCURRENCY`` in flight), posting to the local stack's
``@connections`` endpoint, which waits ``delay_s`` per call as API Gateway's round trip would.
The recipients are real WebSocket clients in another process, each connected through
``$connect`` of the real handler; every post becomes a frame they receive and count.

Beside it, taking turns with it: the same ``broadcast`` with the previous backend sender
(``bench.threaded_sender``: ``http.client``, one blocking post per thread) over HTTP and over
HTTPS (the stack's second, TLS port, its certificate made at start and trusted by a verifying
context), and with the boto3 reference sender (``bench.boto3_sender.boto3_pool``: a
``post_to_connection`` per recipient), which the backend used before this benchmark showed it
CPU-bound.

Lambda's CPU share: the backend's broadcast over HTTPS again, with this process under a cgroup
CPU quota equal to the share Lambda gives each memory size (``bench.cpushare``), for several
``FANOUT_CONCURRENCY`` settings; wall time, GB-seconds and dollars per broadcast.

The baseline is the loop of AWS's Python WebSocket chat example: one ``post_to_connection``
after another with a default boto3 client. It takes ``size * delay_s`` seconds, so it is
measured in full up to ``sequential_full_max`` recipients and extrapolated beyond (per-post time
of the largest full measurement times the size), and the results say which.

The stack (emulator, Lambda workers, moto) and the clients run in processes of their own:
``time.process_time()`` here counts the broadcasting side only (all its threads).
"""

from bench.fanout.benchmark import run
from bench.fanout.config import NAME, FanoutConfig
from bench.fanout.targets import targets

__all__ = ["NAME", "FanoutConfig", "run", "targets"]
