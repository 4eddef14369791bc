"""GitHub REST API v3: the endpoints a forge crawler uses, in GitHub's JSON shapes.

Paginated lists answer a ``Link`` header built from the request's own URL; every answer carries
a weak ``ETag`` and a matching ``If-None-Match`` gets an empty ``304`` that uses no rate limit.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode

from localforge import content
from localforge.api import ApiRequest, ApiResponse, etag_matches, json_body, weak_etag
from localforge.data import Account, Repository, TreeEntry

if TYPE_CHECKING:
    from localforge.github import Caller, GitHubApi

DOCS = "https://docs.github.com/rest"
JsonObject = dict[str, Any]


class NotFound(Exception):
    """Answered as GitHub's 404."""


@dataclass(frozen=True, slots=True)
class Context:
    api: GitHubApi
    request: ApiRequest
    params: dict[str, str]

    @property
    def base(self) -> str:
        return self.request.base_url


Handler = Callable[[Context, "re.Match[str]"], tuple[Any, dict[str, str]]]


def handle(api: GitHubApi, request: ApiRequest, caller: Caller) -> ApiResponse:
    path = request.path.rstrip("/") or "/"
    if request.method not in ("GET", "HEAD"):
        return _answer(api, caller, 404, _not_found(), {}, charge=True)
    if path == "/rate_limit":  # free, like on GitHub
        return _answer(api, caller, 200, _rate_limit(api, caller), {}, charge=False)
    if api.peek(caller, "core").remaining == 0:
        who = "user ID 1" if caller.token else request.client
        message = f"API rate limit exceeded for {who}."
        if caller.token is None:
            message += (
                " (But here's the good news: Authenticated requests get a higher rate"
                " limit. Check out the documentation for more details.)"
            )
        body = {
            "message": message,
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
            "status": "403",
        }
        return _answer(api, caller, 403, body, {}, charge=False)
    ctx = Context(api, request, request.params)
    moved = _moved(ctx, path)
    if moved is not None:
        return _answer(api, caller, 301, moved[0], moved[1], charge=True)
    path = _by_id(ctx, path)
    for pattern, handler in _ROUTES:
        match = pattern.match(path)
        if match:
            try:
                value, headers = handler(ctx, match)
            except NotFound:
                break
            return _answer(
                api,
                caller,
                200,
                value,
                headers,
                if_none_match=request.headers.get("if-none-match"),
                charge=True,
            )
    return _answer(api, caller, 404, _not_found(), {}, charge=True)


def _answer(
    api: GitHubApi,
    caller: Caller,
    status: int,
    value: Any,
    headers: dict[str, str],
    *,
    if_none_match: str | None = None,
    charge: bool,
) -> ApiResponse:
    body = json_body(value)
    etag = weak_etag(body)
    common = {
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": ("private" if caller.token else "public") + ", max-age=60, s-maxage=60",
        "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        "X-GitHub-Api-Version-Selected": "2022-11-28",
    }
    if caller.token:
        common["X-OAuth-Scopes"] = ""
        common["X-Accepted-OAuth-Scopes"] = ""
    if status == 200:
        common["ETag"] = etag
    if status == 200 and etag_matches(if_none_match, etag):
        quota = api.peek(caller, "core")
        common.update(quota.headers())
        common.update(headers)
        common.pop("Content-Type")
        return ApiResponse(304, b"", common, not_modified=True)
    quota = api.charge(caller, "core", 1)[1] if charge else api.peek(caller, "core")
    common.update(quota.headers())
    common.update(headers)
    return ApiResponse(status, body, common)


def _not_found() -> JsonObject:
    return {"message": "Not Found", "documentation_url": DOCS, "status": "404"}


# --- JSON shapes -------------------------------------------------------------------------------


def account_json(ctx: Context, account: Account, *, full: bool = True) -> JsonObject:
    """``/users/{login}`` (``full``), or the simple owner object of a repository."""
    base, login = ctx.base, account.login
    is_user = account.kind == "user"
    simple: JsonObject = {
        "login": login,
        "id": account.database_id,
        "node_id": account.node_id,
        "avatar_url": account.avatar_url,
        "gravatar_id": "",
        "url": f"{base}/users/{login}",
        "html_url": account.html_url,
        "followers_url": f"{base}/users/{login}/followers",
        "following_url": f"{base}/users/{login}/following{{/other_user}}",
        "gists_url": f"{base}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{base}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/users/{login}/subscriptions",
        "organizations_url": f"{base}/users/{login}/orgs",
        "repos_url": f"{base}/users/{login}/repos",
        "events_url": f"{base}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{base}/users/{login}/received_events",
        "type": "User" if is_user else "Organization",
        "user_view_type": "public",
        "site_admin": False,
    }
    if not full:
        return simple
    simple.update(
        {
            "name": account.name,
            "company": None,
            "blog": account.website or "",
            "location": account.location,
            "email": account.email,
            "hireable": None,
            "bio": account.description if is_user else None,
            "twitter_username": None,
            "public_repos": account.repositories_count,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": account.created_at,
            "updated_at": account.updated_at,
        }
    )
    return simple


