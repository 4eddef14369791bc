"""GitHub's API behind ``/github.com``: authentication and rate limits, then REST or GraphQL."""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
import time
from dataclasses import dataclass, field

from localforge import github_graphql, github_rest
from localforge.api import ApiRequest, ApiResponse, HostApi, json_response
from localforge.data import GITHUB, Dataset

REST_DOCS = "https://docs.github.com/rest"
WINDOW = 3600
"""GitHub's rate-limit window, in seconds."""


@dataclass
class Settings:
    """What a test may change on a running forge."""

    bad_tokens: set[str] = field(default_factory=set)
    """Tokens answered 401 Bad credentials (any other non-empty token is valid)."""
    rate_limit: int = 5000
    """Requests (REST) or points (GraphQL) per token and hour."""
    rate_limit_unauthenticated: int = 60
    """REST requests per client address and hour without a token."""


@dataclass(frozen=True, slots=True)
class Quota:
    """The state of one rate-limit bucket after a request."""

    resource: str
    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
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
    """Hourly buckets per identity (token or address) and resource (``core``, ``graphql``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[int, int]] = {}
        """(identity, resource) -> (used, reset epoch)."""

    def charge(self, identity: str, resource: str, limit: int, cost: int) -> tuple[bool, Quota]:
        """Use ``cost`` from a bucket; refused (nothing used) when it has not enough left."""
        now = int(time.time())
        with self._lock:
            used, reset = self._buckets.get((identity, resource), (0, 0))
            if now >= reset:
                used, reset = 0, now + WINDOW
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


@dataclass(frozen=True, slots=True)
class Caller:
    token: str | None
    identity: str
    """Whose bucket is charged: ``token:<token>`` or ``ip:<address>``."""


class GitHubApi(HostApi):
    host = GITHUB

    def __init__(self, dataset: Dataset, settings: Settings) -> None:
        self.dataset = dataset
        self.settings = settings
        self.limiter = RateLimiter()
        self._request_ids = itertools.count(0x1000)

    def kind_of(self, request: ApiRequest) -> str:
        return "graphql" if request.path.rstrip("/") == "/graphql" else "rest"

    def limit_for(self, caller: Caller, resource: str) -> int:
        if caller.token is None and resource == "core":
            return self.settings.rate_limit_unauthenticated
        return self.settings.rate_limit

    def charge(self, caller: Caller, resource: str, cost: int) -> tuple[bool, Quota]:
        return self.limiter.charge(
            caller.identity, resource, self.limit_for(caller, resource), cost
        )

    def peek(self, caller: Caller, resource: str) -> Quota:
        return self.limiter.peek(caller.identity, resource, self.limit_for(caller, resource))

    def handle(self, request: ApiRequest) -> ApiResponse:
        token, malformed = _token(request.headers.get("authorization"))
        if malformed or (token is not None and token in self.settings.bad_tokens):
            response = json_response(
                401, {"message": "Bad credentials", "documentation_url": REST_DOCS, "status": "401"}
            )
        else:
            caller = Caller(token, f"token:{token}" if token else f"ip:{request.client}")
            if self.kind_of(request) == "graphql":
                response = github_graphql.handle(self, request, caller)
            else:
                response = github_rest.handle(self, request, caller)
        response.headers["X-GitHub-Request-Id"] = f"LF{next(self._request_ids):X}"
        response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
        return response


def _token(header: str | None) -> tuple[str | None, bool]:
    """``(token, malformed)`` from an Authorization header (``token X``, ``Bearer X``, Basic)."""
    if header is None:
        return None, False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() in ("token", "bearer") and credentials:
        return credentials, False
    if scheme.lower() == "basic" and credentials:
        try:
            user, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, True
        return (password or user or None), not (password or user)
    return None, True
