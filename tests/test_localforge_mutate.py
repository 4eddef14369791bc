"""A day of upstream changes on the local forge (localforge.mutate), seen by the real crawler
through real HTTP: pushes, new and deleted repositories, replaced licence files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import CrawledDb

from crawler import db as store
from crawler.config import load_config, token_variables
from crawler.demo import shaped_like_real
from crawler.forges.base import RetryPolicy
from crawler.models import Config
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge
from localforge.data import GITHUB
from localforge.gitlab_data import GITLAB_INSTANCE
from localforge.mutate import mutate

#: When the upstream changes happen: after the first crawl of a test, as in life (GitLab's
#: re-crawl asks each instance what was active since its last crawl, two hours' margin).
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
QUICK = RetryPolicy(attempts=3, backoff=0.01, max_wait=5, timeout=10)


def config_of(document: dict[str, object]) -> Config:
    """An organisations.yml document loaded as ``codegouv crawl`` loads its file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "organisations.yml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return load_config(path)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.load()


def small_gitlab_host(dataset: Dataset) -> str:
    """The largest GitLab host crawled through its accounts with at most 400 public projects
    (its whole data crawls in seconds, and 5 % of the changes fall on it)."""
    sizes = {
        host: sum(1 for r in dataset.all_repositories(host) if r.visibility == "public")
        for host in dataset.hosts()
        if dataset.kind(host) == "gitlab" and host != GITLAB_INSTANCE
    }
    host = max((h for h, n in sizes.items() if n <= 400), key=lambda h: sizes[h])
    assert sizes[host] >= 100
    return host


def test_the_share_asked_changes_and_the_same_seed_changes_the_same(dataset: Dataset) -> None:
    public = sum(
        1 for h in dataset.hosts() for r in dataset.all_repositories(h) if r.visibility == "public"
    )
    first, second = Dataset.load(), Dataset.load()
    one = mutate(first, 0.02, now=NOW, seed=3)
    two = mutate(second, 0.02, now=NOW, seed=3)
    assert one == two
    assert abs(one.total - round(public * 0.02)) <= 1
    assert one.pushed and one.added and one.removed and one.licence_changed
    other = mutate(Dataset.load(), 0.02, now=NOW, seed=4)
    assert set(other.pushed) != set(one.pushed)
    # the changes are in the data the forge serves
    removed = one.removed[0]
    host, _, full_name = removed.partition("/")
    assert first.project(host, full_name) is None
    for rid in one.pushed[:20]:
        host, _, full_name = rid.partition("/")
        repo = first.project(host, full_name)
        assert repo is not None and repo.pushed_at == STAMP and repo.last_commit_at == STAMP
        if repo.host != GITHUB:
            assert repo.last_activity_at == STAMP.replace("Z", ".000Z")


def test_nothing_changes_at_zero_and_a_share_must_be_one_at_most(dataset: Dataset) -> None:
    fresh = Dataset.load()
    version = fresh.version
    assert mutate(fresh, 0.0, now=NOW).total == 0
    assert fresh.version == version
    with pytest.raises(ValueError, match="between 0 and 1"):
        mutate(fresh, 1.5)


def test_an_added_repository_needs_its_owner_and_a_new_id(dataset: Dataset) -> None:
    fresh = Dataset.load()
    repo = fresh.repositories(GITHUB, "etalab")[0]
    with pytest.raises(ValueError, match="already"):
        fresh.add_repository(repo)
    with pytest.raises(KeyError):
        fresh.add_repository(dataclasses.replace(repo, owner="nobody-here", database_id=1))
    count = fresh.account(GITHUB, "etalab").repositories_count  # type: ignore[union-attr]
    fresh.add_repository(dataclasses.replace(repo, name="tout-neuf", database_id=99_999_999))
    assert fresh.account(GITHUB, "etalab").repositories_count == count + 1  # type: ignore[union-attr]


@pytest.fixture()
def forge_and_config(tmp_path: Path) -> Iterator[tuple[LocalForge, Path, list[str]]]:
    dataset = Dataset.load()
    hosts = [GITHUB, small_gitlab_host(dataset)]
    with LocalForge(dataset) as forge:
        document = shaped_like_real(dataset, forge.api_url)
        config = tmp_path / "organisations.yml"
        config.write_text(yaml.safe_dump({h: document[h] for h in hosts}), encoding="utf-8")
        yield forge, config, hosts


