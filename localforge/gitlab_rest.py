"""GitLab REST API v4: the endpoints a forge crawler uses, in GitLab's JSON shapes.

Lists use offset pagination (``page``/``per_page``, 20 by default, at most 100) with
``X-Page``, ``X-Per-Page``, ``X-Next-Page``, ``X-Prev-Page``, ``X-Total``, ``X-Total-Pages``
and ``Link``; above 10,000 items the totals and ``rel="last"`` are left out, as GitLab does
(and always for ``/repository/commits``: GitLab does not count commits).
Project lists also take keyset pagination (``pagination=keyset&order_by=id``): a ``Link``
``rel="next"`` with ``id_after`` (``id_before`` when descending) while a page is full, and no
totals. ``/projects`` refuses offsets beyond 50,000 (405), like GitLab.

Visibility as GitLab applies it to someone who is a member of nothing: public projects for
everyone, internal ones with a token, private ones never (404 ``Project Not Found``).
Anonymous ``/projects`` and ``/users/:id/projects`` answer the basic project fields only
(GitLab's ``BasicProjectDetails``: no ``archived``, ``visibility``, ``open_issues_count``...);
group projects and single projects answer the full object.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode

from localforge import content, history
from localforge.api import ApiRequest, ApiResponse, json_response
from localforge.data import Account, Repository, TreeEntry
from localforge.licences import Licence

if TYPE_CHECKING:
    from localforge.gitlab import GitLabApi

JsonObject = dict[str, Any]
T = TypeVar("T")

VIEWER = {"id": 1, "username": "localforge-viewer", "name": "Local forge"}
"""The user every valid token belongs to (a member of nothing)."""
VERSION = "17.5.1"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
TOTALS_LIMIT = 10_000
"""Above this many items GitLab leaves out ``X-Total``, ``X-Total-Pages`` and ``rel="last"``."""
OFFSET_LIMIT = 50_000
"""The largest offset ``/projects`` accepts."""

_NICKNAMES = {
    "gpl-3.0": "GNU GPLv3",
    "gpl-2.0": "GNU GPLv2",
    "agpl-3.0": "GNU AGPLv3",
    "lgpl-3.0": "GNU LGPLv3",
    "lgpl-2.1": "GNU LGPLv2.1",
}
_EXECUTABLES = frozenset({"gradlew", "install.sh", "run.sh"})


class ApiError(Exception):
    """Answered as is: a status and GitLab's JSON error body."""

    def __init__(self, status: int, body: JsonObject) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def not_found(what: str) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found"})


def invalid(name: str) -> ApiError:
    return ApiError(400, {"error": f"{name} does not have a valid value"})


@dataclass(frozen=True, slots=True)
class Context:
    api: GitLabApi
    request: ApiRequest
    params: dict[str, str]
    token: str | None

    @property
    def host(self) -> str:
        return self.api.host

    @property
    def base(self) -> str:
        """The API's own URL (``http://127.0.0.1:PORT/HOST/api/v4``)."""
        return self.request.base_url + "/api/v4"

    @property
    def authenticated(self) -> bool:
        return self.token is not None

    def visible(self, repo: Repository) -> bool:
        return repo.visibility == "public" or (repo.visibility == "internal" and self.authenticated)

    def flag(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "t", "y", "on"):
            return True
        if lowered in ("false", "0", "no", "f", "n", "off"):
            return False
        raise ApiError(400, {"error": f"{name} is invalid"})

    def integer(self, name: str) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, {"error": f"{name} is invalid"}) from None


Handler = Callable[[Context, "re.Match[str]"], ApiResponse]


def handle(api: GitLabApi, request: ApiRequest, token: str | None) -> ApiResponse:
    path = request.path.removeprefix("/api/v4").rstrip("/") or "/"
    ctx = Context(api, request, request.params, token)
    for pattern, handler in _ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        if request.method not in ("GET", "HEAD"):
            if token is None:
                return json_response(401, {"message": "401 Unauthorized"})
            return json_response(403, {"message": "403 Forbidden"})
        try:
            return handler(ctx, match)
        except ApiError as error:
            return json_response(error.status, error.body)
    return json_response(404, {"error": "404 Not Found"})


