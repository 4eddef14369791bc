"""A crawl that survives faults: random transient faults change nothing in the result, a dead
forge or a bad token fail only what they touch, a killed crawl resumes."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlite_utils
import yaml
from _shared import KILL_ACCOUNTS, KILL_HOSTS
from conftest import CrawledDb, tokens_for

from crawler import db as store
from crawler.config import load_config, token_variables
from crawler.forges.base import RetryPolicy
from crawler.forges.gitlab import PAGE_SIZE
from crawler.models import Config, ForgeConfig
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge
from localforge.gitlab_data import GITLAB_INSTANCE

ROOT = Path(__file__).resolve().parent.parent

#: Fast retries for tests; the defaults wait seconds.
QUICK = RetryPolicy(attempts=8, backoff=0.01, max_wait=5, timeout=10)
#: For a fault that lasts (a forge down, a page that always fails): still retried, but eight
#: tries of every request of every account would only wait longer for the same failure.
FEW = RetryPolicy(attempts=3, backoff=0.01, max_wait=5, timeout=10)
#: Columns that say when the crawl ran, not what it found.
CRAWL_TIME = {"first_seen_at", "last_seen_at", "last_seen_run", "removed_at"}


def snapshot(db: sqlite_utils.Database) -> dict[str, dict[str, dict]]:
    """The inventory's content, without the crawl's own timestamps: whether a repository is
    marked removed stays (a repository lost by a crawl is a row marked removed, not gone)."""
    tables = {}
    for name, key in (("repositories", "id"), ("owners", "id")):
        tables[name] = {
            row[key]: {k: v for k, v in row.items() if k not in CRAWL_TIME}
            | ({"removed": row["removed_at"] is not None} if "removed_at" in row else {})
            for row in db.query(f"select * from {name}")
        }
    return tables


def accounts_config(forge: LocalForge, accounts: dict[str, tuple[str, ...]] | None) -> Config:
    """``write_config``'s organisations.yml on ``forge``, read as ``codegouv crawl`` reads it:
    an in-process crawl then stores what the command's crawl stores, to the owners' rows."""
    with tempfile.TemporaryDirectory() as folder:
        return load_config(
            write_config(Path(folder, "organisations.yml"), forge, accounts=accounts)
        )


def uninterrupted(crawl_once, accounts: dict[str, tuple[str, ...]] | None) -> CrawledDb:
    """An uninterrupted crawl of ``accounts`` of ``KILL_HOSTS`` (all of them for ``None``), done
    once per test run (tests/conftest.py's ``crawl_once``), in process: the reference the
    resilience tests compare with."""
    name = "crawl-kill-accounts" if accounts == KILL_ACCOUNTS else "crawl-kill-every-account"
    crawled = crawl_once(name, lambda forge: [accounts_config(forge, accounts)], retry=QUICK)
    assert [f.host for f in crawled.report.forges] == list(KILL_HOSTS)
    assert crawled.report.accounts_failed == 0
    return crawled


@pytest.fixture(scope="module")
def kill_accounts_crawl(crawl_once) -> CrawledDb:
    """``KILL_ACCOUNTS`` crawled without a fault, once per test run."""
    return uninterrupted(crawl_once, KILL_ACCOUNTS)


def test_thirty_percent_of_random_faults_change_nothing(kill_accounts_crawl):
    """``KILL_ACCOUNTS`` crawled while 30 % of the requests fail (seeded: every host of
    ``KILL_HOSTS`` gets faults, GitHub's six queries too) gives what a crawl without a fault
    gives: every request is retried until it succeeds (``QUICK``: eight tries)."""
    with LocalForge(Dataset.load(), fault_rate=0.3, seed=7) as forge:
        db = store.open_db()
        config = accounts_config(forge, KILL_ACCOUNTS)
        report = crawl(config, db, environ=tokens_for(config), retry=QUICK)
        faults = {host: forge.stats[host]["faults"] for host in KILL_HOSTS}
    assert all(faults.values()), faults
    assert report.accounts_failed == 0
    assert report.requests >= sum(faults.values())  # retries are counted as requests
    assert snapshot(db) == snapshot(kill_accounts_crawl.open())


def test_a_forge_that_is_down_keeps_its_rows_and_the_others_stay_fresh(kill_accounts_crawl):
    with LocalForge(Dataset.load()) as forge:
        # a whole crawl of these accounts, done once per test run on the same data: a copy
        db = kill_accounts_crawl.open()
        config = accounts_config(forge, KILL_ACCOUNTS)
        before = snapshot(db)
        forge.stop()  # the whole forge is gone: connections are refused
        report = crawl(config, db, environ=tokens_for(config), retry=FEW)
    assert report.accounts_ok == 0
    assert {f.status for f in report.forges} == {"failed"}
    assert snapshot(db)["repositories"] == before["repositories"]
    assert {r["crawl_status"] for r in db.query("select crawl_status from owners")} == {"failed"}
    assert (
        db.execute("select count(*) from repositories where removed_at is not null").fetchone()[0]
        == 0
    )
    errors = [r["error"] for r in db.query("select error from crawl_errors")]
    assert errors and all("ForgeUnavailable" in e or "cannot reach" in e for e in errors)


def test_a_rate_limit_longer_than_allowed_stops_the_forge_cleanly():
    with LocalForge(Dataset.load()) as forge:
        forge.rate_limit = 3  # points per hour: spent after three queries
        db = store.open_db()
        policy = RetryPolicy(attempts=3, backoff=0.01, max_wait=2, timeout=10)
        started = time.monotonic()
        config = accounts_config(forge, KILL_ACCOUNTS)
        report = crawl(config, db, environ=tokens_for(config), retry=policy)
    assert time.monotonic() - started < 30  # no sleeping for an hour
    assert report.accounts_failed > 0
    assert report.forges[0].status in ("failed", "partial")
    errors = [r["error"] for r in db.query("select error from crawl_errors")]
    assert any("RateLimited" in e for e in errors)


def write_config(
    path: Path,
    forge: LocalForge,
    hosts: tuple[str, ...] = KILL_HOSTS,
    accounts: dict[str, tuple[str, ...]] | None = None,
) -> Path:
    """organisations.yml for ``hosts``: every account of each, or only ``accounts[host]``."""
    document = {}
    for host in hosts:
        entry = {"forge": forge.dataset.kind(host), "api_url": forge.api_url(host)}
        if host != GITLAB_INSTANCE:
            logins = [a.login for a in forge.dataset.accounts(host)]
            if accounts is not None:
                logins = [login for login in logins if login in accounts[host]]
            entry["owners"] = {login: None for login in logins}
        document[host] = entry
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def run_crawl(
    config: Path,
    db: Path,
    env: dict[str, str],
    forge: LocalForge | None = None,
    kill_at: int | None = None,
) -> int:
    """``codegouv crawl`` in a process of its own; returns its exit status (-9: killed).

    With ``forge`` and ``kill_at``, the process gets SIGKILL as soon as ``forge`` has received
    ``kill_at`` requests from it: a point of its crawling measured in requests, which the
    machine's load does not move (a point in seconds would, between the reference crawl that
    measures it and the crawl that is killed).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config), "--db", str(db)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if forge is None or kill_at is None:
        return process.wait(timeout=300)
    before = forge.requests()
    deadline = time.monotonic() + 300
    while process.poll() is None:
        if forge.requests() - before >= kill_at:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return -9
        assert time.monotonic() < deadline, "the crawl never ended"
        time.sleep(0.02)  # a few requests at most between two looks; the forge keeps the GIL
    return process.returncode