@pytest.fixture()
def first_crawl(
    github_crawl: CrawledDb, crawl_once: Callable[..., CrawledDb]
) -> tuple[CrawledDb, int]:
    """The first crawl of the daily test, once per run on a forge of its own serving the same
    data: every GitHub account (``github_crawl``, shared by the suite: the same accounts as the
    test's config, without the pso_ids) then the small GitLab host as the test's config has it
    (crawled whole, as in the real list) into the same database; with the requests both sent."""

    def small_host(forge: LocalForge) -> list[Config]:
        host = small_gitlab_host(forge.dataset)
        document = shaped_like_real(forge.dataset, forge.api_url)
        return [config_of({host: document[host]})]

    crawled = crawl_once("crawl-mutate-first", small_host, retry=QUICK, start_from=github_crawl)
    assert github_crawl.report.accounts_failed == 0 and crawled.report.accounts_failed == 0
    return crawled, github_crawl.requests[GITHUB] + sum(crawled.requests.values())


@pytest.mark.long
def test_the_daily_crawl_sees_every_change(
    forge_and_config: tuple[LocalForge, Path, list[str]], first_crawl: tuple[CrawledDb, int]
) -> None:
    forge, config_path, hosts = forge_and_config
    config = load_config(config_path)
    environ = {v: "test-token" for f in config.forges for v in token_variables(f)}
    # The first crawl of these hosts, made once per run on the same data (tests/conftest.py)
    # with what it cost; this test's forge serves the same data until it is changed.
    shared, sent_first = first_crawl
    db = shared.open()

    changes = mutate(forge.dataset, 0.05, now=NOW, seed=1, hosts=hosts)
    assert {rid.partition("/")[0] for rid in changes.pushed} == set(hosts)
    daily = crawl(config, db, environ=environ, retry=QUICK)
    sent_daily = forge.requests()
    assert daily.accounts_failed == 0
    assert daily.repositories_new == len(changes.added)
    # GitHub lists changed accounts whole, so its removals show the same day; a self-hosted
    # GitLab is only asked what changed, and its removals show at the weekly full listing.
    on_github = [rid for rid in changes.removed if rid.startswith("github.com/")]
    assert daily.repositories_removed == len(on_github)
    for rid in on_github:
        assert db.table("repositories").get(rid)["removed_at"] is not None, rid
    for row in list(db.query("select unit, signature from _crawl_state")):
        if row["signature"] and row["signature"].split(" ")[0] in ("group", "user", "instance"):
            kind = row["signature"].split(" ")[0]
            db.table("_crawl_state").update(
                row["unit"], {"signature": f"{kind} 2000-01-01T00:00:00Z"}
            )
    weekly = crawl(config, db, environ=environ, retry=QUICK)
    assert weekly.accounts_failed == 0
    assert daily.repositories_removed + weekly.repositories_removed == len(changes.removed)

    def row(rid: str) -> dict[str, object]:
        return db.table("repositories").get(rid)  # type: ignore[no-any-return]

    for rid in changes.pushed:
        assert row(rid)["pushed_at"] == STAMP, rid
    for rid in changes.added:
        assert row(rid)["removed_at"] is None and row(rid)["created_at"] == STAMP, rid
    for rid in changes.removed:
        assert row(rid)["removed_at"] is not None, rid
    for rid, (old, new) in changes.licence_changed.items():
        licence = str(row(rid)["licence"])
        assert licence.startswith(new) and not licence.startswith(old + "-"), (rid, licence)
    # a daily run asks again only what changed: far fewer requests than the first crawl
    assert sent_daily < sent_first / 2


def test_a_replaced_licence_file_is_read_again_from_its_text(tmp_path: Path) -> None:
    """On GitLab the crawler detects the licence from the file's text: the text changed."""
    dataset = Dataset.load()
    host = small_gitlab_host(dataset)
    with LocalForge(dataset) as forge:
        document = shaped_like_real(dataset, forge.api_url)
        path = tmp_path / "organisations.yml"
        path.write_text(yaml.safe_dump({host: document[host]}), encoding="utf-8")
        config = load_config(path)
        environ = {v: "test-token" for f in config.forges for v in token_variables(f)}
        db = store.open_db()
        crawl(config, db, environ=environ, retry=QUICK)
        changes = mutate(dataset, 0.3, now=NOW, seed=2, hosts=[host])
        assert changes.licence_changed
        crawl(config, db, environ=environ, retry=QUICK)
    for rid, (old, new) in changes.licence_changed.items():
        row = db.table("repositories").get(rid)
        assert row["licence"].startswith(new), (rid, old, row["licence"])
        assert row["licence_source"] != "forge"
