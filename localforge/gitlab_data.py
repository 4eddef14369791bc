"""GitLab's side of the dataset: the CSV's GitLab rows as namespaces and projects per host.

What the 2021 rows give, and how they are read:

- a project's namespace is its URL's path minus the last segment, so real nested subgroups
  appear (``gazelle/library/validators/src-gen/hpd`` on gitlab.inria.fr);
- ``organization_name`` is the group code.gouv.fr listed the project under: the root of its
  path, or a group id (``10`` is OSUG on gricad-gitlab: served with that id), or another group
  the project is *shared* with (``chroma`` lists ``dalu/spank``): those projects come with
  ``with_shared=true`` only;
- owners of the organizations CSV are top-level groups (with their name, description,
  avatar), served even when the sample holds none of their projects;
- the top-level namespaces of :data:`USER_NAMESPACES` are users (people whose projects are
  shared with a team's group); every other namespace is a group.

What is synthesised, deterministically (hashes of host and id, never a global random state):

- :data:`GITLAB_INSTANCE` is served as a whole public-sector instance: the sample holds half
  of the 2021 rows, so every project there gets a sibling ``<path>-2`` in its namespace
  (the group ``gazelle`` and its subgroups then hold 200 projects);
- a user whose group has projects forks one of them (``forked_from_project``);
- about 15 % of top-level groups hold a private project (``infra-privee``) and as many an
  internal one (``outils-internes``): neither is listed to an anonymous or
  ``visibility=public`` query; internal ones are visible with a token;
- ~2 % of projects are empty repositories; languages, files and licences follow
  :func:`localforge.data.synthesise`, with a licence mix typical of the public sector
  (about 40 % without any licence file; CeCILL and Etalab files, which GitLab reports as
  ``other``).

At scale 1: 30 hosts (28 with projects), 2,606 public projects (1,871 from the CSV, their 725
copies on gitlab.inria.fr, 10 forks), 82 private and 79 internal ones; 1,456 public projects on
the whole instance. With ``gitlab_scale=k`` each top-level namespace is replicated ``k`` times
(``NS``, ``NS-2`` .. ``NS-k``, subgroups, projects, users and forks included): ``k=8`` gives
20,848 public projects (11,648 on the whole instance).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from localforge.data import Account, Repository, synthesise
from localforge.licences import LICENCES_BY_NAME, OTHER, Licence, licence_for_name

#: The host served as a whole public-sector instance (every public project is to be crawled).
GITLAB_INSTANCE = "gitlab.inria.fr"
#: How many times each project of :data:`GITLAB_INSTANCE` is served (the original first).
INSTANCE_COPIES = 2

#: Top-level namespaces served as GitLab *users* (host, username). Their projects are shared
#: with a group (the row's ``organization_name``); each also owns a fork.
USER_NAMESPACES: frozenset[tuple[str, str]] = frozenset(
    {
        ("gitlab.inria.fr", "dalu"),
        ("gitlab.inria.fr", "cerisara"),
        ("gitlab.inria.fr", "cfrioux"),
        ("gitlab.inria.fr", "pvignet"),
        ("gitlab.inria.fr", "amaourid"),
        ("gitlab.inria.fr", "xbie"),
        ("gitlab.inria.fr", "gbono"),
        ("gitlab.inria.fr", "yixu"),
        ("gitlab.inria.fr", "julbrune"),
        ("gitlab.irstea.fr", "remi.cresson"),
        ("gricad-gitlab.univ-grenoble-alpes.fr", "marinesj"),
        ("gitlab.mim-libre.fr", "leo"),
        ("forgemia.inra.fr", "olivier.bonnefon"),
        ("plmlab.math.cnrs.fr", "david.delavennat"),
    }
)

_ID_STRIDE = 100_000
"""Id distance between the replicas of a namespace, project or user."""
_FIRST_USER_ID = 2
"""User 1 is the token holder (``/user``)."""

#: (bound, licence name as in the CSV) on a hash byte; ``None``: no licence chosen (the file
#: may still hold an unrecognised licence, as on GitHub).
_LICENCE_MIX: tuple[tuple[int, str | None], ...] = (
    (120, None),
    (160, "MIT License"),
    (186, "GNU General Public License v3.0"),
    (204, "Apache License 2.0"),
    (226, "Other"),
    (234, "GNU Affero General Public License v3.0"),
    (241, "GNU Lesser General Public License v3.0"),
    (248, 'BSD 3-Clause "New" or "Revised" License'),
    (252, "European Union Public License 1.2"),
    (256, "GNU General Public License v2.0"),
)
#: The CSV's GitLab rows have no language: (bound, main language) on a hash byte.
_LANGUAGE_MIX: tuple[tuple[int, str | None], ...] = (
    (40, None),
    (90, "Python"),
    (110, "C++"),
    (128, "C"),
    (146, "JavaScript"),
    (162, "Java"),
    (176, "Jupyter Notebook"),
    (190, "Shell"),
    (202, "R"),
    (213, "HTML"),
    (222, "PHP"),
    (230, "OCaml"),
    (238, "TypeScript"),
    (244, "Go"),
    (249, "Vue"),
    (253, "Rust"),
    (256, "Ruby"),
)
_LICENCES_BY_SPDX: dict[str, Licence] = {
    lic.spdx_id: lic for lic in LICENCES_BY_NAME.values() if not lic.is_other
}


@dataclass(frozen=True, slots=True)
class GitLabHost:
    """One GitLab host's data, ready for :class:`localforge.data.Dataset`."""

    host: str
    namespaces: list[Account]
    """Groups, subgroups and user namespaces, in id order."""
    projects: list[Repository]


def gitlab_licence(spdx_id: str | None) -> Licence | None:
    """What GitLab reports for a licence file holding ``spdx_id``'s text: GitLab's licensee
    knows the common licences, answers ``other`` for the rest (CeCILL, Etalab), and
    ``None`` when there is no licence file."""
    if spdx_id is None:
        return None
    return _LICENCES_BY_SPDX.get(spdx_id, OTHER)


# --- plans: one replica's namespaces and projects, before ids --------------------------------


@dataclass(slots=True)
class _NamespacePlan:
    path: str
    kind: str
    profile: dict[str, str] | None = None
    group_id: int | None = None
    """An id the CSV gives the group (``organization_name`` ``10``)."""
    created_at: str = ""


@dataclass(slots=True)
class _ProjectPlan:
    namespace: str
    path: str
    row: dict[str, str]
    visibility: str = "public"
    shared_with: list[str] = field(default_factory=list)
    fork_of: _ProjectPlan | None = None
    topics: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.topics = tuple(t.strip() for t in self.row["topics"].split(",") if t.strip())

    @property
    def full_path(self) -> str:
        return f"{self.namespace}/{self.path}"


@dataclass(slots=True)
class _HostPlan:
    host: str
    namespaces: dict[str, _NamespacePlan] = field(default_factory=dict)
    """Lower-case full path -> plan."""
    projects: list[_ProjectPlan] = field(default_factory=list)

    def namespace(self, path: str, kind: str = "group") -> _NamespacePlan:
        key = path.lower()
        found = self.namespaces.get(key)
        if found is None:
            found = self.namespaces[key] = _NamespacePlan(path, kind)
        return found


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _shift(date: str, **delta: float) -> str:
    moment = datetime.fromisoformat(date.replace("Z", "+00:00")) + timedelta(**delta)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plan(rows: list[dict[str, str]], profiles: list[dict[str, str]]) -> list[_HostPlan]:
    hosts: dict[str, _HostPlan] = {}

    def host_plan(host: str) -> _HostPlan:
        return hosts.setdefault(host, _HostPlan(host))

    for profile in profiles:
        host = profile["organization_url"].split("/")[2]
        host_plan(host).namespace(profile["login"]).profile = profile

    # One project per URL: the same project may be listed under two organisation names.
    projects: dict[tuple[str, str], _ProjectPlan] = {}
    ordered = sorted(rows, key=lambda r: (r["creation_date"], r["repository_url"].lower()))
    for row in ordered:
        host, *parts = row["repository_url"].split("/")[2:]
        plan = host_plan(host)
        root = parts[0]
        key = (host, "/".join(parts).lower())
        project = projects.get(key)
        if project is None:
            namespace = "/".join(parts[:-1])
            kind = "user" if (host, root.lower()) in USER_NAMESPACES else "group"
            for depth in range(1, len(parts)):
                path = "/".join(parts[:depth])
                plan.namespace(path, kind if depth == 1 else "group").path = path  # URL's case
            project = projects[key] = _ProjectPlan(namespace, parts[-1], row)
            plan.projects.append(project)
        listed_under = row["organization_name"]
        if listed_under.isdigit():
            group = plan.namespace(root)
            if group.group_id not in (None, int(listed_under)):
                raise ValueError(f"two ids for {host}/{root}")
            group.group_id = int(listed_under)
        elif listed_under.lower() != root.lower():
            target = plan.namespace(listed_under)
            if target.path.lower() not in (p.lower() for p in project.shared_with):
                project.shared_with.append(target.path)

    for plan in hosts.values():
        _check_users(plan)
        if plan.host == GITLAB_INSTANCE:
            _add_copies(plan)
        _add_forks(plan)
        _add_hidden_projects(plan)
        _date_namespaces(plan)
    return [hosts[h] for h in sorted(hosts)]


