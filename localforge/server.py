"""The loopback HTTP server: one path prefix per forge host, latency, faults, counters."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import struct
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from localforge import github_graphql
from localforge.api import ApiRequest, ApiResponse, HostApi, Settings, json_response
from localforge.data import Dataset
from localforge.faults import (
    DEFAULT_FAULT_KINDS,
    STATUS_FAULTS,
    Draw,
    FaultInjector,
    check_kinds,
)
from localforge.github import GitHubApi
from localforge.gitlab import GitLabApi

log = logging.getLogger(__name__)

COUNTERS = ("rest", "graphql", "304", "faults")
"""Per host: ``rest`` and ``graphql`` count every request received (they partition them);
``304`` and ``faults`` count those answered 304 Not Modified or with an injected fault."""


class LocalForge:
    """A local GitHub API (REST and GraphQL) and GitLab API v4 (one per GitLab host of the
    dataset) serving a :class:`Dataset` over real HTTP.

    Usable as a context manager. Every knob below can be changed while it runs.

    Args:
        dataset: what it serves (tests may change it while it runs).
        latency: seconds slept before each answer.
        fault_rate: probability of answering an injected fault instead (see
            :mod:`localforge.faults`), drawn per request from ``seed``.
        seed: seed of the fault draws.
        host: address to listen on (loopback).
        port: port to listen on; 0 picks a free one.
        bad_tokens: tokens answered 401.
        rate_limit: GitHub: requests (REST) and points (GraphQL) per token and hour; GitLab:
            requests per token (or address) and minute (``settings.gitlab_rate_window``).
        fault_kinds: what ``fault_rate`` draws from (default
            :data:`localforge.faults.DEFAULT_FAULT_KINDS`).
        slow_seconds: how long a ``timeout`` fault waits before answering.
        down_hosts: hosts whose every request is dropped (``down_response = "503"``: answered
            503) — a forge that is down.
        graphql_max_nodes: GitHub GraphQL queries asking ``repositories`` connections for more
            nodes than this answer GitHub's 502 timeout.
        pagination_loop_hosts: hosts whose listings point their next page at the same page.
        fault_only_paths: a regular expression: only requests whose ``/<host>/<path>?<query>``
            it matches (``re.search``) are drawn for faults.
        renames: per host, old login (or GitLab group path) → the dataset's login: renamed
            accounts (GitHub REST redirects the old login, GitLab answers the moved group).
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
        fault_kinds: Iterable[str] | None = None,
        slow_seconds: float = 10.0,
        down_hosts: set[str] | None = None,
        graphql_max_nodes: int | None = None,
        pagination_loop_hosts: set[str] | None = None,
        fault_only_paths: str | None = None,
        renames: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.dataset = dataset
        self.latency = latency
        self.fault_rate = fault_rate
        self.slow_seconds = slow_seconds
        self.down_hosts: set[str] = set(down_hosts or ())
        self.down_response = "drop"
        """How a down host answers: ``drop`` (close the connection) or ``503``."""
        self.host = host
        self.port = port
        self.settings = Settings(
            bad_tokens=set(bad_tokens or ()),
            rate_limit=rate_limit,
            graphql_max_nodes=graphql_max_nodes,
            pagination_loop_hosts=set(pagination_loop_hosts or ()),
            renames={host: dict(moves) for host, moves in (renames or {}).items()},
        )
        self.apis: dict[str, HostApi] = {"github.com": GitHubApi(dataset, self.settings)}
        for name in dataset.hosts():
            if dataset.kind(name) == "gitlab":
                self.apis[name] = GitLabApi(dataset, self.settings, name)
        self._fault_kinds = check_kinds(fault_kinds or DEFAULT_FAULT_KINDS)
        self._fault_only: re.Pattern[str] | None = None
        self.fault_only_paths = fault_only_paths
        self._faults = FaultInjector(seed)
        self._lock = threading.Lock()
        self._counters: dict[str, dict[str, int]] = {}
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

    @property
    def graphql_max_nodes(self) -> int | None:
        return self.settings.graphql_max_nodes

    @graphql_max_nodes.setter
    def graphql_max_nodes(self, nodes: int | None) -> None:
        self.settings.graphql_max_nodes = nodes

    @property
    def pagination_loop_hosts(self) -> set[str]:
        return self.settings.pagination_loop_hosts

    @pagination_loop_hosts.setter
    def pagination_loop_hosts(self, hosts: set[str]) -> None:
        self.settings.pagination_loop_hosts = set(hosts)

    @property
    def renames(self) -> dict[str, dict[str, str]]:
        return self.settings.renames

    @renames.setter
    def renames(self, renames: dict[str, dict[str, str]]) -> None:
        self.settings.renames = {host: dict(moves) for host, moves in renames.items()}

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return self._fault_kinds

    @fault_kinds.setter
    def fault_kinds(self, kinds: Iterable[str]) -> None:
        self._fault_kinds = check_kinds(kinds)

    @property
    def fault_only_paths(self) -> str | None:
        return self._fault_only.pattern if self._fault_only else None

    @fault_only_paths.setter
    def fault_only_paths(self, pattern: str | None) -> None:
        self._fault_only = re.compile(pattern) if pattern else None

    @property
    def seed(self) -> int:
        return self._faults.seed

    @seed.setter
    def seed(self, seed: int) -> None:
        self._faults.seed = seed

    def reset_faults(self) -> None:
        """Start the fault draws over: the same requests meet the same faults again."""
        self._faults.forget()

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

    def _api(self, host: str) -> HostApi:
        api = self.apis.get(host)
        if api is None:
            raise KeyError(f"the local forge serves no {host!r} (only {sorted(self.apis)})")
        return api

    def api_url(self, host: str) -> str:
        """Where the API of forge ``host`` answers: PyGithub's ``base_url`` for github.com,
        ``.../<host>/api/v4`` for a GitLab host (organisations.yml's ``api_url``).

        Raises:
            KeyError: a host it does not serve.
        """
        api = self._api(host)
        base = f"{self.url}/{host}"
        return f"{base}/api/v4" if api.kind == "gitlab" else base

    def gitlab_url(self, host: str) -> str:
        """What python-gitlab takes as ``url`` for GitLab host ``host`` (it adds ``/api/v4``).

        Raises:
            KeyError: not a GitLab host of the local forge.
        """
        if self._api(host).kind != "gitlab":
            raise KeyError(f"{host!r} is not a GitLab host")
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
        """A copy of the counters of the hosts requested since the start:
        ``{host: {"rest": n, "graphql": n, "304": n, "faults": n}}``; any other host reads as
        zeros."""
        with self._lock:
            copy: defaultdict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
            copy.update({host: dict(counters) for host, counters in self._counters.items()})
            return copy

    def reset_counters(self) -> None:
        """Zero the counters (the hosts already requested stay listed in :attr:`stats`)."""
        with self._lock:
            self._counters = {host: dict.fromkeys(COUNTERS, 0) for host in self._counters}

    def _count(self, host: str, kind: str, *extra: str) -> None:
        with self._lock:
            counters = self._counters.setdefault(host, dict.fromkeys(COUNTERS, 0))
            counters[kind] += 1
            for name in extra:
                counters[name] += 1

    def _draw_fault(self, host: str, api: HostApi, request: ApiRequest) -> Draw | None:
        if self.fault_rate <= 0:
            return None
        target = f"/{host}{request.path}" + (f"?{request.query}" if request.query else "")
        only = self._fault_only
        if only is not None and only.search(target) is None:
            return None
        return self._faults.draw(
            self.fault_rate,
            self._fault_kinds,
            f"{request.method} {target}",
            request.body,
            lambda kind: api.fault_applies(kind, request),
        )


