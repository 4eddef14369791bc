"""GitLab (gitlab.com and self-hosted instances) through python-gitlab's HTTP layer.

python-gitlab carries every request: authentication, ``obey_rate_limit`` (429 + Retry-After),
retries of transient errors. The paging is ours, one path for every listing (``_listing``): it
follows the ``Link: rel="next"`` header, offset pages for groups and users, keyset pages
(``pagination=keyset&order_by=id``) for whole instances, and its cursor is that next link,
so an interrupted listing resumes on the exact page.

Cost per project: the listing (1/100 of a request), then, only for a project that is new or
whose ``last_activity_at`` moved, its root tree (file presence) and, only when the tree holds a
licence file, that file's raw text, which our own detection reads (``?license=true`` would cost
the same request and knows neither CeCILL nor Etalab). Only while the licence is still unknown:
the listing of REUSE's ``LICENSES/`` folder, then the package manifests. A publiccode.yml is
read when the tree has one. An unchanged project costs nothing but its listing line.

``pushed_at`` holds ``last_activity_at`` (GitLab's push-or-other-activity date). GitLab gives
the default branch's last commit only at one more request per project: it is asked for the
projects whose last activity is recent enough to make them active, the ones where "was it a
commit?" matters; older projects keep ``last_commit_at`` empty, their activity read from
``last_activity_at``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError, GitlabHttpError

from crawler.forges.base import (
    USER_AGENT,
    AccountNotFound,
    AuthenticationError,
    Emit,
    Forge,
    ForgeUnavailable,
    Job,
    MalformedResponse,
    Plan,
    QueryRejected,
    RateLimited,
)
from crawler.forges.session import AccountMoved, ForgeSession, origin
from crawler.licences import NOASSERTION, NONE, detect_files
from crawler.metrics import activity_cutoffs
from crawler.models import (
    AccountDone,
    Owner,
    OwnerConfig,
    Repository,
    RepositoryPage,
)
from crawler.publiccode import validate
from crawler.redact import mask
from crawler.rootfiles import RootFiles, classify

log = logging.getLogger(__name__)

PAGE_SIZE = 100
API_SUFFIX = "/api/v4"
#: Licence files read per project (one in the usual case).
MAX_LICENCE_FILES = 2
#: Package manifests read per project while none declares a licence.
MAX_MANIFESTS = 2
#: A licence file longer than this is not a licence text (detection refuses it anyway).
MAX_LICENCE_BYTES = 256 * 1024
#: The publiccode.yml validator refuses larger files.
MAX_PUBLICCODE_BYTES = 512 * 1024


class _TooLongWait(Exception):
    """Raised from the session hook when the forge asks to wait longer than allowed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the forge asks to wait {seconds:.0f} s")
        self.seconds = seconds