def _check_users(plan: _HostPlan) -> None:
    for ns in plan.namespaces.values():
        if "/" in ns.path and plan.namespaces[ns.path.split("/")[0].lower()].kind == "user":
            raise ValueError(f"user namespace with a subgroup: {plan.host}/{ns.path}")


def _add_copies(plan: _HostPlan) -> None:
    taken = {p.full_path.lower() for p in plan.projects}
    for project in list(plan.projects):
        for copy in range(2, INSTANCE_COPIES + 1):
            path = f"{project.path}-{copy}"
            if f"{project.namespace}/{path}".lower() in taken:
                raise ValueError(f"copy clashes with a project: {plan.host}/{path}")
            plan.projects.append(
                _ProjectPlan(project.namespace, path, project.row, shared_with=project.shared_with)
            )


def _add_forks(plan: _HostPlan) -> None:
    by_namespace: dict[str, list[_ProjectPlan]] = {}
    for project in plan.projects:
        by_namespace.setdefault(project.namespace.lower(), []).append(project)
    for ns in list(plan.namespaces.values()):
        if ns.kind != "user":
            continue
        own = by_namespace.get(ns.path.lower(), [])
        groups = [g.lower() for p in own for g in p.shared_with]
        sources = [  # the projects of those groups and of their subgroups
            p
            for g in groups
            for key, projects in sorted(by_namespace.items())
            if key == g or key.startswith(g + "/")
            for p in projects
        ]
        if not sources:
            continue
        source = sources[0]
        taken = {p.path.lower() for p in own}
        path = source.path if source.path.lower() not in taken else f"{source.path}-fork"
        created = _shift(source.row["creation_date"], days=40)
        row = {
            **source.row,
            "creation_date": created,
            "last_update": _shift(created, days=2),
            "last_modification": _shift(created, days=2),
            "stars_count": "0",
            "forks_count": "0",
            "open_issues_count": "0",
        }
        plan.projects.append(_ProjectPlan(ns.path, path, row, fork_of=source))


def _add_hidden_projects(plan: _HostPlan) -> None:
    first: dict[str, str] = {}
    for project in plan.projects:
        root = project.namespace.split("/")[0].lower()
        created = project.row["creation_date"]
        first[root] = min(first.get(root, created), created)
    for key, ns in list(plan.namespaces.items()):
        if "/" in key or ns.kind != "group":
            continue
        h = _hash(f"hidden:{plan.host}/{key}")
        start = first.get(key, "2018-01-01T00:00:00Z")
        for byte, visibility, path, description in (
            (h[0], "private", "infra-privee", "Configuration de l'infrastructure (privé)"),
            (h[1], "internal", "outils-internes", "Outils internes de l'équipe"),
        ):
            if byte >= 38:  # ~15 % of the groups each
                continue
            created = _shift(start, days=10 + h[2] % 300, hours=h[3] % 24)
            row = {
                "name": path,
                "description": description,
                "is_archived": "False",
                "creation_date": created,
                "last_update": _shift(created, days=h[4] % 90),
                "last_modification": _shift(created, days=h[4] % 90),
                "stars_count": "0",
                "forks_count": "0",
                "open_issues_count": str(h[5] % 4),
                "topics": "",
                "language": "",
                "is_fork": "",
            }
            plan.projects.append(_ProjectPlan(ns.path, path, row, visibility=visibility))


def _date_namespaces(plan: _HostPlan) -> None:
    first: dict[str, str] = {}
    for project in plan.projects:
        parts = project.namespace.lower().split("/")
        created = project.row["creation_date"]
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            first[key] = min(first.get(key, created), created)
    for key, ns in plan.namespaces.items():
        h = _hash(f"namespace:{plan.host}/{key}")
        if key in first:
            ns.created_at = _shift(first[key], hours=-(1 + h[0] % 240))
        else:
            ns.created_at = _shift("2016-01-01T00:00:00Z", days=h[0] * 6 + h[1] % 6)


