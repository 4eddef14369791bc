"""The local forge over real HTTP, with requests and PyGithub: formats, paging, errors."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException

from localforge import USER_LOGINS, Dataset, LocalForge
from localforge.licences import LICENCES_BY_NAME

DATA = Path(__file__).resolve().parent.parent / "localforge" / "data"
TOKEN = {"Authorization": "token test-token"}

CRAWLER_QUERY = """
query($cursor: String) {
  rateLimit { cost limit remaining resetAt used nodeCount }
  o0: repositoryOwner(login: "etalab") {
    __typename login avatarUrl
    ... on Organization { name description websiteUrl email location createdAt }
    ... on User { name bio websiteUrl userEmail: email location createdAt }
    repositories(first: 100, after: $cursor, privacy: PUBLIC, ownerAffiliations: [OWNER],
                 orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId nameWithOwner name url description homepageUrl
        isFork isArchived isTemplate isPrivate isEmpty createdAt updatedAt pushedAt
        stargazerCount forkCount
        issues(states: [OPEN]) { totalCount }
        primaryLanguage { name }
        repositoryTopics(first: 20) { nodes { topic { name } } }
        licenseInfo { spdxId key name }
        defaultBranchRef { name target { ... on Commit { committedDate } } }
        object(expression: "HEAD:") {
          ... on Tree {
            entries { name type path object { ... on Blob { byteSize isBinary text } } }
          }
        }
      }
    }
  }
  o1: repositoryOwner(login: "does-not-exist") { login }
}
"""


def csv_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["platform"] == "GitHub"]


ETALAB = [
    r for r in csv_rows("repositories-2021-11-15-sample.csv") if r["organization_name"] == "etalab"
]


def graphql(
    forge: LocalForge, query: str, variables: dict | None = None, headers: dict | None = None
) -> requests.Response:
    return requests.post(
        f"{forge.api_url('github.com')}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=TOKEN if headers is None else headers,
        timeout=10,
    )


def rest(forge: LocalForge, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("headers", TOKEN)
    return requests.get(f"{forge.api_url('github.com')}{path}", timeout=10, **kwargs)


# --- REST ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [None, 100])
def test_rest_pages_follow_link_headers_and_read_every_repository_once(localforge, per_page):
    url = f"{localforge.api_url('github.com')}/orgs/etalab/repos"
    if per_page:
        url += f"?per_page={per_page}"
    names, pages = [], 0
    while url:
        response = requests.get(url, headers=TOKEN, timeout=10)
        assert response.status_code == 200
        names += [r["full_name"] for r in response.json()]
        pages += 1
        link = response.headers.get("Link", "")
        if pages > 1:
            assert 'rel="prev"' in link and 'rel="first"' in link
        match = re.search(r'<([^>]+)>; rel="next"', link)
        url = match.group(1) if match else None
        if url:
            assert url.startswith(f"{localforge.url}/github.com/orgs/etalab/repos?")
    assert pages == (3 if per_page else 10)
    assert len(names) == len(set(names)) == len(ETALAB) == 286


def test_rest_repository_object_has_githubs_shape(localforge):
    source = next(r for r in ETALAB if r["license"] == "MIT License")
    response = rest(localforge, f"/repos/etalab/{source['name']}")
    repo = response.json()
    assert repo["full_name"] == f"etalab/{source['name']}"
    assert repo["html_url"] == source["repository_url"]
    assert repo["owner"]["login"] == "etalab" and repo["owner"]["type"] == "Organization"
    assert repo["license"]["spdx_id"] == "MIT" and repo["license"]["key"] == "mit"
    assert repo["stargazers_count"] == int(source["stars_count"])
    assert repo["created_at"] == source["creation_date"]
    assert repo["pushed_at"] == source["last_modification"]
    assert repo["visibility"] == "public" and repo["default_branch"] in ("main", "master")
    # API URLs point back at the local forge, with its prefix
    assert repo["url"] == f"{localforge.api_url('github.com')}/repos/etalab/{source['name']}"


def test_user_namespace(localforge):
    login = "riatelab"
    assert login in USER_LOGINS
    user = rest(localforge, f"/users/{login}").json()
    assert user["type"] == "User" and user["login"] == login
    assert rest(localforge, f"/orgs/{login}").status_code == 404
    assert rest(localforge, "/users/etalab").json()["type"] == "Organization"
    repos = rest(localforge, f"/users/{login}/repos", params={"per_page": 100}).json()
    expected = {
        r["name"]
        for r in csv_rows("repositories-2021-11-15-sample.csv")
        if r["organization_name"] == login
    }
    assert {r["name"] for r in repos} == expected
    # GitHub's default order for a user's repositories is by full name
    assert [r["full_name"].lower() for r in repos] == sorted(r["full_name"].lower() for r in repos)


def test_logins_are_case_insensitive(localforge):
    org = rest(localforge, "/orgs/ETALAB").json()
    assert org["login"] == "etalab" and org["public_repos"] == 286


def test_etag_then_304_uses_no_rate_limit(localforge):
    first = rest(localforge, "/orgs/etalab/repos", params={"per_page": 5})
    etag = first.headers["ETag"]
    assert re.fullmatch(r'W/"[0-9a-f]{64}"', etag)
    before = localforge.stats["github.com"]["304"]
    again = rest(
        localforge,
        "/orgs/etalab/repos",
        params={"per_page": 5},
        headers={**TOKEN, "If-None-Match": etag},
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["X-RateLimit-Used"] == first.headers["X-RateLimit-Used"]
    assert localforge.stats["github.com"]["304"] == before + 1
    changed = rest(
        localforge,
        "/orgs/etalab/repos",
        params={"per_page": 5},
        headers={**TOKEN, "If-None-Match": 'W/"stale"'},
    )
    assert changed.status_code == 200


def test_rate_limit_headers(localforge):
    headers = {"Authorization": "Bearer rate-limit-test"}
    first = rest(localforge, "/orgs/etalab", headers=headers)
    second = rest(localforge, "/orgs/etalab", headers=headers)
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert first.headers["X-RateLimit-Resource"] == "core"
    assert int(first.headers["X-RateLimit-Remaining"]) == 4999
    assert int(second.headers["X-RateLimit-Remaining"]) == 4998
    assert int(second.headers["X-RateLimit-Used"]) == 2
    assert int(first.headers["X-RateLimit-Reset"]) > time.time()
    anonymous = rest(localforge, "/orgs/etalab", headers={})
    assert anonymous.headers["X-RateLimit-Limit"] == "60"
    status = rest(localforge, "/rate_limit", headers=headers).json()
    assert status["resources"]["core"]["used"] == 2  # /rate_limit itself is free
    assert status["rate"]["remaining"] == 4998


def test_rate_limit_exhausted():
    with LocalForge(Dataset.load(), rate_limit=2) as forge:
        for _ in range(2):
            assert rest(forge, "/orgs/etalab").status_code == 200
        refused = rest(forge, "/orgs/etalab")
        assert refused.status_code == 403
        assert "rate limit exceeded" in refused.json()["message"]
        assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_not_found_shape(localforge):
    response = rest(localforge, "/orgs/no-such-org-xyz")
    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }
    assert rest(localforge, "/repos/etalab/no-such-repo").status_code == 404


def test_bad_token_is_refused():
    with LocalForge(Dataset.load(), bad_tokens={"revoked"}) as forge:
        response = rest(forge, "/orgs/etalab", headers={"Authorization": "token revoked"})
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"
        assert (
            graphql(
                forge, "{ viewer { login } }", headers={"Authorization": "token revoked"}
            ).status_code
            == 401
        )
        assert rest(forge, "/orgs/etalab").status_code == 200


def test_contents_readme_and_licence(localforge):
    repo = next(
        r
        for r in localforge.dataset.repositories("github.com", "etalab")
        if r.licence is not None
        and not r.licence.is_other
        and any(e.role == "readme" for e in r.entries)
    )
    root = rest(localforge, f"/repos/etalab/{repo.name}/contents/").json()
    assert {e["name"] for e in root} == {e.name for e in repo.entries}
    readme = rest(localforge, f"/repos/etalab/{repo.name}/readme").json()
    assert readme["encoding"] == "base64" and readme["type"] == "file"
    licence = rest(localforge, f"/repos/etalab/{repo.name}/license").json()
    assert licence["license"]["spdx_id"] == repo.licence.spdx_id


# --- GraphQL ------------------------------------------------------------------------------------


def crawl_etalab(forge: LocalForge) -> list[dict]:
    nodes, cursor = [], None
    while True:
        response = graphql(forge, CRAWLER_QUERY, {"cursor": cursor})
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body
        assert body["data"]["o1"] is None
        connection = body["data"]["o0"]["repositories"]
        assert connection["totalCount"] == 286
        nodes += connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        cursor = connection["pageInfo"]["endCursor"]


def test_graphql_crawler_query_pages_over_every_repository(localforge):
    nodes = crawl_etalab(localforge)
    assert len(nodes) == len({n["databaseId"] for n in nodes}) == 286
    created = [n["createdAt"] for n in nodes]
    assert created == sorted(created)


def test_graphql_values_match_the_csv(localforge):
    source = next(
        r for r in ETALAB if r["license"] == "MIT License" and r["topics"] and r["homepage"]
    )
    node = next(n for n in crawl_etalab(localforge) if n["name"] == source["name"])
    assert node["nameWithOwner"] == f"etalab/{source['name']}"
    assert node["url"] == source["repository_url"]
    assert node["description"] == (source["description"] or None)
    assert node["homepageUrl"] == source["homepage"]
    assert node["isFork"] == (source["is_fork"] == "True")
    assert node["isArchived"] == (source["is_archived"] == "True")
    assert node["createdAt"] == source["creation_date"]
    assert node["updatedAt"] == source["last_update"]
    assert node["pushedAt"] == source["last_modification"]
    assert node["stargazerCount"] == int(source["stars_count"])
    assert node["forkCount"] == int(source["forks_count"])
    assert node["issues"]["totalCount"] == int(source["open_issues_count"])
    assert (node["primaryLanguage"] or {}).get("name", "") == source["language"]
    assert [t["topic"]["name"] for t in node["repositoryTopics"]["nodes"]] == source[
        "topics"
    ].split(",")
    assert node["licenseInfo"] == {"spdxId": "MIT", "key": "mit", "name": "MIT License"}
    branch = node["defaultBranchRef"]
    assert branch["name"] in ("main", "master")
    assert branch["target"]["committedDate"] <= source["last_modification"]
    entries = {e["name"]: e for e in node["object"]["entries"]}
    licence_files = [
        e for name, e in entries.items() if name.upper().startswith(("LICEN", "COPYING"))
    ]
    assert licence_files and "MIT" in licence_files[0]["object"]["text"]
    for entry in entries.values():
        if entry["type"] == "blob" and not entry["object"]["isBinary"]:
            assert entry["object"]["byteSize"] == len(entry["object"]["text"].encode())


def test_graphql_user_owner_and_organization_fields(localforge):
    body = graphql(
        localforge,
        """{
      u: repositoryOwner(login: "antique-team") { __typename login ... on User { bio } }
      o: organization(login: "etalab") { name websiteUrl email }
      s: user(login: "riatelab") { repositories(first: 1) { totalCount } }
    }""",
    ).json()
    assert "errors" not in body
    assert body["data"]["u"] == {"__typename": "User", "login": "Antique-team", "bio": None}
    assert body["data"]["o"] == {
        "name": "Etalab",
        "websiteUrl": "https://www.etalab.gouv.fr",
        "email": "contact@etalab.gouv.fr",
    }
    assert body["data"]["s"]["repositories"]["totalCount"] == 35


def test_graphql_blob_languages_and_repository(localforge):
    repo = next(
        r
        for r in localforge.dataset.repositories("github.com", "etalab")
        if len(r.languages) > 1 and any(e.name == "README.md" for e in r.entries)
    )
    body = graphql(
        localforge,
        """query($name: String!) {
      repository(owner: "etalab", name: $name) {
        readme: object(expression: "HEAD:README.md") { ... on Blob { text byteSize isBinary oid } }
        missing: object(expression: "HEAD:nope.txt") { id }
        languages(first: 10) { totalSize edges { size node { name } } }
      }
    }""",
        {"name": repo.name},
    ).json()
    assert "errors" not in body
    data = body["data"]["repository"]
    assert data["missing"] is None
    assert data["readme"]["text"].startswith(f"# {repo.name}")
    assert re.fullmatch("[0-9a-f]{40}", data["readme"]["oid"])
    edges = data["languages"]["edges"]
    assert [(e["node"]["name"], e["size"]) for e in edges] == list(repo.languages)
    assert data["languages"]["totalSize"] == sum(size for _, size in repo.languages)


def test_graphql_invalid_query_is_rejected_without_data(localforge):
    response = graphql(localforge, "{ viewer { nope } }")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Cannot query field 'nope' on type 'User'")
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 12}]
    syntax = graphql(localforge, "{ viewer { ").json()
    assert "data" not in syntax and syntax["errors"][0]["locations"]


def test_graphql_pagination_boundaries(localforge):
    too_many = graphql(
        localforge,
        '{ organization(login: "etalab") { repositories(first: 101) { nodes { name } } } }',
    ).json()
    assert "data" not in too_many
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert too_many["errors"][0]["message"] == (
        "Requesting 101 records on the `repositories` connection exceeds the `first` limit of "
        "100 records."
    )
    missing = graphql(
        localforge, '{ organization(login: "etalab") { repositories { nodes { name } } } }'
    ).json()
    assert missing["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert missing["errors"][0]["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `repositories` "
        "connection."
    )
    # a count alone needs no boundary, as on GitHub
    count = graphql(
        localforge, '{ organization(login: "etalab") { repositories { totalCount } } }'
    ).json()
    assert count == {"data": {"organization": {"repositories": {"totalCount": 286}}}}


def test_graphql_unknown_logins(localforge):
    body = graphql(
        localforge,
        """{
      a: repositoryOwner(login: "no-such-login-xyz") { login }
      b: organization(login: "no-such-login-xyz") { login }
      c: organization(login: "etalab") { login }
    }""",
    ).json()
    assert body["data"] == {"a": None, "b": None, "c": {"login": "etalab"}}
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "path": ["b"],
            "locations": [{"line": 3, "column": 7}],
            "message": (
                "Could not resolve to an Organization with the login of 'no-such-login-xyz'."
            ),
        }
    ]
    user = graphql(localforge, '{ user(login: "etalab") { login } }').json()
    assert user["errors"][0]["type"] == "NOT_FOUND"


def test_graphql_invalid_cursor(localforge):
    body = graphql(
        localforge,
        '{ organization(login: "etalab") { repositories(first: 1, after: "bad") { totalCount } } }',
    ).json()
    assert body["data"] == {"organization": None}
    assert body["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"


def test_graphql_requires_a_token(localforge):
    response = graphql(localforge, "{ viewer { login } }", headers={})
    assert response.status_code == 401
    assert response.json()["message"] == "This endpoint requires you to be authenticated."


def test_graphql_rate_limit_headers_and_cost(localforge):
    response = graphql(localforge, CRAWLER_QUERY, headers={"Authorization": "token cost-test"})
    assert response.headers["X-RateLimit-Resource"] == "graphql"
    rate = response.json()["data"]["rateLimit"]
    assert rate["cost"] == 2 and rate["nodeCount"] == 2100
    assert rate["remaining"] == rate["limit"] - rate["used"] == 4998


def test_pygithub_end_to_end(localforge):
    github = Github(base_url=localforge.api_url("github.com"), auth=Auth.Token("x"))
    _, body = github.requester.graphql_query(CRAWLER_QUERY, {"cursor": None})
    assert body["data"]["o0"]["repositories"]["totalCount"] == 286
    org = github.get_organization("etalab")
    assert org.name == "Etalab"
    assert sum(1 for _ in org.get_repos()) == 286  # PyGithub follows the Link headers
    with pytest.raises(GithubException):
        github.requester.graphql_query('{ organization(login: "no-such-login-xyz") { login } }', {})


# --- data, mutations, faults --------------------------------------------------------------------


def test_scale_replicates_every_owner():
    one, two = Dataset.load(), Dataset.load(scale=2)
    assert len(two.accounts("github.com")) == 2 * len(one.accounts("github.com"))
    assert sum(1 for _ in two.all_repositories("github.com")) == 2 * 2105
    assert len(two.repositories("github.com", "etalab-2")) == 286
    assert two.account("github.com", "riatelab-2").kind == "user"
    ids = [r.database_id for r in two.all_repositories("github.com")]
    assert len(set(ids)) == len(ids)
    # the original owners are unchanged by scaling
    assert one.repositories("github.com", "etalab") == two.repositories("github.com", "etalab")


def test_synthetic_fields_are_deterministic():
    first, second = Dataset.load(), Dataset.load()
    assert list(first.all_repositories("github.com")) == list(second.all_repositories("github.com"))


def test_every_csv_licence_name_is_mapped():
    names = {r["license"] for r in csv_rows("repositories-2021-11-15-sample.csv") if r["license"]}
    assert names <= set(LICENCES_BY_NAME)


def test_upstream_changes_show_in_both_apis():
    dataset = Dataset.load()
    with LocalForge(dataset) as forge:
        victim = dataset.repositories("github.com", "etalab")[0]
        dataset.remove_repository("github.com", "etalab", victim.name)
        assert rest(forge, f"/repos/etalab/{victim.name}").status_code == 404
        assert rest(forge, "/orgs/etalab").json()["public_repos"] == 285
        assert len(crawl_etalab_names(forge)) == 285
        with pytest.raises(KeyError):
            dataset.remove_repository("github.com", "etalab", victim.name)
        other = dataset.repositories("github.com", "etalab")[0]
        query = """query($name: String!) {
          repository(owner: "etalab", name: $name) { stargazerCount pushedAt } }"""
        before = graphql(forge, query, {"name": other.name}).json()["data"]["repository"]
        assert before["stargazerCount"] == other.stars
        dataset.update_repository(
            "github.com", "etalab", other.name, stars=12345, pushed_at="2022-01-01T00:00:00Z"
        )
        after = graphql(forge, query, {"name": other.name}).json()["data"]["repository"]
        assert after == {"stargazerCount": 12345, "pushedAt": "2022-01-01T00:00:00Z"}


def crawl_etalab_names(forge: LocalForge) -> set[str]:
    query = """query($cursor: String) { organization(login: "etalab") {
      repositories(first: 100, after: $cursor) { pageInfo { hasNextPage endCursor }
                                                  nodes { name } } } }"""
    names: set[str] = set()
    cursor = None
    while True:
        connection = graphql(forge, query, {"cursor": cursor}).json()["data"]["organization"][
            "repositories"
        ]
        names |= {n["name"] for n in connection["nodes"]}
        if not connection["pageInfo"]["hasNextPage"]:
            return names
        cursor = connection["pageInfo"]["endCursor"]


def test_faults_latency_and_counters():
    with LocalForge(Dataset.load(), fault_rate=1.0, seed=1) as forge:
        outcomes = set()
        for _ in range(12):
            try:
                outcomes.add(rest(forge, "/orgs/etalab").status_code)
            except requests.ConnectionError:
                outcomes.add("dropped")
        assert outcomes <= {500, 502, "dropped"} and len(outcomes) >= 2
        assert forge.stats["github.com"]["faults"] == 12
        assert forge.requests("github.com") == forge.requests() == 12
        forge.fault_rate = 0.0
        forge.latency = 0.2
        started = time.perf_counter()
        assert rest(forge, "/orgs/etalab").status_code == 200
        assert time.perf_counter() - started >= 0.2
        forge.reset_counters()
        assert forge.stats == {"github.com": {"rest": 0, "graphql": 0, "304": 0, "faults": 0}}


def test_counters_are_served_for_other_processes(localforge):
    import requests as http

    before = localforge.requests("github.com")
    http.get(f"{localforge.api_url('github.com')}/users/etalab", timeout=10)
    stats = http.get(f"{localforge.url}/_localforge/stats", timeout=10).json()
    assert stats["github.com"]["rest"] + stats["github.com"]["graphql"] == before + 1


def test_each_loaded_dataset_changes_alone():
    """``Dataset.load`` builds the bundled data once per process and hands out copies: a change
    to one dataset (a repository updated, removed or added, an account's count) is seen by
    that dataset only, and a local forge serving another one still serves the original."""
    changed, other = Dataset.load(), Dataset.load()
    host = "github.com"
    first, second = next(changed.all_repositories(host)), list(changed.all_repositories(host))[1]
    changed.update_repository(host, first.owner, first.name, stars=first.stars + 1000)
    changed.remove_repository(host, second.owner, second.name)
    assert changed.repository(host, first.owner, first.name).stars == first.stars + 1000
    assert changed.repository(host, second.owner, second.name) is None
    assert other.repository(host, first.owner, first.name).stars == first.stars
    assert other.repository(host, second.owner, second.name) == second
    assert (changed.version, other.version) == (2, 0)
    fresh = Dataset.load()
    assert [r.stars for r in fresh.all_repositories(host)] == [
        r.stars for r in other.all_repositories(host)
    ]
    with LocalForge(other) as forge:
        url = f"{forge.api_url(host)}/repos/{first.owner}/{first.name}"
        answer = requests.get(url, headers={"Authorization": "token test"}, timeout=10)
    assert answer.json()["stargazers_count"] == first.stars
