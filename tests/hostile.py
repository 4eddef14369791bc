"""A small hostile HTTP server for tests: each test scripts what it answers.

The local forge answers like GitHub and GitLab do; this one answers like a forge that is broken or
malicious (redirects to another host, endless pages, trickled or huge bodies, echoed tokens). It
records every request it gets, headers included, so a test can assert that a token never reached
it.

    with HostileServer(lambda request: Answer(200, body=b"[]")) as forge:
        ... forge.url ... forge.requests ...
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    """The path with its query string, as sent."""
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


@dataclass
class Answer:
    """What to send back. ``chunks`` (when given) is sent piece by piece instead of ``body``,
    waiting ``pause`` seconds before each piece: a trickling or endless answer."""

    status: int = 200
    body: bytes | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None
    pause: float = 0.0
    reset: bool = False
    """Close the connection after sending the headers and half the body (a reset mid-answer)."""


Route = Callable[[Seen], Answer]


def json_answer(payload: Any, status: int = 200, **headers: str) -> Answer:
    return Answer(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
    )


class HostileServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, answering through ``route``."""

    def __init__(self, route: Route, host: str = "127.0.0.1") -> None:
        self.route = route
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.requests.append(seen)
                answer = owner.route(seen)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(answer)

            def _send(self, answer: Answer) -> None:
                body = answer.body
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for chunk in answer.chunks:
                        if answer.pause:
                            time.sleep(answer.pause)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                if answer.reset:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        # a short poll: shutdown() waits up to one poll interval (0.5 s by default)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    def saw_token(self, token: str) -> bool:
        """Whether any request carried ``token`` anywhere (headers, path or body)."""
        with self._lock:
            return any(
                token in seen.path
                or token.encode() in seen.body
                or any(token in value for value in seen.headers.values())
                for seen in self.requests
            )

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def endless(piece: bytes) -> Iterator[bytes]:
    """An answer that never ends."""
    while True:
        yield piece
