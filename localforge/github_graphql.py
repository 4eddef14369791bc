"""GitHub GraphQL API v4, validated against GitHub's published schema.

Every query is parsed and validated against the real schema (``data/github-schema-*.graphql``),
then checked like GitHub does before running it (``first``/``last`` mandatory on connections
that return items, at most 100, rate-limit cost), then executed by graphql-core against resolvers
for the fields a crawler uses. Other valid fields resolve to null (an error when non-null).

Implemented: ``repositoryOwner``, ``organization``, ``user``, ``repository``, ``node``,
``nodes``, ``viewer``, ``rateLimit``; on owners ``repositories`` (filters ``privacy``,
``isFork``, ``isArchived``, ``ownerAffiliations``, ``orderBy``) and ``repository``; on
repositories the scalar fields, ``owner``, ``licenseInfo``, ``primaryLanguage``, ``languages``,
``repositoryTopics``, ``issues`` (counts), ``defaultBranchRef``, ``ref``, ``object`` (commit,
tree, blob by ``HEAD:path``); on commits ``tree`` and ``history``.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from localforge import content
from localforge._fastexec import FastExecutor
from localforge.api import ApiRequest, ApiResponse, json_response
from localforge.data import Account, Dataset, Repository, TreeEntry, database_id_of
from localforge.data import node_id as make_node_id
from localforge.licences import Licence

if TYPE_CHECKING:
    from localforge.github import Caller, GitHubApi

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).parent / "data" / "github-schema-2026-07-22.graphql"
AUTH_DOCS = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)
MAX_PAGE = 100
MAX_NODES = 500_000
VIEWER_LOGIN = "localforge-viewer"

JsonObject = dict[str, Any]
T = TypeVar("T")

# --- the schema --------------------------------------------------------------------------------

_schema_lock = threading.Lock()
_schema: GraphQLSchema | None = None


def schema() -> GraphQLSchema:
    """GitHub's schema with our resolvers, built once per process (about half a second).

    It is over a hundred thousand objects that live as long as the process: they are moved out
    of the garbage collector's reach (``gc.freeze``), or every full collection of the process
    walks them again (measured: 40 % of the CPU of parsing a query went there).
    """
    global _schema  # noqa: PLW0603 - a process-wide cache, built under a lock
    with _schema_lock:
        if _schema is None:
            sdl = SCHEMA_PATH.read_text(encoding="utf-8")
            collecting = gc.isenabled()
            gc.disable()  # no collection halfway through: one after it all
            try:
                # Locations in the SDL would only serve errors about the schema itself.
                built = build_schema(sdl, assume_valid_sdl=True, no_location=True)
            finally:
                if collecting:
                    gc.enable()
            # The published SDL breaks two rules (a duplicated field, deprecations on interface
            # fields) that graphql-core's assert_valid_schema rejects; queries are still
            # validated against it in full.
            built._validation_errors = []
            _attach_resolvers(built)
            _schema = built
            gc.collect()  # the parse's garbage (its tokens link to each other) must not be frozen
            gc.freeze()
        return _schema


class Error(GraphQLError):
    """An error GitHub reports with a ``type`` (``NOT_FOUND``...)."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message, extensions={"type": type_})


@dataclass(slots=True)
class Context:
    dataset: Dataset
    host: str
    rate_limit: JsonObject
    pagination_loop: bool = False
    """Owners' ``repositories`` point their next page back at the same page (a buggy forge)."""


# --- serialised forms (cached per record) ------------------------------------------------------

_LANGUAGE_COLOURS = {
    "JavaScript": "#f1e05a",
    "Python": "#3572A5",
    "Java": "#b07219",
    "HTML": "#e34c26",
    "Shell": "#89e051",
    "TypeScript": "#3178c6",
    "PHP": "#4F5D95",
    "Jupyter Notebook": "#DA5B0B",
    "CSS": "#563d7c",
    "R": "#198CE7",
    "Vue": "#41b883",
    "Ruby": "#701516",
    "OCaml": "#ef7a08",
    "Rust": "#dea584",
    "Dockerfile": "#384d54",
    "C++": "#f34b7d",
    "Go": "#00ADD8",
    "C": "#555555",
    "Makefile": "#427819",
    "Scala": "#c22d40",
    "Perl": "#0298c3",
}
_languages: dict[str, JsonObject] = {}
_licences: dict[str, JsonObject] = {}