def ok(value: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    return json_response(200, value, headers)


# --- JSON shapes -------------------------------------------------------------------------------


def gitlab_date(value: str) -> str:
    """GitLab's timestamps have milliseconds: ``2021-11-08T09:25:25.000Z``."""
    if value.endswith("Z") and "." not in value:
        return value[:-1] + ".000Z"
    return value


def _avatar(account: Account) -> str | None:
    if account.kind == "user":
        digest = hashlib.md5(account.login.lower().encode(), usedforsecurity=False).hexdigest()
        return f"https://secure.gravatar.com/avatar/{digest}?s=80&d=identicon"
    return account.avatar_url or None


def namespace_json(account: Account) -> JsonObject:
    return {
        "id": account.database_id,
        "name": account.name,
        "path": account.path,
        "kind": account.kind,
        "full_path": account.login,
        "parent_id": account.parent_id,
        "avatar_url": _avatar(account),
        "web_url": account.html_url,
    }


def _full_name(ctx: Context, account: Account) -> str:
    names = [account.name or account.path]
    parent_id = account.parent_id
    while parent_id is not None:
        parent = ctx.api.dataset.account_by_id(parent_id, ctx.host)
        if parent is None:
            break
        names.append(parent.name or parent.path)
        parent_id = parent.parent_id
    return " / ".join(reversed(names))


def user_basic_json(account: Account) -> JsonObject:
    return {
        "id": account.user_id,
        "username": account.login,
        "name": account.name,
        "state": "active",
        "locked": False,
        "avatar_url": _avatar(account),
        "web_url": account.html_url,
    }


def user_json(ctx: Context, account: Account) -> JsonObject:
    value = user_basic_json(account)
    value.update(
        {
            "created_at": gitlab_date(account.created_at),
            "bio": "",
            "location": "",
            "public_email": None,
            "skype": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "organization": "",
            "job_title": "",
            "pronouns": None,
            "bot": False,
            "work_information": None,
            "followers": 0,
            "following": 0,
            "local_time": None,
        }
    )
    if ctx.authenticated:
        value["is_followed"] = False
    return value


def group_json(ctx: Context, group: Account) -> JsonObject:
    return {
        "id": group.database_id,
        "web_url": group.html_url,
        "name": group.name,
        "path": group.path,
        "description": group.description or "",
        "visibility": "public",
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": False,
        "emails_enabled": True,
        "mentions_disabled": None,
        "lfs_enabled": True,
        "default_branch": None,
        "default_branch_protection": 2,
        "avatar_url": _avatar(group),
        "request_access_enabled": True,
        "full_name": _full_name(ctx, group),
        "full_path": group.login,
        "created_at": gitlab_date(group.created_at),
        "parent_id": group.parent_id,
        "organization_id": 1,
        "shared_runners_setting": "enabled",
        "ldap_cn": None,
        "ldap_access": None,
        "wiki_access_level": "enabled",
    }


def licence_json(lic: Licence) -> JsonObject:
    """GitLab's ``LicenseBasic`` (``source_url`` is no longer filled upstream)."""
    return {
        "key": lic.key,
        "name": lic.name,
        "nickname": _NICKNAMES.get(lic.key),
        "html_url": None if lic.is_other else f"http://choosealicense.com/licenses/{lic.key}/",
        "source_url": None,
    }


def _web_url(repo: Repository) -> str:
    return f"https://{repo.host}/{repo.full_name}"


def _root_file(repo: Repository, role: str) -> TreeEntry | None:
    return next((e for e in repo.entries if e.role == role and e.spdx_id is None), None)


def _blob_url(repo: Repository, entry: TreeEntry | None) -> str | None:
    if entry is None:
        return None
    return f"{_web_url(repo)}/-/blob/{repo.default_branch}/{entry.name}"


def project_json(
    ctx: Context, repo: Repository, *, simple: bool, licence: bool = False
) -> JsonObject:
    """A project as GitLab lists it: ``BasicProjectDetails`` when ``simple``, else ``Project``."""
    dataset = ctx.api.dataset
    namespace = dataset.account(ctx.host, repo.owner)
    if namespace is None:  # cannot happen with a loaded dataset
        raise not_found("Namespace")
    web_url = _web_url(repo)
    topics = sorted(repo.topics)
    value: JsonObject = {
        "id": repo.database_id,
        "description": repo.description,
        "name": repo.name,
        "name_with_namespace": f"{_full_name(ctx, namespace)} / {repo.name}",
        "path": repo.name,
        "path_with_namespace": repo.full_name,
        "created_at": gitlab_date(repo.created_at),
        "default_branch": repo.default_branch,
        "tag_list": topics,
        "topics": topics,
        "ssh_url_to_repo": f"git@{repo.host}:{repo.full_name}.git",
        "http_url_to_repo": f"{web_url}.git",
        "web_url": web_url,
        "readme_url": _blob_url(repo, _root_file(repo, "readme")),
        "forks_count": repo.forks,
    }
    if licence:
        value["license_url"] = _blob_url(repo, _root_file(repo, "licence"))
        value["license"] = licence_json(repo.licence) if repo.licence else None
    value.update(
        {
            "avatar_url": None,
            "star_count": repo.stars,
            "last_activity_at": gitlab_date(repo.last_activity_at),
            "namespace": namespace_json(namespace),
        }
    )
    if simple:
        return value
    api_url = f"{ctx.base}/projects/{repo.database_id}"
    value["container_registry_image_prefix"] = f"registry.{repo.host}/{repo.full_name.lower()}"
    value["_links"] = {
        "self": api_url,
        "issues": f"{api_url}/issues",
        "merge_requests": f"{api_url}/merge_requests",
        "repo_branches": f"{api_url}/repository/branches",
        "labels": f"{api_url}/labels",
        "events": f"{api_url}/events",
        "members": f"{api_url}/members",
        "cluster_agents": f"{api_url}/cluster_agents",
    }
    value.update(
        {
            "packages_enabled": True,
            "empty_repo": repo.is_empty,
            "archived": repo.is_archived,
            "visibility": repo.visibility,
        }
    )
    if namespace.kind == "user":
        value["owner"] = user_basic_json(namespace)
    value.update(_PROJECT_SETTINGS)
    value["can_create_merge_request_in"] = ctx.authenticated
    value["creator_id"] = namespace.user_id or 1
    if repo.forked_from is not None:
        source = dataset.repository_by_id(repo.forked_from, ctx.host)
        if source is not None and ctx.visible(source):
            value["forked_from_project"] = project_json(ctx, source, simple=True)
    value.update(
        {
            "mr_default_target_self": False,
            "import_status": "none",
            "open_issues_count": repo.open_issues,
            "updated_at": gitlab_date(repo.last_activity_at),
            "ci_config_path": "",
            "shared_with_groups": [_shared_group(ctx, path) for path in repo.shared_with],
        }
    )
    value.update(_MERGE_SETTINGS)
    return value


def _shared_group(ctx: Context, path: str) -> JsonObject:
    group = ctx.api.dataset.account(ctx.host, path)
    return {
        "group_id": group.database_id if group else None,
        "group_name": group.name if group else path,
        "group_full_path": group.login if group else path,
        "group_access_level": 30,
        "expires_at": None,
    }


_PROJECT_SETTINGS: JsonObject = {
    "resolve_outdated_diff_discussions": False,
    "repository_object_format": "sha1",
    "issues_enabled": True,
    "merge_requests_enabled": True,
    "wiki_enabled": True,
    "jobs_enabled": True,
    "snippets_enabled": True,
    "container_registry_enabled": True,
    "service_desk_enabled": False,
    "issues_access_level": "enabled",
    "repository_access_level": "enabled",
    "merge_requests_access_level": "enabled",
    "forking_access_level": "enabled",
    "wiki_access_level": "enabled",
    "builds_access_level": "enabled",
    "snippets_access_level": "enabled",
    "pages_access_level": "enabled",
    "analytics_access_level": "enabled",
    "container_registry_access_level": "enabled",
    "security_and_compliance_access_level": "private",
    "releases_access_level": "enabled",
    "environments_access_level": "enabled",
    "feature_flags_access_level": "enabled",
    "infrastructure_access_level": "enabled",
    "monitor_access_level": "enabled",
    "emails_disabled": False,
    "emails_enabled": True,
    "shared_runners_enabled": True,
    "lfs_enabled": True,
}
_MERGE_SETTINGS: JsonObject = {
    "ci_default_git_depth": 20,
    "ci_forward_deployment_enabled": True,
    "ci_job_token_scope_enabled": False,
    "ci_separated_caches": True,
    "ci_allow_fork_pipelines_to_run_in_parent_project": True,
    "build_git_strategy": "fetch",
    "keep_latest_artifact": True,
    "restrict_user_defined_variables": False,
    "group_runners_enabled": True,
    "auto_cancel_pending_pipelines": "enabled",
    "build_timeout": 3600,
    "auto_devops_enabled": False,
    "auto_devops_deploy_strategy": "continuous",
    "public_jobs": True,
    "only_allow_merge_if_pipeline_succeeds": False,
    "allow_merge_on_skipped_pipeline": None,
    "request_access_enabled": True,
    "only_allow_merge_if_all_discussions_are_resolved": False,
    "remove_source_branch_after_merge": True,
    "printing_merge_request_link_enabled": True,
    "merge_method": "merge",
    "squash_option": "default_off",
    "enforce_auth_checks_on_uploads": True,
    "suggestion_commit_message": None,
    "merge_commit_template": None,
    "squash_commit_template": None,
    "issue_branch_template": None,
    "autoclose_referenced_issues": True,
}


# --- pagination --------------------------------------------------------------------------------


def _per_page(ctx: Context) -> int:
    per_page = ctx.integer("per_page")
    if per_page is None or per_page < 1:
        return DEFAULT_PER_PAGE
    return min(per_page, MAX_PER_PAGE)


def _url(ctx: Context, drop: Iterable[str], **changes: int | str) -> str:
    """The request's URL with ``drop`` and ``changes`` parameters replaced."""
    removed = {*drop, *changes}
    params = [
        (k, v) for k, v in parse_qsl(ctx.request.query, keep_blank_values=True) if k not in removed
    ]
    params += [(k, str(v)) for k, v in changes.items()]
    return f"{ctx.base}{ctx.request.path.removeprefix('/api/v4')}?{urlencode(params)}"


def _looping(ctx: Context) -> bool:
    return ctx.host in ctx.api.settings.pagination_loop_hosts


def offset_page(
    ctx: Context, items: Sequence[T], *, max_offset: int | None = None
) -> tuple[Sequence[T], dict[str, str]]:
    """One page of ``items`` and GitLab's offset pagination headers.

    Raises:
        ApiError: the offset is beyond ``max_offset``.
    """
    per_page = _per_page(ctx)
    page = max(ctx.integer("page") or 1, 1)
    start = (page - 1) * per_page
    if max_offset is not None and start > max_offset:
        raise ApiError(
            405,
            {
                "error": (
                    f"Offset pagination has a maximum allowed offset of {max_offset} for "
                    "requests that return objects of type Project. Remaining records can be "
                    "retrieved using keyset pagination."
                )
            },
        )
    total = len(items)
    pages = max((total + per_page - 1) // per_page, 1)
    next_page: int | None = page + 1 if page < pages else None
    if _looping(ctx):
        next_page = page
    prev_page = page - 1 if page > 1 else None
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
    }
    links: list[tuple[str, int]] = []
    if prev_page is not None:
        links.append(("prev", prev_page))
    if next_page is not None:
        links.append(("next", next_page))
    links.append(("first", 1))
    if total <= TOTALS_LIMIT:
        headers["X-Total"] = str(total)
        headers["X-Total-Pages"] = str(pages)
        links.append(("last", pages))
    headers["Link"] = ", ".join(
        f'<{_url(ctx, (), page=n, per_page=per_page)}>; rel="{rel}"' for rel, n in links
    )
    return items[start : start + per_page], headers


# --- projects lists ----------------------------------------------------------------------------


def _order_key(order_by: str) -> Callable[[Repository], Any]:
    keys: dict[str, Callable[[Repository], Any]] = {
        "id": lambda r: r.database_id,
        "name": lambda r: (r.name.lower(), r.database_id),
        "path": lambda r: (r.name.lower(), r.database_id),
        "created_at": lambda r: (r.created_at, r.database_id),
        "updated_at": lambda r: (r.last_activity_at, r.database_id),
        "last_activity_at": lambda r: (r.last_activity_at, r.database_id),
        "star_count": lambda r: (r.stars, r.database_id),
    }
    return keys[order_by]


_PROJECT_ORDERS = frozenset(
    {"id", "name", "path", "created_at", "updated_at", "last_activity_at", "star_count"}
)


class SortedCache:
    """Sorted, visibility-filtered project lists, kept until the dataset changes."""

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._lists: OrderedDict[tuple[Any, ...], list[Repository]] = OrderedDict()

    def get(self, key: tuple[Any, ...], build: Callable[[], list[Repository]]) -> list[Repository]:
        with self._lock:
            found = self._lists.get(key)
            if found is not None:
                self._lists.move_to_end(key)
                return found
        built = build()
        with self._lock:
            self._lists[key] = built
            while len(self._lists) > self._size:
                self._lists.popitem(last=False)
        return built


def list_projects(
    ctx: Context,
    scope: tuple[Any, ...],
    candidates: Callable[[], Iterable[Repository]],
    *,
    basic_when_anonymous: bool,
    instance: bool = False,
) -> ApiResponse:
    """A paginated list of projects, filtered and sorted by the request's parameters.

    Args:
        ctx: the request.
        scope: what ``candidates`` returns (a cache key).
        candidates: every project of the scope, whatever its visibility.
        basic_when_anonymous: answer ``BasicProjectDetails`` without a token (``/projects``).
        instance: the instance-wide ``/projects`` (activity filters, offset limit).
    """
    params = ctx.params
    order_by = params.get("order_by") or "created_at"
    sort = params.get("sort") or "desc"
    if order_by not in _PROJECT_ORDERS:
        raise invalid("order_by")
    if sort not in ("asc", "desc"):
        raise invalid("sort")
    keyset = params.get("pagination") == "keyset"
    if keyset and order_by != "id":
        raise ApiError(
            405, {"error": "Keyset pagination is not yet available for this type of request"}
        )
    if any(ctx.flag(name, False) for name in ("owned", "membership", "starred")) or params.get(
        "min_access_level"
    ):
        return _projects_page(ctx, [], keyset=keyset, sort=sort, basic=basic_when_anonymous)

    dataset = ctx.api.dataset
    authenticated = ctx.authenticated

    def build() -> list[Repository]:
        seen: set[int] = set()
        kept = []
        for repo in candidates():
            if repo.database_id not in seen and ctx.visible(repo):
                seen.add(repo.database_id)
                kept.append(repo)
        kept.sort(key=_order_key(order_by), reverse=sort == "desc")
        return kept

    cache_key = (*scope, authenticated, order_by, sort, dataset.version)
    ordered = ctx.api.sorted_lists.get(cache_key, build)

    predicate = _filters(ctx, instance=instance)
    if keyset:
        # In id order, id_after/id_before also tell where to start: skip straight there.
        start = 0
        after, before = ctx.integer("id_after"), ctx.integer("id_before")
        if sort == "asc" and after is not None:
            start = bisect.bisect_right(ordered, after, key=lambda r: r.database_id)
        elif sort == "desc" and before is not None:
            start = bisect.bisect_right(ordered, -before, key=lambda r: -r.database_id)
        per_page = _per_page(ctx)
        window: list[Repository] = []
        for repo in ordered[start:] if start else ordered:
            if predicate is None or predicate(repo):
                window.append(repo)
                if len(window) == per_page:
                    break
        return _projects_page(ctx, window, keyset=True, sort=sort, basic=basic_when_anonymous)
    items = ordered if predicate is None else [r for r in ordered if predicate(r)]
    page, headers = offset_page(ctx, items, max_offset=OFFSET_LIMIT if instance else None)
    simple = _simple(ctx, basic_when_anonymous)
    return ok([project_json(ctx, r, simple=simple) for r in page], headers)


def _simple(ctx: Context, basic_when_anonymous: bool) -> bool:
    return ctx.flag("simple", False) or (basic_when_anonymous and not ctx.authenticated)


def _projects_page(
    ctx: Context, window: list[Repository], *, keyset: bool, sort: str, basic: bool
) -> ApiResponse:
    simple = _simple(ctx, basic)
    if not keyset:
        page, headers = offset_page(ctx, window)
        return ok([project_json(ctx, r, simple=simple) for r in page], headers)
    links: dict[str, str] = {}
    bound = "id_after" if sort == "asc" else "id_before"
    if _looping(ctx):
        links["Link"] = f'<{_url(ctx, ())}>; rel="next"'
    elif window and len(window) == _per_page(ctx):
        last = window[-1].database_id
        url = _url(ctx, ("page", "id_after", "id_before"), **{bound: last})
        links["Link"] = f'<{url}>; rel="next"'
    return ok([project_json(ctx, r, simple=simple) for r in window], links)


def _filters(ctx: Context, *, instance: bool) -> Callable[[Repository], bool] | None:
    """The request's filters as one predicate (``None``: keep everything)."""
    tests: list[Callable[[Repository], bool]] = []
    params = ctx.params
    visibility = params.get("visibility")
    if visibility:
        if visibility not in ("public", "internal", "private"):
            raise invalid("visibility")
        tests.append(lambda r: r.visibility == visibility)
    if params.get("archived", "") != "":
        archived = ctx.flag("archived", False)
        tests.append(lambda r: r.is_archived is archived)
    search = params.get("search", "").lower()
    if search:
        tests.append(lambda r: search in r.name.lower() or search in (r.description or "").lower())
    topic = params.get("topic")
    if topic:
        wanted = {t.strip().lower() for t in topic.split(",") if t.strip()}
        tests.append(lambda r: wanted <= {t.lower() for t in r.topics})
    after, before = ctx.integer("id_after"), ctx.integer("id_before")
    if after is not None:
        tests.append(lambda r: r.database_id > after)
    if before is not None:
        tests.append(lambda r: r.database_id < before)
    if instance:
        for name, newer in (("last_activity_after", True), ("last_activity_before", False)):
            moment = params.get(name)
            if moment:
                tests.append(_activity_test(_timestamp(name, moment), newer=newer))
    if not tests:
        return None
    return lambda r: all(test(r) for test in tests)


def _activity_test(bound: str, *, newer: bool) -> Callable[[Repository], bool]:
    if newer:
        return lambda r: r.last_activity_at > bound
    return lambda r: r.last_activity_at < bound


def _timestamp(name: str, value: str) -> str:
    """An ISO 8601 parameter as the dataset's ``YYYY-MM-DDTHH:MM:SSZ`` text."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, {"error": f"{name} is invalid"}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- handlers ----------------------------------------------------------------------------------


def _group(ctx: Context, raw: str) -> Account:
    ident = unquote(raw)
    dataset = ctx.api.dataset
    found = (
        dataset.account_by_id(int(ident), ctx.host)
        if ident.isdigit()
        else dataset.account(ctx.host, ident)
    )
    if found is None and not ident.isdigit():
        # GitLab keeps a redirect route for a renamed or moved group (and what it holds): the
        # API answers the old path with the group at its new full_path, until the path is taken.
        moved = ctx.api.settings.renamed(ctx.host, ident)
        found = dataset.account(ctx.host, moved) if moved else None
    if found is None or found.kind != "group":
        raise not_found("Group")
    return found


def _user(ctx: Context, raw: str) -> Account:
    ident = unquote(raw)
    dataset = ctx.api.dataset
    found = (
        dataset.user_by_id(ctx.host, int(ident))
        if ident.isdigit()
        else dataset.account(ctx.host, ident)
    )
    if found is None or found.kind != "user":
        raise not_found("User")
    return found


def _project(ctx: Context, raw: str) -> Repository:
    ident = unquote(raw)
    dataset = ctx.api.dataset
    found = dataset.project(ctx.host, int(ident) if ident.isdigit() else ident)
    if found is None and not ident.isdigit():  # a project under a renamed group (redirect route)
        moved = ctx.api.settings.renamed(ctx.host, ident)
        found = dataset.project(ctx.host, moved) if moved else None
    if found is None or not ctx.visible(found):
        raise not_found("Project")
    return found


def _get_group(ctx: Context, match: re.Match[str]) -> ApiResponse:
    group = _group(ctx, match["id"])
    value = group_json(ctx, group)
    value.update(
        {
            "shared_with_groups": [],
            "prevent_sharing_groups_outside_hierarchy": False,
            "shared_runners_minutes_limit": None,
            "extra_shared_runners_minutes_limit": None,
            "prevent_forking_outside_group": None,
            "membership_lock": False,
        }
    )
    if ctx.flag("with_projects", True):
        # GitLab lists at most 100 projects here: a crawler must use /groups/:id/projects.
        dataset = ctx.api.dataset
        own = [r for r in dataset.owned(ctx.host, group.login) if ctx.visible(r)]
        shared = [r for r in dataset.shared_with(ctx.host, group.login) if ctx.visible(r)]
        value["projects"] = [project_json(ctx, r, simple=False) for r in own[:100]]
        value["shared_projects"] = [project_json(ctx, r, simple=False) for r in shared[:100]]
    return ok(value)


def _group_projects(ctx: Context, match: re.Match[str]) -> ApiResponse:
    group = _group(ctx, match["id"])
    dataset = ctx.api.dataset
    with_subgroups = ctx.flag("include_subgroups", False)
    with_shared = ctx.flag("with_shared", True)
    groups = [group, *(dataset.descendants(ctx.host, group.login) if with_subgroups else ())]

    def candidates() -> Iterable[Repository]:
        for g in groups:
            yield from dataset.owned(ctx.host, g.login)
        if with_shared:
            for g in groups:
                yield from dataset.shared_with(ctx.host, g.login)

    scope = ("group", group.database_id, with_subgroups, with_shared)
    return list_projects(ctx, scope, candidates, basic_when_anonymous=False)


def _groups_list(ctx: Context, groups: list[Account]) -> ApiResponse:
    order_by = ctx.params.get("order_by") or "name"
    sort = ctx.params.get("sort") or "asc"
    if order_by not in ("name", "path", "id", "similarity"):
        raise invalid("order_by")
    if sort not in ("asc", "desc"):
        raise invalid("sort")
    search = ctx.params.get("search", "").lower()
    if search:
        groups = [
            g for g in groups if search in g.login.lower() or search in (g.name or "").lower()
        ]
    keys: dict[str, Callable[[Account], Any]] = {
        "name": lambda g: ((g.name or "").lower(), g.database_id),
        "path": lambda g: (g.path.lower(), g.database_id),
        "id": lambda g: g.database_id,
        "similarity": lambda g: ((g.name or "").lower(), g.database_id),
    }
    ordered = sorted(groups, key=keys[order_by], reverse=sort == "desc")
    page, headers = offset_page(ctx, ordered)
    return ok([group_json(ctx, g) for g in page], headers)


def _groups(ctx: Context, _match: re.Match[str]) -> ApiResponse:
    groups = [a for a in ctx.api.dataset.namespaces(ctx.host) if a.kind == "group"]
    if ctx.flag("top_level_only", False):
        groups = [g for g in groups if g.parent_id is None]
    return _groups_list(ctx, groups)


def _subgroups(ctx: Context, match: re.Match[str]) -> ApiResponse:
    group = _group(ctx, match["id"])
    return _groups_list(ctx, ctx.api.dataset.subgroups(ctx.host, group.login))


def _descendant_groups(ctx: Context, match: re.Match[str]) -> ApiResponse:
    group = _group(ctx, match["id"])
    return _groups_list(ctx, ctx.api.dataset.descendants(ctx.host, group.login))


def _users(ctx: Context, _match: re.Match[str]) -> ApiResponse:
    users = [a for a in ctx.api.dataset.namespaces(ctx.host) if a.kind == "user"]
    username = ctx.params.get("username")
    if username is not None:
        users = [u for u in users if u.login.lower() == username.lower()]
    users.sort(key=lambda u: -(u.user_id or 0))  # GitLab lists newest users first
    page, headers = offset_page(ctx, users)
    return ok([user_basic_json(u) for u in page], headers)


def _get_user(ctx: Context, match: re.Match[str]) -> ApiResponse:
    if not match["id"].isdigit():
        raise not_found("User")
    return ok(user_json(ctx, _user(ctx, match["id"])))


def _user_projects(ctx: Context, match: re.Match[str]) -> ApiResponse:
    user = _user(ctx, match["id"])
    dataset = ctx.api.dataset
    return list_projects(
        ctx,
        ("user", user.database_id),
        lambda: dataset.owned(ctx.host, user.login),
        basic_when_anonymous=True,
    )


def _current_user(ctx: Context, _match: re.Match[str]) -> ApiResponse:
    if not ctx.authenticated:
        raise ApiError(401, {"message": "401 Unauthorized"})
    return ok(
        {
            **VIEWER,
            "state": "active",
            "locked": False,
            "avatar_url": None,
            "web_url": f"https://{ctx.host}/{VIEWER['username']}",
            "created_at": "2016-01-01T00:00:00.000Z",
            "bio": "",
            "public_email": None,
            "bot": False,
            "is_admin": False,
            "can_create_group": False,
            "can_create_project": False,
            "two_factor_enabled": False,
            "external": False,
        }
    )


def _version(ctx: Context, _match: re.Match[str]) -> ApiResponse:
    if not ctx.authenticated:
        raise ApiError(401, {"message": "401 Unauthorized"})
    return ok({"version": VERSION, "revision": "localforge", "enterprise": False})


def _get_namespace(ctx: Context, match: re.Match[str]) -> ApiResponse:
    if not ctx.authenticated:
        raise ApiError(401, {"message": "401 Unauthorized"})
    ident = unquote(match["id"])
    dataset = ctx.api.dataset
    found = (
        dataset.account_by_id(int(ident), ctx.host)
        if ident.isdigit()
        else dataset.account(ctx.host, ident)
    )
    if found is None:
        raise not_found("Namespace")
    return ok(namespace_json(found))


def _projects(ctx: Context, _match: re.Match[str]) -> ApiResponse:
    dataset = ctx.api.dataset
    return list_projects(
        ctx,
        ("instance",),
        lambda: dataset.all_repositories(ctx.host),
        basic_when_anonymous=True,
        instance=True,
    )


def _get_project(ctx: Context, match: re.Match[str]) -> ApiResponse:
    repo = _project(ctx, match["id"])
    value = project_json(ctx, repo, simple=False, licence=ctx.flag("license", False))
    if ctx.authenticated:
        value["permissions"] = {"project_access": None, "group_access": None}
    return ok(value)


def _languages(ctx: Context, match: re.Match[str]) -> ApiResponse:
    repo = _project(ctx, match["id"])
    total = sum(size for _, size in repo.languages)
    shares = {name: round(size * 100 / total, 2) for name, size in repo.languages} if total else {}
    return ok(shares)


def _at_ref(ctx: Context, repo: Repository, what: str) -> None:
    """Check the ``ref`` parameter names the default branch (or its commit)."""
    ref = ctx.params.get("ref")
    if repo.is_empty or ref not in (None, "", "HEAD", repo.default_branch, repo.commit_oid):
        raise not_found(what)


def _tree_order(entries: Sequence[TreeEntry]) -> list[TreeEntry]:
    """GitLab lists a tree's directories first, then its files, each by name."""
    return sorted(entries, key=lambda e: (e.type != "tree", e.name))


def _tree_entry(repo: Repository, entry: TreeEntry, path: str) -> JsonObject:
    if entry.type == "tree":
        oid, mode = content.tree_oid(repo, entry.children, path), "040000"
    else:
        oid = content.blob(repo, entry, path).oid
        mode = "100755" if entry.name in _EXECUTABLES else "100644"
    return {"id": oid, "name": entry.name, "type": entry.type, "path": path, "mode": mode}


def _walk(
    repo: Repository, entries: Sequence[TreeEntry], path: str, recursive: bool
) -> Iterable[JsonObject]:
    for entry in _tree_order(entries):
        entry_path = content.join(path, entry.name)
        yield _tree_entry(repo, entry, entry_path)
        if recursive and entry.type == "tree":
            yield from _walk(repo, entry.children, entry_path, recursive)


def _tree(ctx: Context, match: re.Match[str]) -> ApiResponse:
    repo = _project(ctx, match["id"])
    _at_ref(ctx, repo, "Tree")
    path = ctx.params.get("path", "").strip("/")
    found = content.find(repo, path)
    if found is None or (isinstance(found, TreeEntry) and found.type != "tree"):
        raise not_found("Tree")
    entries = found if isinstance(found, tuple) else found.children
    items = list(_walk(repo, entries, path, ctx.flag("recursive", False)))
    if ctx.params.get("pagination") != "keyset":
        page, headers = offset_page(ctx, items)
        return ok(list(page), headers)
    token = ctx.params.get("page_token")
    start = 0
    if token:
        start = next((i + 1 for i, item in enumerate(items) if item["id"] == token), len(items))
    per_page = _per_page(ctx)
    window = items[start : start + per_page]
    headers = {}
    if _looping(ctx):
        headers["Link"] = f'<{_url(ctx, ())}>; rel="next"'
    elif start + per_page < len(items):
        url = _url(ctx, ("page",), page_token=window[-1]["id"])
        headers["Link"] = f'<{url}>; rel="next"'
    return ok(window, headers)


def _file(ctx: Context, match: re.Match[str]) -> tuple[Repository, TreeEntry, str]:
    repo = _project(ctx, match["id"])
    _at_ref(ctx, repo, "File")
    path = unquote(match["path"]).strip("/")
    found = content.find(repo, path)
    if not isinstance(found, TreeEntry) or found.type != "blob":
        raise not_found("File")
    return repo, found, path


def _raw_file(ctx: Context, match: re.Match[str]) -> ApiResponse:
    repo, entry, path = _file(ctx, match)
    blob = content.blob(repo, entry, path)
    kind = "application/octet-stream" if blob.is_binary else "text/plain; charset=utf-8"
    return ApiResponse(
        200,
        blob.data,
        {
            "Content-Type": kind,
            "Content-Disposition": (
                f"inline; filename=\"{entry.name}\"; filename*=UTF-8''{quote(entry.name)}"
            ),
            "X-Gitlab-Blob-Id": blob.oid,
            "X-Gitlab-Size": str(len(blob.data)),
        },
    )


def _file_metadata(ctx: Context, match: re.Match[str]) -> ApiResponse:
    if not ctx.params.get("ref"):
        raise ApiError(400, {"error": "ref is missing, ref is empty"})
    repo, entry, path = _file(ctx, match)
    blob = content.blob(repo, entry, path)
    sha256 = hashlib.sha256(blob.data).hexdigest()
    value: JsonObject = {
        "file_name": entry.name,
        "file_path": path,
        "size": len(blob.data),
        "encoding": "base64",
        "content_sha256": sha256,
        "ref": ctx.params["ref"],
        "blob_id": blob.oid,
        "commit_id": repo.commit_oid,
        "last_commit_id": repo.commit_oid,
        "execute_filemode": entry.name in _EXECUTABLES,
        "content": base64.b64encode(blob.data).decode(),
    }
    headers = {
        "X-Gitlab-Blob-Id": blob.oid,
        "X-Gitlab-Commit-Id": repo.commit_oid,
        "X-Gitlab-Content-Sha256": sha256,
        "X-Gitlab-Encoding": "base64",
        "X-Gitlab-File-Name": entry.name,
        "X-Gitlab-File-Path": path,
        "X-Gitlab-Last-Commit-Id": repo.commit_oid,
        "X-Gitlab-Ref": ctx.params["ref"],
        "X-Gitlab-Size": str(len(blob.data)),
    }
    return ok(value, headers)


def commit_json(repo: Repository, commit: history.Commit, *, trailers: bool) -> JsonObject:
    """GitLab's ``Commit`` entity; trailers are parsed only when asked for (``trailers=true``)."""
    committed = commit.committed_at.isoformat(timespec="milliseconds")
    found: dict[str, list[str]] = {}
    if trailers:
        for key, value in commit.trailers:
            found.setdefault(key, []).append(value)
    return {
        "id": commit.oid,
        "short_id": commit.oid[:8],
        "created_at": committed,
        "parent_ids": list(commit.parent_oids),
        "title": commit.title,
        "message": commit.message,
        "author_name": commit.author.name,
        "author_email": commit.author.email,
        "authored_date": commit.authored_at.isoformat(timespec="milliseconds"),
        "committer_name": commit.committer.name,
        "committer_email": commit.committer.email,
        "committed_date": committed,
        "trailers": {key: values[-1] for key, values in found.items()},
        "extended_trailers": found,
        "web_url": f"{_web_url(repo)}/-/commit/{commit.oid}",
    }


def _moment(ctx: Context, name: str) -> datetime | None:
    value = ctx.params.get(name)
    if not value:
        return None
    text = _timestamp(name, value)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _commits(ctx: Context, match: re.Match[str]) -> ApiResponse:
    """``GET /projects/:id/repository/commits``, newest first, made page by page.

    As GitLab: no ``X-Total``/``X-Total-Pages``/``rel="last"`` (it does not count commits); a
    next page is announced whenever a page is full, so a history that fills its last page ends
    with an empty page; an empty repository, or an unknown ``ref_name``, answers ``[]``; a
    ``ref_name`` starting with ``-`` or holding a space is refused (400).
    """
    repo = _project(ctx, match["id"])
    ref = ctx.params.get("ref_name") or ""
    if ref.startswith("-") or any(c.isspace() for c in ref):
        raise ApiError(400, {"message": "ref_name is invalid"})
    known = ("", "HEAD", repo.default_branch, f"refs/heads/{repo.default_branch}", repo.commit_oid)
    count = repo.commit_count if not repo.is_empty else 0
    if ref not in known and not ctx.flag("all", False):
        count = 0
    since, until = _moment(ctx, "since"), _moment(ctx, "until")
    indices = range(count)

    def newest_first(index: int) -> float:  # increasing along the history
        return -history.committed_at(repo, index).timestamp()

    first = bisect.bisect_left(indices, -until.timestamp(), key=newest_first) if until else 0
    end = bisect.bisect_right(indices, -since.timestamp(), key=newest_first) if since else count
    per_page = _per_page(ctx)
    page = max(ctx.integer("page") or 1, 1)
    start = first + (page - 1) * per_page
    window = range(start, min(end, start + per_page))
    trailers = ctx.flag("trailers", False)
    items = [commit_json(repo, history.commit(repo, i), trailers=trailers) for i in window]
    next_page: int | None = page + 1 if len(items) == per_page else None
    if _looping(ctx):
        next_page = page
    prev_page = page - 1 if page > 1 else None
    links = [("prev", prev_page), ("next", next_page), ("first", 1)]
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "Link": ", ".join(
            f'<{_url(ctx, (), page=n, per_page=per_page)}>; rel="{rel}"'
            for rel, n in links
            if n is not None
        ),
    }
    return ok(items, headers)


