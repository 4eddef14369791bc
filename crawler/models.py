"""Records passed between the crawler's stages.

Frozen dataclasses only: configuration records (what organisations.yml says) and crawl records
(what a forge answered). This module imports nothing of ours so every other module can use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Forge kinds accepted in organisations.yml (code.gouv.fr's list).
FORGE_KINDS = ("github", "gitlab", "gitea", "gogs", "sourcehut")

#: Forge kinds the crawler has an adapter for; the others are reported and skipped.
SUPPORTED_KINDS = ("github", "gitlab")


@dataclass(frozen=True)
class OwnerConfig:
    """An account (organisation, user or group) listed under a forge in organisations.yml."""

    forge: str
    """Host of the forge, lower-case (``github.com``)."""
    login: str
    """The account's login or group path, as written in the file."""
    line: int = 0
    """Line of the file where the account is declared (1-based; 0 when built in code)."""
    pso_id: str | None = None
    ministry: str | None = None
    """Name of the ministry, explicit or derived from ``pso_id``."""
    name: str | None = None
    floss_policy: str | None = None
    ospo_url: str | None = None
    ignored_since: dt.date | None = None

    @property
    def id(self) -> str:
        return owner_id(self.forge, self.login)

    @property
    def whole_instance(self) -> bool:
        """The crawl unit of a forge dedicated to the public sector: every public project."""
        return self.login == ""

    @property
    def key(self) -> str:
        """Identifies the crawl unit: the owner id, or the host for a whole instance."""
        return self.forge if self.whole_instance else self.id


@dataclass(frozen=True)
class ForgeConfig:
    """A forge host of organisations.yml, with the accounts to crawl on it."""

    host: str
    kind: str
    api_url: str
    owners: tuple[OwnerConfig, ...] = ()
    line: int = 0
    pso_id: str | None = None
    ministry: str | None = None
    name: str | None = None
    floss_policy: str | None = None
    ospo_url: str | None = None
    ignored_since: dt.date | None = None

    @property
    def whole_instance(self) -> bool:
        """A forge listed without owners is dedicated to the public sector: crawl all of it."""
        return not self.owners

    @property
    def supported(self) -> bool:
        return self.kind in SUPPORTED_KINDS

    def units(self) -> tuple[OwnerConfig, ...]:
        """What to crawl: the listed accounts, or the whole instance as one unit."""
        if self.owners:
            return self.owners
        return (
            OwnerConfig(
                self.host,
                "",
                line=self.line,
                pso_id=self.pso_id,
                ministry=self.ministry,
                name=self.name,
                floss_policy=self.floss_policy,
                ospo_url=self.ospo_url,
                ignored_since=self.ignored_since,
            ),
        )


@dataclass(frozen=True)
class Config:
    """The whole of organisations.yml, validated."""

    path: str
    forges: tuple[ForgeConfig, ...] = ()

    def forge(self, host: str) -> ForgeConfig | None:
        host = host.lower()
        return next((f for f in self.forges if f.host == host), None)


def owner_id(forge: str, login: str) -> str:
    """The public identifier of an owner: ``HOST/LOGIN``, lower-case."""
    return f"{forge}/{login}".lower()


def repository_id(forge: str, owner: str, name: str) -> str:
    """The public identifier of a repository: ``HOST/OWNER/NAME``, lower-case."""
    return f"{forge}/{owner}/{name}".lower()


@dataclass(frozen=True)
class Owner:
    """An account as its forge describes it."""

    forge: str
    login: str
    kind: str
    """``organization``, ``user`` or ``group``."""
    name: str | None = None
    description: str | None = None
    website: str | None = None
    email: str | None = None
    location: str | None = None
    avatar_url: str | None = None
    created_at: str | None = None
    repositories_count: int | None = None

    @property
    def id(self) -> str:
        return owner_id(self.forge, self.login)


@dataclass(frozen=True)
class Repository:
    """A public repository as its forge describes it, mapped to the data contract's columns."""

    forge: str
    owner: str
    """Login of the owning account, as the forge spells it."""
    name: str
    url: str
    description: str | None = None
    homepage: str | None = None
    default_branch: str | None = None
    language: str | None = None
    topics: tuple[str, ...] = ()
    licence: str | None = None
    """An SPDX id, ``NOASSERTION`` (a licence file the forge does not recognise) or ``NONE``."""
    licence_source: str | None = None
    is_fork: bool = False
    is_archived: bool = False
    is_template: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    pushed_at: str | None = None
    last_commit_at: str | None = None
    stars: int = 0
    forks: int = 0
    open_issues: int = 0
    has_readme: bool | None = None
    has_licence_file: bool | None = None
    has_contributing: bool | None = None
    has_changelog: bool | None = None
    has_publiccode: bool | None = None
    publiccode: Mapping[str, object] | None = field(default=None, compare=True, hash=False)
    """The ``publiccode`` table's row when the file was read in this crawl (its fields and
    validation errors); ``None`` when it was not read: what is stored stays, unless
    ``has_publiccode`` is now false."""

    @property
    def id(self) -> str:
        return repository_id(self.forge, self.owner, self.name)

    @property
    def owner_id(self) -> str:
        return owner_id(self.forge, self.owner)


