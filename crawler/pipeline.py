"""config → forges → database: one crawl run, errors isolated per account.

Forge hosts are crawled in parallel (one thread each, and each adapter keeps at most four requests
in flight); every event comes back to the calling thread, which alone writes to SQLite. Each page
is saved with the cursor after it in one transaction, so a crawl killed at any moment leaves a
consistent database and the next run resumes after the last saved page; an account's removals
are marked only once its listing is complete.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from crawler import db as store
from crawler.config import is_ignored, token_for
from crawler.forges import ADAPTERS
from crawler.forges.base import Forge, RetryPolicy
from crawler.metrics import activity_cutoffs
from crawler.models import (
    AccountDone,
    AccountFailed,
    Config,
    CrawlEvent,
    ForgeConfig,
    ForgeReport,
    ItemSkipped,
    OwnerConfig,
    RepositoryPage,
    RunReport,
)
from crawler.redact import register_environment
from crawler.score import score
from crawler.sill_sync import relink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """Where one forge's crawl stands, for progress bars."""

    host: str
    accounts_total: int
    accounts_done: int
    repositories: int
    finished: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass
class _ForgeTally:
    config: ForgeConfig
    accounts: list[OwnerConfig]
    adapter: Forge
    ok: int = 0
    failed: int = 0
    repositories: int = 0
    settled: set[str] = field(default_factory=set)
    crashed: str | None = None
    first_error: str | None = None
    skipped: int = 0
    """Malformed items skipped (each recorded in crawl_errors)."""
    paged: dict[str, int] = field(default_factory=dict)
    """Repositories saved from pages in this run, by account key."""

    @property
    def status(self) -> str:
        if self.failed == 0:
            return "ok"
        return "failed" if self.ok == 0 else "partial"

    def progress(self, finished: bool = False) -> Progress:
        return Progress(
            self.config.host,
            len(self.accounts),
            self.ok + self.failed,
            self.repositories,
            finished,
        )


_DONE = object()


def crawl(
    config: Config,
    db: sqlite_utils.Database,
    *,
    environ: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    today: dt.date | None = None,
    retry: RetryPolicy | None = None,
    stop: threading.Event | None = None,
) -> RunReport:
    """Crawl every forge of ``config`` into ``db`` and return the run's report.

    Args:
        config: the validated organisations (already narrowed by ``--forge``/``--owner``).
        db: the inventory database (see ``crawler.db.open_db``).
        environ: where tokens are read from (default: the process environment).
        progress: called from this thread whenever an account is settled or a page saved.
        today: the date ``ignored_since`` is compared with (default: today, UTC).
        retry: how to insist on transient faults (default: ``RetryPolicy()``).
        stop: when set (SIGTERM), every forge stops after the page it is saving; the accounts
            not finished are left as they are (not failed), and the next run resumes them.
    """
    environ = os.environ if environ is None else environ
    # Before any request: what a forge echoes of any token is masked in the DB and the logs.
    register_environment(environ)
    today = today or dt.datetime.now(dt.UTC).date()
    started_at = store.utcnow()
    run_id = store.start_run(db, started_at)
    reports: list[ForgeReport] = []
    tallies: dict[str, _ForgeTally] = {}
    events: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=256)
    threads: list[threading.Thread] = []

    for forge in config.forges:
        skipped = _skip_reason(forge, today)
        if skipped is not None:
            status, message = skipped
            store.save_forge(db, forge, status, message, started_at)
            reports.append(ForgeReport(forge.host, status, message=message))
            continue
        accounts = [a for a in forge.units() if not is_ignored(a, today)]
        adapter = ADAPTERS[forge.kind](
            forge,
            token_for(forge, environ),
            state=store.load_state(db, forge.host),
            retry=retry,
        )
        if stop is not None:
            adapter.stopping = stop
        tally = _ForgeTally(forge, accounts, adapter)
        tallies[forge.host] = tally
        store.save_forge(db, forge, "running", now=started_at)
        threads.append(
            threading.Thread(
                target=_crawl_forge,
                args=(tally, events),
                name=f"forge-{forge.host}",
                daemon=True,
            )
        )
        if progress:
            progress(tally.progress())

    for thread in threads:
        thread.start()
    new = removed = 0
    running = len(threads)
    while running:
        host, item = events.get()
        tally = tallies[host]
        if item is _DONE:
            running -= 1
            if stop is None or not stop.is_set():
                _settle_leftovers(db, run_id, tally)
            if progress:
                progress(tally.progress(finished=True))
            continue
        if isinstance(item, RepositoryPage):
            new += store.save_page(db, item, run_id).new
            tally.repositories += len(item.repositories)
            tally.paged[item.account.key] = tally.paged.get(item.account.key, 0) + len(
                item.repositories
            )
        elif isinstance(item, AccountDone):
            saved = store.finish_account(db, item, run_id)
            removed += saved.removed
            tally.ok += 1
            tally.settled.add(item.account.key)
            if item.unchanged:
                # (less what its pages of this run already counted: only what changed)
                stored = store.count_repositories(db, item.account)
                tally.repositories += max(0, stored - tally.paged.get(item.account.key, 0))
        elif isinstance(item, AccountFailed):
            store.fail_account(db, item, run_id)
            tally.failed += 1
            tally.first_error = tally.first_error or item.error
            tally.settled.add(item.account.key)
        elif isinstance(item, ItemSkipped):
            store.skip_item(db, item, run_id)
            tally.skipped += 1
        if progress:
            progress(tally.progress())

    for thread in threads:
        thread.join()
    for tally in tallies.values():
        summary = tally.crashed or (
            f"{tally.failed} of {len(tally.accounts)} accounts failed, first: {tally.first_error}"
            if tally.failed
            else None
        )
        if tally.skipped:
            note = f"{tally.skipped} malformed items skipped (see crawl_errors)"
            summary = f"{summary}; {note}" if summary else note
        store.save_forge(db, tally.config, tally.status, summary)
        reports.append(
            ForgeReport(
                tally.config.host,
                tally.status,
                tally.adapter.requests,
                tally.ok,
                tally.failed,
                tally.repositories,
                summary,
                budget_left=tally.adapter.budget_left,
                not_modified=tally.adapter.not_modified,
            )
        )

    store.refresh_licences(db)
    refresh_derived(db)
    order = {f.host: i for i, f in enumerate(config.forges)}
    reports.sort(key=lambda r: order[r.host])
    interrupted = stop is not None and stop.is_set()
    report = RunReport(
        run_id, started_at, store.utcnow(), tuple(reports), new, removed, interrupted
    )
    store.finish_run(db, report)
    return report


