"""The forge interface, the loop every adapter shares, the error hierarchy and the User-Agent.

An adapter only plans jobs (groups of accounts to read together) and runs one job: paging and
mapping to records. The base class owns the rest: at most ``max_concurrency`` requests in flight
per forge host, failures isolated per account (a failing batch is retried account by account),
and the request count.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawler.models import ForgeConfig, OwnerConfig, OwnerCrawl

log = logging.getLogger(__name__)

PROJECT_URL = "https://code.gouv.fr/fr/bluehats/"
#: Sent with every request so that forge administrators know who crawls them and how to reach us.
USER_AGENT = f"codegouv-inventory/0.1 (+{PROJECT_URL})"

#: Politeness towards small public-sector instances: requests in flight per forge host.
MAX_CONCURRENCY = 4


class ForgeError(Exception):
    """A forge answered something the crawler cannot use."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AccountNotFound(ForgeError):
    """The account does not exist (renamed or deleted); permanent for that account."""


class AuthenticationError(ForgeError):
    """The token was refused or is missing where the API requires one; affects the whole forge."""


class RateLimited(ForgeError):
    """The forge's API budget is spent."""

    def __init__(self, message: str, status: int | None = None, reset_at: str | None = None):
        super().__init__(message, status)
        self.reset_at = reset_at


class ForgeUnavailable(ForgeError):
    """The forge cannot be reached (down, TLS error, timeout); affects the whole forge."""


class MalformedResponse(ForgeError):
    """The forge answered, but not in the documented format."""


class QueryRejected(ForgeError):
    """The API refused the query itself (a GraphQL error)."""


@dataclass(frozen=True)
class Job:
    """Accounts an adapter reads together, with whatever the adapter learned while planning."""

    accounts: tuple[OwnerConfig, ...]
    payload: Any = None


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    done: list[OwnerCrawl] = field(default_factory=list)
    """Accounts settled while planning (not found, no repositories...)."""


class Forge(ABC):
    """A forge adapter. Subclasses implement ``plan`` and ``fetch``; ``crawl`` is the loop."""

    kind: ClassVar[str]

    def __init__(
        self,
        config: ForgeConfig,
        token: str | None = None,
        *,
        max_concurrency: int = MAX_CONCURRENCY,
        timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.token = token
        self.max_concurrency = max(1, min(max_concurrency, MAX_CONCURRENCY))
        self.timeout = timeout
        self._requests = 0
        self._lock = threading.Lock()
        self.budget_left: int | None = None
        """What the API says is left of its rate-limit budget after the last request."""

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def requests(self) -> int:
        """API requests sent so far (each page, each query)."""
        return self._requests

    def count_request(self, budget_left: int | None = None) -> None:
        with self._lock:
            self._requests += 1
            if budget_left is not None:
                self.budget_left = budget_left

    @abstractmethod
    def plan(self, accounts: Sequence[OwnerConfig]) -> Plan:
        """Decide how to group the accounts into jobs (may query the forge)."""

    @abstractmethod
    def fetch(self, job: Job) -> Iterator[OwnerCrawl]:
        """Read one job's accounts whole: every page of every account."""

    def crawl(self, accounts: Sequence[OwnerConfig]) -> Iterator[OwnerCrawl]:
        """Crawl the accounts and yield one result per account, as soon as each is known."""
        try:
            plan = self.plan(accounts)
        except ForgeError as error:
            log.warning("%s: cannot plan the crawl: %s", self.host, error)
            for account in accounts:
                yield OwnerCrawl(account, error=describe(self.host, error))
            return
        yield from plan.done
        with ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix=f"crawl-{self.host}"
        ) as pool:
            futures: dict[Future[list[OwnerCrawl]], Job] = {
                pool.submit(self._run, job): job for job in plan.jobs
            }
            for future in as_completed(futures):
                yield from future.result()

    def _run(self, job: Job) -> list[OwnerCrawl]:
        try:
            return list(self.fetch(job))
        except ForgeError as error:
            if len(job.accounts) > 1 and not isinstance(
                error, AuthenticationError | ForgeUnavailable | RateLimited
            ):
                # One bad account must not sink the others of its batch: retry them one by one.
                log.info(
                    "%s: batch of %d failed (%s), retrying one by one",
                    self.host,
                    len(job.accounts),
                    error,
                )
                results: list[OwnerCrawl] = []
                for single in self.split(job):
                    results.extend(self._run(single))
                return results
            log.warning(
                "%s: %s failed: %s", self.host, ", ".join(a.login for a in job.accounts), error
            )
            return [OwnerCrawl(a, error=describe(self.host, error)) for a in job.accounts]

    def split(self, job: Job) -> list[Job]:
        """Break a batch into one job per account; adapters with payloads override it."""
        return [Job((account,), job.payload) for account in job.accounts]


def describe(host: str, error: ForgeError) -> str:
    """A one-line, token-free message for crawl_errors and the terminal."""
    status = f" (HTTP {error.status})" if error.status else ""
    return f"{host}: {type(error).__name__}{status}: {error}"
