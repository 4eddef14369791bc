"""The forge interface, the loop every adapter shares, the error hierarchy and the User-Agent.

An adapter only plans jobs (groups of accounts to read together) and runs one job: paging and
mapping to records, emitting one event per page. The base class owns the rest: at most
``max_concurrency`` requests in flight per forge host, failures isolated per account (a failing
batch is retried account by account, from where each stopped), and a forge-wide failure (down,
bad token, a rate limit longer than allowed) settling every remaining account at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawler.forges.answers import BadItem
from crawler.forges.reads import ReadmeLicence
from crawler.forges.transport import BoundedAdapter
from crawler.models import (
    AccountDone,
    AccountFailed,
    CrawlEvent,
    ForgeConfig,
    ForgeState,
    ItemSkipped,
    KnownRepository,
    OwnerConfig,
    Repository,
    RepositoryPage,
)
from crawler.redact import mask

log = logging.getLogger(__name__)

PROJECT_URL = "https://code.gouv.fr/fr/bluehats/"
#: Sent with every request so that forge administrators know who crawls them and how to reach us.
USER_AGENT = f"codegouv-inventory/0.1 (+{PROJECT_URL})"

#: Politeness towards small public-sector instances: requests in flight per forge host.
MAX_CONCURRENCY = 4

#: An account whose signature has not changed is still listed again after this long, so that
#: what its signature does not capture (stars, forks of quiet repositories) does not go stale.
FULL_REFRESH_AFTER = dt.timedelta(days=7)


class ForgeError(Exception):
    """A forge answered something the crawler cannot use.

    The message is masked (``crawler.redact``) as it is made: it often quotes the forge's
    answer, which may echo the token, and it is logged and stored."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(mask(message))
        self.status = status


class AccountNotFound(ForgeError):
    """The account does not exist (renamed or deleted); permanent for that account."""


class AuthenticationError(ForgeError):
    """The token was refused or is missing where the API requires one; affects the whole forge."""


class RateLimited(ForgeError):
    """The forge's API budget is spent until a time further than the allowed wait."""


class ForgeUnavailable(ForgeError):
    """The forge cannot be reached (down, TLS error, timeouts); affects the whole forge."""


class MalformedResponse(ForgeError):
    """The forge answered, but not in the documented format."""


class QueryRejected(ForgeError):
    """The API refused the query itself (a GraphQL error)."""


class Interrupted(Exception):
    """The crawl was asked to stop (SIGTERM): the job ends after its last saved page, its
    account left unsettled so the next run resumes from the stored cursor."""


class AnswerFailed(ForgeError):
    """An answer cut off or too slow at every try, or too large: fails its account only."""


class EndlessPages(MalformedResponse):
    """A listing goes on past what the forge itself declared (its total, by a margin)."""


class AccountTimeout(ForgeError):
    """An account took longer than ``RetryPolicy.account_deadline``."""


