"""What the crawler reads beyond the listing, end to end on the local forge (real HTTP, real
clients): REUSE's LICENSES/ folder, package manifests and the README's licence section when the
licence is still unknown,
publiccode.yml files with their validation errors, GitLab's last commit, and the score."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crawler.forges.base import RetryPolicy
from crawler.licences import normalise
from crawler.models import Config, ForgeConfig
from crawler.pipeline import crawl
from crawler.score import score
from localforge import Dataset, LocalForge
from localforge.gitlab_data import GITLAB_INSTANCE

QUICK = RetryPolicy(attempts=6, backoff=0.01, max_wait=5, timeout=10)
TOKENS = {"GITHUB_TOKEN": "test-token", "GITLAB_TOKEN": "test-token"}


def instance_config(forge: LocalForge) -> Config:
    host = GITLAB_INSTANCE
    return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host)),))


@pytest.fixture(scope="module")
def crawled(localforge, github_crawl, gitlab_instance_crawl):
    """The local forge's GitHub accounts and its whole GitLab instance, each crawled once per
    test run (tests/conftest.py), read together: the two databases and their repositories."""
    for shared in (github_crawl, gitlab_instance_crawl):
        assert shared.report.accounts_failed == 0
    dbs = [shared.open() for shared in (github_crawl, gitlab_instance_crawl)]
    rows = {r["id"]: r for db in dbs for r in db.query("select * from repositories")}
    upstream = {
        f"{host}/{r.owner}/{r.name}".lower(): r
        for host in ("github.com", GITLAB_INSTANCE)
        for r in localforge.dataset.all_repositories(host)
        if r.visibility == "public"
    }
    assert set(rows) == set(upstream)
    return dbs, rows, upstream


def forge_is_silent(upstream) -> bool:
    """The forge reports no licence (GitHub: none or "other"; GitLab never does in listings)."""
    return upstream.licence is None or upstream.licence.is_other or upstream.host != "github.com"


def test_reuse_folder_alone_gives_its_licence(crawled):
    _dbs, rows, upstream = crawled
    cases = [
        (rid, repo)
        for rid, repo in upstream.items()
        if len(repo.reuse_spdx) == 1 and repo.licence_file_spdx is None and forge_is_silent(repo)
    ]
    hosts = {repo.host for _, repo in cases}
    assert hosts == {"github.com", GITLAB_INSTANCE}, "both forges need such repositories"
    for rid, repo in cases:
        assert rows[rid]["licence"] == repo.reuse_spdx[0], rid
        assert rows[rid]["licence_source"] == "detected", rid
        assert rows[rid]["has_licence_file"] == 1


def test_reuse_folder_with_several_licences_is_no_single_answer(crawled):
    _dbs, rows, upstream = crawled
    cases = [
        (rid, repo)
        for rid, repo in upstream.items()
        if len(repo.reuse_spdx) > 1
        and repo.licence_file_spdx is None
        and repo.manifest_licence is None
        and forge_is_silent(repo)
    ]
    assert cases
    for rid, _repo in cases:
        assert rows[rid]["licence"] == "NOASSERTION", rid


def manifest_silent(repo) -> bool:
    """Whether the repository's manifests name no free licence (none, or a refusal to)."""
    return repo.manifest_licence in (None, "UNLICENSED", "proprietary")


def test_manifest_declares_the_licence_when_there_is_no_licence_file(crawled):
    _dbs, rows, upstream = crawled
    declared = [
        (rid, repo)
        for rid, repo in upstream.items()
        if repo.licence_file_spdx is None
        and not repo.reuse_spdx
        and not manifest_silent(repo)
        and forge_is_silent(repo)
    ]
    assert {repo.host for _, repo in declared} == {"github.com", GITLAB_INSTANCE}
    for rid, repo in declared:
        assert rows[rid]["licence"] == normalise(repo.manifest_licence), rid
        assert rows[rid]["licence_source"] == "manifest", rid
    # npm's UNLICENSED and composer's "proprietary" grant nothing; no declaration says nothing.
    silent = [
        rid
        for rid, repo in upstream.items()
        if repo.licence_file_spdx is None
        and not repo.reuse_spdx
        and manifest_silent(repo)
        and forge_is_silent(repo)
    ]
    assert silent
    for rid in silent:
        expected = upstream[rid].readme_licence or "NONE"  # a README section may name one
        assert rows[rid]["licence"] == expected, rid


def test_a_recognised_licence_file_is_not_overruled_by_a_manifest(crawled):
    _dbs, rows, upstream = crawled
    differing = [
        rid
        for rid, repo in upstream.items()
        if repo.licence_file_spdx is not None
        and repo.manifest_licence is not None
        and normalise(repo.manifest_licence) != rows[rid]["licence"]
    ]
    assert differing
    for rid in differing:
        assert rows[rid]["licence_source"] in ("forge", "detected"), rid


def no_licence_file(repo) -> bool:
    return repo.licence_file_spdx is None and not repo.reuse_spdx and forge_is_silent(repo)


def test_readme_licence_section_gives_the_licence_without_a_licence_file(crawled):
    _dbs, rows, upstream = crawled
    named = [
        (rid, repo)
        for rid, repo in upstream.items()
        if no_licence_file(repo) and repo.readme_licence is not None and manifest_silent(repo)
    ]
    assert {repo.host for _, repo in named} == {"github.com", GITLAB_INSTANCE}
    # every way a README writes it: a French or English sentence, a badge, the text or notice
    assert {repo.readme_section for _, repo in named} == {"fr", "en", "badge", "text"}
    for rid, repo in named:
        assert rows[rid]["licence"] == repo.readme_licence, rid
        assert rows[rid]["licence_source"] == "readme", rid
        assert rows[rid]["has_licence_file"] == 0 and rows[rid]["has_readme"] == 1, rid