class GitLabForge(Forge):
    kind = "gitlab"
    crawls_whole_instances = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._details = ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix=f"details-{self.host}"
        )

    # --- transport ----------------------------------------------------------------------------

    def _client(self) -> gitlab.Gitlab:
        client: gitlab.Gitlab | None = getattr(self._local, "client", None)
        if client is None:
            # Follows no redirect and sends nothing outside the API's origin (forges/session.py).
            session = ForgeSession(self.config.api_url)
            session.hooks["response"].append(self._on_response)
            client = gitlab.Gitlab(
                url=self.config.api_url.removesuffix(API_SUFFIX),
                private_token=self.token or None,
                timeout=self.retry.timeout,
                user_agent=USER_AGENT,
                retry_transient_errors=True,
                keep_base_url=True,
                session=session,
            )
            self._local.client = client
        return client

    def _on_response(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Counts every answer (retries included), reads the budget left, and refuses a
        rate-limit wait longer than allowed before python-gitlab would sleep through it."""
        remaining = response.headers.get("RateLimit-Remaining", "")
        self.count_request(int(remaining) if remaining.isdigit() else None)
        if response.status_code == 304:
            self.not_modified += 1
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After", "")
            reset = response.headers.get("RateLimit-Reset", "")
            wait = 0.0
            if retry_after.isdigit():
                wait = float(retry_after)
            elif reset.isdigit():
                wait = int(reset) - dt.datetime.now(dt.UTC).timestamp()
            if wait > self.retry.max_wait:
                raise _TooLongWait(wait)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        """One GET through python-gitlab; every failure becomes a ``ForgeError``."""
        try:
            with self._slots:
                response = self._client().http_request(
                    "get",
                    path,
                    query_data=params or {},
                    max_retries=self.retry.attempts - 1,
                )
        except _TooLongWait as error:
            raise RateLimited(
                f"rate limited: {error}, more than the {self.retry.max_wait:.0f} s allowed; "
                "the crawl resumes on the next run",
                429,
            ) from error
        except GitlabAuthenticationError as error:
            raise AuthenticationError("the token was refused", 401) from error
        except GitlabHttpError as error:
            status = error.response_code
            message = str(error.error_message)[:300]
            if status == 404:
                raise AccountNotFound(message, 404) from error
            if status == 429:
                raise RateLimited(f"still rate limited after retries: {message}", 429) from error
            if status is not None and status >= 500:
                raise ForgeUnavailable(f"still failing after retries: {message}", status) from error
            raise QueryRejected(message, status) from error
        except GitlabError as error:
            raise MalformedResponse(str(error)[:300]) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ForgeUnavailable(f"cannot reach {self.config.api_url}: {error}") from error
        assert isinstance(response, requests.Response)
        return response

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise MalformedResponse(f"the answer to {response.url} is not JSON") from error

    def _listing(
        self, path: str, params: dict[str, Any], cursor: str | None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Every page of a listing, from ``cursor`` if given, with the cursor after each."""
        seen: set[str] = set()
        current: str = cursor or path
        first_params: dict[str, Any] | None = None if cursor else params
        while True:
            response = self._get(current, first_params)
            items = self._json(response)
            if not isinstance(items, list):
                raise MalformedResponse(f"{current}: a listing that is not a JSON array")
            following = _next_page(response, self.config.api_url)
            if following is not None:
                if following in seen or following == current:
                    raise MalformedResponse(f"pagination loop on {path} ({following})")
                seen.add(following)
            yield items, following
            if following is None:
                return
            current, first_params = following, None

    def _resume_cursor(self, account: OwnerConfig) -> str | None:
        """Where the account's listing resumes: a path below the API root. Anything else (an
        absolute URL saved before next-page links were checked) is dropped, and the listing
        starts over rather than send a request elsewhere."""
        cursor = self.cursors.get(account.key)
        if cursor and (not cursor.startswith("/") or cursor.startswith("//")):
            log.warning(
                "%s: %s: stored cursor %s dropped, listing from the start",
                self.host,
                account.login or "(instance)",
                cursor,
            )
            return None
        return cursor

    # --- planning -----------------------------------------------------------------------------

    def plan(self, accounts: Sequence[OwnerConfig]) -> Plan:
        # GitLab has no batched queries: every account is a job, four in flight at most.
        return Plan(jobs=[Job((account,)) for account in accounts])

    def fetch(self, job: Job, emit: Emit) -> None:
        (account,) = job.accounts
        try:
            if account.whole_instance:
                self._instance(account, emit)
            else:
                self._account(account, emit)
        except AccountNotFound as error:
            raise type(error)(
                f"'{account.login or account.forge}' not found: {error}", error.status
            ) from error

    def _account(self, account: OwnerConfig, emit: Emit) -> None:
        known = self.state.account(account)
        kind = known.signature if known.signature in ("group", "user") else None
        owner: Owner | None = None
        if kind is None or not self.is_fresh(account, kind) or not known.completed_at:
            owner = self._profile(account)
            kind = owner.kind
        encoded = quote(account.login, safe="")
        path = f"/groups/{encoded}/projects" if kind == "group" else f"/users/{encoded}/projects"
        params: dict[str, Any] = {
            "visibility": "public",
            "order_by": "id",
            "sort": "asc",
            "per_page": PAGE_SIZE,
        }
        if kind == "group":
            params.update(include_subgroups="true", with_shared="false")
        for items, cursor in self._listing(path, params, self._resume_cursor(account)):
            repositories = self._projects(items)
            self.page(emit, account, RepositoryPage(account, repositories, cursor), cursor)
        emit(AccountDone(account, owner, signature=kind))

    def _profile(self, account: OwnerConfig) -> Owner:
        """The group, else the user, of that path."""
        try:
            group = self._json(
                self._get(f"/groups/{quote(account.login, safe='')}", {"with_projects": "false"})
            )
        except AccountMoved:
            raise
        except AccountNotFound:
            users = self._json(self._get("/users", {"username": account.login}))
            if not isinstance(users, list) or not users:
                raise AccountNotFound(
                    f"no group or user '{account.login}' on {self.host}"
                ) from None
            user = users[0]
            return Owner(
                forge=self.host,
                login=str(user.get("username") or account.login),
                kind="user",
                name=user.get("name") or None,
                description=user.get("bio") or None,
                website=user.get("website_url") or None,
                email=user.get("public_email") or None,
                location=user.get("location") or None,
                avatar_url=user.get("avatar_url") or None,
                created_at=iso(user.get("created_at")),
            )
        if not isinstance(group, dict):
            raise MalformedResponse(f"{account.login}: a group that is not a JSON object")
        return Owner(
            forge=self.host,
            login=str(group.get("full_path") or account.login),
            kind="group",
            name=group.get("name") or None,
            description=group.get("description") or None,
            website=group.get("web_url") or None,
            avatar_url=group.get("avatar_url") or None,
            created_at=iso(group.get("created_at")),
        )

    def _instance(self, account: OwnerConfig, emit: Emit) -> None:
        params = {
            "visibility": "public",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": PAGE_SIZE,
        }
        for items, cursor in self._listing("/projects", params, self._resume_cursor(account)):
            repositories = self._projects(items)
            namespaces = {o.id: o for o in (self._namespace(p) for p in items) if o is not None}
            page = RepositoryPage(account, repositories, cursor, tuple(namespaces.values()))
            self.page(emit, account, page, cursor)
        emit(AccountDone(account, None))

    def _namespace(self, project: dict[str, Any]) -> Owner | None:
        namespace = project.get("namespace")
        if not isinstance(namespace, dict) or not namespace.get("full_path"):
            return None
        return Owner(
            forge=self.host,
            login=str(namespace["full_path"]),
            kind="user" if namespace.get("kind") == "user" else "group",
            name=namespace.get("name") or None,
            website=namespace.get("web_url") or None,
            avatar_url=namespace.get("avatar_url") or None,
        )

    # --- projects -----------------------------------------------------------------------------

    def _projects(self, items: list[dict[str, Any]]) -> tuple[Repository, ...]:
        public = [p for p in items if p.get("visibility", "public") == "public"]
        listed = [self._project(p) for p in public]
        # Details (tree, licence) only for what changed, fetched four at a time.
        return tuple(self._details.map(self._with_details, listed, public))

    def _project(self, project: dict[str, Any]) -> Repository:
        namespace = project.get("namespace") or {}
        full_path = str(project.get("path_with_namespace") or "")
        owner, _, name = full_path.rpartition("/")
        if not owner or not name:
            raise MalformedResponse(f"project {project.get('id')} without path_with_namespace")
        topics = project.get("topics") or project.get("tag_list") or []
        return Repository(
            forge=self.host,
            owner=str(namespace.get("full_path") or owner),
            name=name,
            url=str(project.get("web_url") or f"https://{self.host}/{full_path}"),
            description=(project.get("description") or "").strip() or None,
            default_branch=project.get("default_branch") or None,
            topics=tuple(str(t) for t in topics),
            is_fork=bool(project.get("forked_from_project")),
            is_archived=bool(project.get("archived")),
            created_at=iso(project.get("created_at")),
            updated_at=iso(project.get("updated_at") or project.get("last_activity_at")),
            pushed_at=iso(project.get("last_activity_at")),
            stars=int(project.get("star_count") or 0),
            forks=int(project.get("forks_count") or 0),
            open_issues=int(project.get("open_issues_count") or 0),
        )

    def _with_details(self, repository: Repository, project: dict[str, Any]) -> Repository:
        known = self.unchanged(repository)
        if (
            known is not None
            and known.details.get("licence")
            and (known.publiccode_read or not known.details.get("has_publiccode"))
        ):
            return dataclasses.replace(repository, **known.details)  # type: ignore[arg-type]
        if project.get("empty_repo") or not repository.default_branch:
            return dataclasses.replace(
                repository,
                licence="NONE",
                licence_source="forge",
                has_readme=False,
                has_licence_file=False,
                has_contributing=False,
                has_changelog=False,
                has_publiccode=False,
            )
        project_id = project["id"]
        # A 404 root tree: the default branch does not exist (empty repository).
        files = classify(self._tree(project_id, repository) or [])
        licence, source = self._licence(project_id, repository, files)
        publiccode = None
        if files.publiccode_files:
            path = files.publiccode_files[0]
            text = self._raw(project_id, repository, path, MAX_PUBLICCODE_BYTES)
            if text is not None:
                publiccode = validate(text).as_row(path)
        return dataclasses.replace(
            repository,
            licence=licence,
            licence_source=source,
            last_commit_at=self._last_commit(project_id, repository),
            has_readme=files.has_readme,
            has_licence_file=files.has_licence_file,
            has_contributing=files.has_contributing,
            has_changelog=files.has_changelog,
            has_publiccode=files.has_publiccode,
            publiccode=publiccode,
        )

    def _licence(
        self, project_id: Any, repository: Repository, files: RootFiles
    ) -> tuple[str, str]:
        """The licence and where it came from (``forge`` when there was nothing to read; else
        ``detected``, NONE included, or ``manifest``), read no further than needed, in order of
        likelihood: the root licence file(s) (one request for the usual single file, like
        ``?license=true`` would cost, but it knows CeCILL and Etalab, which GitLab reports as
        "other"; two at most, a GPL COPYING beside an LGPL COPYING.LESSER), then the names in
        REUSE's ``LICENSES/`` folder, then the package manifests."""
        texts: dict[str, str | bytes | None] = {}
        for name in files.licence_files[:MAX_LICENCE_FILES]:
            text = self._raw(project_id, repository, name, MAX_LICENCE_BYTES)
            if text is not None:
                texts[name] = text
        found = detect_files(texts)
        for folder in files.licence_dirs:
            if found.licence not in (NONE, NOASSERTION):
                break
            entries = self._tree(project_id, repository, folder) or []
            texts.update((f"{folder}/{name}", None) for name, kind in entries if kind == "blob")
            found = detect_files(texts)
        for name in files.manifests[:MAX_MANIFESTS]:
            if found.licence not in (NONE, NOASSERTION):
                break
            text = self._raw(project_id, repository, name, MAX_LICENCE_BYTES)
            if text is not None:
                texts[name] = text
                found = detect_files(texts)
        if not texts:
            return (NOASSERTION if files.has_licence_file else NONE), "forge"
        return found.licence, found.source

    def _tree(
        self, project_id: Any, repository: Repository, path: str = ""
    ) -> list[tuple[str, str]] | None:
        """The ``(name, type)`` entries of a folder of the default branch (the root by
        default), every page; ``None`` when GitLab answers 404."""
        params: dict[str, Any] = {"per_page": PAGE_SIZE, "ref": repository.default_branch}
        if path:
            params["path"] = path
        entries: list[tuple[str, str]] = []
        try:
            for items, _cursor in self._listing(
                f"/projects/{project_id}/repository/tree", params, None
            ):
                entries.extend((str(e.get("name")), str(e.get("type"))) for e in items)
        except AccountNotFound:
            return None
        return entries

    def _raw(self, project_id: Any, repository: Repository, path: str, limit: int) -> bytes | None:
        """A file's raw content (at most ``limit`` bytes); ``None`` when it is gone since the
        tree was listed."""
        try:
            response = self._get(
                f"/projects/{project_id}/repository/files/{quote(path, safe='')}/raw",
                {"ref": repository.default_branch},
            )
        except AccountNotFound:
            return None
        return response.content[:limit]

    def _last_commit(self, project_id: Any, repository: Repository) -> str | None:
        """The default branch's last commit date, for a project active recently enough."""
        active_since, _ = activity_cutoffs(dt.datetime.now(dt.UTC))
        if not repository.pushed_at or repository.pushed_at < active_since:
            return None
        try:
            commits = self._json(
                self._get(
                    f"/projects/{project_id}/repository/commits",
                    {"ref_name": repository.default_branch, "per_page": 1},
                )
            )
        except AccountNotFound:
            return None
        if not isinstance(commits, list) or not commits or not isinstance(commits[0], dict):
            return None
        return iso(commits[0].get("committed_date"))


def _next_page(response: requests.Response, api_url: str) -> str | None:
    """The next page as a path below the API root, from ``Link`` (or ``X-Next-Page``).

    A ``Link`` URL is parsed and checked before anything is asked of it: same scheme, host and
    port as ``api_url``, a path below the API's. A link like ``http://FORGE/api/v4http://OTHER/``
    was once cut into ``http://OTHER/…``, where python-gitlab sent the token.

    Raises:
        MalformedResponse: a link elsewhere, or one that carries the token.
    """
    link = response.links.get("next", {}).get("url")
    if link:
        absolute = urljoin(response.url, link)
        parts = urlsplit(absolute)
        root = urlsplit(api_url).path.rstrip("/")
        path = parts.path[len(root) :] if parts.path.startswith(root) else ""
        if origin(absolute) != origin(api_url) or not path.startswith("/") or "://" in path:
            raise MalformedResponse(f"a next page link outside the forge's API ({api_url}): {link}")
        if mask(link) != link:
            raise MalformedResponse("a next page link that carries the token")
        return path + (f"?{parts.query}" if parts.query else "")
    next_page = response.headers.get("X-Next-Page", "").strip()
    if next_page.isdigit():
        parts = urlsplit(response.url)
        query = "&".join(p for p in parts.query.split("&") if not p.startswith("page="))
        path = parts.path[parts.path.find(API_SUFFIX) + len(API_SUFFIX) :]
        return f"{path}?{query}&page={next_page}" if query else f"{path}?page={next_page}"
    return None


def iso(value: Any) -> str | None:
    """GitLab's timestamps (with milliseconds and offsets) as ISO 8601 UTC to the second."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
