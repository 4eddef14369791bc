"""What the HTTP server and the per-forge API modules exchange.

The server strips the ``/<host>`` prefix and hands an :class:`ApiRequest` to that host's
:class:`HostApi`; adding a forge kind (GitLab) is one more ``HostApi`` subclass.
"""

from __future__ import annotations

import hashlib
import json
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


class HostApi:
    """The API of one forge host behind the local server."""

    def kind_of(self, request: ApiRequest) -> str:
        """The counter a request falls in (``rest`` or ``graphql``), even for a fault."""
        raise NotImplementedError

    def handle(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError
