"""Fixtures for the whole suite, made for pytest-xdist (``make test`` runs ``-n``).

What is expensive — a whole crawl, the demo pipeline — is done once per test run, whatever the
number of workers, and kept as a file in a directory every worker sees (pytest-xdist's
documented pattern: the base temp's parent, and a file lock so that only one worker builds).
Tests never write to those files: they open a copy (``CrawledDb.open()``, ``demo_db``).
The machinery is in tests/_shared.py, which the helper modules use too.
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils
from _shared import (
    DemoRun,
    built_once,
    copy_database,
    demo_once,
    shared_base,
)

from crawler import db as store
from crawler.config import token_variables
from crawler.forges.base import RetryPolicy
from crawler.models import Config, ForgeConfig, OwnerConfig, RunReport
from crawler.pipeline import crawl
from localforge import GITLAB_INSTANCE, Dataset, LocalForge

#: Fast retries for tests; the defaults wait seconds.
QUICK = RetryPolicy(attempts=6, backoff=0.01, max_wait=5, timeout=10)

# A test process keeps what it builds for its whole run (GitHub's schema and parsed queries,
# the datasets, the shared crawls' reports), and every full collection walked all of it again:
# 0.2-0.8 s each, a dozen in one test module, a fifth of its CPU. A full collection now waits
# for 100 collections of the middle generation instead of 10; the young ones are unchanged, so
# short-lived cycles are freed as before (tests/test_exports.py's memory peak still holds).
gc.set_threshold(*gc.get_threshold()[:2], 100)


#: Whether a collected test of this process asks for ``demo_run`` (set at collection).
NEEDS_DEMO = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)  # after ``-m``'s deselection: only the tests that will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` first: a parallel run then ends on many short tests that spread
    over the workers, not on one long test that started last.

    pytest-xdist's ``worksteal`` hands each worker a contiguous share of this list at the start
    (the first third, the second, the rest): the long tests are dealt out to the head of each
    share, so that the workers start one each instead of one worker running them all in a row.
    """
    long = [item for item in items if item.get_closest_marker("long") is not None]
    rest = [item for item in items if item.get_closest_marker("long") is None]
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    ordered: list[pytest.Item] = []
    left = len(items)
    for index in range(workers):
        size = left // (workers - index)  # what worksteal sends this worker: an even share
        head = long[index::workers]
        fill = max(0, size - len(head))
        ordered += head + rest[:fill]
        del rest[:fill]
        left -= size
    items[:] = ordered + rest
    needs = ("demo_run" in getattr(item, "fixturenames", ()) for item in items)
    config.stash[NEEDS_DEMO] = any(needs)


@pytest.fixture(scope="session")
def localforge() -> Iterator[LocalForge]:
    """A started local forge on the bundled data, shared by the session (do not mutate its data:
    start a LocalForge of your own for that)."""
    with LocalForge(Dataset.load()) as forge:
        yield forge


# --- built once per run, shared by the workers ------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory all the workers of this run share (the run's own base temp without xdist)."""
    return shared_base(tmp_path_factory)


@dataclass(frozen=True)
class CrawledDb:
    """A crawl done once per run: its database (read-only: ``open()`` gives a copy), its report
    and the requests each host of the forge received during that crawl."""

    path: Path
    report: RunReport
    requests: dict[str, int]

    def open(self) -> sqlite_utils.Database:
        """An in-memory copy of the crawled database, free to change."""
        return copy_database(self.path)


def tokens_for(config: Config) -> dict[str, str]:
    """A token for every forge of ``config`` (GitLab lists basic fields only to anonymous)."""
    return {v: "test-token" for f in config.forges for v in token_variables(f)}


def all_accounts(forge: LocalForge, host: str) -> Config:
    """Every account the local forge serves on ``host``, numbered like a config file's lines."""
    owners = tuple(
        OwnerConfig(host, a.login, line=i + 1) for i, a in enumerate(forge.dataset.accounts(host))
    )
    return Config(
        "test", (ForgeConfig(host, forge.dataset.kind(host), forge.api_url(host), owners),)
    )


def whole_instance(forge: LocalForge, host: str = GITLAB_INSTANCE) -> Config:
    """A GitLab instance crawled whole (no owners: all its public projects)."""
    return Config("test", (ForgeConfig(host, "gitlab", forge.api_url(host)),))


