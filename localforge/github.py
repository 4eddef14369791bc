"""GitHub's API behind ``/github.com``: authentication and rate limits, then REST or GraphQL."""

from __future__ import annotations

import base64
import binascii
import itertools
import time
from dataclasses import dataclass
from typing import Any

from localforge import github_graphql, github_rest
from localforge.api import (
    ApiRequest,
    ApiResponse,
    HostApi,
    Quota,
    RateLimiter,
    Settings,
    json_response,
)
from localforge.data import GITHUB, Dataset

__all__ = ["Caller", "GitHubApi", "Quota", "RateLimiter", "Settings"]

REST_DOCS = "https://docs.github.com/rest"
WINDOW = 3600
"""GitHub's rate-limit window, in seconds."""


@dataclass(frozen=True, slots=True)
class Caller:
    token: str | None
    identity: str
    """Whose bucket is charged: ``token:<token>`` or ``ip:<address>``."""


class GitHubApi(HostApi):
    host = GITHUB
    kind = "github"

    def __init__(self, dataset: Dataset, settings: Settings) -> None:
        self.dataset = dataset
        self.settings = settings
        self.limiter = RateLimiter(WINDOW)
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

    def fault_applies(self, fault: str, request: ApiRequest) -> bool:
        return fault != "graphql_rate_limited" or self.kind_of(request) == "graphql"

    def fault_response(self, fault: str, request: ApiRequest, draw: float) -> ApiResponse:
        response = _fault_response(self, fault, request, draw)
        response.headers["X-GitHub-Request-Id"] = f"LF{next(self._request_ids):X}"
        return response

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


# --- injected faults ---------------------------------------------------------------------------

_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {id}."
)
_SERVER_ERRORS = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _fault_response(api: GitHubApi, fault: str, request: ApiRequest, draw: float) -> ApiResponse:
    graphql = api.kind_of(request) == "graphql"
    if fault in ("500", "502", "503"):
        status = int(fault)
        return json_response(status, {"message": _SERVER_ERRORS[status]})
    reset = int(time.time()) + 1
    resource = "graphql" if graphql else "core"
    if fault == "graphql_rate_limited":
        quota = Quota(resource, api.settings.rate_limit, api.settings.rate_limit, reset)
        body: dict[str, Any] = {
            "errors": [
                {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            ]
        }
        return json_response(200, body, quota.headers())
    if fault == "429":
        if draw < 0.5:  # the primary limit, spent until the next second
            quota = Quota(resource, api.settings.rate_limit, api.settings.rate_limit, reset)
            body = {
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": f"{REST_DOCS}/overview/rate-limits-for-the-rest-api",
                "status": "403",
            }
            return json_response(403, body, quota.headers())
        request_id = f"LF{int(draw * 1e9):X}"
        body = {
            "message": _SECONDARY.format(id=request_id),
            "documentation_url": (
                "https://docs.github.com/free-pro-team@latest/rest/overview/"
                "rate-limits-for-the-rest-api#about-secondary-rate-limits"
            ),
            "status": "403",
        }
        return json_response(403, body, {"Retry-After": "1"})
    raise ValueError(f"not a status fault: {fault!r}")
