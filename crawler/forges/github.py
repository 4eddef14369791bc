"""GitHub (github.com and GitHub Enterprise) through PyGithub's requester and the GraphQL API.

Two kinds of queries, both batched with aliases:

1. a survey: up to ``SURVEY_BATCH`` accounts a query, each account's profile and its number of
   public repositories (``repositoryOwner`` answers null for an unknown login instead of failing
   the whole batch, unlike ``organization``/``user``);
2. pages of repositories with every column the data contract needs, root tree included. Small
   accounts share a query (each alias asks for exactly its count); large accounts are paged 100
   at a time. All paging goes through ``_pages``: the one pagination path.

A full crawl costs about one query per 100 repositories plus one per ``SURVEY_BATCH`` accounts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass
from urllib3.util import Retry

from crawler.forges.answers import BadItem, count, field, items, obj, retry_after
from crawler.forges.base import (
    FORGE_WIDE,
    USER_AGENT,
    AccountNotFound,
    AnswerFailed,
    AuthenticationError,
    Emit,
    EndlessPages,
    Forge,
    ForgeError,
    ForgeUnavailable,
    Job,
    MalformedResponse,
    Plan,
    QueryRejected,
    RateLimited,
    describe,
)
from crawler.forges.reads import licence_steps, licence_unknown, publiccode_to_read, readme_files
from crawler.forges.transport import AnswerError
from crawler.licences import NOASSERTION, NONE, detect_files, normalise, readme_licence_id
from crawler.models import (
    AccountDone,
    AccountFailed,
    CrawlEvent,
    OwnerConfig,
    Repository,
    RepositoryPage,
    repository_id,
)
from crawler.models import Owner as OwnerRecord
from crawler.publiccode import validate
from crawler.rootfiles import RootFiles, classify

log = logging.getLogger(__name__)

#: GitHub's maximum page size for a connection.
PAGE_SIZE = 100
#: Accounts surveyed per query (profile and repository count only: cheap).
SURVEY_BATCH = 50
#: Repositories asked for in one query, all aliases together.
QUERY_BUDGET = 100
#: The statuses GitHub answers when a query takes too long: retried with smaller pages.
TIMEOUTS = (502, 504)
#: The smallest page asked for when GitHub times out on larger ones.
MIN_PAGE_SIZE = 10
#: Repositories whose files (licence, manifests, publiccode.yml) are read per query: a few
#: objects each, no connection; a query GitHub times out on is split in two.
FILES_BATCH = 200
#: Topics kept per repository.
MAX_TOPICS = 20

OWNER_FIELDS = """
fragment OwnerFields on RepositoryOwner {
  __typename login avatarUrl
  ... on Organization { name description websiteUrl email location createdAt }
  ... on User { name bio websiteUrl userEmail: email location createdAt }
}
"""

REPOSITORY_FIELDS = f"""
fragment RepositoryFields on Repository {{
  nameWithOwner name url description homepageUrl
  isFork isArchived isTemplate isPrivate createdAt updatedAt pushedAt
  stargazerCount forkCount
  issues(states: [OPEN]) {{ totalCount }}
  primaryLanguage {{ name }}
  repositoryTopics(first: {MAX_TOPICS}) {{ nodes {{ topic {{ name }} }} }}
  licenseInfo {{ spdxId key name }}
  defaultBranchRef {{ name target {{ ... on Commit {{ committedDate }} }} }}
  object(expression: "HEAD:") {{ ... on Tree {{ entries {{ name type }} }} }}
}}
"""

_REPOSITORIES_ARGS = "privacy: PUBLIC, ownerAffiliations: [OWNER]"


@dataclass(frozen=True)
class _Page:
    """One page of one account's repositories to ask for."""

    account: OwnerConfig
    first: int
    after: str | None = None


@dataclass(frozen=True)
class _Surveyed:
    owner: OwnerRecord
    count: int
    signature: str


