"""Every answer bounded, for both forges: one ``requests`` adapter under PyGithub and
python-gitlab.

A forge that trickles its answer, sends gigabytes, or cuts the connection in the middle of a
body must cost one request a bounded time and memory, never hang or exhaust the crawl. The
clients read bodies whole (``Response.content``) after the adapter returns, so the adapter reads
each body itself, in pieces, against a wall-clock deadline and a byte cap, and hands the client
a response whose content is already there:

- a body cut off or too slow (``ChunkedEncodingError``, a reset, the deadline) is retried a
  bounded number of times, then raised as :class:`AnswerCutOff`;
- a body larger than the cap is never retried (the forge would send it again):
  :class:`AnswerTooLarge`.

Both derive from ``requests.RequestException`` but not from ``ConnectionError``, so that
python-gitlab does not retry them again on top of the adapter. A caller that asks for a stream
(a raw file it wants the start of) reads it with :func:`read_body` and its own cap.

Connecting is bounded by the client's connect timeout, the status line and headers by the
deadline, the body by the deadline again (past each, a watchdog shuts the socket down, which
ends a blocked read): one try ends within twice the deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import BaseHTTPResponse

log = logging.getLogger(__name__)

#: Bytes asked for at each read of a body.
CHUNK = 64 * 1024
#: What is kept of an error's or a redirection's body (clients read it for a message).
MAX_ERROR_BYTES = 64 * 1024

#: What a connection cut in the middle of a body raises, from urllib3 or http.client.
_CUT = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.DecodeError,
    http.client.IncompleteRead,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    OSError,
)


class AnswerError(requests.RequestException):
    """An answer the crawler refuses to read further."""


class AnswerTooLarge(AnswerError):
    """The body is larger than allowed; not retried."""


class AnswerCutOff(AnswerError):
    """The body was cut off or too slow, at every try."""


class _TooSlow(Exception):
    pass


def read_body(response: requests.Response, limit: int, deadline: float, *, truncate: bool) -> bytes:
    """Read a streamed response's body: at most ``limit`` bytes, until ``deadline``
    (``time.monotonic()``); the connection is closed when the body is left unread.

    Args:
        response: a response sent with ``stream=True``.
        limit: the most bytes kept.
        deadline: when to give up, on the monotonic clock.
        truncate: keep the first ``limit`` bytes of a larger body instead of raising
            ``AnswerTooLarge``.

    Raises:
        AnswerTooLarge: the body is larger than ``limit`` and ``truncate`` is false.
        AnswerCutOff: the body was cut off, or not whole by the deadline (not retried here).
    """
    pieces: list[bytes] = []
    size = 0
    complete = False
    # A read waits up to the read timeout; past the deadline the watchdog ends it at once.
    alarm = _WATCHDOG.arm(max(0.0, deadline - time.monotonic()), lambda: _shut(response))
    try:
        while True:
            if time.monotonic() > deadline:
                raise _TooSlow
            piece = response.raw.read1(CHUNK, decode_content=True)
            if not piece:
                complete = True
                break
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                if truncate:
                    break
                raise AnswerTooLarge(
                    f"answer larger than {limit} bytes from {response.url}: not read further"
                )
    except AnswerError:  # a RequestException, hence an OSError: not a cut
        raise
    except _TooSlow:
        raise AnswerCutOff(f"answer from {response.url} not complete in time") from None
    except _CUT as error:
        if time.monotonic() > deadline:
            raise AnswerCutOff(f"answer from {response.url} not complete in time") from None
        raise AnswerCutOff(f"answer from {response.url} cut off: {error}") from error
    finally:
        _WATCHDOG.disarm(alarm)
        if complete:
            response.raw.release_conn()
        else:
            response.close()
    return b"".join(pieces)[:limit]


class _Watchdog:
    """One thread that runs actions at their deadlines, for every connection of the process: a
    ``threading.Timer`` per request would start a thread per request (~0.25 ms each here)."""

    def __init__(self) -> None:
        self._due: list[list[Any]] = []
        """A heap of ``[deadline, sequence, action]``; a disarmed entry's action is ``None``."""
        self._sequence = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> list[Any]:
        entry: list[Any] = [time.monotonic() + seconds, 0, action]
        with self._wake:
            self._sequence += 1
            entry[1] = self._sequence
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="answer-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._wake.notify()
        return entry

    def disarm(self, entry: list[Any]) -> None:
        with self._wake:
            entry[2] = None

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and self._due[0][2] is None:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wake.wait()
                    continue
                delay = self._due[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                action = heapq.heappop(self._due)[2]
            action()


_WATCHDOG = _Watchdog()


class _Watched(HTTPConnection):
    """A connection whose status line and headers must arrive within ``header_deadline``:
    past it the socket is shut down, which ends a read blocked on a trickling forge (a read
    timeout never fires while bytes keep coming)."""

    header_deadline: ClassVar[float] = 120.0

    def getresponse(self) -> BaseHTTPResponse:  # type: ignore[override]
        alarm = _WATCHDOG.arm(self.header_deadline, self._abort)
        try:
            return super().getresponse()
        finally:
            _WATCHDOG.disarm(alarm)

    def _abort(self) -> None:
        sock = self.sock
        if sock is not None:
            log.info("%s:%s: no whole headers in time, connection cut", self.host, self.port)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _watched_pools(header_deadline: float) -> dict[str, Any]:
    """Connection pools whose connections cut headers that do not arrive in time."""
    limit = {"header_deadline": header_deadline}
    http_connection = type("WatchedHTTPConnection", (_Watched,), limit)
    https_connection = type("WatchedHTTPSConnection", (_Watched, HTTPSConnection), limit)
    return {
        "http": type("WatchedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_connection}),
        "https": type(
            "WatchedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_connection}
        ),
    }


def _shut(response: requests.Response) -> None:
    """End a read blocked on the response's socket (from the watchdog's thread)."""
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        response.raw.shutdown()


class BoundedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that reads every body within a deadline and a byte cap, and retries a
    body cut off midway (what urllib3's ``Retry`` cannot see: it ends with the headers).

    Args:
        max_bytes: the largest body read whole.
        deadline: seconds for one try's status line and headers, then again for its body.
        attempts: tries of a request whose body is cut off or too slow, the first included.
        backoff: first wait between tries, doubled each time.
        on_retry: called before each new try (the forge counts its requests).
        **kwargs: for ``HTTPAdapter`` (``max_retries``, pool sizes).
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        deadline: float,
        attempts: int = 1,
        backoff: float = 0.0,
        on_retry: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._pools = _watched_pools(deadline)  # before HTTPAdapter builds its pool manager
        super().__init__(**kwargs)
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.on_retry = on_retry

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def send(  # noqa: PLR0917 (the signature requests calls)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        attempt = 1
        while True:
            # Connecting and the first byte are bounded by the client's timeouts (per try of
            # urllib3's own retries, which may wait as a Retry-After asks); the body by the
            # deadline, which starts with it.
            response = super().send(
                request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
            started = time.monotonic()
            success = 200 <= response.status_code < 300
            if stream and success:
                return response  # the caller reads it with read_body and its own cap
            try:
                # Another answer's body only makes a message: its start is enough.
                content = read_body(
                    response,
                    self.max_bytes if success else min(self.max_bytes, MAX_ERROR_BYTES),
                    started + self.deadline,
                    truncate=not success,
                )
            except AnswerCutOff as error:
                if attempt >= self.attempts:
                    raise AnswerCutOff(f"{error} (after {attempt} tries)") from error
                wait = self.backoff * 2 ** (attempt - 1)
                log.info("%s, try %d of %d in %.1f s", error, attempt + 1, self.attempts, wait)
                attempt += 1
                if self.on_retry is not None:
                    self.on_retry()
                time.sleep(wait)
                continue
            response._content = content
            response._content_consumed = True  # type: ignore[attr-defined]
            return response
