"""Experiment, not the backend: ``PostToConnection`` as one signed HTTP POST, without boto3.

The fan-out benchmark found the broadcasting side CPU-bound: a boto3 client call costs about
three times what signing and sending the request does (botocore's event hooks, endpoint
resolution, parameter validation, response parsing). This sender keeps what matters and drops
the rest, to measure what a leaner ``chat.gateway.Sender`` would gain:

- the request is signed with botocore's own ``SigV4Auth`` (service ``execute-api``), so it is
  what AWS accepts; credentials are the session's, frozen (Lambda's are fixed per sandbox);
- connections come from a pool of ``http.client`` connections (keep-alive), at most one per
  post in flight, so TCP (and in AWS, TLS) setup is paid once per connection, not per post;
- the answer is mapped to the backend's domain errors by ``chat.gateway.classify_client_error``.

It is used only by ``bench.fanout`` and answers the question "what would the backend gain".
"""

from __future__ import annotations

import http.client
import queue
import threading
from typing import Any, Final
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError as BotoClientError

from bench.paths import use_backend

use_backend()

from chat.connections import ConnectionId  # noqa: E402
from chat.errors import RetryableDeliveryError  # noqa: E402
from chat.gateway import (  # noqa: E402
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    classify_client_error,
)

_SERVICE: Final = "execute-api"


class SignedHttpSender:
    """A ``chat.gateway.Sender`` that signs and sends the POST itself (see the module docstring)."""

    def __init__(self, endpoint_url: str, credentials: Any, region: str) -> None:
        """``credentials`` are botocore credentials (``session.get_credentials()``)."""
        parts = urlsplit(endpoint_url.rstrip("/"))
        if parts.scheme not in {"http", "https"} or parts.hostname is None:
            raise ValueError(f"endpoint {endpoint_url!r} must be an http(s) URL")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path
        self._host = parts.hostname
        self._port = parts.port
        self._https = parts.scheme == "https"
        self._signer = SigV4Auth(credentials.get_frozen_credentials(), _SERVICE, region)
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._lock = threading.Lock()
        self.opened = 0
        """TCP connections opened so far."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """POST ``data`` to ``@connections/{id}``; failures raise the ``DeliveryFailed`` family."""
        path = f"{self._prefix}/@connections/{quote(connection_id, safe='')}"
        request = AWSRequest(method="POST", url=self._origin + path, data=data)
        self._signer.add_auth(request)
        connection: http.client.HTTPConnection | None = None
        try:
            connection = self._take()
            connection.request("POST", path, body=data, headers=dict(request.headers.items()))
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:  # timeouts, resets: retryable
            if connection is not None:
                connection.close()
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        self._idle.put(connection)
        if response.status == 200:
            return
        code = (response.getheader("x-amzn-ErrorType") or "").split(":", 1)[0]
        failure = BotoClientError(
            {
                "Error": {"Code": code, "Message": body[:200].decode("utf-8", "replace")},
                "ResponseMetadata": {"HTTPStatusCode": response.status},
            },
            "PostToConnection",
        )
        raise classify_client_error(connection_id, failure)

    def _take(self) -> http.client.HTTPConnection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            self.opened += 1
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = cls(self._host, self._port, timeout=READ_TIMEOUT_SECONDS)
        connection.timeout = CONNECT_TIMEOUT_SECONDS
        connection.connect()
        connection.timeout = READ_TIMEOUT_SECONDS
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT_SECONDS)
        return connection

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
