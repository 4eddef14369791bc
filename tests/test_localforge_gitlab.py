"""The local forge's GitLab API v4 over real HTTP, through python-gitlab and requests."""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Iterator
from urllib.parse import quote

import gitlab
import pytest
import requests

from localforge import GITLAB_INSTANCE, USER_NAMESPACES, Dataset, LocalForge
from localforge.content import blob as blob_of
from localforge.gitlab_data import gitlab_licence
from localforge.licences import licence_text

INRIA = GITLAB_INSTANCE
TOKEN = {"PRIVATE-TOKEN": "test-token"}


def api(forge: LocalForge, path: str, host: str = INRIA, **kwargs) -> requests.Response:
    return requests.get(f"{forge.api_url(host)}{path}", timeout=10, **kwargs)


def client(forge: LocalForge, host: str = INRIA, **kwargs) -> gitlab.Gitlab:
    return gitlab.Gitlab(url=forge.gitlab_url(host), **kwargs)


def follow(forge: LocalForge, url: str, params: dict, headers: dict | None = None):
    """Every page of a listing, by its Link headers: (items, responses)."""
    items, responses = [], []
    next_url: str | None = url
    while next_url:
        response = requests.get(next_url, params=params, headers=headers or {}, timeout=10)
        assert response.status_code == 200, response.text
        responses.append(response)
        items += response.json()
        params = {}  # the next link carries them
        match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        next_url = match.group(1) if match else None
        assert len(responses) < 200
    return items, responses


@pytest.fixture
def own_forge() -> Iterator[LocalForge]:
    """A forge of its own, for tests that change its data or settings."""
    with LocalForge(Dataset.load()) as forge:
        yield forge


def group_projects(
    dataset: Dataset, host: str, group: str, *, shared: bool, subgroups: bool = True
) -> set[str]:
    groups = [group] + [g.login for g in dataset.descendants(host, group) if subgroups]
    projects = {r for g in groups for r in dataset.owned(host, g)}
    if shared:
        projects |= {r for g in groups for r in dataset.shared_with(host, g)}
    return {r.full_name for r in projects if r.visibility == "public"}


# --- hosts and data ----------------------------------------------------------------------------


def test_gitlab_hosts_are_served_with_their_api_urls(localforge):
    dataset = localforge.dataset
    gitlab_hosts = [h for h in dataset.hosts() if dataset.kind(h) == "gitlab"]
    assert dataset.hosts()[0] == "github.com" and dataset.kind("github.com") == "github"
    assert INRIA in gitlab_hosts and "framagit.org" in gitlab_hosts and len(gitlab_hosts) >= 28
    assert localforge.api_url(INRIA) == f"{localforge.url}/{INRIA}/api/v4"
    assert localforge.gitlab_url(INRIA) == f"{localforge.url}/{INRIA}"
    assert localforge.api_url("github.com") == f"{localforge.url}/github.com"
    with pytest.raises(KeyError):
        localforge.gitlab_url("github.com")
    # python-gitlab appends /api/v4 to the URL it is given
    assert client(localforge).api_url == localforge.api_url(INRIA)


def test_gitlab_data_is_deterministic_and_scales():
    one, again = Dataset.load(), Dataset.load()
    assert list(one.all_repositories("framagit.org")) == list(
        again.all_repositories("framagit.org")
    )
    two = Dataset.load(gitlab_scale=2)
    public = [r for r in one.all_repositories(INRIA) if r.visibility == "public"]
    public2 = [r for r in two.all_repositories(INRIA) if r.visibility == "public"]
    assert len(public2) == 2 * len(public)
    assert len(two.repositories(INRIA, "gazelle-2/library")) == len(
        one.repositories(INRIA, "gazelle/library")
    )
    ids = [r.database_id for r in two.all_repositories(INRIA)]
    assert len(ids) == len(set(ids))
    assert one.repositories(INRIA, "gazelle") == two.repositories(INRIA, "gazelle")


# --- groups, subgroups, shared projects --------------------------------------------------------


def test_group_with_subgroups_is_read_whole_through_python_gitlab(localforge):
    expected = group_projects(localforge.dataset, INRIA, "gazelle", shared=False)
    assert len(expected) > 100
    gl = client(localforge, private_token="x")
    group = gl.groups.get("gazelle")
    assert group.full_path == "gazelle" and group.parent_id is None
    before = localforge.requests(INRIA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # python-gitlab warns when the base URL differs
        projects = list(
            group.projects.list(iterator=True, include_subgroups=True, with_shared=False)
        )
    names = [p.path_with_namespace for p in projects]
    assert len(names) == len(set(names)) and set(names) == expected
    assert localforge.requests(INRIA) - before >= len(expected) // 20  # 20 a page by default
    subgroups = [g.full_path for g in group.subgroups.list(get_all=True)]
    assert subgroups and all(p.startswith("gazelle/") for p in subgroups)
    deep = [p for p in names if p.count("/") >= 3]
    assert deep, "nested subgroups are served"


def test_group_projects_offset_headers_and_keyset_links(localforge):
    url = f"{localforge.api_url(INRIA)}/groups/gazelle/projects"
    expected = group_projects(localforge.dataset, INRIA, "gazelle", shared=False)
    params = {"include_subgroups": "true", "with_shared": "false", "per_page": 100}
    items, responses = follow(localforge, url, params)
    assert {p["path_with_namespace"] for p in items} == expected and len(responses) == 2
    first, last = responses[0].headers, responses[-1].headers
    assert first["X-Page"] == "1" and first["X-Per-Page"] == "100"
    assert first["X-Next-Page"] == "2" and first["X-Prev-Page"] == ""
    assert first["X-Total"] == str(len(expected)) and first["X-Total-Pages"] == "2"
    assert {'rel="next"', 'rel="first"', 'rel="last"'} <= set(
        re.findall(r'rel="\w+"', first["Link"])
    )
    assert last["X-Next-Page"] == "" and 'rel="prev"' in last["Link"]
    # created_at desc is GitLab's default order
    created = [p["created_at"] for p in items]
    assert created == sorted(created, reverse=True)

    keyset = {**params, "pagination": "keyset", "order_by": "id", "sort": "asc", "per_page": 30}
    items, responses = follow(localforge, url, keyset)
    ids = [p["id"] for p in items]
    assert ids == sorted(ids) and {p["path_with_namespace"] for p in items} == expected
    assert len(responses) == len(expected) // 30 + 1
    assert "X-Total" not in responses[0].headers
    assert "id_after=" in responses[0].headers["Link"]
    refused = api(localforge, "/groups/gazelle/projects", params={"pagination": "keyset"})
    assert refused.status_code == 405
    assert refused.json() == {
        "error": "Keyset pagination is not yet available for this type of request"
    }


def test_shared_projects_come_with_with_shared_only(localforge):
    dataset = localforge.dataset
    assert dataset.subgroups(INRIA, "chroma")  # include_subgroups is false by default
    own = group_projects(dataset, INRIA, "chroma", shared=False, subgroups=False)
    with_shared = group_projects(dataset, INRIA, "chroma", shared=True, subgroups=False)
    shared = with_shared - own
    assert shared and all(name.split("/")[0] in {"dalu", "gbono"} for name in shared)
    url = f"{localforge.api_url(INRIA)}/groups/chroma/projects"
    default, _ = follow(localforge, url, {"per_page": 100})  # GitLab's default: with_shared=true
    assert {p["path_with_namespace"] for p in default} == with_shared
    without, _ = follow(localforge, url, {"per_page": 100, "with_shared": "false"})
    assert {p["path_with_namespace"] for p in without} == own
    one = next(p for p in default if p["path_with_namespace"] in shared)
    assert one["namespace"]["kind"] == "user"
    assert one["shared_with_groups"][0]["group_full_path"] == "chroma"


def test_group_object_and_its_errors(localforge):
    group = api(localforge, "/groups/gazelle%2Flibrary").json()
    assert group["full_path"] == "gazelle/library" and group["full_name"] == "Gazelle / library"
    parent = api(localforge, "/groups/gazelle").json()
    assert group["parent_id"] == parent["id"]
    assert api(localforge, f"/groups/{parent['id']}").json()["full_path"] == "gazelle"
    assert group["web_url"] == f"https://{INRIA}/groups/gazelle/library"
    assert "projects" in group and "shared_projects" in group
    lean = api(localforge, "/groups/gazelle", params={"with_projects": "false"}).json()
    assert "projects" not in lean
    # the CSV's organization_name "10" is the id of OSUG on gricad-gitlab
    osug = api(localforge, "/groups/10", host="gricad-gitlab.univ-grenoble-alpes.fr").json()
    assert osug["full_path"] == "OSUG"


# --- the whole instance ------------------------------------------------------------------------


def test_whole_instance_is_read_whole_with_keyset_pagination(localforge):
    public = {
        r.database_id
        for r in localforge.dataset.all_repositories(INRIA)
        if r.visibility == "public"
    }
    hidden = {r.database_id for r in localforge.dataset.all_repositories(INRIA)} - public
    assert len(public) > 1000 and hidden
    gl = client(localforge)  # anonymous, like a crawler without a token for this host
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        projects = list(
            gl.projects.list(
                iterator=True,
                pagination="keyset",
                order_by="id",
                sort="asc",
                visibility="public",
                per_page=100,
            )
        )
    ids = [p.id for p in projects]
    assert ids == sorted(ids) and set(ids) == public
    # anonymous /projects answers GitLab's basic fields only
    assert "archived" not in projects[0].attributes and "visibility" not in projects[0].attributes


def test_visibility_of_private_and_internal_projects(localforge):
    repos = list(localforge.dataset.all_repositories(INRIA))
    private = next(r for r in repos if r.visibility == "private")
    internal = next(r for r in repos if r.visibility == "internal")
    for headers in ({}, TOKEN):
        assert (
            api(localforge, f"/projects/{private.database_id}", headers=headers).status_code == 404
        )
    assert api(localforge, f"/projects/{internal.database_id}").status_code == 404
    seen = api(localforge, f"/projects/{internal.database_id}", headers=TOKEN).json()
    assert seen["visibility"] == "internal"
    group = internal.owner
    url = f"{localforge.api_url(INRIA)}/groups/{quote(group, safe='')}/projects"
    anonymous, _ = follow(localforge, url, {"per_page": 100})
    with_token, _ = follow(localforge, url, {"per_page": 100}, TOKEN)
    public_only, _ = follow(localforge, url, {"per_page": 100, "visibility": "public"}, TOKEN)
    assert internal.database_id not in {p["id"] for p in anonymous}
    assert internal.database_id in {p["id"] for p in with_token}
    assert internal.database_id not in {p["id"] for p in public_only}
    assert all(p["visibility"] == "public" for p in public_only)


def test_instance_offset_pagination_and_its_limits(localforge):
    first = api(localforge, "/projects", params={"per_page": 100, "order_by": "id", "sort": "asc"})
    total = int(first.headers["X-Total"])
    assert total == sum(
        1 for r in localforge.dataset.all_repositories(INRIA) if r.visibility == "public"
    )
    assert first.headers["X-Total-Pages"] == str((total + 99) // 100)
    assert api(localforge, "/projects", params={"page": 600, "per_page": 100}).status_code == 405
    assert api(localforge, "/projects", params={"order_by": "nope"}).json() == {
        "error": "order_by does not have a valid value"
    }


# --- users -------------------------------------------------------------------------------------


def test_user_namespace_projects_and_fork(localforge):
    assert (INRIA, "dalu") in USER_NAMESPACES
    users = api(localforge, "/users", params={"username": "dalu"}).json()
    assert len(users) == 1 and users[0]["username"] == "dalu"
    assert set(users[0]) == {"id", "username", "name", "state", "locked", "avatar_url", "web_url"}
    user = api(localforge, f"/users/{users[0]['id']}").json()
    assert user["username"] == "dalu" and user["web_url"] == f"https://{INRIA}/dalu"
    assert api(localforge, "/users", params={"username": "nobody-xyz"}).json() == []
    assert api(localforge, "/groups/dalu").json() == {"message": "404 Group Not Found"}
    gl = client(localforge, private_token="x")
    projects = list(gl.users.get(users[0]["id"]).projects.list(iterator=True))
    expected = {r.full_name for r in localforge.dataset.owned(INRIA, "dalu")}
    assert {p.path_with_namespace for p in projects} == expected
    namespace = projects[0].namespace
    assert namespace["kind"] == "user" and namespace["full_path"] == "dalu"
    assert namespace["id"] != users[0]["id"]  # namespace and user ids differ, as on GitLab
    forks = [p for p in projects if "forked_from_project" in p.attributes]
    assert forks and forks[0].forked_from_project["path_with_namespace"].startswith("chroma/")
    by_name = api(localforge, "/users/dalu/projects", params={"per_page": 100}).json()
    assert {p["path_with_namespace"] for p in by_name} == expected


# --- projects, licences, files -----------------------------------------------------------------


def licensed(dataset: Dataset, key: str | None, *, with_file: bool = True):
    return next(
        r
        for r in dataset.all_repositories(INRIA)
        if r.visibility == "public"
        and (r.licence.key if r.licence else None) == key
        and (r.licence_file_spdx is not None) == with_file
    )


def test_licence_objects_as_gitlab_gives_them(localforge):
    dataset = localforge.dataset
    gl = client(localforge, private_token="x")
    mit = gl.projects.get(licensed(dataset, "mit").database_id, license=True)
    assert mit.license == {
        "key": "mit",
        "name": "MIT License",
        "nickname": None,
        "html_url": "http://choosealicense.com/licenses/mit/",
        "source_url": None,
    }
    assert mit.license_url.startswith(f"https://{INRIA}/{mit.path_with_namespace}/-/blob/")
    gpl = gl.projects.get(licensed(dataset, "gpl-3.0").database_id, license=True)
    assert gpl.license["nickname"] == "GNU GPLv3"
    other_repo = licensed(dataset, "other")
    assert other_repo.licence_file_spdx in ("etalab-2.0", "CECILL-2.1", "CECILL-B", "CECILL-C")
    other = gl.projects.get(other_repo.database_id, license=True)
    assert other.license["key"] == "other" and other.license["name"] == "Other"
    assert other.license["html_url"] is None
    bare = gl.projects.get(licensed(dataset, None, with_file=False).database_id, license=True)
    assert bare.license is None and bare.license_url is None
    plain = gl.projects.get(mit.id)
    assert "license" not in plain.attributes and "license_url" not in plain.attributes
    assert gitlab_licence("CECILL-B").key == "other" and gitlab_licence(None) is None


def test_project_object_has_gitlabs_shape(localforge):
    repo = next(
        r for r in localforge.dataset.owned(INRIA, "gazelle/library") if r.visibility == "public"
    )
    by_path = api(localforge, f"/projects/{quote(repo.full_name, safe='')}").json()
    by_id = api(localforge, f"/projects/{repo.database_id}").json()
    assert by_path == by_id
    assert by_id["path_with_namespace"] == repo.full_name == "gazelle/library/" + repo.name
    assert by_id["name_with_namespace"] == f"Gazelle / library / {repo.name}"
    assert by_id["web_url"] == f"https://{INRIA}/{repo.full_name}"
    assert by_id["http_url_to_repo"] == f"https://{INRIA}/{repo.full_name}.git"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", by_id["last_activity_at"])
    assert by_id["namespace"]["full_path"] == "gazelle/library"
    assert by_id["namespace"]["kind"] == "group" and by_id["namespace"]["parent_id"]
    for field in (
        "archived",
        "visibility",
        "empty_repo",
        "open_issues_count",
        "star_count",
        "topics",
        "tag_list",
        "default_branch",
        "readme_url",
        "forks_count",
    ):
        assert field in by_id, field
    assert "forked_from_project" not in by_id
    assert by_id["_links"]["self"] == f"{localforge.api_url(INRIA)}/projects/{repo.database_id}"
    missing = api(localforge, "/projects/nope%2Fnothing")
    assert missing.status_code == 404 and missing.json() == {"message": "404 Project Not Found"}


def test_tree_raw_file_and_languages(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(INRIA)
        if r.visibility == "public"
        and r.licence
        and not r.licence.is_other
        and any(e.type == "tree" for e in r.entries)
        and len(r.languages) > 1
    )
    gl = client(localforge, private_token="x")
    project = gl.projects.get(repo.database_id)
    tree = project.repository_tree(get_all=True)
    assert {e["name"] for e in tree} == {e.name for e in repo.entries}
    kinds = [e["type"] for e in tree]
    assert kinds == sorted(kinds, key=lambda t: t != "tree")  # directories first
    for entry in tree:
        assert set(entry) == {"id", "name", "type", "path", "mode"}
        assert re.fullmatch("[0-9a-f]{40}", entry["id"])
        assert entry["mode"] == ("040000" if entry["type"] == "tree" else entry["mode"])
    directory = next(e for e in tree if e["type"] == "tree")
    inside = project.repository_tree(path=directory["path"], get_all=True)
    assert inside and all(e["path"].startswith(directory["path"] + "/") for e in inside)
    paged = api(localforge, f"/projects/{repo.database_id}/repository/tree", params={"per_page": 2})
    assert len(paged.json()) == 2 and paged.headers["X-Total"] == str(len(tree))
    assert api(
        localforge, f"/projects/{repo.database_id}/repository/tree", params={"path": "nope"}
    ).json() == {"message": "404 Tree Not Found"}

    licence_entry = next(e for e in repo.entries if e.role == "licence" and e.spdx_id is None)
    raw = project.files.raw(file_path=licence_entry.name, ref=repo.default_branch)
    assert raw == blob_of(repo, licence_entry, licence_entry.name).data
    assert raw.decode() == licence_text(repo.licence_file_spdx)  # the licence's real text
    metadata = project.files.get(file_path=licence_entry.name, ref=repo.default_branch)
    assert base64.b64decode(metadata.content) == raw
    assert metadata.blob_id == next(e["id"] for e in tree if e["name"] == licence_entry.name)
    nested = next(e for e in inside if e["type"] == "blob")
    nested_raw = api(
        localforge,
        f"/projects/{repo.database_id}/repository/files/{quote(nested['path'], safe='')}/raw",
    )
    assert nested_raw.status_code == 200 and nested_raw.headers["Content-Type"].startswith(
        "text/plain"
    )
    gone = api(localforge, f"/projects/{repo.database_id}/repository/files/NOPE.md/raw")
    assert gone.json() == {"message": "404 File Not Found"}

    languages = project.languages()
    assert list(languages) == [name for name, _ in repo.languages]
    assert abs(sum(languages.values()) - 100) < 0.1


def test_empty_repository(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(INRIA)
        if r.is_empty and r.visibility == "public"
    )
    project = api(localforge, f"/projects/{repo.database_id}", params={"license": "true"}).json()
    assert project["empty_repo"] is True and project["license"] is None
    tree = api(localforge, f"/projects/{repo.database_id}/repository/tree")
    assert tree.status_code == 404 and tree.json() == {"message": "404 Tree Not Found"}


# --- protocol: rate limits, auth, errors, ETags ------------------------------------------------


def test_rate_limit_headers_then_429_with_retry_after(own_forge):
    own_forge.rate_limit = 3
    headers = {"Authorization": "Bearer limited"}
    answers = [api(own_forge, "/groups/gazelle", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    first = answers[0].headers
    assert first["RateLimit-Limit"] == "3" and first["RateLimit-Remaining"] == "2"
    assert first["RateLimit-Observed"] == "1" and int(first["RateLimit-Reset"]) > 0
    refused = answers[-1]
    assert refused.text == "Retry later\n" and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    # other tokens and anonymous callers have buckets of their own
    assert api(own_forge, "/groups/gazelle").status_code == 200
    gl = client(own_forge, private_token="other")
    for _ in range(3):
        gl.groups.get("gazelle")
    with pytest.raises(gitlab.GitlabGetError) as error:
        gl.groups.get("gazelle", obey_rate_limit=False)  # else it sleeps Retry-After and retries
    assert error.value.response_code == 429


def test_bad_token_gets_401_even_on_public_data(own_forge):
    own_forge.bad_tokens = {"revoked"}
    for headers in ({"PRIVATE-TOKEN": "revoked"}, {"Authorization": "Bearer revoked"}):
        answer = api(own_forge, "/projects", headers=headers)
        assert answer.status_code == 401 and answer.json() == {"message": "401 Unauthorized"}
    with pytest.raises(gitlab.GitlabAuthenticationError):
        client(own_forge, private_token="revoked").groups.get("gazelle")
    assert api(own_forge, "/projects", headers={"PRIVATE-TOKEN": "fine"}).status_code == 200
    assert api(own_forge, "/user").status_code == 401
    assert api(own_forge, "/user", headers={"PRIVATE-TOKEN": "fine"}).json()["username"]


def test_not_found_shapes(localforge):
    assert api(localforge, "/groups/no-such-group").json() == {"message": "404 Group Not Found"}
    assert api(localforge, "/projects/99999999").json() == {"message": "404 Project Not Found"}
    assert api(localforge, "/users/99999999").json() == {"message": "404 User Not Found"}
    assert api(localforge, "/users/99999999/projects").json() == {"message": "404 User Not Found"}
    assert api(localforge, "/no/such/route").json() == {"error": "404 Not Found"}
    with pytest.raises(gitlab.GitlabGetError) as error:
        client(localforge).projects.get("no/such-project")
    assert error.value.response_code == 404


def test_etag_and_304(localforge):
    first = api(localforge, "/groups/gazelle/projects", params={"per_page": 5})
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    before = localforge.stats[INRIA]["304"]
    again = api(
        localforge,
        "/groups/gazelle/projects",
        params={"per_page": 5},
        headers={"If-None-Match": etag},
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert "RateLimit-Remaining" in again.headers  # GitLab's throttle counts them too
    assert localforge.stats[INRIA]["304"] == before + 1
    stale = api(
        localforge,
        "/groups/gazelle/projects",
        params={"per_page": 5},
        headers={"If-None-Match": 'W/"x"'},
    )
    assert stale.status_code == 200


# --- upstream changes --------------------------------------------------------------------------


def test_upstream_changes_show_in_the_api(own_forge):
    dataset = own_forge.dataset
    victim, changed = [
        r for r in dataset.owned(INRIA, "gazelle/library") if r.visibility == "public"
    ][:2]
    url = f"{own_forge.api_url(INRIA)}/groups/gazelle/projects"
    params = {"include_subgroups": "true", "with_shared": "false", "per_page": 100}
    before, _ = follow(own_forge, url, params)
    dataset.remove_repository(INRIA, victim.full_name)
    assert api(own_forge, f"/projects/{victim.database_id}").status_code == 404
    after, _ = follow(own_forge, url, params)
    assert len(after) == len(before) - 1
    with pytest.raises(KeyError):
        dataset.remove_repository(INRIA, "gazelle/library", victim.name)
    dataset.update_repository(
        INRIA, changed.full_name, last_activity_at="2022-01-02T03:04:05Z", stars=42
    )
    project = api(own_forge, f"/projects/{changed.database_id}").json()
    assert project["last_activity_at"] == "2022-01-02T03:04:05.000Z" and project["star_count"] == 42
    listed = {p["id"]: p for p in follow(own_forge, url, params)[0]}
    assert listed[changed.database_id]["star_count"] == 42