def _language(name: str) -> JsonObject:
    found = _languages.get(name)
    if found is None:
        number = int.from_bytes(name.encode()[:4].ljust(4, b"\0"), "big") % 1_000_000
        found = {
            "__typename": "Language",
            "id": make_node_id("LA", number),
            "name": name,
            "color": _LANGUAGE_COLOURS.get(name),
        }
        _languages[name] = found
    return found


def _licence(lic: Licence) -> JsonObject:
    found = _licences.get(lic.key)
    if found is None:
        found = {
            "__typename": "License",
            "id": lic.node_id,
            "key": lic.key,
            "name": lic.name,
            "spdxId": lic.spdx_id,
            "nickname": None,
            "pseudoLicense": lic.is_other,
            "url": None if lic.is_other else f"http://choosealicense.com/licenses/{lic.key}/",
            "featured": lic.key in ("mit", "apache-2.0", "gpl-3.0"),
            "hidden": lic.is_other,
            "body": "",
            "description": "",
            "implementation": "",
            "permissions": [],
            "conditions": [],
            "limitations": [],
        }
        _licences[lic.key] = found
    return found


def account_node(account: Account) -> JsonObject:
    """An Organization or User, as a dict for graphql-core."""
    cached: JsonObject | None = account.views.get("graphql")
    if cached is not None:
        return cached
    is_user = account.kind == "user"
    value: JsonObject = {
        "__typename": "User" if is_user else "Organization",
        "id": account.node_id,
        "databaseId": account.database_id,
        "login": account.login,
        "name": account.name,
        "avatarUrl": account.avatar_url,
        "url": account.html_url,
        "resourcePath": f"/{account.login}",
        "websiteUrl": account.website,
        "location": account.location,
        "createdAt": account.created_at,
        "updatedAt": account.updated_at,
        "twitterUsername": None,
        "_account": account,
    }
    if is_user:
        value.update(
            {
                "bio": account.description,
                "email": account.email or "",
                "company": None,
                "isSiteAdmin": False,
                "isHireable": False,
            }
        )
    else:
        value.update(
            {"description": account.description, "email": account.email, "isVerified": False}
        )
    account.views["graphql"] = value
    return value


def repository_node(repo: Repository) -> JsonObject:
    """A Repository, as a dict for graphql-core (built once per record)."""
    cached: JsonObject | None = repo.views.get("graphql")
    if cached is not None:
        return cached
    commit = {
        "__typename": "Commit",
        "id": f"C_{repo.node_id[2:]}{repo.commit_oid[:8]}",
        "oid": repo.commit_oid,
        "abbreviatedOid": repo.commit_oid[:7],
        "committedDate": repo.last_commit_at,
        "authoredDate": repo.last_commit_at,
        "message": "Mise à jour",
        "messageHeadline": "Mise à jour",
        "url": f"{repo.html_url}/commit/{repo.commit_oid}",
        "_repo": repo,
    }
    value: JsonObject = {
        "__typename": "Repository",
        "id": repo.node_id,
        "databaseId": repo.database_id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "url": repo.html_url,
        "resourcePath": f"/{repo.full_name}",
        "sshUrl": f"git@{repo.host}:{repo.full_name}.git",
        "description": repo.description,
        "homepageUrl": repo.homepage,
        "isFork": repo.is_fork,
        "isArchived": repo.is_archived,
        "isTemplate": repo.is_template,
        "isPrivate": False,
        "isEmpty": False,
        "isDisabled": False,
        "isLocked": False,
        "isMirror": False,
        "mirrorUrl": None,
        "visibility": "PUBLIC",
        "createdAt": repo.created_at,
        "updatedAt": repo.updated_at,
        "pushedAt": repo.pushed_at,
        "stargazerCount": repo.stars,
        "forkCount": repo.forks,
        "diskUsage": repo.disk_usage,
        "hasIssuesEnabled": True,
        "hasWikiEnabled": True,
        "hasProjectsEnabled": True,
        "hasDiscussionsEnabled": False,
        "primaryLanguage": _language(repo.language) if repo.language else None,
        "licenseInfo": _licence(repo.licence) if repo.licence else None,
        "defaultBranchRef": {
            "__typename": "Ref",
            "id": f"REF_{repo.node_id[2:]}",
            "name": repo.default_branch,
            "prefix": "refs/heads/",
            "target": commit,
        },
        "_repo": repo,
    }
    repo.views["graphql"] = value
    return value