def refresh_derived(db: sqlite_utils.Database) -> None:
    """What is computed from the crawled columns, for every current repository (time passes
    for the repositories a re-crawl skipped too): activity, score, and the SILL links, which
    new repositories or publiccode.yml files may have made."""
    store.refresh_activity(db, *activity_cutoffs(dt.datetime.now(dt.UTC)))
    store.refresh_scores(db, _rate)
    relink(db)


def _rate(row: dict[str, Any]) -> tuple[int, str]:
    rated = score(row)
    return rated.value, rated.details_json()


def _skip_reason(forge: ForgeConfig, today: dt.date) -> tuple[str, str] | None:
    if is_ignored(forge, today):
        return "ignored", f"ignored since {forge.ignored_since}"
    if forge.kind not in ADAPTERS:
        return "unsupported", f"forge kind '{forge.kind}' is not supported yet: skipped"
    if forge.whole_instance and not ADAPTERS[forge.kind].crawls_whole_instances:
        return "unsupported", f"crawling a whole {forge.kind} instance is not supported: skipped"
    return None


def _crawl_forge(tally: _ForgeTally, events: queue.Queue[tuple[str, object]]) -> None:
    host = tally.config.host
    try:
        event: CrawlEvent
        for event in tally.adapter.crawl(tally.accounts):
            events.put((host, event))
    except Exception as error:  # a bug in one adapter must not stop the other forges
        log.exception("%s: the crawl stopped on an unexpected error", host)
        tally.crashed = f"{host}: unexpected error: {type(error).__name__}: {error}"
    finally:
        try:
            tally.adapter.close()
        except Exception:  # what is saved stays saved; a leak is logged, not fatal
            log.exception("%s: the adapter did not close cleanly", host)
        finally:
            events.put((host, _DONE))


def _settle_leftovers(db: sqlite_utils.Database, run_id: int, tally: _ForgeTally) -> None:
    """Accounts a crashed forge never reported are failed, their stored rows kept."""
    for account in tally.accounts:
        if account.key not in tally.settled:
            error = tally.crashed or f"{account.forge}: no result for this account"
            store.fail_account(db, AccountFailed(account, error), run_id)
            tally.settled.add(account.key)
            tally.failed += 1