def crawled_once(
    shared: Path,
    name: str,
    configs: Callable[[LocalForge], list[Config]],
    *,
    retry: RetryPolicy | None = QUICK,
    start_from: CrawledDb | None = None,
) -> CrawledDb:
    """The configs crawled one after the other into one database, once per run, on a local forge
    of its own (so that the request counts are this crawl's alone). ``start_from`` crawls on top
    of a copy of another shared crawl, as a test that crawls twice into one database would."""

    def build(work: Path) -> None:
        path = work / "inventory.db"
        if start_from is None:
            db = store.open_db(path)
        else:
            copy_database(start_from.path, path).close()
            db = store.open_db(path)
        with LocalForge(Dataset.load()) as forge:
            before = {host: forge.requests(host) for host in forge.dataset.hosts()}
            report = None
            for config in configs(forge):
                report = crawl(config, db, environ=tokens_for(config), retry=retry)
            sent = {host: forge.requests(host) - n for host, n in before.items()}
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        (work / "report.pickle").write_bytes(pickle.dumps((report, sent)))

    where = built_once(shared, name, build)
    report, sent = pickle.loads((where / "report.pickle").read_bytes())
    return CrawledDb(where / "inventory.db", report, sent)


@pytest.fixture(scope="session")
def crawl_once(shared_dir: Path) -> Callable[..., CrawledDb]:
    """``crawl_once(name, configs, retry=..., start_from=...)``: ``crawled_once`` in this run's
    shared directory, for a test module's own shared crawls (``name`` unique to the suite)."""
    return functools.partial(crawled_once, shared_dir)


@pytest.fixture(scope="session")
def github_crawl(shared_dir: Path) -> CrawledDb:
    """Every GitHub account of the local forge, crawled once per run (default retries)."""
    return crawled_once(
        shared_dir, "crawl-github", lambda forge: [all_accounts(forge, "github.com")], retry=None
    )


@pytest.fixture(scope="session")
def gitlab_instance_crawl(shared_dir: Path) -> CrawledDb:
    """The local forge's whole GitLab instance, crawled once per run."""
    return crawled_once(shared_dir, "crawl-gitlab-instance", lambda forge: [whole_instance(forge)])


# --- the demo ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def demo_started_early(request: pytest.FixtureRequest, shared_dir: Path) -> Iterator[None]:
    """On the first worker, ``codegouv demo --once`` (``demo_run``) starts in the background as
    the run begins, when a collected test needs it. Otherwise the worker that reaches such a
    test first builds it while running nothing else for a minute or more, and the other worker
    waits on it as soon as it reaches one too; started early, the demo's process runs while
    both workers run other tests. It still runs once: ``built_once``'s lock is taken by the
    thread, and the tests that need the demo wait on it, as before."""
    needed = request.config.stash.get(NEEDS_DEMO, False)
    if not needed or os.environ.get("PYTEST_XDIST_WORKER") != "gw0":
        yield
        return
    thread = threading.Thread(target=demo_once, args=(shared_dir,), name="demo", daemon=True)
    thread.start()
    yield
    thread.join()  # never leave the demo's process writing after the run


@pytest.fixture(scope="session")
def demo_run(shared_dir: Path) -> DemoRun:
    """The whole offline pipeline, ``codegouv demo --once``, run once per run as a user runs it."""
    return demo_once(shared_dir)


@pytest.fixture
def demo_db(demo_run: DemoRun, tmp_path: Path) -> Path:
    """A file copy of the demo's database, for one test (it may write to it)."""
    assert demo_run.returncode == 0, demo_run.stderr
    assert "dépôts" in demo_run.stdout
    target = tmp_path / "inventory.db"
    copy_database(demo_run.path, target).close()
    return target


# --- the demo's publication served (the Datasette tests) --------------------------------------


@pytest.fixture(scope="module")
def published(demo_run) -> Path:
    """The demo's own publication (`codegouv demo --once`, once per run), read-only; a module
    that needs another publication defines its own ``published``."""
    from _publish_helpers import demo_publication

    return demo_publication(demo_run)


@pytest.fixture(scope="module")
def server(published):
    """`codegouv serve --out` on ``published``, for the tests of one module."""
    from tests._datasette_helpers import serving

    with serving("--out", str(published)) as running:
        yield running
