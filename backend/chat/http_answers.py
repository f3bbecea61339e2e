"""Reading an HTTP/1.1 answer from ``@connections`` off a non-blocking socket's bytes."""

from __future__ import annotations

import http.client
from typing import Final

# Statuses whose answer never has a body, whatever its headers say.
_NO_BODY: Final = frozenset({204, 304})


def parse_answer(buffer: bytes, *, eof: bool = False) -> tuple[int, str, bool] | None:
    """The HTTP/1.1 answer in ``buffer`` once complete, as (status, ``x-amzn-ErrorType`` up to
    its first ':', whether the server closes the connection), or ``None`` while more bytes are
    needed. ``eof``: the server closed the connection.

    Only what ``classify`` and keep-alive need is read: ``@connections`` answers are small and
    carry ``Content-Length`` (chunked and close-delimited bodies are understood too).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise http.client.BadStatusLine(lines[0])
    status = int(status_line[1])
    will_close = status_line[0] == "HTTP/1.0"
    length: int | None = None
    chunked = False
    code = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            will_close = value.strip().lower() == "close"
        elif name == "x-amzn-errortype":
            code = value.strip().split(":", 1)[0]
    body = len(buffer) - end - 4
    if status in _NO_BODY:  # DeleteConnection's 204 ends with its head (RFC 9112, 6.3)
        complete = True
    elif chunked:
        complete = buffer.endswith(b"0\r\n\r\n")
    elif length is not None:
        complete = body >= length
    else:  # delimited by the connection's end
        complete, will_close = eof, True
    return (status, code, will_close) if complete else None