def _blob_node(repo: Repository, blob: content.Blob) -> JsonObject:
    oid = blob.oid
    return {
        "__typename": "Blob",
        "id": f"B_{repo.database_id}:{oid}",
        "oid": oid,
        "abbreviatedOid": oid[:7],
        "byteSize": len(blob.data),
        "isBinary": blob.is_binary,
        "isTruncated": False,
        "text": blob.text,
        "commitUrl": f"{repo.html_url}/commit/{repo.commit_oid}",
    }


def _tree_node(repo: Repository, entries: tuple[TreeEntry, ...], path: str) -> JsonObject:
    """A Tree with its entries (and their objects, recursively: synthetic trees are small)."""
    items = []
    body = bytearray()
    for entry in entries:
        entry_path = content.join(path, entry.name)
        obj: JsonObject
        if entry.type == "tree":
            obj = _tree_node(repo, entry.children, entry_path)
            mode, size, line_count = 16384, 0, None
        else:
            blob = content.blob(repo, entry, entry_path)
            obj = _blob_node(repo, blob)
            mode, size = 33188, len(blob.data)
            line_count = None if blob.is_binary else blob.data.count(b"\n")
        oid = obj["oid"]
        body += f"{mode:o}".encode() + b" " + entry.name.encode() + b"\0" + bytes.fromhex(oid)
        dot = entry.name.rfind(".")
        items.append(
            {
                "name": entry.name,
                "nameRaw": entry.name,
                "path": entry_path,
                "pathRaw": entry_path,
                "type": entry.type,
                "mode": mode,
                "oid": oid,
                "size": size,
                "lineCount": line_count,
                "isGenerated": False,
                "extension": entry.name[dot:] if dot > 0 and entry.type == "blob" else "",
                "submodule": None,
                "object": obj,
            }
        )
    oid = content.git_oid(b"tree", bytes(body))
    return {
        "__typename": "Tree",
        "id": f"T_{repo.database_id}:{oid}",
        "oid": oid,
        "abbreviatedOid": oid[:7],
        "entries": items,
        "commitUrl": f"{repo.html_url}/commit/{repo.commit_oid}",
    }


# --- connections -------------------------------------------------------------------------------


