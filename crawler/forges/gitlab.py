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

Re-crawls of a self-hosted instance ask it once what changed: ``/projects`` with
``last_activity_after`` (the last complete crawl, less a margin; keyset pages). A whole
instance stores that answer directly (it holds each project's full listing line) and its other
rows stay as they are. An instance crawled through its groups and users: only the accounts
that hold a project new or moved since are listed again (a group listing is one or two
requests and also gives the projects' owners as configured; taking the lines from the
instance's answer would save those, but not tell a group's subgroup projects apart from those
merely shared with it); the others are settled unchanged without a request. Projects removed,
moved or made private do not show in that answer: each account (and each whole instance) is
listed whole again at least every ``FULL_REFRESH_AFTER`` (a week), which its signature
records ("group 2026-11-29T23:00:00Z"). gitlab.com is too big to ask that way: its groups are
listed each time.

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
import math
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError, GitlabHttpError

from crawler.forges.answers import BadItem, count, field, obj, retry_after
from crawler.forges.base import (
    FORGE_WIDE,
    FULL_REFRESH_AFTER,
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
)
from crawler.forges.reads import licence_steps, publiccode_to_read, read_licence, readme_files
from crawler.forges.session import AccountMoved, ForgeSession, origin
from crawler.forges.transport import AnswerCutOff, AnswerError, read_body
from crawler.licences import readme_licence_id
from crawler.metrics import activity_cutoffs
from crawler.models import (
    AccountDone,
    Owner,
    OwnerConfig,
    Repository,
    RepositoryPage,
    repository_id,
)
from crawler.publiccode import validate
from crawler.redact import mask
from crawler.rootfiles import RootFiles, classify

log = logging.getLogger(__name__)

PAGE_SIZE = 100
API_SUFFIX = "/api/v4"
#: Package manifests read per project while none declares a licence.
MAX_MANIFESTS = 2
#: A licence file longer than this is not a licence text (detection refuses it anyway).
MAX_LICENCE_BYTES = 256 * 1024
#: The publiccode.yml validator refuses larger files.
MAX_PUBLICCODE_BYTES = 512 * 1024
#: Too big to ask "what changed since" of the whole instance: its groups are listed each time.
GITLAB_COM = "gitlab.com"
#: How far before the last crawl activity is asked for (GitLab's hourly ``last_activity_at``
#: updates, clock differences between the forge and us).
ACTIVITY_MARGIN = dt.timedelta(hours=2)


class _TooLongWait(Exception):
    """Raised from the session hook when the forge asks to wait longer than allowed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the forge asks to wait {seconds:.0f} s")
        self.seconds = seconds


class GitLabForge(Forge):
    kind = "gitlab"
    crawls_whole_instances = True
    readme_licence = staticmethod(readme_licence_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._details = ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix=f"details-{self.host}"
        )
        self._clients: list[gitlab.Gitlab] = []
        """Every worker thread's client, closed by ``close``."""

    def close(self) -> None:
        self._details.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.session.close()

    # --- transport ----------------------------------------------------------------------------

    def _client(self) -> gitlab.Gitlab:
        client: gitlab.Gitlab | None = getattr(self._local, "client", None)
        if client is None:
            # Follows no redirect and sends nothing outside the API's origin (forges/session.py);
            # every answer is read within a deadline and a size cap (forges/transport.py).
            session = ForgeSession(self.config.api_url)
            adapter = self.http_adapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
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
            with self._lock:
                self._clients.append(client)
        return client

    def _on_response(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """Counts every answer (retries included), reads the budget left, and refuses a
        rate-limit wait longer than allowed before python-gitlab would sleep through it."""
        remaining = response.headers.get("RateLimit-Remaining", "")
        self.count_request(int(remaining) if remaining.isdigit() else None)
        if response.status_code == 304:
            self.not_modified += 1
        # python-gitlab sleeps int(Retry-After) and int(RateLimit-Reset) - now, which fail on
        # an HTTP date, a negative number or garbage: rewrite them as whole seconds, or drop them.
        headers = response.headers
        asked = retry_after(headers.get("Retry-After"))
        if "Retry-After" in headers:
            if asked is None:
                del headers["Retry-After"]
            else:
                # (a 5xx asking more than allowed is retried after the allowed wait)
                headers["Retry-After"] = str(math.ceil(min(asked, self.retry.max_wait)))
        reset = headers.get("RateLimit-Reset", "")
        if reset and not reset.isdigit():
            del headers["RateLimit-Reset"]
        if response.status_code == 429:
            wait = 0.0
            if asked is not None:
                wait = asked
            elif reset.isdigit():
                wait = int(reset) - dt.datetime.now(dt.UTC).timestamp()
            if wait > self.retry.max_wait:
                raise _TooLongWait(wait)

    def _get(
        self, path: str, params: dict[str, Any] | None = None, *, streamed: bool = False
    ) -> requests.Response:
        """One GET through python-gitlab; every failure becomes a ``ForgeError``."""
        try:
            with self._slots:
                response = self._client().http_request(
                    "get",
                    path,
                    query_data=params or {},
                    max_retries=self.retry.attempts - 1,
                    streamed=streamed,
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
        except AnswerError as error:
            raise AnswerFailed(str(error)) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ForgeUnavailable(f"cannot reach {self.config.api_url}: {error}") from error
        except requests.RequestException as error:  # e.g. a body cut off, after retries
            raise AnswerFailed(f"{path}: {error}") from error
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
        """Every page of a listing, from ``cursor`` if given, with the cursor after each.

        A listing that goes on past what the forge declared on its first page (``X-Total``,
        ``X-Total-Pages``, by a margin; ``RetryPolicy.max_pages`` when it declares nothing, as
        keyset listings do) fails: fresh cursors for ever are not pages."""
        seen: set[str] = set()
        current: str = cursor or path
        first_params: dict[str, Any] | None = None if cursor else params
        max_pages = self.retry.max_pages
        max_items: int | None = None
        pages = listed = 0
        while True:
            self.check_deadline(path)
            response = self._get(current, first_params)
            items = self._json(response)
            if not isinstance(items, list):
                raise MalformedResponse(f"{current}: a listing that is not a JSON array")
            if pages == 0:
                total_pages = _declared(response, "X-Total-Pages")
                if total_pages is not None:
                    max_pages = min(max_pages, total_pages + max(2, total_pages // 10))
                total = _declared(response, "X-Total")
                if total is not None:
                    max_items = total + max(PAGE_SIZE, total // 10)
            pages += 1
            listed += len(items)
            if pages > max_pages or (max_items is not None and listed > max_items):
                declared = ", ".join(
                    f"{name} {response.headers[name]}"
                    for name in ("X-Total", "X-Total-Pages")
                    if name in response.headers
                )
                raise EndlessPages(
                    f"{path}: {pages} pages and {listed} items, more than "
                    + (
                        f"the forge declared ({declared})"
                        if declared
                        else f"at most {max_pages} pages"
                    )
                    + ": listing stopped"
                )
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
        plan = Plan(jobs=[Job((account,)) for account in accounts])
        if any(account.whole_instance for account in accounts):
            return plan  # a whole instance asks what changed itself (``_instance``)
        since = self._activity_since(accounts)
        if since is None:
            return plan
        try:
            active = self._active_paths(since)
        except (ForgeError, BadItem) as error:
            if isinstance(error, FORGE_WIDE):
                raise
            log.warning(
                "%s: activity since %s unreadable (%s): every account listed",
                self.host,
                since,
                error,
            )
            return plan
        jobs: list[Job] = []
        for job in plan.jobs:
            (account,) = job.accounts
            prefix = account.login.lower() + "/"
            if any(path.startswith(prefix) for path in active):
                jobs.append(job)
            else:
                known = self.state.account(account)
                plan.done.append(AccountDone(account, None, known.signature, unchanged=True))
        log.info(
            "%s: %d of %d accounts active since %s, listed again",
            self.host,
            len(jobs),
            len(accounts),
            since,
        )
        return Plan(jobs=jobs, done=plan.done)

    def _activity_since(self, accounts: Sequence[OwnerConfig]) -> str | None:
        """Since when one instance-wide question can replace the accounts' listings: the
        oldest of their last completed crawls (less a margin: GitLab updates
        ``last_activity_at`` at most once an hour, and clocks differ), or ``None`` when it
        cannot (gitlab.com, an account never completed, interrupted, or whose
        last full listing is older than ``FULL_REFRESH_AFTER``)."""
        if self.host.lower() == GITLAB_COM or not accounts:
            return None
        now = dt.datetime.now(dt.UTC)
        oldest: dt.datetime | None = None
        for account in accounts:
            known = self.state.account(account)
            listed = _listed_at(known.signature)
            if known.cursor or not known.completed_at or listed is None:
                return None
            if now - listed >= FULL_REFRESH_AFTER:
                return None
            completed = _moment(known.completed_at)
            if completed is None:
                return None
            oldest = completed if oldest is None else min(oldest, completed)
        assert oldest is not None
        return (oldest - ACTIVITY_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _active_paths(self, since: str) -> set[str]:
        """The lower-cased paths of the public projects that are new or changed since
        ``since``: listed by the instance, and not already stored with that same
        ``last_activity_at`` (the margin brings back some that did not change)."""
        params = {
            "visibility": "public",
            "last_activity_after": since,
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": PAGE_SIZE,
            "simple": "true",
        }
        active: set[str] = set()
        for items, _cursor in self._listing("/projects", params, None):
            for item in items:
                path = field(item, "path_with_namespace", str)
                if not path:
                    continue
                moved = iso(field(item, "last_activity_at", str))
                owner, _, name = path.rpartition("/")
                known = self.state.repositories.get(repository_id(self.host, owner, name))
                if known is None or known.pushed_at != moved:
                    active.add(path.lower())
        return active

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
        kind = _kind(known.signature)
        owner: Owner | None = None
        listed = _listed_at(known.signature)
        if (
            kind is None
            or listed is None
            or dt.datetime.now(dt.UTC) - listed >= FULL_REFRESH_AFTER
            or not known.completed_at
        ):
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
            repositories, _ = self._projects(items, account, emit)
            self.page(emit, account, RepositoryPage(account, repositories, cursor), cursor)
        # The signature keeps the kind and when the account was last listed whole (the weekly
        # full listing, see ``_activity_since``).
        finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        emit(AccountDone(account, owner, signature=f"{kind} {finished}"))

    def _profile(self, account: OwnerConfig) -> Owner:
        """The group, else the user, of that path."""
        try:
            return self._read_profile(account)
        except BadItem as error:
            raise MalformedResponse(f"the profile of '{account.login}': {error}") from error

    def _read_profile(self, account: OwnerConfig) -> Owner:
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
                login=field(user, "username", str) or account.login,
                kind="user",
                name=field(user, "name", str) or None,
                description=field(user, "bio", str) or None,
                website=field(user, "website_url", str) or None,
                email=field(user, "public_email", str) or None,
                location=field(user, "location", str) or None,
                avatar_url=field(user, "avatar_url", str) or None,
                created_at=iso(field(user, "created_at", str)),
            )
        return Owner(
            forge=self.host,
            login=field(group, "full_path", str) or account.login,
            kind="group",
            name=field(group, "name", str) or None,
            description=field(group, "description", str) or None,
            website=field(group, "web_url", str) or None,
            avatar_url=field(group, "avatar_url", str) or None,
            created_at=iso(field(group, "created_at", str)),
        )

    def _instance(self, account: OwnerConfig, emit: Emit) -> None:
        params: dict[str, Any] = {
            "visibility": "public",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
            "per_page": PAGE_SIZE,
        }
        since = self._activity_since([account])
        if since is not None:
            # Only what changed: the instance's answer holds each project's whole listing line.
            # No cursor is kept: an interrupted question is asked again, from the same date.
            params["last_activity_after"] = since
            for items, _cursor in self._listing("/projects", params, None):
                self._instance_page(account, items, None, emit)
            known = self.state.account(account)
            emit(AccountDone(account, None, known.signature, unchanged=True))
            return
        for items, cursor in self._listing("/projects", params, self._resume_cursor(account)):
            self._instance_page(account, items, cursor, emit)
        finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        emit(AccountDone(account, None, signature=f"instance {finished}"))

    def _instance_page(
        self, account: OwnerConfig, items: list[Any], cursor: str | None, emit: Emit
    ) -> None:
        repositories, valid = self._projects(items, account, emit)
        namespaces = {o.id: o for o in (self._namespace(p) for p in valid) if o is not None}
        page = RepositoryPage(account, repositories, cursor, tuple(namespaces.values()))
        self.page(emit, account, page, cursor)

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

    def _projects(
        self, items: list[Any], account: OwnerConfig, emit: Emit
    ) -> tuple[tuple[Repository, ...], list[dict[str, Any]]]:
        """A page's public projects with their details, and the items they come from; a
        malformed item is skipped (and reported), the rest of the page kept."""
        public: list[dict[str, Any]] = []
        listed: list[Repository] = []
        for index, item in enumerate(items):
            try:
                if (field(item, "visibility", str) or "public") != "public":
                    continue
                listed.append(self._project(item))
            except BadItem as error:
                path = item.get("path_with_namespace") if isinstance(item, dict) else None
                place = f"project '{path}'" if isinstance(path, str) else f"item {index}"
                owner, _, name = path.rpartition("/") if isinstance(path, str) else ("", "", "")
                known = repository_id(self.host, owner, name) if owner and name else None
                self.skip(emit, account, f"{account.login or self.host}: {place}", error, known)
                continue
            public.append(item)
        # Details (tree, licence) only for what changed, fetched four at a time.
        return tuple(self._details.map(self._with_details, listed, public)), public

    def _project(self, project: dict[str, Any]) -> Repository:
        """Map one project of a listing, every field checked for its type (``BadItem``)."""
        full_path: str = field(project, "path_with_namespace", str, required=True)
        owner, _, name = full_path.rpartition("/")
        if not owner or not name:
            raise BadItem(f"'path_with_namespace' is not a path: {full_path[:80]!r}")
        field(project, "id", int, required=True)
        field(project, "empty_repo", bool)
        topics = field(project, "topics", list) or field(project, "tag_list", list) or []
        if not all(isinstance(t, str) for t in topics):
            raise BadItem("'topics' holds something else than strings")
        description: str = field(project, "description", str) or ""
        return Repository(
            forge=self.host,
            owner=field(obj(project, "namespace"), "full_path", str) or owner,
            name=name,
            url=field(project, "web_url", str) or f"https://{self.host}/{full_path}",
            description=description.strip() or None,
            default_branch=field(project, "default_branch", str) or None,
            topics=tuple(topics),
            is_fork=bool(field(project, "forked_from_project", dict)),
            is_archived=bool(field(project, "archived", bool)),
            created_at=iso(field(project, "created_at", str)),
            updated_at=iso(
                field(project, "updated_at", str) or field(project, "last_activity_at", str)
            ),
            pushed_at=iso(field(project, "last_activity_at", str)),
            stars=count(project, "star_count"),
            forks=count(project, "forks_count"),
            open_issues=count(project, "open_issues_count"),
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
        entries = self._tree(project_id, repository) or []
        files = classify(entries)
        readmes = readme_files(name for name, kind in entries if kind == "blob")
        licence, source = self._licence(project_id, repository, files, readmes)
        publiccode = None
        path = publiccode_to_read(files, None)
        if path is not None:
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
        self, project_id: Any, repository: Repository, files: RootFiles, readmes: Sequence[str]
    ) -> tuple[str, str]:
        """The licence and where it came from, read in the order ``crawler.forges.reads``
        gives and no further than needed (one request for the usual single licence file, like
        ``?license=true`` would cost, but it knows CeCILL and Etalab, which GitLab reports as
        "other")."""

        def list_folder(folder: str) -> list[str]:
            entries = self._tree(project_id, repository, folder) or []
            return [name for name, kind in entries if kind == "blob"]

        def read(name: str) -> bytes | None:
            return self._raw(project_id, repository, name, MAX_LICENCE_BYTES)

        steps = licence_steps(
            files,
            max_manifests=MAX_MANIFESTS,
            readmes=readmes,
            readme_licence=self.readme_licence,
        )
        return read_licence(files, steps, read, list_folder, self.readme_licence)

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
                # A malformed entry is not a file: the rest of the tree still counts.
                entries.extend(
                    (e["name"], e["type"])
                    for e in items
                    if isinstance(e, dict)
                    and isinstance(e.get("name"), str)
                    and isinstance(e.get("type"), str)
                )
        except AccountNotFound:
            return None
        return entries

    def _raw(self, project_id: Any, repository: Repository, path: str, limit: int) -> bytes | None:
        """A file's raw content (at most ``limit`` bytes: no more is read); ``None`` when it
        is gone since the tree was listed. A body cut off is asked again, like any request."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._get(
                    f"/projects/{project_id}/repository/files/{quote(path, safe='')}/raw",
                    {"ref": repository.default_branch},
                    streamed=True,
                )
            except AccountNotFound:
                return None
            try:
                deadline = time.monotonic() + self.retry.answer_deadline
                return read_body(response, limit, deadline, truncate=True)
            except AnswerCutOff as error:
                if attempt == self.retry.attempts:
                    raise AnswerFailed(f"{repository.id}/{path}: {error}") from error
                time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

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


def _kind(signature: str | None) -> str | None:
    """The account's kind (``group`` or ``user``), the first word of its stored signature."""
    kind = (signature or "").split(" ", 1)[0]
    return kind if kind in ("group", "user") else None


def _listed_at(signature: str | None) -> dt.datetime | None:
    """When the account was last listed whole: the second word of its stored signature."""
    parts = (signature or "").split(" ")
    if len(parts) != 2 or parts[0] not in ("group", "user", "instance"):
        return None
    return _moment(parts[1])


def _moment(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _declared(response: requests.Response, header: str) -> int | None:
    """A count the forge declares in a header (X-Total, X-Total-Pages), if it is one."""
    value = response.headers.get(header, "").strip()
    return int(value) if value.isdigit() else None


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
