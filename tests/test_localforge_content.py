"""The local forge's file contents and histories: REUSE ``LICENSES/`` directories, package
manifests, publiccode.yml variants (checked with the crawler's own readers), and GitLab's
commits API."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime

import gitlab
import pytest
import requests

from crawler.licences import normalise
from crawler.licences.manifests import from_manifest
from crawler.licences.spdx import NONE
from crawler.publiccode import validate
from localforge import (
    GITLAB_INSTANCE,
    Dataset,
    LocalForge,
    Repository,
    content,
    history,
    licence_text,
)
from localforge.data import MANIFEST_NAMES, PUBLICCODE_ERRORS, PUBLICCODE_WARNINGS, current_spdx

GITHUB = "github.com"
INRIA = GITLAB_INSTANCE
TOKEN = {"Authorization": "token test-token"}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.load()


def every_repository(dataset: Dataset) -> list[Repository]:
    return [r for host in dataset.hosts() for r in dataset.all_repositories(host)]


def text_of(repo: Repository, path: str) -> str:
    entry = content.find(repo, path)
    assert entry is not None and not isinstance(entry, tuple) and entry.type == "blob"
    text = content.blob(repo, entry, path).text
    assert text is not None
    return text


def graphql(forge: LocalForge, query: str, variables: dict) -> dict:
    response = requests.post(
        f"{forge.api_url(GITHUB)}/graphql",
        json={"query": query, "variables": variables},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def gitlab_api(forge: LocalForge, path: str, **kwargs) -> requests.Response:
    return requests.get(f"{forge.api_url(INRIA)}{path}", timeout=10, **kwargs)


def parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


# --- stability ---------------------------------------------------------------------------------


def test_existing_distributions_do_not_shift(dataset):
    """The new choices draw from a second hash: what the first one chose stays where it was."""
    counts: Counter[tuple[str, str]] = Counter()
    for repo in every_repository(dataset):
        forge = "github" if repo.host == GITHUB else "gitlab"
        for role in {e.role for e in repo.entries} & {"readme", "licence", "publiccode"}:
            counts[(forge, role)] += 1
        counts[(forge, "licence file")] += repo.licence_file_spdx is not None
    assert counts == {
        ("github", "readme"): 1935,
        ("github", "licence"): 1329,
        ("github", "licence file"): 1329,
        ("github", "publiccode"): 107,
        ("gitlab", "readme"): 2477,
        ("gitlab", "licence"): 1634,
        ("gitlab", "licence file"): 1634,
        ("gitlab", "publiccode"): 128,
    }


# --- REUSE -------------------------------------------------------------------------------------


def test_reuse_licences_directory(dataset):
    reuse = [r for r in every_repository(dataset) if r.reuse_spdx]
    public = [r for r in every_repository(dataset) if r.visibility == "public"]
    assert 0.02 < len(reuse) / len(public) < 0.04
    alone = [r for r in reuse if r.licence_file_spdx is None]
    assert alone and len(alone) < len(reuse), "with and without a root licence file"
    single = [r for r in reuse if len(r.reuse_spdx) == 1]
    assert len(single) > 0.7 * len(reuse) and len(single) < len(reuse)
    for repo in reuse:
        if repo.licence_file_spdx is not None:
            assert current_spdx(repo.licence_file_spdx) in repo.reuse_spdx
            assert repo.code_licence == current_spdx(repo.licence_file_spdx)
        elif len(repo.reuse_spdx) == 1:
            assert repo.code_licence == repo.reuse_spdx[0]
        tree = content.find(repo, "LICENSES")
        assert not isinstance(tree, tuple) and tree is not None and tree.type == "tree"
        assert [e.name for e in tree.children] == [f"{i}.txt" for i in repo.reuse_spdx]
        for spdx_id in repo.reuse_spdx:
            text = text_of(repo, f"LICENSES/{spdx_id}.txt")
            assert text == licence_text(spdx_id)
            assert len(text) > 600, f"a real text for {spdx_id}"
        if content.find(repo, "REUSE.toml") is not None:
            annotations = tomllib.loads(text_of(repo, "REUSE.toml"))["annotations"]
            declared = {a["SPDX-License-Identifier"] for a in annotations}
            assert declared == set(repo.reuse_spdx)
    assert not any(r.reuse_spdx for r in every_repository(dataset) if r.is_empty)


def test_reuse_over_github_graphql_and_rest(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(GITHUB)
        if r.reuse_spdx and r.licence_file_spdx is None
    )
    first = repo.reuse_spdx[0]
    data = graphql(
        localforge,
        """query($owner: String!, $name: String!, $file: String!) {
      repository(owner: $owner, name: $name) {
        licenseInfo { spdxId }
        dir: object(expression: "HEAD:LICENSES") {
          __typename ... on Tree { entries { name type } }
        }
        file: object(expression: $file) { __typename ... on Blob { text } }
      }
    }""",
        {"owner": repo.owner, "name": repo.name, "file": f"HEAD:LICENSES/{first}.txt"},
    )["repository"]
    assert data["licenseInfo"] is None  # GitHub does not read LICENSES/
    assert data["dir"]["__typename"] == "Tree"
    assert data["dir"]["entries"] == [{"name": f"{i}.txt", "type": "blob"} for i in repo.reuse_spdx]
    assert data["file"] == {"__typename": "Blob", "text": licence_text(first)}
    listing = requests.get(
        f"{localforge.api_url(GITHUB)}/repos/{repo.full_name}/contents/LICENSES",
        headers=TOKEN,
        timeout=10,
    ).json()
    assert [e["name"] for e in listing] == [f"{i}.txt" for i in repo.reuse_spdx]
    root_licence = requests.get(
        f"{localforge.api_url(GITHUB)}/repos/{repo.full_name}/license", headers=TOKEN, timeout=10
    )
    assert root_licence.status_code == 404


def test_reuse_over_gitlab(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(INRIA)
        if r.reuse_spdx and r.visibility == "public"
    )
    tree = gitlab_api(
        localforge, f"/projects/{repo.database_id}/repository/tree", params={"path": "LICENSES"}
    ).json()
    assert [e["path"] for e in tree] == [f"LICENSES/{i}.txt" for i in repo.reuse_spdx]
    raw = gitlab_api(
        localforge,
        f"/projects/{repo.database_id}/repository/files/LICENSES%2F{repo.reuse_spdx[0]}.txt/raw",
    )
    assert raw.status_code == 200 and raw.text == licence_text(repo.reuse_spdx[0])


# --- manifests ---------------------------------------------------------------------------------


def expected_declaration(declared: str | None) -> str | None:
    if declared is None:
        return None
    return NONE if declared in ("UNLICENSED", "proprietary") else normalise(declared)


def family(spdx_id: str) -> str:
    return spdx_id.removesuffix("-only").removesuffix("-or-later")


def test_manifests_are_valid_and_declare_their_truth(dataset):
    outcomes: Counter[str] = Counter()
    for repo in every_repository(dataset):
        name = repo.manifest_name
        if name is None:
            assert repo.manifest_licence is None
            continue
        assert name in MANIFEST_NAMES
        text = text_of(repo, name)
        if name.endswith(".json"):
            json.loads(text)
        elif name.endswith(".toml"):
            tomllib.loads(text)
        else:
            ET.fromstring(text)
        assert from_manifest(name, text) == expected_declaration(repo.manifest_licence), (
            repo.full_name
        )
        own = repo.code_licence
        if repo.manifest_licence is None:
            outcomes["none"] += 1
        elif own is None:
            outcomes[f"without licence: {repo.manifest_licence}"] += 1
        elif family(normalise(repo.manifest_licence)) == family(own):
            outcomes["same"] += 1  # GPL-3.0-or-later beside a GPL-3.0 file included
        else:
            outcomes["different"] += 1
    assert outcomes["same"] > 3 * outcomes["different"] > 0
    assert outcomes["none"] > 0
    for declared in ("ISC", "MIT", "UNLICENSED", "proprietary", "EUPL-1.2"):
        assert outcomes[f"without licence: {declared}"] > 0, declared


def test_manifest_formats(dataset):
    by_name = {}
    for repo in every_repository(dataset):
        if repo.manifest_licence is not None:
            by_name.setdefault(repo.manifest_name, repo)
    assert set(by_name) == set(MANIFEST_NAMES)
    pom = ET.fromstring(text_of(by_name["pom.xml"], "pom.xml"))
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    assert pom.find("m:licenses/m:license/m:name", namespace) is not None
    assert pom.find("m:licenses/m:license/m:url", namespace) is not None
    cargo = tomllib.loads(text_of(by_name["Cargo.toml"], "Cargo.toml"))
    assert cargo["package"]["license"] == by_name["Cargo.toml"].manifest_licence
    styles = set()
    for repo in every_repository(dataset):
        if repo.manifest_name == "pyproject.toml":
            licence = tomllib.loads(text_of(repo, "pyproject.toml"))["project"].get("license")
            styles.add(type(licence).__name__ if not isinstance(licence, dict) else str(*licence))
    assert styles == {"str", "text", "file", "NoneType"}


def test_manifest_over_github_graphql(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(GITHUB)
        if r.manifest_name == "package.json" and r.manifest_licence
    )
    data = graphql(
        localforge,
        """query($owner: String!, $name: String!) {
      repository(owner: $owner, name: $name) {
        object(expression: "HEAD:package.json") { __typename ... on Blob { text } }
      }
    }""",
        {"owner": repo.owner, "name": repo.name},
    )["repository"]["object"]
    assert data["__typename"] == "Blob"
    assert json.loads(data["text"])["license"] == repo.manifest_licence


# --- publiccode.yml ----------------------------------------------------------------------------


def test_publiccode_variants_validate_as_intended(dataset):
    seen: Counter[tuple[str | None, str | None]] = Counter()
    names: Counter[str] = Counter()
    for repo in every_repository(dataset):
        name = repo.publiccode_name
        if name is None:
            assert repo.publiccode_variant is None and repo.publiccode_issue is None
            continue
        names[name] += 1
        result = validate(text_of(repo, name))
        if repo.publiccode_variant == "valid":
            assert result.valid and not result.warnings, (repo.full_name, result.warnings)
            assert repo.publiccode_issue is None
        elif repo.publiccode_variant == "warnings":
            assert result.valid, (repo.full_name, result.errors)
            assert [w.path for w in result.warnings] == [repo.publiccode_issue]
        else:
            assert repo.publiccode_variant == "invalid"
            assert [e.path for e in result.errors] == [repo.publiccode_issue], result.errors
        assert result.url == repo.html_url
        if repo.publiccode_issue != "legal.license":
            assert result.licence_spdx == normalise(repo.code_licence or "etalab-2.0")
        seen[(repo.publiccode_variant, repo.publiccode_issue)] += 1
    assert seen[("valid", None)] > sum(seen.values()) / 2
    for issue in PUBLICCODE_WARNINGS:
        assert seen[("warnings", issue)] > 0, issue
    for issue in PUBLICCODE_ERRORS:
        assert seen[("invalid", issue)] > 0, issue
    assert 0 < names["publiccode.yaml"] < names["publiccode.yml"]


def test_publiccode_over_github_graphql(localforge):
    repo = next(
        r
        for r in localforge.dataset.all_repositories(GITHUB)
        if r.publiccode_name == "publiccode.yml" and r.publiccode_variant == "invalid"
    )
    data = graphql(
        localforge,
        """query($owner: String!, $name: String!) {
      repository(owner: $owner, name: $name) {
        object(expression: "HEAD:publiccode.yml") { __typename ... on Blob { text } }
      }
    }""",
        {"owner": repo.owner, "name": repo.name},
    )["repository"]["object"]
    assert data["__typename"] == "Blob"
    assert not validate(data["text"]).valid


# --- GitLab commits ----------------------------------------------------------------------------


def commits_url(forge: LocalForge, repo: Repository) -> str:
    return f"{forge.api_url(INRIA)}/projects/{repo.database_id}/repository/commits"


def public_projects(forge: LocalForge) -> list[Repository]:
    return [
        r
        for r in forge.dataset.all_repositories(INRIA)
        if r.visibility == "public" and not r.is_empty
    ]


def test_commits_head_is_the_last_commit(localforge):
    for repo in public_projects(localforge)[:40]:
        response = requests.get(commits_url(localforge, repo), params={"per_page": 1}, timeout=10)
        assert response.status_code == 200
        (head,) = response.json()
        assert head["id"] == repo.commit_oid
        assert parse(head["committed_date"]) == parse(repo.last_commit_at)
        assert head["created_at"] == head["committed_date"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000[+-]\d\d:\d\d", head["created_at"])
        assert parse(head["authored_date"]) <= parse(head["committed_date"])
        assert list(head) == [
            "id",
            "short_id",
            "created_at",
            "parent_ids",
            "title",
            "message",
            "author_name",
            "author_email",
            "authored_date",
            "committer_name",
            "committer_email",
            "committed_date",
            "trailers",
            "extended_trailers",
            "web_url",
        ]
        assert head["web_url"] == f"https://{INRIA}/{repo.full_name}/-/commit/{repo.commit_oid}"
        assert head["short_id"] == repo.commit_oid[:8]
        assert "X-Total" not in response.headers and "X-Total-Pages" not in response.headers


def test_commits_pages_walk_the_whole_history(localforge):
    repo = next(r for r in public_projects(localforge) if 45 <= r.commit_count <= 200)
    gl = gitlab.Gitlab(url=localforge.gitlab_url(INRIA), private_token="x")
    commits = gl.projects.get(repo.database_id).commits.list(get_all=True, per_page=20)
    assert len(commits) == repo.commit_count
    ids = [c.id for c in commits]
    assert len(set(ids)) == len(ids) and ids[0] == repo.commit_oid
    for newer, older in itertools.pairwise(commits):
        assert newer.parent_ids == [older.id]
        assert parse(newer.committed_date) >= parse(older.committed_date)
    assert commits[-1].parent_ids == []
    assert commits[-1].title in ("Initial commit", "Premier commit")

    first = requests.get(commits_url(localforge, repo), params={"per_page": 20}, timeout=10)
    assert first.headers["X-Page"] == "1" and first.headers["X-Next-Page"] == "2"
    assert first.headers["X-Per-Page"] == "20" and first.headers["X-Prev-Page"] == ""
    assert 'rel="next"' in first.headers["Link"] and 'rel="first"' in first.headers["Link"]
    assert 'rel="last"' not in first.headers["Link"]
    last_page = (repo.commit_count - 1) // 20 + 1
    last = requests.get(
        commits_url(localforge, repo), params={"per_page": 20, "page": last_page}, timeout=10
    )
    assert len(last.json()) == repo.commit_count - 20 * (last_page - 1)
    assert last.headers["X-Prev-Page"] == str(last_page - 1)


def test_commits_a_full_last_page_is_followed_by_an_empty_one(localforge):
    repo = next(r for r in public_projects(localforge) if r.commit_count <= 100)
    url = commits_url(localforge, repo)
    size = repo.commit_count
    full = requests.get(url, params={"per_page": size}, timeout=10)
    assert len(full.json()) == size and full.headers["X-Next-Page"] == "2"  # GitLab: no count
    empty = requests.get(url, params={"per_page": size, "page": 2}, timeout=10)
    assert empty.json() == [] and empty.headers["X-Next-Page"] == ""
    assert 'rel="next"' not in empty.headers["Link"]


def test_commits_refs_dates_trailers_and_errors(localforge):
    repo = next(r for r in public_projects(localforge) if r.commit_count > 300)
    url = commits_url(localforge, repo)
    for ref in (repo.default_branch, "HEAD", repo.commit_oid, ""):
        head = requests.get(url, params={"ref_name": ref, "per_page": 1}, timeout=10).json()
        assert head[0]["id"] == repo.commit_oid, ref
    # As GitLab (spec/requests/api/commits_spec.rb): an unknown ref lists nothing, a malformed
    # one is refused.
    unknown = requests.get(url, params={"ref_name": "does-not-exist"}, timeout=10)
    assert unknown.status_code == 200 and unknown.json() == []
    malformed = requests.get(url, params={"ref_name": "-main"}, timeout=10)
    assert malformed.status_code == 400
    assert malformed.json() == {"message": "ref_name is invalid"}

    tenth = history.commit(repo, 10).committed_at
    thirtieth = history.commit(repo, 30).committed_at
    window = requests.get(
        url,
        params={"since": thirtieth.isoformat(), "until": tenth.isoformat(), "per_page": 100},
        timeout=10,
    ).json()
    dates = [parse(c["committed_date"]) for c in window]
    assert dates and all(thirtieth <= d <= tenth for d in dates)
    assert {c["id"] for c in window} >= {history.oid(repo, i) for i in range(11, 30)}
    bad = requests.get(url, params={"since": "yesterday"}, timeout=10)
    assert bad.status_code == 400

    signed = next(
        r
        for r in public_projects(localforge)
        if history.commit(r, 0).trailers and r.commit_count > 1
    )
    plain = requests.get(commits_url(localforge, signed), timeout=10).json()[0]
    assert plain["trailers"] == {} and "Signed-off-by: " in plain["message"]
    parsed = requests.get(
        commits_url(localforge, signed), params={"trailers": "true"}, timeout=10
    ).json()[0]
    signature = f"{parsed['author_name']} <{parsed['author_email']}>"
    assert parsed["trailers"] == {"Signed-off-by": signature}
    assert parsed["extended_trailers"] == {"Signed-off-by": [signature]}


def test_commits_of_empty_hidden_and_unknown_projects(localforge):
    dataset = localforge.dataset
    empty = next(r for r in dataset.all_repositories(INRIA) if r.is_empty)
    response = requests.get(commits_url(localforge, empty), timeout=10)
    assert response.status_code == 200 and response.json() == []  # GitLab's empty_repo
    private = next(r for r in dataset.all_repositories(INRIA) if r.visibility == "private")
    hidden = requests.get(commits_url(localforge, private), timeout=10)
    assert hidden.status_code == 404 and hidden.json() == {"message": "404 Project Not Found"}
    missing = gitlab_api(localforge, "/projects/999999999/repository/commits")
    assert missing.status_code == 404


def test_commit_dates_in_paris_time():
    summer = history.paris(datetime.fromisoformat("2021-07-01T12:00:00+00:00"))
    winter = history.paris(datetime.fromisoformat("2021-12-01T12:00:00+00:00"))
    assert str(summer) == "UTC+02:00" and str(winter) == "UTC+01:00"
    # 2021: summer time from 28 March 01:00 UTC to 31 October 01:00 UTC
    assert str(history.paris(datetime.fromisoformat("2021-03-28T00:59:59+00:00"))) == "UTC+01:00"
    assert str(history.paris(datetime.fromisoformat("2021-03-28T01:00:00+00:00"))) == "UTC+02:00"
    assert str(history.paris(datetime.fromisoformat("2021-10-31T01:00:00+00:00"))) == "UTC+01:00"


def test_commits_follow_upstream_changes():
    dataset = Dataset.load()
    with LocalForge(dataset) as forge:
        repo = public_projects(forge)[0]
        dataset.update_repository(INRIA, repo.full_name, last_commit_at="2022-02-02T10:00:00Z")
        head = requests.get(commits_url(forge, repo), timeout=10).json()[0]
        assert parse(head["committed_date"]) == parse("2022-02-02T10:00:00Z")
