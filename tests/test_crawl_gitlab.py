"""The GitLab crawl end to end: the real crawler (python-gitlab) over real HTTP against the
local forge's GitLab API v4, into a real SQLite database."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler import db as store
from crawler.config import token_variables
from crawler.forges.base import RetryPolicy
from crawler.licences import normalise
from crawler.models import Config, ForgeConfig, OwnerConfig
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge
from localforge.gitlab_data import GITLAB_INSTANCE, USER_NAMESPACES

QUICK = RetryPolicy(attempts=6, backoff=0.01, max_wait=5, timeout=10)


def tokens(config: Config) -> dict[str, str]:
    """A token for every forge of the config (GitLab lists basic fields only to anonymous)."""
    return {v: "test-token" for f in config.forges for v in token_variables(f)}


def run(config: Config, db, **kwargs):
    return crawl(config, db, environ=tokens(config), retry=QUICK, **kwargs)


def public(repos):
    return [r for r in repos if r.visibility == "public"]


def expected_ids(forge: LocalForge, host: str, group: str) -> set[str]:
    """What a group listing must give: its public projects and its subgroups', not the
    projects merely shared with it."""
    ds = forge.dataset
    paths = [group, *(a.full_path for a in ds.descendants(host, group))]
    return {
        f"{host}/{r.owner}/{r.name}".lower()
        for path in paths
        for r in public(ds.repositories(host, path))
    }


def group_config(forge: LocalForge, host: str, *logins: str) -> Config:
    owners = tuple(OwnerConfig(host, login) for login in logins)
    return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host), owners),))


def instance_config(forge: LocalForge, host: str) -> Config:
    return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host)),))


def big_group(forge: LocalForge) -> tuple[str, str]:
    """A group with subgroups, more than 100 public projects, and projects shared with it."""
    ds = forge.dataset
    for host in ds.hosts():
        if ds.kind(host) != "gitlab":
            continue
        for account in ds.accounts(host):
            if account.kind != "group" or not ds.descendants(host, account.path):
                continue
            if len(expected_ids(forge, host, account.path)) > 100:
                return host, account.path
    pytest.fail("the local forge serves no group with subgroups and > 100 projects")


@pytest.fixture()
def fresh_forge():
    with LocalForge(Dataset.load()) as forge:
        yield forge


def test_group_with_subgroups_is_read_whole_without_shared_projects(localforge):
    host, group = big_group(localforge)
    expected = expected_ids(localforge, host, group)
    shared = {
        f"{host}/{r.owner}/{r.name}".lower() for r in localforge.dataset.shared_with(host, group)
    }
    db = store.open_db()
    report = run(group_config(localforge, host, group), db)
    assert report.accounts_failed == 0
    ids = {r["id"] for r in db.query("select id from repositories")}
    assert ids == expected
    assert not ids & (shared - expected)
    owner = db.table("owners").get(f"{host}/{group}".lower())
    assert owner["kind"] == "group" and owner["repositories_count"] == len(expected)
    # every project is tied to the configured account, subgroup projects included
    assert {r["owner"] for r in db.query("select owner from repositories")} == {
        f"{host}/{group}".lower()
    }


def test_whole_instance_is_read_whole_with_its_namespaces(localforge, gitlab_instance_crawl):
    expected = {
        f"{GITLAB_INSTANCE}/{r.owner}/{r.name}".lower()
        for r in public(localforge.dataset.all_repositories(GITLAB_INSTANCE))
    }
    assert len(expected) > 1000
    # crawled once per test run, on a forge of its own (tests/conftest.py)
    db, report = gitlab_instance_crawl.open(), gitlab_instance_crawl.report
    assert report.accounts_failed == 0
    ids = {r["id"] for r in db.query("select id from repositories")}
    assert ids == expected
    # each project belongs to its namespace, recorded as an owner of the instance
    orphans = db.execute(
        "select count(*) from repositories r left join owners o on o.id = r.owner "
        "where o.id is null"
    ).fetchone()[0]
    assert orphans == 0
    kinds = {r["kind"] for r in db.query("select distinct kind from owners")}
    assert kinds == {"group", "user"}


def test_user_namespace(localforge):
    host, login = sorted(USER_NAMESPACES)[0]
    expected = {
        f"{host}/{r.owner}/{r.name}".lower()
        for r in public(localforge.dataset.repositories(host, login))
    }
    db = store.open_db()
    report = run(group_config(localforge, host, login), db)
    assert report.accounts_ok == 1
    assert db.table("owners").get(f"{host}/{login}".lower())["kind"] == "user"
    assert {r["id"] for r in db.query("select id from repositories")} == expected


def test_project_values_and_licences(localforge):
    host, group = big_group(localforge)
    db = store.open_db()
    run(group_config(localforge, host, group), db)
    seen: set[str] = set()
    for row in db.query("select * from repositories"):
        owner, _, name = row["id"].removeprefix(f"{host}/").rpartition("/")
        source = localforge.dataset.repository(host, owner, name)
        assert source is not None
        assert row["stars"] == source.stars and row["forks"] == source.forks
        assert row["is_fork"] == int(source.forked_from is not None)
        assert row["pushed_at"] == source.last_activity_at.replace(".000", "")[:19] + "Z"
        has_file = source.licence_file_spdx is not None or bool(source.reuse_spdx)
        assert row["has_licence_file"] == int(has_file)
        if not has_file and source.manifest_name is None:
            # the README's licence section, if any (tests/test_crawl_files.py)
            expected = source.readme_licence or "NONE"
            assert row["licence"] == expected, row["id"]
            assert row["licence_source"] == ("readme" if source.readme_licence else "forge")
        elif source.licence_file_spdx is None:  # REUSE, manifests: tests/test_crawl_files.py
            assert row["licence_source"] in ("detected", "manifest", "readme")
        else:
            # our detection on the file's text, CeCILL and Etalab included (GitLab: "other")
            assert row["licence_source"] == "detected"
            assert row["licence"] == normalise(source.licence_file_spdx), row["id"]
            seen.add(row["licence"])
    assert {"CECILL-B", "etalab-2.0"} & seen or {"CECILL-C", "CECILL-2.1"} & seen


def test_unchanged_recrawl_costs_listing_pages_only(fresh_forge, gitlab_instance_crawl):
    config = instance_config(fresh_forge, GITLAB_INSTANCE)
    # the first crawl, done once per test run on the same data (tests/conftest.py): a copy
    db, first = gitlab_instance_crawl.open(), gitlab_instance_crawl.report
    count = first.repositories_seen
    before = fresh_forge.requests(GITLAB_INSTANCE)
    second = run(config, db)
    sent = fresh_forge.requests(GITLAB_INSTANCE) - before
    # one question to the instance: what changed since the last crawl (nothing)
    assert sent == 1
    assert sent / count <= 0.02
    assert second.repositories_seen == count and second.repositories_removed == 0

    # one project pushed to: only its details are asked again (tree, and licence if any)
    victim = next(
        r
        for r in public(fresh_forge.dataset.all_repositories(GITLAB_INSTANCE))
        if r.licence_file_spdx and not r.is_empty
    )
    moved = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fresh_forge.dataset.update_repository(
        GITLAB_INSTANCE, victim.owner, victim.name, last_activity_at=f"{moved}.000Z"
    )
    before = fresh_forge.requests(GITLAB_INSTANCE)
    third = run(config, db)
    sent = fresh_forge.requests(GITLAB_INSTANCE) - before
    # the question (its answer holds the project), then its tree, licence file, last commit
    assert sent - 1 in (2, 3, 4)
    assert third.repositories_seen == count and third.repositories_removed == 0
    row = db.table("repositories").get(f"{GITLAB_INSTANCE}/{victim.owner}/{victim.name}".lower())
    assert row["pushed_at"] == f"{moved}Z"


def test_removed_project_gets_removed_at(fresh_forge):
    host, group = big_group(fresh_forge)
    config = group_config(fresh_forge, host, group)
    db = store.open_db()
    run(config, db)
    victim = public(fresh_forge.dataset.repositories(host, group))[0]
    fresh_forge.dataset.remove_repository(host, victim.owner, victim.name)
    # Removals are seen by the full listing, at least weekly (a self-hosted instance is
    # otherwise only asked what changed, see tests/test_gitlab_incremental.py): a week later.
    for row in list(db.query("select unit, signature from _crawl_state")):
        kind = (row["signature"] or "group").split(" ")[0]
        db.table("_crawl_state").update(row["unit"], {"signature": f"{kind} 2000-01-01T00:00:00Z"})
    report = run(config, db)
    row = db.table("repositories").get(f"{host}/{victim.owner}/{victim.name}".lower())
    assert row["removed_at"] is not None
    assert report.repositories_removed == 1


def test_unknown_group_fails_alone(localforge):
    host, group = big_group(localforge)
    db = store.open_db()
    report = run(group_config(localforge, host, group, "no-such-group"), db)
    assert report.accounts_ok == 1 and report.accounts_failed == 1
    (error,) = [r["error"] for r in db.query("select error from crawl_errors")]
    assert "no-such-group" in error and "not found" in error
