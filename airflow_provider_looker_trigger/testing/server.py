"""HTTP plumbing of the Looker emulator: request and response objects and the stdlib server.

The handler only parses bytes into a :class:`Request`, passes it to a dispatch callable and writes the
:class:`Response` back. All API behaviour lives in the dispatch callable, so the transport stays thin.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"

# Seconds an idle keep-alive connection stays open before the server closes it.
IDLE_CONNECTION_TIMEOUT = 30.0


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes

    @property
    def content_type(self) -> str:
        return self.header("Content-Type").split(";", 1)[0].strip().lower()

    def header(self, name: str) -> str:
        """Return a header value by case-insensitive name, or "" when absent."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return ""

    def parsed_body(self) -> Any:
        """Return the body as JSON, as a form dict, as text, or None when empty; invalid JSON stays text."""
        if not self.raw_body:
            return None
        text = self.raw_body.decode("utf-8", errors="replace")
        if self.content_type == "application/x-www-form-urlencoded":
            return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        try:
            return json.loads(text)
        except ValueError:
            return text


@dataclass
class Response:
    """A response to send, plus transport actions a fault can request.

    ``disconnect`` is "before" to close the connection without responding, or "after" to close it once
    the request was handled but before any byte of the response is sent. ``delay`` is the number of
    seconds to wait before writing the response. ``stall`` is the number of seconds to wait before an
    "after" disconnect, so a client whose read timeout is shorter gets a read timeout.
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    disconnect: str | None = None
    delay: float = 0.0
    stall: float = 0.0

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return cls(status, json.dumps(payload, default=str).encode("utf-8"), merged)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})

    @classmethod
    def empty(cls, status: int) -> Response:
        return cls(status)


Dispatch = Callable[[Request], Response]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that hands every request to ``dispatch``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        super().__init__((LOOPBACK, port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LookerEmulator"
    # Headers and body go out in separate writes. With Nagle's algorithm on, the body would wait for
    # the client's delayed ACK (about 40 ms on Linux), a delay Looker does not have.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_TIMEOUT
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is logged without its query string, where a client may put credentials or a token.
        message = format % args
        log.debug("%s %s", self.address_string(), re.sub(r"\?[^\s\"]*", "?***", message))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip optional trailers up to the blank line that ends the message.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        try:
            raw_body = self._read_body()
        except ValueError:
            self._write(Response.json(400, {"message": "Invalid Content-Length or chunked body"}))
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            headers={key: value for key, value in self.headers.items()},
            raw_body=raw_body,
        )
        response = self.server.dispatch(request)

        if response.disconnect == "before":
            self._drop()
            return
        if response.disconnect == "after":
            if response.stall:
                time.sleep(response.stall)
            self._drop()
            return
        if response.delay:
            time.sleep(response.delay)
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        # HTTP forbids a Content-Length header on a 204 response, which has no body.
        has_body = response.status != 204
        if has_body:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if has_body and self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the socket without sending anything, as a crashed proxy or backend would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