def _cursor(index: int, key: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}:{key}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        prefix, version, index, key = text.split(":")
        if prefix != "cursor" or version != "v2":
            raise ValueError(text)
        return int(index), int(key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Error(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        ) from None


def _position(items: Sequence[T], cursor: str, key: Callable[[T], int]) -> int:
    """Where ``cursor`` points: the item it was made on if still there, else its index."""
    index, item_key = _decode_cursor(cursor)
    if index < len(items) and key(items[index]) == item_key:
        return index
    for i, item in enumerate(items):
        if key(item) == item_key:
            return i
    return index


def connection(
    items: Sequence[T],
    args: dict[str, Any],
    node: Callable[[T], Any],
    *,
    key: Callable[[T], int] | None = None,
    edge: Callable[[T], JsonObject] | None = None,
    extra: JsonObject | None = None,
) -> JsonObject:
    """A Relay connection over ``items`` for the ``first``/``after``/``last``/``before`` args."""
    key_of: Callable[[T], int] = key or (lambda _item: 0)
    start, end = 0, len(items)
    if args.get("after") is not None:
        start = min(_position(items, args["after"], key_of) + 1, end)
    if args.get("before") is not None:
        end = max(min(_position(items, args["before"], key_of), end), start)
    first, last = args.get("first"), args.get("last")
    if first is not None:
        end = min(end, start + max(first, 0))
    if last is not None:
        start = max(start, end - max(last, 0))
    window = items[start:end]
    nodes = [node(item) for item in window]
    cursors = [_cursor(start + i, key_of(item)) for i, item in enumerate(window)]
    edges = [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)]
    if edge is not None:
        for item, item_edge in zip(window, edges, strict=True):
            item_edge.update(edge(item))
    value: JsonObject = {
        "totalCount": len(items),
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
    if extra:
        value.update(extra)
    return value


# --- resolvers ---------------------------------------------------------------------------------


def _ctx(info: Any) -> Context:
    ctx: Context = info.context
    return ctx


def _owner(info: Any, login: str) -> Account | None:
    ctx = _ctx(info)
    return ctx.dataset.account(ctx.host, login)


def resolve_repository_owner(_source: Any, info: Any, login: str) -> JsonObject | None:
    account = _owner(info, login)
    return account_node(account) if account else None


def resolve_organization(_source: Any, info: Any, login: str) -> JsonObject:
    account = _owner(info, login)
    if account is None or account.kind != "organization":
        raise Error(
            "NOT_FOUND", f"Could not resolve to an Organization with the login of '{login}'."
        )
    return account_node(account)


def resolve_user(_source: Any, info: Any, login: str) -> JsonObject:
    account = _owner(info, login)
    if account is None or account.kind != "user":
        raise Error("NOT_FOUND", f"Could not resolve to a User with the login of '{login}'.")
    return account_node(account)


def resolve_repository(_source: Any, info: Any, owner: str, name: str, **_args: Any) -> JsonObject:
    ctx = _ctx(info)
    repo = ctx.dataset.repository(ctx.host, owner, name)
    if repo is None:
        raise Error(
            "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
        )
    return repository_node(repo)


def resolve_viewer(_source: Any, _info: Any) -> JsonObject:
    return {
        "__typename": "User",
        "id": make_node_id("U", 1),
        "databaseId": 1,
        "login": VIEWER_LOGIN,
        "name": "Local forge",
        "avatarUrl": "https://avatars.githubusercontent.com/u/1?v=4",
        "url": f"https://github.com/{VIEWER_LOGIN}",
        "email": "",
        "bio": None,
        "createdAt": "2008-01-01T00:00:00Z",
        "updatedAt": "2008-01-01T00:00:00Z",
    }


def _node(ctx: Context, node_id: str) -> JsonObject | None:
    database_id = database_id_of(node_id)
    if database_id is None:
        return None
    if node_id.startswith("R_"):
        repo = ctx.dataset.repository_by_id(database_id)
        return repository_node(repo) if repo else None
    if node_id.startswith(("O_", "U_")):
        account = ctx.dataset.account_by_id(database_id)
        return account_node(account) if account else None
    return None


def resolve_node(_source: Any, info: Any, id: str) -> JsonObject:  # the GraphQL argument's name
    found = _node(_ctx(info), id)
    if found is None:
        raise Error("NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'")
    return found


def resolve_nodes(_source: Any, info: Any, ids: list[str]) -> list[JsonObject | None]:
    ctx = _ctx(info)
    return [_node(ctx, node_id) for node_id in ids]


def resolve_rate_limit(_source: Any, info: Any, **_args: Any) -> JsonObject:
    return _ctx(info).rate_limit


_REPO_ORDER: dict[str, Callable[[Repository], Any]] = {
    "CREATED_AT": lambda r: (r.created_at, r.database_id),
    "UPDATED_AT": lambda r: (r.updated_at, r.database_id),
    "PUSHED_AT": lambda r: (r.pushed_at, r.database_id),
    "NAME": lambda r: (r.name.lower(), r.database_id),
    "STARGAZERS": lambda r: (r.stars, r.database_id),
}


def resolve_owner_repositories(source: JsonObject, info: Any, **args: Any) -> JsonObject:
    ctx = _ctx(info)
    account: Account = source["_account"]
    repos: Sequence[Repository] = ctx.dataset.owned(ctx.host, account.login)
    private = (
        args.get("privacy") == "PRIVATE"
        or args.get("visibility") in ("PRIVATE", "INTERNAL")
        or args.get("isLocked") is True
    )
    affiliations = args.get("ownerAffiliations")
    if private or (affiliations is not None and "OWNER" not in affiliations):
        repos = []
    for flag, attribute in (("isFork", "is_fork"), ("isArchived", "is_archived")):
        wanted = args.get(flag)
        if wanted is not None:
            repos = [r for r in repos if getattr(r, attribute) is wanted]
    order = args.get("orderBy")
    if order and (order.get("field"), order.get("direction")) != ("CREATED_AT", "ASC"):
        key = _REPO_ORDER.get(order.get("field", "CREATED_AT"), _REPO_ORDER["CREATED_AT"])
        repos = sorted(repos, key=key, reverse=order.get("direction") == "DESC")
    value = connection(
        repos,
        args,
        repository_node,
        key=_database_id,
        extra={"totalDiskUsage": sum(r.disk_usage for r in repos)},
    )
    if ctx.pagination_loop:
        value["pageInfo"] = {
            **value["pageInfo"],
            "hasNextPage": True,
            "endCursor": args.get("after") or _cursor(-1, 0),  # -1: before the first item
        }
    return value


def _database_id(repo: Repository) -> int:
    return repo.database_id


def resolve_owner_repository(
    source: JsonObject, info: Any, name: str, **_args: Any
) -> JsonObject | None:
    ctx = _ctx(info)
    repo = ctx.dataset.repository(ctx.host, source["_account"].login, name)
    return repository_node(repo) if repo else None


def resolve_repo_owner(source: JsonObject, info: Any) -> JsonObject | None:
    ctx = _ctx(info)
    repo: Repository = source["_repo"]
    account = ctx.dataset.account(ctx.host, repo.owner)
    return account_node(account) if account else None


def resolve_issues(source: JsonObject, _info: Any, **args: Any) -> JsonObject:
    repo: Repository = source["_repo"]
    states = args.get("states") or ["OPEN", "CLOSED"]
    total = (repo.open_issues if "OPEN" in states else 0) + (
        repo.closed_issues if "CLOSED" in states else 0
    )
    return {
        "totalCount": total,
        "nodes": [],
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def resolve_topics(source: JsonObject, _info: Any, **args: Any) -> JsonObject:
    repo: Repository = source["_repo"]
    return connection(repo.topics, args, _topic)


def _topic(name: str) -> JsonObject:
    return {
        "__typename": "RepositoryTopic",
        "id": f"RT_{name}",
        "url": f"https://github.com/topics/{name}",
        "resourcePath": f"/topics/{name}",
        "topic": {"__typename": "Topic", "id": f"TO_{name}", "name": name},
    }


def resolve_languages(source: JsonObject, _info: Any, **args: Any) -> JsonObject:
    repo: Repository = source["_repo"]
    order = args.get("orderBy") or {"field": "SIZE", "direction": "DESC"}
    languages = sorted(
        repo.languages, key=lambda item: item[1], reverse=order.get("direction") != "ASC"
    )
    return connection(
        languages,
        args,
        lambda item: _language(item[0]),
        edge=lambda item: {"size": item[1]},
        extra={"totalSize": sum(size for _, size in languages)},
    )


def _revision_matches(repo: Repository, revision: str) -> bool:
    return revision in (
        "HEAD",
        repo.default_branch,
        f"refs/heads/{repo.default_branch}",
        repo.commit_oid,
    )


def resolve_object(
    source: JsonObject, _info: Any, expression: str | None = None, oid: str | None = None
) -> JsonObject | None:
    repo: Repository = source["_repo"]
    commit: JsonObject = source["defaultBranchRef"]["target"]
    if oid is not None:
        return commit if oid == repo.commit_oid else None
    if expression is None:
        return None
    revision, colon, path = expression.partition(":")
    if not _revision_matches(repo, revision):
        return None
    if not colon:
        return commit
    return _at_path(repo, path)


def _at_path(repo: Repository, path: str) -> JsonObject | None:
    found = content.find(repo, path)
    path = path.strip("/")
    if found is None:
        return None
    if isinstance(found, tuple):
        return _tree_node(repo, found, "")
    if found.type == "tree":
        return _tree_node(repo, found.children, path)
    return _blob_node(repo, content.blob(repo, found, path))


def resolve_ref(source: JsonObject, _info: Any, qualifiedName: str) -> JsonObject | None:
    repo: Repository = source["_repo"]
    if qualifiedName in (repo.default_branch, f"refs/heads/{repo.default_branch}"):
        ref: JsonObject = source["defaultBranchRef"]
        return ref
    return None


def resolve_commit_tree(source: JsonObject, _info: Any) -> JsonObject:
    repo: Repository = source["_repo"]
    return _tree_node(repo, repo.entries, "")


def resolve_commit_history(source: JsonObject, _info: Any, **args: Any) -> JsonObject:
    repo: Repository = source["_repo"]
    history = connection([source], args, lambda commit: commit)
    history["totalCount"] = repo.commit_count
    return history


def _attach_resolvers(schema: GraphQLSchema) -> None:
    def attach(type_name: str, field: str, resolve: Callable[..., Any]) -> None:
        type_ = schema.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType | GraphQLInterfaceType)
        type_.fields[field].resolve = resolve

    attach("Query", "repositoryOwner", resolve_repository_owner)
    attach("Query", "organization", resolve_organization)
    attach("Query", "user", resolve_user)
    attach("Query", "repository", resolve_repository)
    attach("Query", "viewer", resolve_viewer)
    attach("Query", "node", resolve_node)
    attach("Query", "nodes", resolve_nodes)
    attach("Query", "rateLimit", resolve_rate_limit)
    for owner_type in ("Organization", "User"):
        attach(owner_type, "repositories", resolve_owner_repositories)
        attach(owner_type, "repository", resolve_owner_repository)
    attach("Repository", "owner", resolve_repo_owner)
    attach("Repository", "issues", resolve_issues)
    attach("Repository", "repositoryTopics", resolve_topics)
    attach("Repository", "languages", resolve_languages)
    attach("Repository", "object", resolve_object)
    attach("Repository", "ref", resolve_ref)
    attach("Commit", "tree", resolve_commit_tree)
    attach("Commit", "history", resolve_commit_history)


# --- checks before execution -------------------------------------------------------------------


@dataclass(slots=True)
class Analysis:
    """What GitHub checks before running a query: pagination boundaries, and the cost."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    errors: list[JsonObject] = field(default_factory=list)
    requests: int = 0
    """Connection requests needed, each connection assumed full (GitHub's rule)."""
    nodes: int = 0
    repository_nodes: int = 0
    """The part of ``nodes`` asked of ``repositories`` connections."""

    @property
    def cost(self) -> int:
        """GitHub's formula: connection requests / 100, rounded, at least 1."""
        return max(1, int(self.requests / 100 + 0.5))

    def walk(
        self, selection_set: SelectionSetNode, parent: Any, multiplier: int, path: list[str]
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                type_ = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                self.walk(selection.selection_set, type_, multiplier, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    type_ = self.schema.get_type(fragment.type_condition.name.value)
                    self.walk(fragment.selection_set, type_, multiplier, path)
            elif isinstance(selection, FieldNode):
                self.field(selection, parent, multiplier, path)

    def field(self, node: FieldNode, parent: Any, multiplier: int, path: list[str]) -> None:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields or not node.selection_set:
            return
        definition = fields[name]
        named = get_named_type(definition.type)
        field_path = [*path, node.alias.value if node.alias else name]
        if named.name.endswith("Connection") and "first" in definition.args:
            multiplier = self.connection(node, name, field_path, multiplier)
        self.walk(node.selection_set, named, multiplier, field_path)

    def connection(self, node: FieldNode, name: str, path: list[str], multiplier: int) -> int:
        """Check a connection's boundaries, count it; returns the multiplier below it."""
        args = {
            a.name.value: value_from_ast_untyped(a.value, self.variables)
            for a in node.arguments or ()
        }
        first, last = args.get("first"), args.get("last")
        location = None
        if node.loc:
            at = node.loc.source.get_location(node.loc.start)
            location = {"line": at.line, "column": at.column}
        size = 0
        if (
            not isinstance(first, int)
            and not isinstance(last, int)
            and node.selection_set
            and self.wants_items(node.selection_set)
        ):
            self.errors.append(
                _static_error(
                    "MISSING_PAGINATION_BOUNDARIES",
                    path,
                    location,
                    f"You must provide a `first` or `last` value to properly paginate the "
                    f"`{name}` connection.",
                )
            )
        for argument, value in (("first", first), ("last", last)):
            if isinstance(value, int) and value > MAX_PAGE:
                self.errors.append(
                    _static_error(
                        "EXCESSIVE_PAGINATION",
                        path,
                        location,
                        f"Requesting {value} records on the `{name}` connection exceeds the "
                        f"`{argument}` limit of {MAX_PAGE} records.",
                    )
                )
            if isinstance(value, int):
                size = max(size, value)
        self.requests += multiplier
        self.nodes += multiplier * size
        if name == "repositories":
            self.repository_nodes += multiplier * size
        return multiplier * max(size, 1)

    def wants_items(self, selection_set: SelectionSetNode) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in ("nodes", "edges"):
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if self.wants_items(selection.selection_set):
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self.wants_items(fragment.selection_set):
                    return True
        return False


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
) -> Analysis:
    """Pagination boundaries and cost, as GitHub checks them before running a query."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    values = dict(variables)
    if len(operations) == 1:  # otherwise graphql-core reports the problem
        operation = operations[0]
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in values and definition.default_value is not None:
                values[name] = value_from_ast_untyped(definition.default_value)
    analysis = Analysis(schema, fragments, values)
    if len(operations) != 1:
        return analysis
    root = schema.get_root_type(operations[0].operation)
    if root is not None:
        analysis.walk(operations[0].selection_set, root, 1, [])
    if analysis.nodes > MAX_NODES:
        analysis.errors.append(
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": (
                    f"This query requests up to {analysis.nodes:,} possible nodes which "
                    f"exceeds the maximum limit of {MAX_NODES:,}."
                ),
            }
        )
    return analysis


def _static_error(
    type_: str, path: list[str], location: JsonObject | None, message: str
) -> JsonObject:
    error: JsonObject = {"type": type_, "path": path}
    if location:
        error["locations"] = [location]
    error["message"] = message
    return error


# --- the endpoint ------------------------------------------------------------------------------

_documents_lock = threading.Lock()
_documents: OrderedDict[str, tuple[DocumentNode | None, list[JsonObject]]] = OrderedDict()
_DOCUMENTS_KEPT = 512


def _document(query: str) -> tuple[DocumentNode | None, list[JsonObject]]:
    """The parsed document, or the parse/validation errors (cached by query text).

    A valid document is parsed without locations (a third of the parse, and all its tokens kept
    alive by the cache): they only ever show in errors. Whatever has errors to report is parsed
    again with them, so errors are graphql-core's own (``_located``, ``_pairs``).
    """
    with _documents_lock:
        found = _documents.get(query)
        if found is not None:
            _documents.move_to_end(query)
            return found
    document: DocumentNode | None
    errors: list[JsonObject] = []
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        document = None
    else:
        if validate(schema(), document):
            document = None
    if document is None:
        try:
            document = parse(query)
        except GraphQLError as error:
            errors = [format_error(error)]
        else:
            errors = [format_error(e) for e in validate(schema(), document)]
        if errors:
            document = None
    with _documents_lock:
        _documents[query] = (document, errors)
        if len(_documents) > _DOCUMENTS_KEPT:
            _documents.popitem(last=False)
    return document, errors


def _located(query: str) -> DocumentNode:
    """``query`` parsed with locations, for errors (``_document`` has parsed it already)."""
    return parse(query)


def _pairs(plain: Node, located: Node) -> dict[int, Node]:
    """Each node of ``plain`` by id, to the same node of ``located`` (the same text's parse
    with locations): errors raised on ``plain`` get their locations from there."""
    pairs: dict[int, Node] = {}
    stack = [(plain, located)]
    while stack:
        node, twin = stack.pop()
        pairs[id(node)] = twin
        for key in node.keys:
            if key == "loc":
                continue
            child, twin_child = getattr(node, key), getattr(twin, key)
            if isinstance(child, Node):
                stack.append((child, twin_child))
            elif isinstance(child, tuple | list):
                stack.extend(
                    (item, twin_item)
                    for item, twin_item in zip(child, twin_child, strict=True)
                    if isinstance(item, Node)
                )
    return pairs


def format_error(error: GraphQLError, located: dict[int, Node] | None = None) -> JsonObject:
    """An error as GitHub formats it: ``type`` at the top level when it has one.

    Args:
        error: graphql-core's error.
        located: for an error on a document parsed without locations, its nodes' twins with
            locations (``_pairs``).
    """
    formatted: JsonObject = {}
    extensions = dict(error.extensions or {})
    type_ = extensions.pop("type", None)
    if type_:
        formatted["type"] = type_
    if error.path is not None:
        formatted["path"] = list(error.path)
    locations = error.locations
    if locations is None and error.nodes and located:
        # As GraphQLError computes them from its nodes' locations.
        twins = [located.get(id(node)) for node in error.nodes]
        locations = [
            twin.loc.source.get_location(twin.loc.start) for twin in twins if twin and twin.loc
        ]
    if locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in locations]
    formatted["message"] = error.message
    if extensions:
        formatted["extensions"] = extensions
    return formatted


def handle(api: GitHubApi, request: ApiRequest, caller: Caller) -> ApiResponse:
    if request.method != "POST":
        return json_response(
            404,
            {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/graphql",
                "status": "404",
            },
        )
    if caller.token is None:
        return json_response(
            401,
            {
                "message": "This endpoint requires you to be authenticated.",
                "documentation_url": AUTH_DOCS,
                "status": "401",
            },
        )
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return json_response(
            400,
            {
                "message": "Problems parsing JSON",
                "documentation_url": "https://docs.github.com/graphql",
                "status": "400",
            },
        )
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return _answer(
            api,
            caller,
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]},
        )
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName") or None
    if not isinstance(variables, dict):
        return _answer(api, caller, {"errors": [{"message": "Variables are invalid JSON."}]})

    document, errors = _document(query)
    if document is None:
        return _answer(api, caller, {"errors": errors})
    analysis = analyse(schema(), document, operation_name, variables)
    if analysis.errors:  # the same again, with the locations they report
        analysis = analyse(schema(), _located(query), operation_name, variables)
        return _answer(api, caller, {"errors": analysis.errors})
    most = api.settings.graphql_max_nodes
    if most is not None and analysis.repository_nodes > most:
        return _timeout(request)
    allowed, quota = api.charge(caller, "graphql", analysis.cost)
    if not allowed:
        return _answer(
            api,
            caller,
            {
                "errors": [
                    {
                        "type": "RATE_LIMITED",
                        "message": "API rate limit already exceeded for user ID 1.",
                    }
                ]
            },
        )
    reset_at = datetime.fromtimestamp(quota.reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    context = Context(
        api.dataset,
        api.host,
        rate_limit={
            "cost": analysis.cost,
            "limit": quota.limit,
            "remaining": quota.remaining,
            "resetAt": reset_at,
            "used": quota.used,
            "nodeCount": analysis.nodes,
        },
        pagination_loop=api.host in api.settings.pagination_loop_hosts,
    )
    result = execute_sync(
        schema(),
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=FastExecutor,
    )
    body: JsonObject = {}
    if result.data is not None or any(e.path for e in result.errors or ()):
        body["data"] = result.data
    if result.errors:
        located = _pairs(document, _located(query))
        body["errors"] = _unique([format_error(e, located) for e in result.errors])
    return _answer(api, caller, body)


def _timeout(request: ApiRequest) -> ApiResponse:
    """GitHub's answer to a query that ran out of time: HTTP 502, no data."""
    digest = hashlib.sha1(request.body, usedforsecurity=False).hexdigest().upper()
    reference = f"{digest[:4]}:{digest[4:8]}:{digest[8:14]}:{digest[14:20]}:{digest[20:28]}"
    body = {
        "data": None,
        "errors": [
            {
                "message": (
                    "Something went wrong while executing your query. This may be the result "
                    "of a timeout, or it could be a GitHub bug. Please include "
                    f"`{reference}` when reporting this issue."
                )
            }
        ],
    }
    response = json_response(502, body)
    response.fault = "graphql_max_nodes"
    return response


def _unique(errors: list[JsonObject]) -> list[JsonObject]:
    seen: set[str] = set()
    kept = []
    for error in errors:
        key = json.dumps(error, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def _answer(api: GitHubApi, caller: Caller, body: JsonObject) -> ApiResponse:
    headers = api.peek(caller, "graphql").headers()
    return json_response(200, body, headers)