def survey_query(size: int) -> str:
    """The survey query for ``size`` accounts, logins passed as variables ``$l0``…"""
    params = ", ".join(f"$l{i}: String!" for i in range(size))
    aliases = "\n".join(
        f"  o{i}: repositoryOwner(login: $l{i}) {{ ...OwnerFields "
        f"repositories(first: 1, {_REPOSITORIES_ARGS}) {{ totalCount }} "
        f"lastPushed: repositories(first: 1, {_REPOSITORIES_ARGS}, "
        f"orderBy: {{field: PUSHED_AT, direction: DESC}}) {{ nodes {{ pushedAt }} }} "
        f"lastUpdated: repositories(first: 1, {_REPOSITORIES_ARGS}, "
        f"orderBy: {{field: UPDATED_AT, direction: DESC}}) {{ nodes {{ updatedAt }} }} }}"
        for i in range(size)
    )
    return (
        f"query Survey({params}) {{\n  rateLimit {{ cost remaining resetAt }}\n{aliases}\n}}\n"
        + OWNER_FIELDS
    )


def pages_query(pages: Sequence[_Page]) -> str:
    """A query for several accounts' pages at once: ``$l{i}`` logins, ``$c{i}`` cursors."""
    params = ", ".join(f"$l{i}: String!, $c{i}: String" for i in range(len(pages)))
    aliases = "\n".join(
        f"  o{i}: repositoryOwner(login: $l{i}) {{ login repositories(first: {page.first}, "
        f"after: $c{i}, {_REPOSITORIES_ARGS}, orderBy: {{field: CREATED_AT, direction: ASC}}) {{ "
        f"totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ ...RepositoryFields }} }} }}"
        for i, page in enumerate(pages)
    )
    return (
        f"query Repositories({params}) {{\n  rateLimit {{ cost remaining resetAt }}\n"
        f"{aliases}\n}}\n" + REPOSITORY_FIELDS
    )


