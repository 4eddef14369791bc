"""GitLab re-crawls of self-hosted instances: one instance-wide question for the projects active
since the last crawl instead of every group's listing, a full listing at least weekly, and the
adapters' threads released after a crawl. Real crawler, real HTTP, the local forge."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

from crawler import db as store
from crawler.config import token_variables
from crawler.forges.base import RetryPolicy
from crawler.models import Config, ForgeConfig, OwnerConfig
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge

QUICK = RetryPolicy(attempts=6, backoff=0.01, max_wait=5, timeout=10)


def run(config: Config, db, **kwargs):
    environ = {v: "test-token" for f in config.forges for v in token_variables(f)}
    return crawl(config, db, environ=environ, retry=QUICK, **kwargs)


@pytest.fixture()
def forge():
    with LocalForge(Dataset.load()) as served:
        yield served


def groups(forge: LocalForge, count: int) -> tuple[str, list[str]]:
    """A self-hosted GitLab host and ``count`` of its top-level groups with public projects,
    none inside another."""
    ds = forge.dataset
    for host in ds.hosts():
        if ds.kind(host) != "gitlab" or host == "gitlab.com":
            continue
        found = [
            a.path
            for a in ds.accounts(host)
            if a.kind == "group"
            and "/" not in a.path
            and any(r.visibility == "public" for r in ds.repositories(host, a.path))
        ]
        if len(found) >= count:
            return host, found[:count]
    pytest.fail(f"no self-hosted GitLab host with {count} groups in the local forge")


def config_for(forge: LocalForge, host: str, logins: list[str]) -> Config:
    owners = tuple(OwnerConfig(host, login) for login in logins)
    return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host), owners),))


def public(forge: LocalForge, host: str, group: str):
    return [r for r in forge.dataset.repositories(host, group) if r.visibility == "public"]


def test_unchanged_recrawl_asks_the_instance_once(forge):
    host, logins = groups(forge, 3)
    config = config_for(forge, host, logins)
    db = store.open_db()
    first = run(config, db)
    assert first.accounts_failed == 0

    before = forge.requests(host)
    second = run(config, db)
    assert forge.requests(host) - before == 1  # /projects?last_activity_after=…, nothing listed
    assert second.accounts_ok == 3 and second.accounts_failed == 0
    assert second.repositories_seen == first.repositories_seen
    assert second.repositories_removed == 0


def test_active_project_relists_its_group_only(forge, caplog):
    host, logins = groups(forge, 3)
    config = config_for(forge, host, logins)
    db = store.open_db()
    run(config, db)
    victim = public(forge, host, logins[0])[0]
    moved = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    forge.dataset.update_repository(
        host, victim.owner, victim.name, last_activity_at=moved, stars=victim.stars + 7
    )
    pages = -(-len(public(forge, host, logins[0])) // 100)
    before = forge.requests(host)
    with caplog.at_level(logging.INFO, logger="crawler.forges.gitlab"):
        report = run(config, db)
    sent = forge.requests(host) - before
    assert f"{host}: 1 of 3 accounts active since" in caplog.text
    # the question, the group's listing, then the project's tree, files and last commit
    assert 1 + pages + 1 <= sent <= 1 + pages + 6
    assert report.accounts_ok == 3
    row = db.table("repositories").get(f"{host}/{victim.owner}/{victim.name}".lower())
    assert row["pushed_at"] == moved.replace(".000", "")
    assert row["stars"] == victim.stars + 7


def test_full_listing_after_a_week_sees_removals(forge):
    host, logins = groups(forge, 2)
    config = config_for(forge, host, logins)
    db = store.open_db()
    run(config, db)
    victim = public(forge, host, logins[1])[0]
    forge.dataset.remove_repository(host, victim.owner, victim.name)
    key = f"{host}/{victim.owner}/{victim.name}".lower()

    run(config, db)  # within the week: the removal is not seen yet, nothing else lost
    assert db.table("repositories").get(key)["removed_at"] is None

    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for row in list(db.query("select unit, signature from _crawl_state")):
        kind = row["signature"].split(" ")[0]
        db.table("_crawl_state").update(row["unit"], {"signature": f"{kind} {week_ago}"})
    report = run(config, db)
    assert db.table("repositories").get(key)["removed_at"] is not None
    assert report.repositories_removed == 1


def test_gitlab_com_keeps_its_group_listings(forge):
    ds = forge.dataset
    if "gitlab.com" not in ds.hosts():
        pytest.skip("the local forge serves no gitlab.com")
    group = next(
        a.path
        for a in ds.accounts("gitlab.com")
        if a.kind == "group" and public(forge, "gitlab.com", a.path)
    )
    config = config_for(forge, "gitlab.com", [group])
    db = store.open_db()
    run(config, db)
    before = forge.requests("gitlab.com")
    run(config, db)
    pages = -(-len(public(forge, "gitlab.com", group)) // 100)
    assert forge.requests("gitlab.com") - before >= pages  # listed again, never asked instance-wide


def test_a_crawl_leaves_no_thread_behind(forge):
    host, logins = groups(forge, 3)
    config = config_for(forge, host, logins)
    db = store.open_db()
    run(config, db)  # warm up what stays for the process's life (the local forge's own)
    # threads of other tests of this worker may end meanwhile: only new ones count
    before = set(threading.enumerate())
    run(config, db)
    changed = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    victim = public(forge, host, logins[0])[0]
    forge.dataset.update_repository(host, victim.owner, victim.name, last_activity_at=changed)
    run(config, db)  # with detail threads at work
    assert [t.name for t in threading.enumerate() if t not in before] == []


# --- GitHub: files read outside the delivery lock (same "adapters and their threads" concern) ---


def test_github_reads_held_files_without_blocking_other_workers():
    """While one worker reads a batch of files (GraphQL), another worker's pages are taken in
    at once instead of waiting for the lock; every account's events keep their order."""
    from crawler.forges import github
    from crawler.models import AccountDone, Repository, RepositoryPage

    reading, release = threading.Event(), threading.Event()

    class SlowFiles(github.GitHubForge):
        def _read(self, wanted):  # the GraphQL request, held open by the test
            reading.set()
            assert release.wait(10)

    adapter = SlowFiles(ForgeConfig("github.com", "github", "http://127.0.0.1:9"))
    a, b = OwnerConfig("github.com", "a"), OwnerConfig("github.com", "b")
    need = github._Wanted(files=("LICENSE",))
    emitted: list[object] = []

    def page(account, n):
        repository = Repository(forge="github.com", owner=account.login, name=f"r{n}", url="u")
        return RepositoryPage(account, (repository,), None)

    first = [(i, need) for i in range(1)]
    batch = [(page(a, n), first) for n in range(github.FILES_BATCH)]
    worker_a = threading.Thread(
        target=lambda: [adapter._deliver(emitted.append, event, needs) for event, needs in batch]
    )
    worker_a.start()
    assert reading.wait(10)
    returned = threading.Event()

    def worker_b():
        adapter._deliver(emitted.append, page(b, 0), first)
        adapter._deliver(emitted.append, AccountDone(b, None), [])
        returned.set()

    threading.Thread(target=worker_b).start()
    assert returned.wait(2), "the second worker waited for the first one's files"
    assert emitted == []  # nothing emitted before the batch taken earlier
    release.set()
    worker_a.join(10)
    adapter.finish(emitted.append)
    order = [(e.account.login, type(e).__name__) for e in emitted]
    assert order[: github.FILES_BATCH] == [("a", "RepositoryPage")] * github.FILES_BATCH
    assert order[github.FILES_BATCH :] == [("b", "RepositoryPage"), ("b", "AccountDone")]
