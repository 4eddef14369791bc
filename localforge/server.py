"""The loopback HTTP server: one path prefix per forge host, latency, faults, counters."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from localforge import github_graphql
from localforge.api import ApiRequest, ApiResponse, HostApi, json_response
from localforge.data import Dataset
from localforge.github import GitHubApi, Settings

log = logging.getLogger(__name__)

COUNTERS = ("rest", "graphql", "304", "faults")
"""Per host: ``rest`` and ``graphql`` count every request received (they partition them);
``304`` and ``faults`` count those answered 304 Not Modified or with an injected fault."""
FAULTS = ("502", "500", "drop")


class LocalForge:
    """A local GitHub API (REST and GraphQL) serving a :class:`Dataset` over real HTTP.

    Usable as a context manager. ``latency``, ``fault_rate``, ``bad_tokens`` and the rate limits
    can be changed while it runs.

    Args:
        dataset: what it serves (tests may change it while it runs).
        latency: seconds slept before each answer.
        fault_rate: probability of answering a transient fault (502, 500 or a dropped
            connection) instead, drawn from a RNG seeded with ``seed``.
        seed: seed of the fault RNG.
        host: address to listen on (loopback).
        port: port to listen on; 0 picks a free one.
        bad_tokens: tokens answered 401 Bad credentials.
        rate_limit: requests (REST) and points (GraphQL) per token and hour.
    """

    def __init__(
        self,
        dataset: Dataset,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bad_tokens: set[str] | None = None,
        rate_limit: int = 5000,
    ) -> None:
        self.dataset = dataset
        self.latency = latency
        self.fault_rate = fault_rate
        self.host = host
        self.port = port
        self.settings = Settings(bad_tokens=set(bad_tokens or ()), rate_limit=rate_limit)
        self.apis: dict[str, HostApi] = {"github.com": GitHubApi(dataset, self.settings)}
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not security
        self._lock = threading.Lock()
        self._counters: dict[str, dict[str, int]] = {}
        self.reset_counters()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- settings ---

    @property
    def bad_tokens(self) -> set[str]:
        return self.settings.bad_tokens

    @bad_tokens.setter
    def bad_tokens(self, tokens: set[str]) -> None:
        self.settings.bad_tokens = set(tokens)

    @property
    def rate_limit(self) -> int:
        return self.settings.rate_limit

    @rate_limit.setter
    def rate_limit(self, limit: int) -> None:
        self.settings.rate_limit = limit

    # --- lifecycle ---

    def start(self) -> LocalForge:
        """Listen and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        github_graphql.schema()  # build it now rather than on the first query
        server = _Server((self.host, self.port), _Handler)
        server.forge = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"localforge-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("local forge listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        log.info("local forge on port %d stopped", self.port)

    def __enter__(self) -> LocalForge:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses and counters ---

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def api_url(self, host: str) -> str:
        """Where the API of forge ``host`` answers (PyGithub's ``base_url``)."""
        if host not in self.apis:
            raise KeyError(f"the local forge serves no {host!r} (only {sorted(self.apis)})")
        return f"{self.url}/{host}"

    def requests(self, host: str | None = None) -> int:
        """API requests received for ``host`` (all hosts if ``None``), of every kind."""
        with self._lock:
            hosts = [host] if host is not None else list(self._counters)
            return sum(
                self._counters[h]["rest"] + self._counters[h]["graphql"]
                for h in hosts
                if h in self._counters
            )

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """A copy of the counters: ``{host: {"rest": n, "graphql": n, "304": n, "faults": n}}``."""
        with self._lock:
            return {host: dict(counters) for host, counters in self._counters.items()}

    def reset_counters(self) -> None:
        with self._lock:
            self._counters = {host: dict.fromkeys(COUNTERS, 0) for host in self.apis}

    def _count(self, host: str, kind: str, *extra: str) -> None:
        with self._lock:
            counters = self._counters.setdefault(host, dict.fromkeys(COUNTERS, 0))
            counters[kind] += 1
            for name in extra:
                counters[name] += 1

    def _draw_fault(self) -> str | None:
        if self.fault_rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.fault_rate:
                return None
            return self._random.choice(FAULTS)


#: Where the request counters are served as JSON (outside every forge prefix).
STATS_PATH = "/_localforge/stats"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    forge: LocalForge


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localforge"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def _serve(self) -> None:
        forge = self.server.forge
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        prefix, _, rest = split.path.lstrip("/").partition("/")
        host = unquote(prefix)
        if split.path == STATS_PATH:
            # The counters, for benchmarks that run the forge in another process; not counted.
            self._send(json_response(200, forge.stats))
            return
        api = forge.apis.get(host)
        if api is None:
            self._send(json_response(404, {"message": "Not Found", "hosts": sorted(forge.apis)}))
            return
        own_host = self.headers.get("Host") or f"{forge.host}:{forge.port}"
        request = ApiRequest(
            method=self.command,
            path="/" + rest,
            query=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=f"http://{own_host}/{prefix}",
            client=self.client_address[0],
        )
        kind = api.kind_of(request)
        if forge.latency > 0:
            time.sleep(forge.latency)
        fault = forge._draw_fault()
        if fault is not None:
            forge._count(host, kind, "faults")
            log.debug("injected fault %s on %s %s", fault, self.command, self.path)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status = int(fault)
            message = "Server Error" if status == 500 else "Bad Gateway"
            self._send(json_response(status, {"message": message}))
            return
        try:
            response = api.handle(request)
        except Exception:  # a bug must answer 500 (and be logged), not kill the thread
            log.exception("local forge failed on %s %s", self.command, self.path)
            response = json_response(500, {"message": "Server Error"})
        if response.not_modified:
            forge._count(host, kind, "304")
        else:
            forge._count(host, kind)
        self._send(response)

    def _send(self, response: ApiResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
