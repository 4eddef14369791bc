"""What the HTTP server and the per-forge API modules exchange.

The server strips the ``/<host>`` prefix and hands an :class:`ApiRequest` to that host's
:class:`HostApi` (GitHub's or a GitLab instance's). The knobs a test may turn on a running forge
are one :class:`Settings` shared by every host.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    path: str
    """Path below the host prefix, starting with ``/`` (``/orgs/etalab/repos``)."""
    query: str
    """Raw query string, without ``?``."""
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    base_url: str
    """Absolute URL of the host prefix as the client reached it (``http://127.0.0.1:8000/github.com``)."""
    client: str
    """The client's IP address."""

    @property
    def params(self) -> dict[str, str]:
        """Query parameters, the last value winning."""
        return {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    @property
    def url(self) -> str:
        return self.base_url + self.path + (f"?{self.query}" if self.query else "")


@dataclass(slots=True)
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    """A 304 answered to a conditional request (counted apart)."""
    fault: str | None = None
    """The fault this answer is, when the API injected one itself (``graphql_max_nodes``):
    counted with the server's injected faults."""


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(headers or {})
    return ApiResponse(status, json_body(value), all_headers)


def weak_etag(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (weak comparison, as GitHub does)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for item in if_none_match.split(","):
        candidate = item.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


@dataclass
class Settings:
    """What a test may change on a running forge (shared by every host it serves)."""

    bad_tokens: set[str] = field(default_factory=set)
    """Tokens answered 401 (any other non-empty token is valid)."""
    rate_limit: int = 5000
    """GitHub: requests (REST) or points (GraphQL) per token and hour. GitLab: requests per
    token (or per address without one) and ``gitlab_rate_window``."""
    rate_limit_unauthenticated: int = 60
    """GitHub REST requests per client address and hour without a token."""
    gitlab_rate_window: int = 60
    """GitLab's throttle period, in seconds (GitLab.com counts per minute)."""
    graphql_max_nodes: int | None = None
    """A GitHub GraphQL query asking its ``repositories`` connections for more nodes than this
    (summed over the query, aliases multiplying) answers GitHub's 502 timeout."""
    pagination_loop_hosts: set[str] = field(default_factory=set)
    """Hosts whose listings point their next page back at the same page."""
    renames: dict[str, dict[str, str]] = field(default_factory=dict)
    """Renamed accounts, per host: old login (or GitLab group path) → the dataset's login.
    GitHub REST answers the old login with a 301 redirect, GitLab with the moved group."""

    def renamed(self, host: str, login: str) -> str | None:
        """The new login or path of a renamed ``login`` on ``host`` (a GitLab path under a
        renamed group moves with it), or None."""
        moves = {old.lower(): new for old, new in self.renames.get(host, {}).items()}
        lowered = login.lower()
        if lowered in moves:
            return moves[lowered]
        parent = lowered.rpartition("/")[0]
        while parent:
            if parent in moves:
                return f"{moves[parent]}/{login[len(parent) + 1 :]}"
            parent = parent.rpartition("/")[0]
        return None


@dataclass(frozen=True, slots=True)
class Quota:
    """The state of one rate-limit bucket after a request."""

    resource: str
    limit: int
    used: int
    reset: int
    """Epoch second when the bucket is refilled."""

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        """GitHub's rate-limit headers."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": self.resource,
        }

    def as_json(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset": self.reset,
        }


class RateLimiter:
    """Fixed-window buckets per identity (token or address) and resource."""

    def __init__(self, window: int = 3600) -> None:
        self.window = window
        """Seconds between refills (changeable while running)."""
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[int, int]] = {}
        """(identity, resource) -> (used, reset epoch)."""

    def charge(self, identity: str, resource: str, limit: int, cost: int) -> tuple[bool, Quota]:
        """Use ``cost`` from a bucket; refused (nothing used) when it has not enough left."""
        now = int(time.time())
        with self._lock:
            used, reset = self._buckets.get((identity, resource), (0, 0))
            if now >= reset:
                used, reset = 0, now + self.window
            allowed = used + cost <= limit
            if allowed:
                used += cost
            self._buckets[(identity, resource)] = (used, reset)
            return allowed, Quota(resource, limit, used, reset)

    def peek(self, identity: str, resource: str, limit: int) -> Quota:
        return self.charge(identity, resource, limit, 0)[1]

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class HostApi:
    """The API of one forge host behind the local server."""

    host: str
    kind: str
    """The forge software (``github``, ``gitlab``)."""

    def kind_of(self, request: ApiRequest) -> str:
        """The counter a request falls in (``rest`` or ``graphql``), even for a fault."""
        raise NotImplementedError

    def handle(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError

    def fault_applies(self, fault: str, request: ApiRequest) -> bool:
        """Whether ``fault`` (a kind of :data:`localforge.faults.FAULT_KINDS`) can happen to
        this request: ``graphql_rate_limited`` only to GitHub GraphQL queries."""
        return fault != "graphql_rate_limited"

    def fault_response(self, fault: str, request: ApiRequest, draw: float) -> ApiResponse:
        """The answer to an injected status fault (``500``, ``502``, ``503``, ``429``,
        ``graphql_rate_limited``), in this forge's formats.

        Args:
            draw: a number in [0, 1) drawn for this request, for faults with variants.
        """
        raise NotImplementedError