class _Retry(GithubRetry):
    """PyGithub's retry (5xx, rate-limit 403 with its reset, Retry-After) that also counts every
    retry as a request and refuses a Retry-After longer than the allowed wait."""

    def __init__(self, on_retry: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_retry = on_retry

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.on_retry = self.on_retry
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> Retry:  # type: ignore[override]
        retry = super().increment(*args, **kwargs)  # raises when retries are exhausted
        if self.on_retry is not None:
            self.on_retry()
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        # urllib3 raises InvalidHeader on a negative or garbage Retry-After (and PyGithub lets
        # it out): such a header is ignored, the backoff applies.
        seconds = retry_after(response.headers.get("Retry-After"))
        limit = self.max_rate_limit_wait
        if seconds is not None and limit is not None and seconds > limit:
            raise RateLimitExceededExceedsMaxWait(
                response.status, None, dict(response.headers), wait=seconds
            )
        return seconds


@dataclass(frozen=True)
class _Wanted:
    """What to read of one repository beyond its page: files' texts and folders' listings."""

    files: tuple[str, ...] = ()
    """Root licence files and package manifests, when the licence is still unknown."""
    folders: tuple[str, ...] = ()
    """REUSE ``LICENSES/`` folders, whose file names are SPDX ids."""
    publiccode: str | None = None
    readme: str | None = None
    """The README, whose licence section is read when the files tell no licence."""


@dataclass
class _Held:
    """An event waiting for files to be read (``needs``: repository index in the page, what
    to read)."""

    event: CrawlEvent
    emit: Emit
    needs: list[tuple[int, _Wanted]]


class GitHubForge(Forge):
    kind = "github"
    readme_licence = staticmethod(readme_licence_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._held: list[_Held] = []
        self._needed = 0
        self._held_lock = threading.RLock()
        self._turns = threading.Condition(self._held_lock)
        self._taken = self._emitted = self._in_flight = 0
        """Batches taken out, batches emitted, batches taken but not yet emitted."""
        self._clients: list[Github] = []
        """Every worker thread's client, closed by ``close``."""

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    # --- transport ----------------------------------------------------------------------------

    def _client(self) -> Github:
        # PyGithub's connection object keeps per-request state: one client per worker thread.
        client: Github | None = getattr(self._local, "client", None)
        if client is None:
            policy = self.retry
            client = Github(
                base_url=self.config.api_url,
                auth=Auth.Token(self.token) if self.token else None,
                user_agent=USER_AGENT,
                timeout=max(1, int(policy.timeout)),
                per_page=PAGE_SIZE,
                retry=_Retry(
                    on_retry=self.count_request,
                    total=policy.attempts - 1,
                    backoff_factor=policy.backoff,
                    max_rate_limit_wait=policy.max_wait,
                    # 502/504 are GitHub's answer to a query too heavy to finish in time:
                    # asking again at the same size rarely helps, so they come back to us.
                    status_forcelist=[s for s in (*range(500, 600), 429) if s not in TIMEOUTS],
                ),
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
            # Every answer bounded in time and size, and a 3xx refused (see _connection), for
            # this client only: PyGithub's injectConnectionClasses would change every client of
            # the process and stop reusing connections.
            requester = client.requester
            if "_Requester__connectionClass" not in vars(requester):
                raise RuntimeError("PyGithub's Requester changed: cannot bound its answers")
            vars(requester)["_Requester__connectionClass"] = self._connection
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _connection(
        self, host: str, port: int | None = None, **kwargs: Any
    ) -> HTTPRequestsConnectionClass | HTTPSRequestsConnectionClass:
        """PyGithub's connection object, its session reading answers through our adapter."""
        connection: HTTPRequestsConnectionClass | HTTPSRequestsConnectionClass
        if self.config.api_url.startswith("http:"):
            connection = HTTPRequestsConnectionClass(host, port, **kwargs)
        else:
            connection = HTTPSRequestsConnectionClass(host, port, **kwargs)
        adapter = self.http_adapter(
            max_retries=connection.retry,
            pool_connections=connection.pool_size,
            pool_maxsize=connection.pool_size,
        )
        connection.session.mount(f"{connection.protocol}://", adapter)
        connection.session.hooks["response"].append(_refuse_redirect)
        return connection

    def graphql(
        self, query: str, variables: dict[str, Any], *, retry_timeouts: bool = True
    ) -> dict[str, Any]:
        """Send one GraphQL query; wait out GraphQL rate limits (within the allowed wait) and,
        unless the caller shrinks its query instead, timeouts; translate every failure into a
        ``ForgeError``."""
        if not self.token:
            raise AuthenticationError(
                "GitHub's GraphQL API needs a token: set GITHUB_TOKEN (no scope is needed)"
            )
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._graphql_once(query, variables)
            except _GraphQLRateLimited as limited:
                if attempt == self.retry.attempts:
                    raise RateLimited(str(limited), 200) from limited
                self.wait(max(limited.wait, self.retry.delay(attempt)), "GraphQL rate limit")
            except ForgeUnavailable as error:
                if not retry_timeouts or error.status not in TIMEOUTS:
                    raise
                if attempt == self.retry.attempts:
                    raise
                self.wait(self.retry.delay(attempt), f"HTTP {error.status}")
        raise AssertionError("unreachable")

    def _graphql_once(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.count_request()
        try:
            headers, body = self._client().requester.graphql_query(query, variables)
        except BadCredentialsException as error:
            raise AuthenticationError("the token was refused (bad credentials)", 401) from error
        except RateLimitExceededExceedsMaxWait as error:
            raise RateLimited(
                f"rate limited for {error.wait or 0:.0f} s, more than the "
                f"{self.retry.max_wait:.0f} s allowed; the crawl resumes on the next run",
                error.status,
            ) from error
        except RateLimitExceededException as error:
            raise RateLimited("API rate limit exceeded", error.status) from error
        except UnknownObjectException as error:
            raise QueryRejected(_error_message(error.data), error.status) from error
        except GithubException as error:
            data = error.data if isinstance(error.data, dict) else {}
            if any(e.get("type") == "RATE_LIMITED" for e in data.get("errors") or []):
                raise _GraphQLRateLimited(
                    _error_message(data), _reset_wait(error.headers)
                ) from error
            if error.status and error.status >= 500:
                raise ForgeUnavailable(_error_message(error.data), error.status) from error
            raise QueryRejected(_error_message(error.data), error.status) from error
        except requests.exceptions.RetryError as error:
            raise ForgeUnavailable(f"still failing after retries: {error}") from error
        except _Redirected as error:
            raise MalformedResponse(str(error), error.status) from error
        except AnswerError as error:
            raise AnswerFailed(str(error)) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ForgeUnavailable(f"cannot reach {self.config.api_url}: {error}") from error
        except requests.RequestException as error:  # e.g. a body cut off, after retries
            raise AnswerFailed(f"{self.config.api_url}: {error}") from error
        except ValueError as error:  # the body was not JSON
            raise MalformedResponse(f"the answer is not JSON: {error}") from error
        payload = body.get("data") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise MalformedResponse("the answer has no 'data' object")
        rate = payload.get("rateLimit")
        rate = rate if isinstance(rate, dict) else {}
        if isinstance(rate.get("remaining"), int):
            self.budget_left = rate["remaining"]
        elif headers.get("x-ratelimit-remaining", "").isdigit():
            self.budget_left = int(headers["x-ratelimit-remaining"])
        return payload

    # --- planning -----------------------------------------------------------------------------

    def plan(self, accounts: Sequence[OwnerConfig]) -> Plan:
        plan = Plan()
        surveyed: list[tuple[OwnerConfig, _Surveyed]] = []
        batches = [accounts[i : i + SURVEY_BATCH] for i in range(0, len(accounts), SURVEY_BATCH)]
        while batches:
            batch = batches.pop(0)
            try:
                data = self.graphql(
                    survey_query(len(batch)), {f"l{i}": a.login for i, a in enumerate(batch)}
                )
            except ForgeError as error:
                if isinstance(error, FORGE_WIDE):
                    raise
                if len(batch) > 1:  # one bad answer must not sink the batch: one by one
                    batches[:0] = [[account] for account in batch]
                else:
                    log.warning("%s: %s: survey failed: %s", self.host, batch[0].login, error)
                    plan.done.append(AccountFailed(batch[0], describe(self.host, error)))
                continue
            for i, account in enumerate(batch):
                node = data.get(f"o{i}")
                if node is None:
                    plan.done.append(
                        AccountFailed(
                            account,
                            f"{self.host}: AccountNotFound: account '{account.login}' not found "
                            "(renamed or deleted?)",
                        )
                    )
                    continue
                try:
                    found = _Surveyed(
                        self._owner(node),
                        count(obj(node, "repositories"), "totalCount"),
                        _signature(node),
                    )
                except BadItem as error:  # this account's profile only
                    message = f"the profile of '{account.login}' is malformed: {error}"
                    log.warning("%s: %s", self.host, message)
                    plan.done.append(
                        AccountFailed(account, f"{self.host}: MalformedResponse: {message}")
                    )
                    continue
                if self.is_fresh(account, found.signature) or found.count == 0:
                    plan.done.append(
                        AccountDone(
                            account, found.owner, found.signature, unchanged=found.count > 0
                        )
                    )
                else:
                    surveyed.append((account, found))
        # Resumed accounts and large ones get a job each; small ones are packed together,
        # largest first, so that each query asks for about QUERY_BUDGET repositories.
        surveyed.sort(key=lambda item: -item[1].count)
        batch_items: list[tuple[OwnerConfig, _Surveyed]] = []
        budget = 0
        for account, found in surveyed:
            if self.cursors.get(account.key):
                plan.jobs.append(_job([(account, found)]))
                continue
            size = min(found.count, PAGE_SIZE)
            if batch_items and budget + size > QUERY_BUDGET:
                plan.jobs.append(_job(batch_items))
                batch_items, budget = [], 0
            batch_items.append((account, found))
            budget += size
        if batch_items:
            plan.jobs.append(_job(batch_items))
        return plan

    def split(self, job: Job) -> list[Job]:
        surveyed: dict[str, _Surveyed] = job.payload
        return [_job([(a, surveyed[a.key])]) for a in job.accounts]

    # --- fetching -----------------------------------------------------------------------------

    def fetch(self, job: Job, emit: Emit) -> None:
        surveyed: dict[str, _Surveyed] = job.payload
        first_pages = []
        for account in job.accounts:
            cursor = self.cursors.get(account.key)
            size = PAGE_SIZE if cursor else max(1, min(surveyed[account.key].count, PAGE_SIZE))
            first_pages.append(_Page(account, size, cursor))
        for account, page_nodes, cursor in self._pages(first_pages):
            nodes: list[dict[str, Any]] = []
            mapped: list[Repository] = []
            for index, node in enumerate(page_nodes):
                try:
                    mapped.append(self._known_licence(self._repository(node)))
                except BadItem as error:  # that repository only: the page is kept
                    name = node.get("nameWithOwner") if isinstance(node, dict) else None
                    place = f"repository '{name}'" if isinstance(name, str) else f"item {index}"
                    owner, _, short = name.partition("/") if isinstance(name, str) else ("", "", "")
                    known = repository_id(self.host, owner, short) if owner and short else None
                    self.skip(emit, account, f"{account.login}: {place}", error, known)
                    continue
                nodes.append(node)
            repositories = tuple(mapped)
            self.remember_cursor(account, cursor)
            needs = [
                (i, wanted)
                for i, (node, repository) in enumerate(zip(nodes, repositories, strict=True))
                if (wanted := self._wanted(repository, _root_files(node), _readmes(node)))
            ]
            self._deliver(emit, RepositoryPage(account, repositories, cursor), needs)
            if cursor is None:
                found = surveyed[account.key]
                self._deliver(emit, AccountDone(account, found.owner, found.signature), [])

    # --- files beyond the page ----------------------------------------------------------------
    #
    # GitHub's detector does not know CeCILL-B, CeCILL-C or Etalab-2.0: it says NOASSERTION
    # (or nothing, beside a licence file), and it never reads REUSE's LICENSES/ folder or the
    # package manifests. Those repositories' files, and every publiccode.yml, are read in
    # batches of aliases (``FILES_BATCH`` repositories a query, across accounts and jobs).
    # Until its batch is read, a page waits, and so does every event after it: each account's
    # pages and its end keep their order.

    def _known_licence(self, repository: Repository) -> Repository:
        """A licence we found before stays, unless the repository was pushed to since."""
        known = self.unchanged(repository)
        source = known.details.get("licence_source") if known else None
        if (
            repository.licence in (NOASSERTION, NONE)
            and known is not None
            and source in ("detected", "manifest", "readme")
            and isinstance(known.details.get("licence"), str)
        ):
            return dataclasses.replace(
                repository, licence=str(known.details["licence"]), licence_source=str(source)
            )
        return repository

    def _wanted(
        self, repository: Repository, files: RootFiles, readmes: Sequence[str] = ()
    ) -> _Wanted | None:
        """What is worth reading (``crawler.forges.reads``): while the licence is unknown,
        every licence step at once (one query reads them all); publiccode.yml unless it was
        read before this last push."""
        wanted = _Wanted()
        if licence_unknown(repository):
            steps = licence_steps(files, readmes=readmes, readme_licence=self.readme_licence)
            wanted = _Wanted(
                tuple(s.path for s in steps if s.kind in ("licence", "manifest")),
                tuple(s.path for s in steps if s.kind == "folder"),
                readme=next((s.path for s in steps if s.kind == "readme"), None),
            )
        publiccode = publiccode_to_read(files, self.unchanged(repository))
        if publiccode is not None:
            wanted = dataclasses.replace(wanted, publiccode=publiccode)
        if wanted.files or wanted.folders or wanted.publiccode or wanted.readme:
            return wanted
        return None

    def _deliver(self, emit: Emit, event: CrawlEvent, needs: list[tuple[int, _Wanted]]) -> None:
        """Emit the event now, or hold it until its batch of files is read. The files are read
        outside the lock (other workers go on paging meanwhile); batches are emitted in the
        order they were taken, and nothing is emitted directly while one is in flight, so each
        account's events keep their order."""
        with self._held_lock:
            if not self._held and not needs and self._in_flight == 0:
                emit(event)
                return
            self._held.append(_Held(event, emit, needs))
            self._needed += len(needs)
            if self._needed < FILES_BATCH:
                return
            held, turn = self._take()
        self._release(held, turn)

    def finish(self, emit: Emit) -> None:
        with self._held_lock:
            held, turn = self._take()
        self._release(held, turn, emit)

    def _take(self) -> tuple[list[_Held], int]:
        """Take the held events out as one batch, with its turn to be emitted (under the lock)."""
        held, self._held, self._needed = self._held, [], 0
        turn = self._taken
        self._taken += 1
        self._in_flight += 1
        return held, turn

    def _release(self, held: list[_Held], turn: int, late_emit: Emit | None = None) -> None:
        """Read the held repositories' files, then emit the held events in order, once the
        batches taken before this one are emitted."""
        done = False
        try:
            wanted = [
                (h, index, what)
                for h in held
                if isinstance(h.event, RepositoryPage)
                for index, what in h.needs
            ]
            for start in range(0, len(wanted), FILES_BATCH):
                self._read(wanted[start : start + FILES_BATCH])
            done = True
        finally:
            with self._turns:
                while self._emitted != turn:
                    self._turns.wait()
            try:
                # Only this batch emits now: direct emits wait while one is in flight.
                for h in held if done else ():
                    (late_emit or h.emit)(h.event)
            finally:
                with self._turns:
                    self._emitted += 1
                    self._in_flight -= 1
                    self._turns.notify_all()

    def _read(self, wanted: list[tuple[_Held, int, _Wanted]]) -> None:
        variables: dict[str, Any] = {}
        fields = []
        for i, (h, index, what) in enumerate(wanted):
            assert isinstance(h.event, RepositoryPage)
            repository = h.event.repositories[index]
            variables[f"o{i}"], variables[f"n{i}"] = repository.owner, repository.name
            objects = []
            blobs = (
                *what.files,
                *((what.publiccode,) if what.publiccode else ()),
                *((what.readme,) if what.readme else ()),
            )
            for j, name in enumerate(blobs):
                variables[f"e{i}_{j}"] = f"HEAD:{name}"
                objects.append(f"f{j}: object(expression: $e{i}_{j}) {{ ... on Blob {{ text }} }}")
            for j, name in enumerate(what.folders):
                variables[f"d{i}_{j}"] = f"HEAD:{name}"
                objects.append(
                    f"d{j}: object(expression: $d{i}_{j}) "
                    "{ ... on Tree { entries { name type } } }"
                )
            fields.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ {' '.join(objects)} }}")
        params = ", ".join(f"${name}: String!" for name in variables)
        query = f"query RepositoryFiles({params}) {{\n" + "\n".join(fields) + "\n}"
        try:
            data = self.graphql(query, variables, retry_timeouts=len(wanted) == 1)
        except (ForgeUnavailable, AnswerFailed) as error:
            too_heavy = isinstance(error, AnswerFailed) or error.status in TIMEOUTS
            if too_heavy and len(wanted) > 1:  # two lighter halves
                half = len(wanted) // 2
                self._read(wanted[:half])
                self._read(wanted[half:])
                return
            log.warning("%s: repository files unreadable: %s", self.host, error)
            return
        except ForgeError as error:  # what GitHub said stays; the crawl goes on
            log.warning("%s: repository files unreadable: %s", self.host, error)
            return
        for i, (h, index, what) in enumerate(wanted):
            node = _object(data.get(f"r{i}"))
            texts: dict[str, str | bytes | None] = {}
            for j, name in enumerate(what.files):
                text = _object(node.get(f"f{j}")).get("text")
                if text and isinstance(text, str):
                    texts[name] = text
            for j, folder in enumerate(what.folders):
                entries = _object(node.get(f"d{j}")).get("entries")
                for entry in map(_object, entries if isinstance(entries, list) else []):
                    if entry.get("type") == "blob" and isinstance(entry.get("name"), str):
                        texts[f"{folder}/{entry['name']}"] = None
            assert isinstance(h.event, RepositoryPage)
            repository = h.event.repositories[index]
            changes: dict[str, Any] = {}
            found = detect_files(texts) if texts else None
            if found is not None and found.licence != NOASSERTION:
                # NONE too: the files were read and grant nothing (a copyright line, a
                # manifest without a licence), which a re-crawl need not read again.
                changes.update(licence=found.licence, licence_source=found.source)
            if (
                what.readme
                and self.readme_licence is not None
                and (found is None or found.licence in (NONE, NOASSERTION))
            ):
                index_readme = len(what.files) + (1 if what.publiccode else 0)
                text = _object(node.get(f"f{index_readme}")).get("text")
                licence = self.readme_licence(text if isinstance(text, str) else None)
                if licence is not None:
                    changes.update(licence=licence, licence_source="readme")
                elif isinstance(text, str) and found is None:
                    # read, and it names no licence: like files that grant nothing, a
                    # re-crawl need not read it again until the next push
                    changes.update(licence=NONE, licence_source="detected")
            if what.publiccode:
                text = _object(node.get(f"f{len(what.files)}")).get("text")
                if isinstance(text, str):
                    changes["publiccode"] = validate(text).as_row(what.publiccode)
            if changes:
                page = h.event
                repositories = list(page.repositories)
                repositories[index] = dataclasses.replace(repository, **changes)
                h.event = dataclasses.replace(page, repositories=tuple(repositories))

    def _pages(
        self, pending: list[_Page]
    ) -> Iterator[tuple[OwnerConfig, list[dict[str, Any]], str | None]]:
        """Ask for pages until no account has a next one, packing requests up to the query
        budget; yield each account's page with the cursor after it (``None`` at its end).

        A query that times out on GitHub's side (502/504) is asked again for smaller pages."""
        seen_cursors: set[tuple[str, str]] = set()
        declared: dict[str, int] = {}
        listed: dict[str, tuple[int, int]] = {}
        budget = QUERY_BUDGET
        timeouts = 0
        while pending:
            self.check_deadline(", ".join(p.account.login for p in pending))
            chunk: list[_Page] = []
            used = 0
            while pending and (not chunk or used + min(pending[0].first, budget) <= budget):
                page = pending.pop(0)
                page = _Page(page.account, min(page.first, budget), page.after)
                chunk.append(page)
                used += page.first
            variables: dict[str, Any] = {}
            for i, page in enumerate(chunk):
                variables[f"l{i}"] = page.account.login
                variables[f"c{i}"] = page.after
            try:
                data = self.graphql(pages_query(chunk), variables, retry_timeouts=False)
            except ForgeUnavailable as error:
                if error.status not in TIMEOUTS:
                    raise
                timeouts += 1
                if budget > MIN_PAGE_SIZE:
                    budget = max(MIN_PAGE_SIZE, budget // 2)
                    log.info("%s: query timed out, asking pages of %d", self.host, budget)
                elif timeouts >= self.retry.attempts + 4:
                    raise
                else:
                    self.wait(self.retry.delay(min(timeouts, 6)), "timeouts at the smallest page")
                pending[:0] = chunk
                continue
            for i, page in enumerate(chunk):
                node = data.get(f"o{i}")
                if node is None:
                    raise AccountNotFound(
                        f"account '{page.account.login}' disappeared while paging"
                    )
                try:
                    connection = obj(node, "repositories")
                    nodes = field(connection, "nodes", list, required=True)
                    info = obj(connection, "pageInfo")
                    has_next = field(info, "hasNextPage", bool)
                    cursor = field(info, "endCursor", str) if has_next else None
                    total = count(connection, "totalCount")
                except BadItem as error:  # the page itself: its account fails
                    raise MalformedResponse(
                        f"a malformed page of '{page.account.login}': {error}"
                    ) from error
                nodes = [n for n in nodes if n and not (isinstance(n, dict) and n.get("isPrivate"))]
                total = declared.setdefault(page.account.key, total)
                self._bound(page.account, total, listed, len(nodes))
                if has_next:
                    key = (page.account.key, str(cursor))
                    if not cursor or key in seen_cursors:
                        raise MalformedResponse(
                            f"pagination loop on '{page.account.login}' (cursor {cursor!r})"
                        )
                    seen_cursors.add(key)
                    pending.append(_Page(page.account, PAGE_SIZE, cursor))
                yield page.account, nodes, cursor

    def _bound(
        self, account: OwnerConfig, total: int, listed: dict[str, tuple[int, int]], size: int
    ) -> None:
        """Fail an account whose pages go on past the ``totalCount`` GitHub declared on its
        first page (by a margin: repositories created while paging): fresh cursors for ever
        are not pages."""
        pages, seen = listed.get(account.key, (0, 0))
        pages, seen = pages + 1, seen + size
        listed[account.key] = (pages, seen)
        margin = max(PAGE_SIZE, total // 10)
        if seen > total + margin or pages > (total + margin) // MIN_PAGE_SIZE + 2:
            raise EndlessPages(
                f"'{account.login}': {pages} pages and {seen} repositories, but GitHub "
                f"declared {total}: listing stopped"
            )

    # --- mapping ------------------------------------------------------------------------------

    def _owner(self, node: Any) -> OwnerRecord:
        """Map an account's profile, every field checked for its type (``BadItem``)."""
        is_org = field(node, "__typename", str) == "Organization"
        return OwnerRecord(
            forge=self.host,
            login=field(node, "login", str, required=True),
            kind="organization" if is_org else "user",
            name=field(node, "name", str) or None,
            description=field(node, "description" if is_org else "bio", str) or None,
            website=field(node, "websiteUrl", str) or None,
            email=field(node, "email" if is_org else "userEmail", str) or None,
            location=field(node, "location", str) or None,
            avatar_url=field(node, "avatarUrl", str) or None,
            created_at=field(node, "createdAt", str),
            repositories_count=count(obj(node, "repositories"), "totalCount"),
        )

    def _repository(self, node: Any) -> Repository:
        """Map one repository node, every field checked for its type (``BadItem``)."""
        full_name: str = field(node, "nameWithOwner", str, required=True)
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise BadItem(f"'nameWithOwner' is not OWNER/NAME: {full_name[:80]!r}")
        files = _root_files(node)
        licence_info = field(node, "licenseInfo", dict)
        if licence_info:
            # GitHub still answers SPDX's deprecated bare ids (GPL-3.0): stored as current ones.
            licence = normalise(field(licence_info, "spdxId", str)) or "NOASSERTION"
        else:
            licence = "NOASSERTION" if files.has_licence_file else "NONE"
        branch = obj(node, "defaultBranchRef")
        target = obj(branch, "target")
        topics = tuple(
            field(obj(t, "topic"), "name", str, required=True)
            for t in items(obj(node, "repositoryTopics"), "nodes")
            if t is not None and obj(t, "topic")
        )
        return Repository(
            forge=self.host,
            owner=owner,
            name=name,
            url=field(node, "url", str, required=True),
            description=field(node, "description", str) or None,
            homepage=field(node, "homepageUrl", str) or None,
            default_branch=field(branch, "name", str),
            language=field(obj(node, "primaryLanguage"), "name", str),
            topics=topics,
            licence=licence,
            licence_source="forge",
            is_fork=bool(field(node, "isFork", bool)),
            is_archived=bool(field(node, "isArchived", bool)),
            is_template=bool(field(node, "isTemplate", bool)),
            created_at=field(node, "createdAt", str),
            updated_at=field(node, "updatedAt", str),
            pushed_at=field(node, "pushedAt", str),
            last_commit_at=field(target, "committedDate", str),
            stars=count(node, "stargazerCount"),
            forks=count(node, "forkCount"),
            open_issues=count(obj(node, "issues"), "totalCount"),
            has_readme=files.has_readme,
            has_licence_file=files.has_licence_file,
            has_contributing=files.has_contributing,
            has_changelog=files.has_changelog,
            has_publiccode=files.has_publiccode,
        )


def _root_files(node: Any) -> RootFiles:
    entries = items(obj(node, "object"), "entries")
    return classify(
        (field(e, "name", str, required=True), field(e, "type", str, required=True))
        for e in entries
    )


def _readmes(node: Any) -> tuple[str, ...]:
    entries = items(obj(node, "object"), "entries")
    return readme_files(
        name for e in entries if e.get("type") == "blob" and isinstance(name := e.get("name"), str)
    )


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else ``{}``: for parts of an answer that may be absent."""
    return value if isinstance(value, dict) else {}


class _Redirected(requests.RequestException):
    """GitHub's API answered a redirection, which the crawler never follows."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _refuse_redirect(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    """A 3xx answer to an API call is an error for that request, never data (PyGithub would
    take a 302's body as the answer, or raise a bare RuntimeError on a 301)."""
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")[:200]
        raise _Redirected(
            f"GitHub answered HTTP {response.status_code} (to {location or 'nowhere'}): "
            "a redirection is not followed",
            response.status_code,
        )


def _job(items: Sequence[tuple[OwnerConfig, _Surveyed]]) -> Job:
    return Job(tuple(a for a, _ in items), {a.key: s for a, s in items})


def _signature(node: dict[str, Any]) -> str:
    """What changes when any of the account's repositories is created, deleted, pushed to or
    updated: the count and the latest pushedAt and updatedAt."""

    def latest(alias: str, name: str) -> str:
        nodes = items(obj(node, alias), "nodes")
        return str(field(nodes[0], name, str)) if nodes and nodes[0] else "-"

    return "|".join(
        (
            str(count(obj(node, "repositories"), "totalCount")),
            latest("lastPushed", "pushedAt"),
            latest("lastUpdated", "updatedAt"),
        )
    )


def _reset_wait(headers: Any) -> float:
    """Seconds until the rate limit resets, from GitHub's X-RateLimit-Reset header."""
    value = (headers or {}).get("x-ratelimit-reset") or (headers or {}).get("X-RateLimit-Reset")
    if value and str(value).isdigit():
        return max(0.0, int(value) - time.time() + 1)
    return 0.0


class _GraphQLRateLimited(Exception):
    """A GraphQL RATE_LIMITED error (HTTP 200): waited out by ``graphql``."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


def _error_message(data: Any) -> str:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        if "message" in data:
            return str(data["message"])
    return str(data)[:300]
