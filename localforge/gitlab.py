"""GitLab's REST API v4 behind ``/<host>/api/v4``: authentication, throttling, ETags, errors.

As GitLab does:

- a token comes in ``PRIVATE-TOKEN``, ``Authorization: Bearer`` or ``?private_token=``; public
  data is readable without one; a revoked token (``Settings.bad_tokens``) gets
  ``401 {"message": "401 Unauthorized"}`` even on public data;
- requests are throttled per token (per address without one), ``Settings.rate_limit``
  requests per ``Settings.gitlab_rate_window`` seconds; every answer carries the
  ``RateLimit-*`` headers and an exhausted bucket answers ``429 Retry later`` with
  ``Retry-After``. 304s count too (GitLab's throttle sees every request);
- GET answers carry a weak ``ETag``; a matching ``If-None-Match`` gets an empty 304.
"""

from __future__ import annotations

import itertools
import time
from email.utils import formatdate

from localforge import gitlab_rest
from localforge.api import (
    ApiRequest,
    ApiResponse,
    HostApi,
    Quota,
    RateLimiter,
    Settings,
    etag_matches,
    json_response,
    weak_etag,
)
from localforge.data import Dataset

#: Answered to a throttled request (Rack::Attack's text, as GitLab sends it).
THROTTLED_BODY = b"Retry later\n"

_HTML_ERRORS = {
    502: (
        "502 Whoops, GitLab is taking too much time to respond.",
        "Try refreshing the page, or going back and attempting the action again.",
    ),
    503: (
        "503 GitLab is not responding.",
        "The server is temporarily unable to service your request. Please try again later.",
    ),
}


class GitLabApi(HostApi):
    """One GitLab instance (``host``) of the dataset."""

    kind = "gitlab"

    def __init__(self, dataset: Dataset, settings: Settings, host: str) -> None:
        self.dataset = dataset
        self.settings = settings
        self.host = host
        self.limiter = RateLimiter(settings.gitlab_rate_window)
        self.sorted_lists = gitlab_rest.SortedCache()
        """Project lists sorted for the listings, until the dataset changes."""
        self._request_ids = itertools.count(1)

    def kind_of(self, request: ApiRequest) -> str:
        return "rest"

    def token(self, request: ApiRequest) -> str | None:
        """The token a request carries, if any."""
        headers = request.headers
        token = headers.get("private-token") or headers.get("job-token")
        if not token:
            scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                token = credentials.strip()
        if not token:
            token = request.params.get("private_token") or None
        return token

    def quota(self, identity: str, cost: int) -> tuple[bool, Quota]:
        self.limiter.window = self.settings.gitlab_rate_window
        return self.limiter.charge(identity, "api", self.settings.rate_limit, cost)

    def handle(self, request: ApiRequest) -> ApiResponse:
        token = self.token(request)
        identity = f"token:{token}" if token else f"ip:{request.client}"
        allowed, quota = self.quota(identity, 1)
        limits = _limit_headers(quota, authenticated=token is not None)
        if not allowed:
            response = _throttled(quota, limits)
        elif token is not None and token in self.settings.bad_tokens:
            response = json_response(401, {"message": "401 Unauthorized"})
        elif not request.path.startswith("/api/v4/"):
            response = json_response(404, {"error": "404 Not Found"})
        else:
            response = gitlab_rest.handle(self, request, token)
            if response.status == 200 and request.method in ("GET", "HEAD"):
                etag = weak_etag(response.body)
                response.headers["ETag"] = etag
                if etag_matches(request.headers.get("if-none-match"), etag):
                    response = ApiResponse(304, b"", {"ETag": etag}, not_modified=True)
        response.headers.update(limits)
        return self._common(response)

    def _common(self, response: ApiResponse) -> ApiResponse:
        request_id = f"01LF{next(self._request_ids):022X}"
        headers = response.headers
        headers.setdefault("Cache-Control", "max-age=0, private, must-revalidate")
        headers.setdefault("Vary", "Origin, Accept-Encoding")
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "SAMEORIGIN"
        headers["X-Request-Id"] = request_id
        headers["X-Runtime"] = "0.010000"
        headers["X-Gitlab-Meta"] = f'{{"correlation_id":"{request_id}","version":"1"}}'
        return response

    # --- injected faults ---

    def fault_response(self, fault: str, request: ApiRequest, draw: float) -> ApiResponse:
        if fault == "500":
            return self._common(json_response(500, {"message": "500 Internal Server Error"}))
        if fault in ("502", "503"):
            return self._common(html_error(int(fault)))
        if fault == "429":
            token = self.token(request)
            reset = int(time.time()) + 1
            quota = Quota("api", self.settings.rate_limit, self.settings.rate_limit + 1, reset)
            headers = _limit_headers(quota, authenticated=token is not None)
            return self._common(_throttled(quota, headers, retry_after=1))
        raise ValueError(f"not a GitLab status fault: {fault!r}")


def html_error(status: int) -> ApiResponse:
    """GitLab's error pages for 502 and 503 (HTML, as the front proxy serves them)."""
    title, text = _HTML_ERRORS[status]
    page = (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '  <meta content="width=device-width, initial-scale=1, maximum-scale=1" name="viewport">\n'
        f"  <title>{title.split('.')[0]}</title>\n</head>\n<body>\n"
        f"  <h1>{status}</h1>\n  <h3>{title}</h3>\n  <hr />\n  <p>{text}</p>\n"
        "</body>\n</html>\n"
    )
    return ApiResponse(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _limit_headers(quota: Quota, *, authenticated: bool) -> dict[str, str]:
    name = "throttle_authenticated_api" if authenticated else "throttle_unauthenticated_api"
    return {
        "RateLimit-Name": name,
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Observed": str(quota.used),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset),
        "RateLimit-ResetTime": formatdate(quota.reset, usegmt=True),
    }


def _throttled(
    quota: Quota, headers: dict[str, str], retry_after: int | None = None
) -> ApiResponse:
    wait = retry_after if retry_after is not None else max(quota.reset - int(time.time()), 1)
    all_headers = {"Content-Type": "text/plain", "Retry-After": str(wait), **headers}
    all_headers["RateLimit-Observed"] = str(quota.used + 1)
    return ApiResponse(429, THROTTLED_BODY, all_headers)