@dataclass(frozen=True)
class RepositoryPage:
    """One page of an account's listing, as soon as it is read."""

    account: OwnerConfig
    repositories: tuple[Repository, ...]
    cursor: str | None
    """Where the listing resumes after this page; ``None`` when this was the last page."""
    owners: tuple[Owner, ...] = ()
    """Namespaces met on this page (whole instances, where every namespace is an owner)."""


@dataclass(frozen=True)
class AccountDone:
    """An account's listing is complete: what is stored and not listed now was removed."""

    account: OwnerConfig
    owner: Owner | None
    """The account's profile (``None`` for a whole instance, whose owners come with the pages)."""
    signature: str | None = None
    """What the forge says of the account as a whole, compared on the next crawl to skip it."""
    unchanged: bool = False
    """The account was skipped because its signature did not change: its rows are current."""


@dataclass(frozen=True)
class AccountFailed:
    """An account could not be read whole; its previously stored rows are kept."""

    account: OwnerConfig
    error: str


@dataclass(frozen=True)
class ItemSkipped:
    """One item of a page was not in the forge's documented format: skipped, the rest of the
    page kept, and recorded in crawl_errors with its place."""

    account: OwnerConfig
    place: str
    """Where the item was: its name when it has one, else its index in the page."""
    error: str
    repository_id: str | None = None
    """The repository's id when it could be read: its stored row is kept as seen, not removed."""


CrawlEvent = RepositoryPage | AccountDone | AccountFailed | ItemSkipped


@dataclass(frozen=True)
class AccountState:
    """What the database remembers of an account between crawls."""

    cursor: str | None = None
    """Where an interrupted listing resumes (``None``: from the start)."""
    signature: str | None = None
    """The account's signature at its last complete crawl."""
    completed_at: str | None = None
    """When the account's last complete listing ended (ISO 8601 UTC)."""


@dataclass(frozen=True)
class KnownRepository:
    """What the database holds of a repository, to skip detail calls when nothing changed."""

    pushed_at: str | None
    """GitHub's pushedAt, GitLab's last_activity_at, at the last crawl."""
    details: dict[str, object]
    """The stored detail columns (licence, file presence…), reused as they are."""
    publiccode_read: bool = False
    """Its publiccode.yml is stored (read at an earlier crawl)."""


@dataclass(frozen=True)
class ForgeState:
    """The incremental state of one forge, read from the database before crawling it."""

    accounts: dict[str, AccountState] = field(default_factory=dict)
    """By account key (``OwnerConfig.key``)."""
    repositories: dict[str, KnownRepository] = field(default_factory=dict)
    """By repository id."""

    def account(self, account: OwnerConfig) -> AccountState:
        return self.accounts.get(account.key, AccountState())


@dataclass(frozen=True)
class ForgeReport:
    """How the crawl of one forge host went."""

    host: str
    status: str
    """``ok``, ``partial`` (some accounts failed), ``failed``, ``unsupported`` or ``ignored``."""
    requests: int = 0
    accounts_ok: int = 0
    accounts_failed: int = 0
    repositories: int = 0
    message: str | None = None
    budget_left: int | None = None
    """What the forge's rate limit left at the end of its crawl, when it says."""
    not_modified: int = 0
    """Conditional requests answered 304 Not Modified (free on GitHub's rate limit)."""


@dataclass(frozen=True)
class RunReport:
    """The outcome of a whole crawl run, as printed by the command line."""

    run_id: int
    started_at: str
    finished_at: str
    forges: tuple[ForgeReport, ...] = field(default_factory=tuple)
    repositories_new: int = 0
    repositories_removed: int = 0
    interrupted: bool = False
    """Stopped on request before every account was read: they resume on the next run."""

    @property
    def requests(self) -> int:
        return sum(f.requests for f in self.forges)

    @property
    def accounts_ok(self) -> int:
        return sum(f.accounts_ok for f in self.forges)

    @property
    def accounts_failed(self) -> int:
        return sum(f.accounts_failed for f in self.forges)

    @property
    def repositories_seen(self) -> int:
        return sum(f.repositories for f in self.forges)

    @property
    def status(self) -> str:
        if self.interrupted:
            return "interrupted"
        return "ok" if self.accounts_failed == 0 else "partial"