@pytest.mark.long
@pytest.mark.parametrize(
    ("trials", "accounts"),
    [
        (2, KILL_ACCOUNTS),
        # every account of the hosts: ~200 s on a quiet machine, more than the suite's timeout
        pytest.param(10, None, marks=[pytest.mark.slow, pytest.mark.timeout(900)]),
    ],
    ids=["2-trials", "10-trials-every-account"],
)
def test_a_crawl_killed_at_random_points_leaves_a_sound_database_and_resumes(
    tmp_path, crawl_once, trials, accounts
):
    """Seeded trials over GitHub and GitLab (groups, subgroups, users): each ``codegouv crawl``
    is killed with SIGKILL at a random point of its crawling, the database is checked, the next
    crawl must finish the job and give exactly what an uninterrupted crawl gives (the same
    organisations.yml crawled once per test run, in process: ``uninterrupted``). Two trials on
    a few accounts of each host in ``make test``; the ten on every account are marked slow:
    ``make test-all`` and ``make bench`` run them."""
    crawled = uninterrupted(crawl_once, accounts)
    reference = snapshot(crawled.open())
    assert {r["forge"] for r in reference["repositories"].values()} == set(KILL_HOSTS)
    # what the uninterrupted crawl asked of the forge: the kills fall between 20 and 90 % of it
    requests = sum(crawled.requests.values())
    rng = random.Random(2026)
    with LocalForge(Dataset.load()) as forge:
        config = write_config(tmp_path / "organisations.yml", forge, accounts=accounts)
        env = tokens_for(load_config(config))
        killed = resumed = 0
        for trial in range(trials):
            db_path = tmp_path / f"trial-{trial}.db"
            kill_at = round(rng.uniform(0.2, 0.9) * requests)
            killed += run_crawl(config, db_path, env, forge, kill_at) == -9
            db = sqlite_utils.Database(db_path)
            assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
            if db["_crawl_state"].exists():
                resumed += (
                    db.execute(
                        "select count(*) from _crawl_state where cursor is not null"
                    ).fetchone()[0]
                    > 0
                )
            db.close()
            assert run_crawl(config, db_path, env) == 0
            db = sqlite_utils.Database(db_path)
            assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert snapshot(db) == reference, f"trial {trial}"
            runs = [r["status"] for r in db.query("select status from crawl_runs order by id")]
            assert runs[-1] == "ok" and "running" not in runs
            db.close()
    # the trials really cut crawls in the middle
    assert killed == trials
    # (resuming from a saved cursor is asserted deterministically in the test below and in
    # tests/test_db.py; here the kills fall wherever they fall)
    print(f"{killed} crawls killed, {resumed} with a listing half-read")