#: Where the request counters are served as JSON (outside every forge prefix).
STATS_PATH = "/_localforge/stats"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    forge: LocalForge

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away (a killed crawl, a timeout) is not an error of ours."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("client %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add 40 ms to every small keep-alive answer.
    disable_nagle_algorithm = True
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
        if host in forge.down_hosts:
            forge._count(host, kind, "faults")
            if forge.down_response == "503":
                self._send(api.fault_response("503", request, 0.0))
            else:
                self._drop()
            return
        if forge.latency > 0:
            time.sleep(forge.latency)
        fault = forge._draw_fault(host, api, request)
        if fault is not None and fault.kind != "malformed":
            forge._count(host, kind, "faults")
            log.debug("injected fault %s on %s %s", fault.kind, self.command, self.path)
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind in STATUS_FAULTS:
                self._send(api.fault_response(fault.kind, request, fault.variant))
                return
            if fault.kind == "timeout":
                time.sleep(forge.slow_seconds)
        response = self._handle(api, request)
        if fault is not None and fault.kind == "reset":
            self._reset(response)
            return
        if fault is not None and fault.kind == "malformed" and _is_json(response):
            forge._count(host, kind, "faults")
            log.debug("injected fault malformed on %s %s", self.command, self.path)
            response.body = response.body[: len(response.body) // 2]
            self._send(response)
            return
        if fault is None or fault.kind == "malformed":  # not counted yet
            if response.fault is not None:
                forge._count(host, kind, "faults")
            elif response.not_modified:
                forge._count(host, kind, "304")
            else:
                forge._count(host, kind)
        self._send(response)

    def _handle(self, api: HostApi, request: ApiRequest) -> ApiResponse:
        try:
            return api.handle(request)
        except Exception:  # a bug must answer 500 (and be logged), not kill the thread
            log.exception("local forge failed on %s %s", self.command, self.path)
            return json_response(500, {"message": "Server Error"})

    def _send(self, response: ApiResponse) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            log.debug("client gone before the answer to %s %s", self.command, self.path)
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may be gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self, response: ApiResponse) -> None:
        """Send the headers and half the body, then reset the connection (TCP RST)."""
        self.close_connection = True
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body[: len(response.body) // 2])
        except OSError:
            return
        # Linger 0 makes close() send a RST; the fd closes only once rfile lets go of it.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()


def _is_json(response: ApiResponse) -> bool:
    return response.status == 200 and response.headers.get("Content-Type", "").startswith(
        "application/json"
    )