#: Errors that say nothing about one account but about the forge: stop it, settle the rest.
FORGE_WIDE = (AuthenticationError, ForgeUnavailable, RateLimited)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to insist on transient faults (5xx, resets, timeouts, rate limits)."""

    attempts: int = 5
    """Tries per request, the first included."""
    backoff: float = 1.0
    """First wait in seconds, doubled at each retry (unless the forge says how long)."""
    max_wait: float = 300.0
    """A wait the forge asks for beyond this stops that forge (recorded, resumable)."""
    timeout: float = 30.0
    """Seconds before a request without an answer counts as a transient fault."""
    answer_deadline: float = 120.0
    """Seconds for the headers of one try of a request, then again for its body (a forge that
    trickles bytes never trips ``timeout``)."""
    max_answer_bytes: int = 32 * 1024 * 1024
    """The largest answer read (a listing page, a GraphQL answer); larger fails the request."""
    account_deadline: float = 1800.0
    """Seconds one account (or one batch of accounts) may take before it fails."""
    max_pages: int = 5000
    """Pages of one listing when the forge declares no total (keyset listings)."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` from 1)."""
        return float(self.backoff * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Job:
    """Accounts an adapter reads together, with whatever the adapter learned while planning."""

    accounts: tuple[OwnerConfig, ...]
    payload: Any = None


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    done: list[CrawlEvent] = field(default_factory=list)
    """Accounts settled while planning (not found, unchanged, no repositories...)."""


Emit = Callable[[CrawlEvent], None]


class Forge(ABC):
    """A forge adapter. Subclasses implement ``plan`` and ``fetch``; ``crawl`` is the loop."""

    kind: ClassVar[str]
    crawls_whole_instances: ClassVar[bool] = False
    """Whether a forge listed without owners (every public project) can be crawled."""
    readme_licence: ReadmeLicence | None = None
    """What reads a README's licence section, when the files leave the licence unknown (the
    README step of ``crawler.forges.reads``; off when ``None``)."""

    def __init__(
        self,
        config: ForgeConfig,
        token: str | None = None,
        *,
        state: ForgeState | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        self.config = config
        self.token = token
        self.state = state or ForgeState()
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max(1, min(max_concurrency, MAX_CONCURRENCY))
        self._lock = threading.Lock()
        self._requests = 0
        self.not_modified = 0
        """Requests answered 304 Not Modified."""
        self._fatal: ForgeError | None = None
        self.budget_left: int | None = None
        """What the API says is left of its rate-limit budget after the last request."""
        self._deadlines = threading.local()
        self.cursors: dict[str, str | None] = {
            key: state.cursor for key, state in self.state.accounts.items() if state.cursor
        }
        """Where each account's listing stands: a retried account resumes there."""
        self.stopping = threading.Event()
        """Set (or replaced by the pipeline's own event) to stop at the next page."""

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def requests(self) -> int:
        """API requests sent so far (each page, each query, each retry)."""
        return self._requests

    def count_request(self, budget_left: int | None = None) -> None:
        with self._lock:
            self._requests += 1
            if budget_left is not None:
                self.budget_left = budget_left

    def is_fresh(self, account: OwnerConfig, signature: str | None) -> bool:
        """Whether the account can be skipped: same signature, recent full listing, no
        interrupted listing to finish."""
        known = self.state.account(account)
        if signature is None or known.cursor or known.signature != signature:
            return False
        if not known.completed_at:
            return False
        completed = dt.datetime.fromisoformat(known.completed_at.replace("Z", "+00:00"))
        return dt.datetime.now(dt.UTC) - completed < FULL_REFRESH_AFTER

    def unchanged(self, repository: Repository) -> KnownRepository | None:
        """What the database holds of the repository, if it was not pushed to since (GitHub's
        pushedAt, GitLab's last_activity_at): its stored details still stand."""
        known = self.state.repositories.get(repository.id)
        if known is None or known.pushed_at != repository.pushed_at:
            return None
        return known

    @abstractmethod
    def plan(self, accounts: Sequence[OwnerConfig]) -> Plan:
        """Decide how to group the accounts into jobs (may query the forge)."""

    @abstractmethod
    def fetch(self, job: Job, emit: Emit) -> None:
        """Read one job's accounts whole, emitting a ``RepositoryPage`` per page and an
        ``AccountDone`` per account; record each account's cursor in ``self.cursors``."""

    def split(self, job: Job) -> list[Job]:
        """Break a batch into one job per account; adapters with payloads override it."""
        return [Job((account,), job.payload) for account in job.accounts]

    def crawl(self, accounts: Sequence[OwnerConfig]) -> Iterator[CrawlEvent]:
        """Crawl the accounts; yield events as they happen, ending with exactly one
        ``AccountDone`` or ``AccountFailed`` per account."""
        try:
            plan = self.plan(accounts)
        except ForgeError as error:
            log.warning("%s: cannot plan the crawl: %s", self.host, error)
            for account in accounts:
                yield AccountFailed(account, describe(self.host, error))
            return
        yield from plan.done
        events: queue.Queue[CrawlEvent | None] = queue.Queue(maxsize=64)

        def work(job: Job) -> None:
            # The worker itself says it is done (None), so the bounded queue only ever blocks
            # workers, never the consumer below.
            try:
                self._run(job, events.put)
            finally:
                events.put(None)

        with ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix=f"crawl-{self.host}"
        ) as pool:
            futures = [pool.submit(work, job) for job in plan.jobs]
            pending = len(futures)
            while pending:
                event = events.get()
                if event is None:
                    pending -= 1
                else:
                    yield event
            for future in futures:
                future.result()  # re-raise a bug in an adapter rather than lose it
        late: list[CrawlEvent] = []
        self.finish(late.append)
        yield from late

    def finish(self, emit: Emit) -> None:
        """Called once every job is done: emit what an adapter still holds back."""
        return None  # nothing held back by default

    def close(self) -> None:
        """Release what the adapter holds (thread pools, HTTP sessions): a long-running process
        (the scheduler) would otherwise keep them for ever. Safe to call twice."""
        return None  # nothing held by default

    def _run(self, job: Job, emit: Emit) -> None:
        settled: set[str] = set()

        def tracking_emit(event: CrawlEvent) -> None:
            if isinstance(event, AccountDone | AccountFailed):
                settled.add(event.account.key)
            emit(event)

        if self._fatal is not None:
            self._fail(job.accounts, self._fatal, emit)
            return
        if self.stopping.is_set():
            return
        self._deadlines.at = time.monotonic() + self.retry.account_deadline
        try:
            self.fetch(job, tracking_emit)
        except Interrupted:
            log.info("%s: stopped on request", self.host)
            return
        except ForgeError as error:
            left = [a for a in job.accounts if a.key not in settled]
            if isinstance(error, (*FORGE_WIDE, AccountTimeout)):
                if not isinstance(error, AccountTimeout):  # slow accounts are not retried
                    with self._lock:
                        if self._fatal is None:
                            log.warning("%s: stopping this forge: %s", self.host, error)
                            self._fatal = error
                self._fail(left, error, emit)
            elif len(left) > 1:
                # One bad account must not sink the others of its batch: retry them one by
                # one, each from where it stopped.
                log.info(
                    "%s: batch of %d failed (%s), retrying one by one", self.host, len(left), error
                )
                for single in self.split(Job(tuple(left), job.payload)):
                    self._run(single, emit)
            else:
                self._fail(left, error, emit)

    def _fail(self, accounts: Sequence[OwnerConfig], error: ForgeError, emit: Emit) -> None:
        for account in accounts:
            log.warning("%s: %s failed: %s", self.host, account.login or "(instance)", error)
            emit(AccountFailed(account, describe(self.host, error)))

    def check_deadline(self, what: str) -> None:
        """Fail the account being read (in this worker) once it has taken too long."""
        at: float | None = getattr(self._deadlines, "at", None)
        if at is not None and time.monotonic() > at:
            raise AccountTimeout(
                f"{what}: not finished after {self.retry.account_deadline:.0f} s; "
                "the crawl resumes on the next run"
            )

    def skip(
        self,
        emit: Emit,
        account: OwnerConfig,
        place: str,
        error: BadItem,
        repository_id: str | None = None,
    ) -> None:
        """Report an item of a page skipped because it is malformed."""
        log.warning("%s: %s: skipped: %s", self.host, place, error)
        emit(ItemSkipped(account, place, f"{self.host}: {place}: skipped: {error}", repository_id))

    def http_adapter(self, **kwargs: Any) -> BoundedAdapter:
        """The adapter that bounds every answer's time and size (see ``transport``); every
        try after the first counts as a request."""
        policy = self.retry
        return BoundedAdapter(
            max_bytes=policy.max_answer_bytes,
            deadline=policy.answer_deadline,
            attempts=policy.attempts,
            backoff=policy.backoff,
            on_retry=self.count_request,
            **kwargs,
        )

    def page(
        self, emit: Emit, account: OwnerConfig, page: RepositoryPage, cursor: str | None
    ) -> None:
        """Emit a page and remember where the account's listing now stands; a stop requested
        meanwhile ends the job here, after the page (saved with its cursor)."""
        with self._lock:
            self.cursors[account.key] = cursor
        emit(page)
        self.check_stop()

    def remember_cursor(self, account: OwnerConfig, cursor: str | None) -> None:
        """Where the account's listing now stands: a retried account resumes there."""
        with self._lock:
            self.cursors[account.key] = cursor
        self.check_stop()

    def check_stop(self) -> None:
        """Raise ``Interrupted`` when a stop was requested (a safe point between pages)."""
        if self.stopping.is_set():
            raise Interrupted(self.host)

    def wait(self, seconds: float, reason: str) -> None:
        """Sleep as the forge asks, unless that is longer than allowed: then stop the forge."""
        if seconds > self.retry.max_wait:
            raise RateLimited(
                f"{reason}: the forge asks to wait {seconds:.0f} s, more than the "
                f"{self.retry.max_wait:.0f} s allowed; the crawl resumes on the next run"
            )
        log.info("%s: %s, waiting %.1f s", self.host, reason, seconds)
        time.sleep(max(seconds, 0.0))


def describe(host: str, error: ForgeError) -> str:
    """A one-line, token-free message for crawl_errors and the terminal."""
    status = f" (HTTP {error.status})" if error.status else ""
    return mask(f"{host}: {type(error).__name__}{status}: {error}")
