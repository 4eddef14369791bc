"""The fault catalogue: what the local forge can do wrong, and the seeded draws that decide when.

Each request is drawn for independently of the others: the draw for the *n*-th occurrence of a
request (same host, method, path, query and body) comes from a RNG seeded with ``seed`` and that
occurrence. A crawl therefore meets the same faults whatever its threads' interleaving, and a
retried request gets a fresh draw, so retries eventually succeed when ``fault_rate < 1``.

The kinds (``LocalForge.fault_kinds`` chooses among them):

``500``, ``502``, ``503``
    That status, with the forge's error body (GitHub's JSON; GitLab's JSON for 500 and its
    HTML pages for 502 and 503).
``drop``
    The connection is closed without an answer.
``timeout``
    The answer comes only after ``LocalForge.slow_seconds`` (set it above the client's timeout).
``reset``
    The status line, headers and half the body are sent, then the connection is reset.
``429``
    GitLab: ``429 Retry later`` with ``Retry-After: 1``. GitHub: a 403 with
    ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` one second ahead, or (half the
    draws) a secondary-rate-limit 403 with ``Retry-After: 1``.
``graphql_rate_limited``
    GitHub GraphQL only: HTTP 200 with ``{"errors": [{"type": "RATE_LIMITED", ...}]}``.
``malformed``
    A JSON answer of status 200 cut in half (a non-JSON or non-200 answer is sent intact and not
    counted as a fault).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

FAULT_KINDS: tuple[str, ...] = (
    "500",
    "502",
    "503",
    "drop",
    "timeout",
    "reset",
    "429",
    "graphql_rate_limited",
    "malformed",
)
#: What ``fault_rate`` draws from unless told otherwise.
DEFAULT_FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "drop")
#: Faults answered by the host's API (:meth:`localforge.api.HostApi.fault_response`).
STATUS_FAULTS = frozenset({"500", "502", "503", "429", "graphql_rate_limited"})


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple, each checked against :data:`FAULT_KINDS`.

    Raises:
        ValueError: an unknown kind, or none at all.
    """
    checked = tuple(kinds)
    unknown = [k for k in checked if k not in FAULT_KINDS]
    if unknown or not checked:
        raise ValueError(f"fault kinds must be among {', '.join(FAULT_KINDS)}, not {unknown}")
    return checked


@dataclass(frozen=True, slots=True)
class Draw:
    """A fault drawn for a request."""

    kind: str
    variant: float
    """A number in [0, 1) for faults with variants (GitHub's two kinds of rate limit)."""


class FaultInjector:
    """Seeded, per-request draws (see the module's documentation)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._seen: dict[bytes, int] = {}
        """Digest of a request -> how many times it was drawn for."""

    def draw(
        self,
        rate: float,
        kinds: tuple[str, ...],
        request_key: str,
        body: bytes,
        applies: Callable[[str], bool],
    ) -> Draw | None:
        """Whether this occurrence of the request fails, and how.

        Args:
            rate: probability of a fault.
            kinds: the kinds to choose from.
            request_key: what identifies the request (host, method, path and query).
            body: its body (GraphQL queries differ by body only).
            applies: whether a kind can happen to this request.
        """
        if rate <= 0:
            return None
        digest = hashlib.blake2b(request_key.encode() + b"\0" + body, digest_size=16).digest()
        with self._lock:
            occurrence = self._seen.get(digest, 0)
            self._seen[digest] = occurrence + 1
        rng = random.Random(f"{self.seed}:{digest.hex()}:{occurrence}")  # noqa: S311 - not security
        if rng.random() >= rate:
            return None
        possible = [k for k in kinds if applies(k)]
        if not possible:
            return None
        return Draw(rng.choice(possible), rng.random())

    def forget(self) -> None:
        """Start every request's occurrences over (the same faults will be drawn again)."""
        with self._lock:
            self._seen.clear()
