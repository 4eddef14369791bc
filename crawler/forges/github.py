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

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)

from crawler.forges.base import (
    USER_AGENT,
    AuthenticationError,
    Forge,
    ForgeError,
    ForgeUnavailable,
    Job,
    MalformedResponse,
    Plan,
    QueryRejected,
    RateLimited,
)
from crawler.models import Owner as OwnerRecord
from crawler.models import OwnerConfig, OwnerCrawl, Repository
from crawler.rootfiles import classify

log = logging.getLogger(__name__)

#: GitHub's maximum page size for a connection.
PAGE_SIZE = 100
#: Accounts surveyed per query (profile and repository count only: cheap).
SURVEY_BATCH = 50
#: Repositories asked for in one query, all aliases together.
QUERY_BUDGET = 100
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


def survey_query(size: int) -> str:
    """The survey query for ``size`` accounts, logins passed as variables ``$l0``…"""
    params = ", ".join(f"$l{i}: String!" for i in range(size))
    aliases = "\n".join(
        f"  o{i}: repositoryOwner(login: $l{i}) {{ ...OwnerFields "
        f"repositories(first: 1, {_REPOSITORIES_ARGS}) {{ totalCount }} }}"
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


class GitHubForge(Forge):
    kind = "github"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    # --- transport ----------------------------------------------------------------------------

    def _client(self) -> Github:
        # PyGithub's connection object keeps per-request state: one client per worker thread.
        client: Github | None = getattr(self._local, "client", None)
        if client is None:
            client = Github(
                base_url=self.config.api_url,
                auth=Auth.Token(self.token) if self.token else None,
                user_agent=USER_AGENT,
                timeout=int(self.timeout),
                per_page=PAGE_SIZE,
                retry=GithubRetry(total=3, backoff_factor=0.5, max_rate_limit_wait=60),
                seconds_between_requests=None,
                seconds_between_writes=None,
            )
            self._local.client = client
        return client

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Send one GraphQL query; translate every failure into a ``ForgeError``."""
        if not self.token:
            raise AuthenticationError(
                "GitHub's GraphQL API needs a token: set GITHUB_TOKEN (no scope is needed)"
            )
        try:
            _headers, body = self._client().requester.graphql_query(query, variables)
        except BadCredentialsException as error:
            raise AuthenticationError("the token was refused (bad credentials)", 401) from error
        except RateLimitExceededException as error:
            raise RateLimited("API rate limit exceeded", error.status) from error
        except UnknownObjectException as error:
            raise QueryRejected(_error_message(error.data), error.status) from error
        except GithubException as error:
            data = error.data if isinstance(error.data, dict) else {}
            if any(e.get("type") == "RATE_LIMITED" for e in data.get("errors", [])):
                raise RateLimited(_error_message(data), error.status) from error
            if error.status and error.status >= 500:
                raise ForgeUnavailable(_error_message(error.data), error.status) from error
            raise QueryRejected(_error_message(error.data), error.status) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ForgeUnavailable(f"cannot reach {self.config.api_url}: {error}") from error
        except ValueError as error:  # the body was not JSON
            raise MalformedResponse(f"the answer is not JSON: {error}") from error
        payload = body.get("data") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise MalformedResponse("the answer has no 'data' object")
        rate = payload.get("rateLimit") or {}
        self.count_request(rate.get("remaining"))
        return payload

    # --- planning -----------------------------------------------------------------------------

    def plan(self, accounts: Sequence[OwnerConfig]) -> Plan:
        plan = Plan()
        surveyed: list[tuple[OwnerConfig, _Surveyed]] = []
        for start in range(0, len(accounts), SURVEY_BATCH):
            batch = accounts[start : start + SURVEY_BATCH]
            data = self.graphql(
                survey_query(len(batch)), {f"l{i}": a.login for i, a in enumerate(batch)}
            )
            for i, account in enumerate(batch):
                node = data.get(f"o{i}")
                if node is None:
                    plan.done.append(
                        OwnerCrawl(
                            account,
                            error=(
                                f"{self.host}: account '{account.login}' not found "
                                "(renamed or deleted?)"
                            ),
                        )
                    )
                    continue
                found = _Surveyed(self._owner(node), _total(node.get("repositories")))
                if found.count == 0:
                    plan.done.append(OwnerCrawl(account, owner=found.owner))
                else:
                    surveyed.append((account, found))
        # Pack small accounts together, largest first, so each query asks for ~QUERY_BUDGET.
        surveyed.sort(key=lambda item: -item[1].count)
        batch_items: list[tuple[OwnerConfig, _Surveyed]] = []
        budget = 0
        for account, found in surveyed:
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
        return [_job([(a, surveyed[a.id])]) for a in job.accounts]

    # --- fetching -----------------------------------------------------------------------------

    def fetch(self, job: Job) -> Iterator[OwnerCrawl]:
        surveyed: dict[str, _Surveyed] = job.payload
        first_pages = [_Page(a, max(1, min(surveyed[a.id].count, PAGE_SIZE))) for a in job.accounts]
        found: dict[str, list[Repository]] = {a.id: [] for a in job.accounts}
        for account, nodes in self._pages(first_pages):
            found[account.id].extend(self._repository(node, account) for node in nodes)
        for account in job.accounts:
            yield OwnerCrawl(
                account, owner=surveyed[account.id].owner, repositories=tuple(found[account.id])
            )

    def _pages(self, pending: list[_Page]) -> Iterator[tuple[OwnerConfig, list[dict[str, Any]]]]:
        """Ask for pages until no account has a next one; packs requests up to QUERY_BUDGET."""
        seen_cursors: set[tuple[str, str]] = set()
        while pending:
            chunk: list[_Page] = []
            budget = 0
            while pending and (not chunk or budget + pending[0].first <= QUERY_BUDGET):
                page = pending.pop(0)
                chunk.append(page)
                budget += page.first
            variables: dict[str, Any] = {}
            for i, page in enumerate(chunk):
                variables[f"l{i}"] = page.account.login
                variables[f"c{i}"] = page.after
            data = self.graphql(pages_query(chunk), variables)
            for i, page in enumerate(chunk):
                node = data.get(f"o{i}")
                if node is None:
                    raise ForgeError(f"account '{page.account.login}' disappeared while paging")
                connection = node.get("repositories") or {}
                nodes = connection.get("nodes")
                info = connection.get("pageInfo") or {}
                if not isinstance(nodes, list):
                    raise MalformedResponse("a repositories connection without nodes")
                yield page.account, [n for n in nodes if n and not n.get("isPrivate")]
                if info.get("hasNextPage"):
                    cursor = info.get("endCursor")
                    key = (page.account.id, str(cursor))
                    if not cursor or key in seen_cursors:
                        raise MalformedResponse(
                            f"pagination loop on '{page.account.login}' (cursor {cursor!r})"
                        )
                    seen_cursors.add(key)
                    pending.append(_Page(page.account, PAGE_SIZE, cursor))

    # --- mapping ------------------------------------------------------------------------------

    def _owner(self, node: dict[str, Any]) -> OwnerRecord:
        is_org = node.get("__typename") == "Organization"
        return OwnerRecord(
            forge=self.host,
            login=node["login"],
            kind="organization" if is_org else "user",
            name=node.get("name") or None,
            description=(node.get("description") if is_org else node.get("bio")) or None,
            website=node.get("websiteUrl") or None,
            email=(node.get("email") if is_org else node.get("userEmail")) or None,
            location=node.get("location") or None,
            avatar_url=node.get("avatarUrl") or None,
            created_at=node.get("createdAt"),
            repositories_count=_total(node.get("repositories")),
        )

    def _repository(self, node: dict[str, Any], account: OwnerConfig) -> Repository:
        owner, _, name = node["nameWithOwner"].partition("/")
        tree = node.get("object") or {}
        entries = [(e["name"], e["type"]) for e in tree.get("entries") or []]
        files = classify(entries)
        licence_info = node.get("licenseInfo")
        if licence_info:
            licence = licence_info.get("spdxId") or "NOASSERTION"
        else:
            licence = "NOASSERTION" if files.has_licence_file else "NONE"
        branch = node.get("defaultBranchRef") or {}
        target = branch.get("target") or {}
        topics = tuple(
            t["topic"]["name"]
            for t in (node.get("repositoryTopics") or {}).get("nodes") or []
            if t and t.get("topic")
        )
        return Repository(
            forge=self.host,
            owner=owner,
            name=name,
            url=node["url"],
            description=node.get("description") or None,
            homepage=node.get("homepageUrl") or None,
            default_branch=branch.get("name"),
            language=(node.get("primaryLanguage") or {}).get("name"),
            topics=topics,
            licence=licence,
            licence_source="forge",
            is_fork=bool(node.get("isFork")),
            is_archived=bool(node.get("isArchived")),
            is_template=bool(node.get("isTemplate")),
            created_at=node.get("createdAt"),
            updated_at=node.get("updatedAt"),
            pushed_at=node.get("pushedAt"),
            last_commit_at=target.get("committedDate"),
            stars=int(node.get("stargazerCount") or 0),
            forks=int(node.get("forkCount") or 0),
            open_issues=_total(node.get("issues")),
            has_readme=files.has_readme,
            has_licence_file=files.has_licence_file,
            has_contributing=files.has_contributing,
            has_changelog=files.has_changelog,
            has_publiccode=files.has_publiccode,
        )


def _job(items: Sequence[tuple[OwnerConfig, _Surveyed]]) -> Job:
    return Job(tuple(a for a, _ in items), {a.id: s for a, s in items})


def _total(connection: Any) -> int:
    if isinstance(connection, dict):
        return int(connection.get("totalCount") or 0)
    return 0


def _error_message(data: Any) -> str:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        if "message" in data:
            return str(data["message"])
    return str(data)[:300]