def org_json(ctx: Context, account: Account) -> JsonObject:
    base, login = ctx.base, account.login
    return {
        "login": login,
        "id": account.database_id,
        "node_id": account.node_id,
        "url": f"{base}/orgs/{login}",
        "repos_url": f"{base}/orgs/{login}/repos",
        "events_url": f"{base}/orgs/{login}/events",
        "hooks_url": f"{base}/orgs/{login}/hooks",
        "issues_url": f"{base}/orgs/{login}/issues",
        "members_url": f"{base}/orgs/{login}/members{{/member}}",
        "public_members_url": f"{base}/orgs/{login}/public_members{{/member}}",
        "avatar_url": account.avatar_url,
        "description": account.description,
        "name": account.name,
        "company": None,
        "blog": account.website or "",
        "location": account.location,
        "email": account.email,
        "twitter_username": None,
        "is_verified": False,
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": account.repositories_count,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": account.html_url,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
        "archived_at": None,
        "type": "Organization",
    }


def licence_json(ctx: Context, repo: Repository) -> JsonObject | None:
    lic = repo.licence
    if lic is None:
        return None
    return {
        "key": lic.key,
        "name": lic.name,
        "spdx_id": lic.spdx_id,
        "url": None if lic.is_other else f"{ctx.base}/licenses/{lic.key}",
        "node_id": lic.node_id,
    }


_REPO_URLS = (
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
    ("deployments_url", "/deployments"),
)