_ID = r"(?P<id>[^/]+)"
_ROUTES: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (re.compile(r"^/groups$"), _groups),
    (re.compile(rf"^/groups/{_ID}$"), _get_group),
    (re.compile(rf"^/groups/{_ID}/projects$"), _group_projects),
    (re.compile(rf"^/groups/{_ID}/subgroups$"), _subgroups),
    (re.compile(rf"^/groups/{_ID}/descendant_groups$"), _descendant_groups),
    (re.compile(r"^/users$"), _users),
    (re.compile(rf"^/users/{_ID}$"), _get_user),
    (re.compile(rf"^/users/{_ID}/projects$"), _user_projects),
    (re.compile(r"^/user$"), _current_user),
    (re.compile(r"^/version$"), _version),
    (re.compile(rf"^/namespaces/{_ID}$"), _get_namespace),
    (re.compile(r"^/projects$"), _projects),
    (re.compile(rf"^/projects/{_ID}$"), _get_project),
    (re.compile(rf"^/projects/{_ID}/languages$"), _languages),
    (re.compile(rf"^/projects/{_ID}/repository/tree$"), _tree),
    (re.compile(rf"^/projects/{_ID}/repository/commits$"), _commits),
    (re.compile(rf"^/projects/{_ID}/repository/files/(?P<path>[^/]+)/raw$"), _raw_file),
    (re.compile(rf"^/projects/{_ID}/repository/files/(?P<path>[^/]+)$"), _file_metadata),
)