# --- records -----------------------------------------------------------------------------------


def _in_replica(path: str, replica: int) -> str:
    if replica == 1:
        return path
    root, sep, rest = path.partition("/")
    return f"{root}-{replica}{sep}{rest}"


def _user_name(username: str) -> str:
    words = username.replace(".", " ").replace("-", " ").replace("_", " ").split()
    return " ".join(w.capitalize() for w in words) or username


def _ids(items: Iterable[str], reserved: dict[str, int], first: int = 1) -> dict[str, int]:
    """Ids in the order of ``items``, skipping the ``reserved`` ones (given to their keys)."""
    taken = set(reserved.values())
    ids = dict(reserved)
    next_id = first
    for item in items:
        if item in ids:
            continue
        while next_id in taken:
            next_id += 1
        ids[item] = next_id
        taken.add(next_id)
    return ids


def _build(plan: _HostPlan, scale: int) -> GitLabHost:
    host = plan.host
    namespaces = sorted(plan.namespaces.values(), key=lambda n: (n.created_at, n.path.lower()))
    namespace_ids = _ids(
        (n.path.lower() for n in namespaces),
        {n.path.lower(): n.group_id for n in namespaces if n.group_id is not None},
    )
    users = [n for n in namespaces if n.kind == "user"]
    user_ids = _ids((n.path.lower() for n in users), {}, _FIRST_USER_ID)
    projects = sorted(plan.projects, key=lambda p: (p.row["creation_date"], p.full_path.lower()))
    project_ids = {id(p): i for i, p in enumerate(projects, 1)}
    if max(len(namespace_ids), len(projects), len(user_ids)) >= _ID_STRIDE:
        raise ValueError(f"too many GitLab rows on {host} for the id scheme")

    accounts: list[Account] = []
    repos: list[Repository] = []
    for replica in range(1, scale + 1):
        offset = (replica - 1) * _ID_STRIDE
        by_path: dict[str, Account] = {}
        for ns in namespaces:
            key = ns.path.lower()
            parent = ns.path.rpartition("/")[0]
            account = _namespace(
                host,
                ns,
                path=_in_replica(ns.path, replica),
                namespace_id=namespace_ids[key] + offset,
                parent_id=(namespace_ids[parent.lower()] + offset) if parent else None,
                user_id=(user_ids[key] + offset) if ns.kind == "user" else None,
            )
            by_path[key] = account
        counts: dict[str, int] = {}
        latest: dict[str, str] = {}
        for project in projects:
            source = project.fork_of
            repo = _project(
                host,
                project,
                namespace=_in_replica(project.namespace, replica),
                project_id=project_ids[id(project)] + offset,
                forked_from=(project_ids[id(source)] + offset) if source is not None else None,
                shared_with=tuple(project.shared_with),
                replica=replica,
            )
            repos.append(repo)
            key = project.namespace.lower()
            if repo.visibility == "public":
                counts[key] = counts.get(key, 0) + 1
            latest[key] = max(latest.get(key, ""), repo.last_activity_at)
        for ns in namespaces:
            key = ns.path.lower()
            account = by_path[key]
            accounts.append(
                _with_activity(account, counts.get(key, 0), latest.get(key, account.created_at))
            )
    accounts.sort(key=lambda a: a.database_id)
    return GitLabHost(host, accounts, repos)


def _with_activity(account: Account, count: int, latest: str) -> Account:
    return Account(
        host=account.host,
        login=account.login,
        kind=account.kind,
        database_id=account.database_id,
        node_id=account.node_id,
        name=account.name,
        description=account.description,
        website=account.website,
        email=account.email,
        location=account.location,
        avatar_url=account.avatar_url,
        created_at=account.created_at,
        updated_at=max(account.created_at, latest),
        repositories_count=count,
        parent_id=account.parent_id,
        user_id=account.user_id,
    )