def test_readme_without_a_licence_named_in_a_section_gives_nothing(crawled):
    _dbs, rows, upstream = crawled
    cases = [
        (rid, repo)
        for rid, repo in upstream.items()
        if no_licence_file(repo)
        and repo.readme_licence is None
        and manifest_silent(repo)
        and any(e.role == "readme" for e in repo.entries)
    ]
    sections = {repo.readme_section for _, repo in cases}
    assert sections == {None, "none"}  # no section; a section that names no licence yet
    assert {repo.host for _, repo in cases} == {"github.com", GITLAB_INSTANCE}
    for rid, _repo in cases:
        assert rows[rid]["licence"] == "NONE", rid
        assert rows[rid]["licence_source"] != "readme", rid
    assert not [
        r for r in rows.values() if r["licence_source"] == "readme" and r["has_licence_file"]
    ]


def test_manifest_and_licence_file_win_over_the_readme(crawled):
    _dbs, rows, upstream = crawled
    # a manifest's declaration beside a README that names another licence
    declared = [
        (rid, repo)
        for rid, repo in upstream.items()
        if no_licence_file(repo)
        and repo.readme_licence is not None
        and not manifest_silent(repo)
        and normalise(repo.manifest_licence) != repo.readme_licence
    ]
    assert {repo.host for _, repo in declared} == {"github.com", GITLAB_INSTANCE}
    for rid, repo in declared:
        assert rows[rid]["licence"] == normalise(repo.manifest_licence), rid
        assert rows[rid]["licence_source"] == "manifest", rid
    # a licence file beside a README that names another licence (a stale README)
    stale = [
        (rid, repo)
        for rid, repo in upstream.items()
        if repo.licence_file_spdx is not None and repo.readme_licence is not None
    ]
    assert {repo.host for _, repo in stale} == {"github.com", GITLAB_INSTANCE}
    for rid, repo in stale:
        assert rows[rid]["licence_source"] in ("forge", "detected"), rid
        assert rows[rid]["licence"] != repo.readme_licence, rid


def test_publiccode_files_are_stored_with_what_to_fix(crawled):
    dbs, rows, upstream = crawled
    stored = {r["repository"]: r for db in dbs for r in db.query("select * from publiccode")}
    with_file = {rid: repo for rid, repo in upstream.items() if repo.publiccode_variant}
    assert set(stored) == set(with_file)
    assert {r.publiccode_variant for r in with_file.values()} == {"valid", "warnings", "invalid"}
    for rid, repo in with_file.items():
        row = stored[rid]
        assert rows[rid]["has_publiccode"] == 1
        assert row["path"] == repo.publiccode_name
        errors, warnings = json.loads(row["errors"]), json.loads(row["warnings"])
        assert (row["errors_count"], row["warnings_count"]) == (len(errors), len(warnings))
        if repo.publiccode_variant == "invalid":
            assert row["valid"] == 0, rid
            assert repo.publiccode_issue in {e["path"] for e in errors}, (rid, errors)
        else:
            assert row["valid"] == 1 and errors == [], (rid, errors)
            assert row["name"] and row["url"] and row["development_status"]
        if repo.publiccode_variant == "warnings":
            assert repo.publiccode_issue in {w["path"] for w in warnings}, (rid, warnings)
    assert all(rows[rid]["has_publiccode"] == 0 for rid in set(rows) - set(with_file))


def test_every_repository_has_its_score_explained(crawled):
    _dbs, rows, _upstream = crawled
    for rid, row in rows.items():
        details = json.loads(row["score_details"])
        assert row["score"] == sum(d["points"] for d in details), rid
        assert row["score"] == score(row).value, rid
    assert len({row["score"] for row in rows.values()}) > 5


def test_gitlab_last_commit_is_asked_for_recently_active_projects_only(gitlab_instance_crawl):
    # The first crawl of the whole instance, done once per test run (tests/conftest.py): the
    # sample's projects are years old, and no commit request was made for any of them.
    db = gitlab_instance_crawl.open()
    rows = {r["id"]: r for r in db.query("select * from repositories")}
    assert rows and all(r["last_commit_at"] is None for r in rows.values())
    assert all(r["activity"] in ("dormant", "inactive", "archived", None) for r in rows.values())
    assert gitlab_instance_crawl.requests[GITLAB_INSTANCE] / len(rows) <= 2.1
    # One project is active again, its last commit four days old: the next crawl asks for it.
    with LocalForge(Dataset.load()) as forge:
        now = dt.datetime.now(dt.UTC)
        recent = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        commit = (now - dt.timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        projects = [r for r in forge.dataset.all_repositories(GITLAB_INSTANCE) if not r.is_empty]
        active = forge.dataset.update_repository(
            GITLAB_INSTANCE,
            projects[3].owner,
            projects[3].name,
            last_activity_at=recent,
            last_commit_at=commit,
        )
        crawl(instance_config(forge), db, environ=TOKENS, retry=QUICK)
    after = {r["id"]: r for r in db.query("select * from repositories")}
    active_id = f"{GITLAB_INSTANCE}/{active.owner}/{active.name}".lower()
    assert after[active_id]["last_commit_at"] == commit
    assert after[active_id]["activity"] == "active"
    assert all(r["last_commit_at"] is None for rid, r in after.items() if rid != active_id)