def test_a_whole_instance_listing_cut_midway_resumes_from_its_keyset_cursor(
    gitlab_instance_crawl,
):
    """The weekly full listing of a whole instance (the one that sees removals), cut after its
    first page, resumes on the page after it: nothing is listed twice, nothing is lost and
    nothing is marked removed."""
    config = instance_config(GITLAB_INSTANCE)
    # The first crawl of the instance, done once per test run (tests/conftest.py): a copy,
    # whose last full listing is made a week old, so that the next crawl lists it whole.
    full, reference = gitlab_instance_crawl.report, snapshot(gitlab_instance_crawl.open())
    db = gitlab_instance_crawl.open()
    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (unit,) = db.query("select unit, signature from _crawl_state")
    assert unit["signature"].startswith("instance ")
    db.table("_crawl_state").update(unit["unit"], {"signature": f"instance {week_ago}"})
    pages = -(-full.repositories_seen // PAGE_SIZE)
    assert pages >= 3
    with LocalForge(Dataset.load()) as forge:
        # Every page after the first fails: the instance stops after its first page...
        forge.fault_kinds = ("503",)
        forge.fault_only_paths = r"/projects\?.*id_after="
        forge.fault_rate = 1.0
        cut = crawl(config(forge), db, environ=gitlab_tokens(forge), retry=FEW)
        assert cut.accounts_failed == 1
        # the cut listing saw its first page, and decided nothing about the rest
        seen = db.table("repositories").count_where("last_seen_run = ?", [cut.run_id])
        assert seen == PAGE_SIZE
        assert db.table("repositories").count_where("removed_at is not null") == 0
        assert store.load_state(db, GITLAB_INSTANCE).accounts[GITLAB_INSTANCE].cursor

        # ... and the next crawl lists the pages after it, not from the beginning (its projects
        # are unchanged: their listing lines are all it asks).
        forge.fault_rate = 0.0
        before = forge.requests(GITLAB_INSTANCE)
        resumed = crawl(config(forge), db, environ=gitlab_tokens(forge), retry=QUICK)
        assert resumed.accounts_failed == 0
        assert forge.requests(GITLAB_INSTANCE) - before == pages - 1
    assert snapshot(db) == reference


def instance_config(host: str):
    def build(forge: LocalForge) -> Config:
        return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host)),))

    return build


def gitlab_tokens(forge: LocalForge) -> dict[str, str]:
    return {
        v: "test-token"
        for host in forge.dataset.hosts()
        for v in token_variables(ForgeConfig(host, forge.dataset.kind(host), forge.api_url(host)))
    }