def _namespace(
    host: str,
    ns: _NamespacePlan,
    *,
    path: str,
    namespace_id: int,
    parent_id: int | None,
    user_id: int | None,
) -> Account:
    profile = ns.profile or {}
    own_path = path.rpartition("/")[2]
    if ns.kind == "user":
        name = _user_name(own_path)
        node = f"gid://gitlab/User/{user_id}"
    else:
        name = profile.get("name") or own_path
        node = f"gid://gitlab/Group/{namespace_id}"
    return Account(
        host=host,
        login=path,
        kind=ns.kind,
        database_id=namespace_id,
        node_id=node,
        name=name,
        description=profile.get("description") or None,
        website=profile.get("website") or None,
        email=profile.get("email") or None,
        location=profile.get("location") or None,
        avatar_url=profile.get("avatar_url") or "",
        created_at=ns.created_at,
        updated_at=ns.created_at,
        repositories_count=0,
        parent_id=parent_id,
        user_id=user_id,
    )


def _by_byte(table: tuple[tuple[int, str | None], ...]) -> tuple[str | None, ...]:
    """A (bound, value) table as 256 values, one per byte."""
    return tuple(next(value for bound, value in table if byte < bound) for byte in range(256))


_LANGUAGE_BY_BYTE = _by_byte(_LANGUAGE_MIX)
_LICENCE_BY_BYTE = tuple(licence_for_name(name) for name in _by_byte(_LICENCE_MIX))


def _project(
    host: str,
    plan: _ProjectPlan,
    *,
    namespace: str,
    project_id: int,
    forked_from: int | None,
    shared_with: tuple[str, ...],
    replica: int,
) -> Repository:
    row = plan.row
    key = f"{host}/{project_id}"
    h = _hash(f"project:{key}")
    language = _LANGUAGE_BY_BYTE[h[0]]
    facts = {  # what synthesise reads of a row
        "creation_date": row["creation_date"],
        "last_modification": row["last_modification"],
        "language": language or "",
        "is_fork": "",
    }
    syn = synthesise(project_id, facts, _LICENCE_BY_BYTE[h[1]], key=key)
    is_empty = h[2] < 5 and forked_from is None
    topics = plan.topics
    last_activity = max(row["last_update"], row["last_modification"])
    shared = tuple(_in_replica(g, replica) for g in shared_with)
    return Repository(
        host=host,
        owner=namespace,
        name=plan.path,
        database_id=project_id,
        node_id=f"gid://gitlab/Project/{project_id}",
        description=row["description"] or None,
        homepage=None,
        is_fork=forked_from is not None,
        is_archived=row["is_archived"] == "True",
        is_template=False,
        created_at=row["creation_date"],
        updated_at=last_activity,
        pushed_at=row["last_modification"],
        stars=int(row["stars_count"] or 0),
        forks=int(row["forks_count"] or 0),
        open_issues=int(row["open_issues_count"] or 0),
        closed_issues=syn.closed_issues,
        language=None if is_empty else language,
        topics=topics,
        licence=None if is_empty else gitlab_licence(syn.licence_file_spdx),
        licence_file_spdx=None if is_empty else syn.licence_file_spdx,
        default_branch=syn.default_branch,
        last_commit_at=syn.last_commit_at,
        commit_oid=syn.commit_oid,
        commit_count=0 if is_empty else syn.commit_count,
        entries=() if is_empty else syn.entries,
        languages=() if is_empty else syn.languages,
        disk_usage=syn.disk_usage,
        visibility=plan.visibility,
        last_activity_at=last_activity,
        forked_from=forked_from,
        shared_with=shared,
        is_empty=is_empty,
        reuse_spdx=() if is_empty else syn.reuse_spdx,
        manifest_licence=None if is_empty else syn.manifest_licence,
        publiccode_variant=None if is_empty else syn.publiccode_variant,
        publiccode_issue=None if is_empty else syn.publiccode_issue,
        readme_section=None if is_empty else syn.readme_section,
        readme_licence=None if is_empty else syn.readme_licence,
    )


def load(
    rows: list[dict[str, str]], profiles: list[dict[str, str]], scale: int = 1
) -> list[GitLabHost]:
    """The GitLab hosts of the CSV rows, by host name.

    Args:
        rows: rows of the repositories CSV (those whose platform is GitLab are used).
        profiles: rows of the organizations CSV (likewise).
        scale: how many replicas of each top-level namespace.
    """
    if scale < 1:
        raise ValueError(f"scale must be >= 1, not {scale}")
    plans = _plan(
        [r for r in rows if r["platform"] == "GitLab"],
        [p for p in profiles if p["platform"] == "GitLab"],
    )
    return [_build(plan, scale) for plan in plans]