def repo_json(ctx: Context, repo: Repository, *, full: bool = False) -> JsonObject:
    """A repository as listed by ``/orgs/{org}/repos`` (``full``: as ``/repos/{o}/{r}``)."""
    owner = ctx.api.dataset.account(repo.host, repo.owner)
    api_url = f"{ctx.base}/repos/{repo.owner}/{repo.name}"
    value: JsonObject = {
        "id": repo.database_id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": False,
        "owner": account_json(ctx, owner, full=False) if owner else None,
        "html_url": repo.html_url,
        "description": repo.description,
        "fork": repo.is_fork,
        "url": api_url,
    }
    for key, suffix in _REPO_URLS:
        value[key] = api_url + suffix
    value.update(
        {
            "created_at": repo.created_at,
            "updated_at": repo.updated_at,
            "pushed_at": repo.pushed_at,
            "git_url": f"git://{repo.host}/{repo.full_name}.git",
            "ssh_url": f"git@{repo.host}:{repo.full_name}.git",
            "clone_url": f"{repo.html_url}.git",
            "svn_url": repo.html_url,
            "homepage": repo.homepage,
            "size": repo.disk_usage,
            "stargazers_count": repo.stars,
            "watchers_count": repo.stars,
            "language": repo.language,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": repo.forks,
            "mirror_url": None,
            "archived": repo.is_archived,
            "disabled": False,
            "open_issues_count": repo.open_issues,
            "license": licence_json(ctx, repo),
            "allow_forking": True,
            "is_template": repo.is_template,
            "web_commit_signoff_required": False,
            "topics": list(repo.topics),
            "visibility": "public",
            "forks": repo.forks,
            "open_issues": repo.open_issues,
            "watchers": repo.stars,
            "default_branch": repo.default_branch,
        }
    )
    if ctx.request.headers.get("authorization"):
        value["permissions"] = {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        }
    if full:
        if owner is not None and owner.kind == "organization":
            value["organization"] = account_json(ctx, owner, full=False)
        value["network_count"] = repo.forks
        value["subscribers_count"] = max(repo.stars // 5, 1)
        value["temp_clone_token"] = None
    return value


def content_json(
    ctx: Context, repo: Repository, entry: TreeEntry, path: str, *, with_content: bool
) -> JsonObject:
    """An item of ``/repos/{o}/{r}/contents/{path}``."""
    api_url = f"{ctx.base}/repos/{repo.full_name}"
    if entry.type == "tree":
        sha, size, kind = content.tree_oid(repo, entry.children, path), 0, "dir"
        git_url, html_url = f"{api_url}/git/trees/{sha}", f"{repo.html_url}/tree/"
        download_url = None
    else:
        blob = content.blob(repo, entry, path)
        sha, size, kind = blob.oid, len(blob.data), "file"
        git_url, html_url = f"{api_url}/git/blobs/{sha}", f"{repo.html_url}/blob/"
        download_url = (
            f"https://raw.githubusercontent.com/{repo.full_name}/{repo.default_branch}/{path}"
        )
    html_url += f"{repo.default_branch}/{path}"
    self_url = f"{api_url}/contents/{path}?ref={repo.default_branch}"
    value: JsonObject = {
        "name": entry.name,
        "path": path,
        "sha": sha,
        "size": size,
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": download_url,
        "type": kind,
    }
    if with_content and entry.type == "blob":
        encoded = base64.encodebytes(blob.data).decode()
        value.update({"content": encoded, "encoding": "base64"})
    value["_links"] = {"self": self_url, "git": git_url, "html": html_url}
    return value


# --- renamed accounts --------------------------------------------------------------------------

# GitHub documents its 301 for a renamed or transferred repository ("Moved Permanently", the
# new place in `Location` and in the body's `url`, by id: https://api.github.com/repositories/ID),
# and PyGithub's Requester follows a 301 only on the same scheme and host (it raises otherwise).
# For a renamed account the local forge answers the old login the same way, by id, as GitHub's
# own pagination links name accounts (/user/ID/repos, /organizations/ID/repos): an old login
# that is in use again is that account's, never redirected.
_REDIRECTS_DOCS = (
    f"{DOCS}/using-the-rest-api/best-practices-for-using-the-rest-api#follow-redirects"
)
_ACCOUNT_PATH = re.compile(r"^/(?P<scope>users|orgs)/(?P<login>[^/]+)(?P<rest>/.*)?$")
_ID_PATH = re.compile(r"^/(?P<scope>user|organizations)/(?P<id>[0-9]+)(?P<rest>/.*)?$")


def _moved(ctx: Context, path: str) -> tuple[JsonObject, dict[str, str]] | None:
    """The 301 answer of a renamed account's old login, or None."""
    match = _ACCOUNT_PATH.match(path)
    if match is None:
        return None
    login = unquote(match["login"])
    dataset, host = ctx.api.dataset, ctx.api.host
    if dataset.account(host, login) is not None:
        return None
    new = ctx.api.settings.renamed(host, login)
    account = dataset.account(host, new) if new else None
    if account is None or (match["scope"] == "orgs" and account.kind != "organization"):
        return None
    scope = "organizations" if match["scope"] == "orgs" else "user"
    location = f"{ctx.base}/{scope}/{account.database_id}{match['rest'] or ''}"
    if ctx.request.query:
        location += f"?{ctx.request.query}"
    body = {"message": "Moved Permanently", "url": location, "documentation_url": _REDIRECTS_DOCS}
    return body, {"Location": location}


def _by_id(ctx: Context, path: str) -> str:
    """``/user/ID…`` and ``/organizations/ID…`` as the login paths they stand for."""
    match = _ID_PATH.match(path)
    if match is None:
        return path
    account = ctx.api.dataset.account_by_id(int(match["id"]), ctx.api.host)
    if account is None:
        return "/not-found"
    if match["scope"] == "organizations" and account.kind != "organization":
        return "/not-found"
    scope = "orgs" if match["scope"] == "organizations" else "users"
    return f"/{scope}/{account.login}{match['rest'] or ''}"


# --- handlers ----------------------------------------------------------------------------------


def _account(ctx: Context, login: str) -> Account:
    account = ctx.api.dataset.account(ctx.api.host, unquote(login))
    if account is None:
        raise NotFound
    return account


def _repository(ctx: Context, match: re.Match[str]) -> Repository:
    repo = ctx.api.dataset.repository(ctx.api.host, unquote(match["owner"]), unquote(match["repo"]))
    if repo is None:
        raise NotFound
    return repo


def _org(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    account = _account(ctx, match["login"])
    if account.kind != "organization":
        raise NotFound
    return org_json(ctx, account), {}


def _user(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return account_json(ctx, _account(ctx, match["login"])), {}


_SORT_KEYS: dict[str, Callable[[Repository], Any]] = {
    "created": lambda r: (r.created_at, r.database_id),
    "updated": lambda r: (r.updated_at, r.database_id),
    "pushed": lambda r: (r.pushed_at, r.database_id),
    "full_name": lambda r: (r.full_name.lower(), r.database_id),
}


def _owner_repos(ctx: Context, match: re.Match[str], *, org: bool) -> tuple[Any, dict[str, str]]:
    account = _account(ctx, match["login"])
    if org and account.kind != "organization":
        raise NotFound
    repos = ctx.api.dataset.owned(ctx.api.host, account.login)
    kind = ctx.params.get("type", "all" if org else "owner")
    if kind == "forks":
        repos = [r for r in repos if r.is_fork]
    elif kind == "sources":
        repos = [r for r in repos if not r.is_fork]
    elif kind in ("private", "internal", "member"):
        repos = []
    sort = ctx.params.get("sort", "created" if org else "full_name")
    key = _SORT_KEYS.get(sort, _SORT_KEYS["created"])
    direction = ctx.params.get("direction", "asc" if sort == "full_name" else "desc")
    ordered = sorted(repos, key=key, reverse=direction == "desc")
    page, headers = _paginate(ctx, ordered)
    return [repo_json(ctx, r) for r in page], headers


def _paginate(ctx: Context, items: list[Repository]) -> tuple[list[Repository], dict[str, str]]:
    per_page = _int(ctx.params.get("per_page"), 30)
    per_page = 30 if per_page < 1 else min(per_page, 100)
    page = max(_int(ctx.params.get("page"), 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    if page < last:
        links += [("next", page + 1), ("last", last)]
    if page > 1:
        links = [("prev", min(page - 1, last)), *links, ("first", 1)]
    if ctx.api.host in ctx.api.settings.pagination_loop_hosts:  # a buggy forge: next is this page
        links = [("next", page), *[(rel, n) for rel, n in links if rel != "next"]]
    headers = {}
    if links:
        headers["Link"] = ", ".join(
            f'<{_page_url(ctx.request, n)}>; rel="{rel}"' for rel, n in links
        )
    start = (page - 1) * per_page
    return items[start : start + per_page], headers


def _page_url(request: ApiRequest, page: int) -> str:
    params = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "page"]
    params.append(("page", str(page)))
    return f"{request.base_url}{request.path}?{urlencode(params)}"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _repo(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return repo_json(ctx, _repository(ctx, match), full=True), {}


def _languages(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return dict(_repository(ctx, match).languages), {}


def _topics(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return {"names": list(_repository(ctx, match).topics)}, {}


def _contents(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    repo = _repository(ctx, match)
    path = unquote(match["path"] or "").strip("/")
    ref = ctx.params.get("ref")
    if ref not in (None, "", "HEAD", repo.default_branch, repo.commit_oid):
        raise NotFound
    found = content.find(repo, path)
    if found is None:
        raise NotFound
    if isinstance(found, tuple):
        return [
            content_json(ctx, repo, e, content.join(path, e.name), with_content=False)
            for e in found
        ], {}
    if found.type == "tree":
        return [
            content_json(ctx, repo, e, content.join(path, e.name), with_content=False)
            for e in found.children
        ], {}
    return content_json(ctx, repo, found, path, with_content=True), {}


def _root_file(ctx: Context, match: re.Match[str], role: str) -> tuple[Any, dict[str, str]]:
    repo = _repository(ctx, match)
    entry = next((e for e in repo.entries if e.role == role and e.spdx_id is None), None)
    if entry is None or (role == "licence" and repo.licence is None):
        raise NotFound
    value = content_json(ctx, repo, entry, entry.name, with_content=True)
    if role == "licence":
        value["license"] = licence_json(ctx, repo)
    return value, {}


def _readme(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return _root_file(ctx, match, "readme")


def _licence(ctx: Context, match: re.Match[str]) -> tuple[Any, dict[str, str]]:
    return _root_file(ctx, match, "licence")


def _rate_limit(api: GitHubApi, caller: Caller) -> JsonObject:
    core = api.peek(caller, "core").as_json()
    graphql = api.peek(caller, "graphql").as_json()
    resources = {"core": core, "graphql": graphql}
    for name, limit in (("search", 30), ("code_search", 10), ("integration_manifest", 5000)):
        resources[name] = {"limit": limit, "used": 0, "remaining": limit, "reset": core["reset"]}
    return {"resources": resources, "rate": core}


_SEGMENT = r"[^/]+"
_ROUTES: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (re.compile(rf"^/orgs/(?P<login>{_SEGMENT})$"), _org),
    (re.compile(rf"^/users/(?P<login>{_SEGMENT})$"), _user),
    (
        re.compile(rf"^/orgs/(?P<login>{_SEGMENT})/repos$"),
        lambda ctx, m: _owner_repos(ctx, m, org=True),
    ),
    (
        re.compile(rf"^/users/(?P<login>{_SEGMENT})/repos$"),
        lambda ctx, m: _owner_repos(ctx, m, org=False),
    ),
    (re.compile(rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})$"), _repo),
    (re.compile(rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})/languages$"), _languages),
    (re.compile(rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})/topics$"), _topics),
    (re.compile(rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})/readme$"), _readme),
    (re.compile(rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})/license$"), _licence),
    (
        re.compile(
            rf"^/repos/(?P<owner>{_SEGMENT})/(?P<repo>{_SEGMENT})/contents(?:/(?P<path>.*))?$"
        ),
        _contents,
    ),
)
