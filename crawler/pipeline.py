"""config → forges → database: one crawl run, errors isolated per account.

Forge hosts are crawled in parallel (one thread each, and each adapter keeps at most four requests
in flight); every result comes back to the calling thread, which alone writes to SQLite, one
account per transaction, so a crash never leaves an account half-written.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import sqlite_utils

from crawler import db as store
from crawler.config import is_ignored, token_for
from crawler.forges import ADAPTERS
from crawler.forges.base import Forge
from crawler.models import Config, ForgeConfig, ForgeReport, OwnerConfig, OwnerCrawl, RunReport

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
    ok: int = 0
    failed: int = 0
    repositories: int = 0
    requests: int = 0
    settled: set[str] = field(default_factory=set)
    crashed: str | None = None

    @property
    def status(self) -> str:
        if self.failed == 0:
            return "ok"
        return "failed" if self.ok == 0 else "partial"


_DONE = object()


def crawl(
    config: Config,
    db: sqlite_utils.Database,
    *,
    environ: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    today: dt.date | None = None,
) -> RunReport:
    """Crawl every forge of ``config`` into ``db`` and return the run's report.

    Args:
        config: the validated organisations (already narrowed by ``--forge``/``--owner``).
        db: the inventory database (see ``crawler.db.open_db``).
        environ: where tokens are read from (default: the process environment).
        progress: called from this thread whenever an account is settled.
        today: the date ``ignored_since`` is compared with (default: today, UTC).
    """
    environ = os.environ if environ is None else environ
    today = today or dt.datetime.now(dt.UTC).date()
    started_at = store.utcnow()
    run_id = store.start_run(db, started_at)
    reports: list[ForgeReport] = []
    tallies: dict[str, _ForgeTally] = {}
    results: queue.Queue[tuple[str, object]] = queue.Queue()
    threads: list[threading.Thread] = []
    adapters: dict[str, Forge] = {}

    for forge in config.forges:
        skipped = _skip_reason(forge, today)
        if skipped is not None:
            status, message = skipped
            store.save_forge(db, forge, status, message, started_at)
            reports.append(ForgeReport(forge.host, status, message=message))
            continue
        accounts = [a for a in forge.owners if not is_ignored(a, today)]
        adapter = ADAPTERS[forge.kind](forge, token_for(forge, environ))
        adapters[forge.host] = adapter
        store.save_forge(db, forge, "running", now=started_at)
        tally = _ForgeTally(forge, accounts)
        tallies[forge.host] = tally
        thread = threading.Thread(
            target=_crawl_forge,
            args=(adapter.crawl, accounts, forge.host, results, tally),
            name=f"forge-{forge.host}",
            daemon=True,
        )
        threads.append(thread)
        if progress:
            progress(Progress(forge.host, len(accounts), 0, 0))
        thread.start()

    new = removed = 0
    running = len(threads)
    while running:
        host, item = results.get()
        tally = tallies[host]
        if item is _DONE:
            running -= 1
            _settle_leftovers(db, run_id, tally)
            if progress:
                progress(
                    Progress(
                        host,
                        len(tally.accounts),
                        tally.ok + tally.failed,
                        tally.repositories,
                        finished=True,
                    )
                )
            continue
        assert isinstance(item, OwnerCrawl)
        saved = store.save_owner_crawl(db, item, run_id)
        new += saved.new
        removed += saved.removed
        tally.settled.add(item.account.id)
        if item.ok:
            tally.ok += 1
            tally.repositories += len(item.repositories)
        else:
            tally.failed += 1
        if progress:
            progress(
                Progress(host, len(tally.accounts), tally.ok + tally.failed, tally.repositories)
            )

    for thread in threads:
        thread.join()
    for host, tally in tallies.items():
        tally.requests = adapters[host].requests
        summary = tally.crashed or (
            f"{tally.failed} of {len(tally.accounts)} accounts failed" if tally.failed else None
        )
        store.save_forge(db, tally.config, tally.status, summary)
        reports.append(
            ForgeReport(
                tally.config.host,
                tally.status,
                tally.requests,
                tally.ok,
                tally.failed,
                tally.repositories,
                summary,
            )
        )

    order = {f.host: i for i, f in enumerate(config.forges)}
    reports.sort(key=lambda r: order[r.host])
    report = RunReport(run_id, started_at, store.utcnow(), tuple(reports), new, removed)
    store.finish_run(db, report)
    return report


def _skip_reason(forge: ForgeConfig, today: dt.date) -> tuple[str, str] | None:
    if is_ignored(forge, today):
        return "ignored", f"ignored since {forge.ignored_since}"
    if forge.kind not in ADAPTERS:
        return "unsupported", f"forge kind '{forge.kind}' is not supported yet: skipped"
    if forge.whole_instance:
        return "unsupported", (
            f"crawling a whole {forge.kind} instance is not supported yet: skipped"
        )
    return None


def _crawl_forge(
    crawl_accounts: Callable[[list[OwnerConfig]], Iterable[OwnerCrawl]],
    accounts: list[OwnerConfig],
    host: str,
    results: queue.Queue[tuple[str, object]],
    tally: _ForgeTally,
) -> None:
    try:
        for result in crawl_accounts(accounts):
            results.put((host, result))
    except Exception as error:  # a bug in one adapter must not stop the other forges
        log.exception("%s: the crawl stopped on an unexpected error", host)
        tally.crashed = f"{host}: unexpected error: {type(error).__name__}: {error}"
    finally:
        results.put((host, _DONE))


def _settle_leftovers(db: sqlite_utils.Database, run_id: int, tally: _ForgeTally) -> None:
    """Accounts a crashed forge never reported are failed, their stored rows kept."""
    for account in tally.accounts:
        if account.id not in tally.settled:
            error = tally.crashed or f"{account.forge}: no result for this account"
            store.save_owner_crawl(db, OwnerCrawl(account, error=error), run_id)
            tally.settled.add(account.id)
            tally.failed += 1
