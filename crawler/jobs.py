"""The steps people and the scheduler run: crawl, SILL, publish.

Each step takes the database's lock (``crawler.lock``), opens the database, does its work and
returns a report; the command line prints the report, the scheduler logs it. Nothing here
prints.

Each step imports what it runs when it runs: a crawl does not load the publication (jinja2, the
site) and a publication does not load the forges' clients.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crawler import db as store
from crawler import sill_sync
from crawler.lock import exclusive

if TYPE_CHECKING:
    from crawler.forges.base import RetryPolicy
    from crawler.models import Config, RunReport
    from crawler.pipeline import ProgressCallback
    from crawler.publish.build import PublishReport
    from sill.load import SillSourceError

log = logging.getLogger(__name__)


def crawl(
    config: Config,
    db_path: Path,
    *,
    progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> RunReport:
    """Crawl the accounts of ``config`` into the database at ``db_path``; when ``stop`` is set
    the crawl ends after the pages in flight, resumable (``crawler.pipeline.crawl``).

    Raises:
        crawler.lock.AlreadyRunning: another step holds the database.
    """
    from crawler.pipeline import crawl as run_crawl

    with exclusive(db_path):
        db = store.open_db(db_path)
        try:
            return run_crawl(config, db, progress=progress, retry=retry, environ=environ, stop=stop)
        finally:
            db.close()


def sill(
    db_path: Path,
    source: str = sill_sync.DEFAULT_SOURCE,
    *,
    on_fallback: Callable[[SillSourceError], None] | None = None,
) -> sill_sync.SillReport:
    """Load the SILL from ``source`` and link it to the repositories.

    When the default source does not answer, the bundled copy is loaded instead and
    ``on_fallback`` is told why; any other source that fails raises.

    Raises:
        sill.load.SillError: the source is unreadable or not a SILL export (tables untouched).
        crawler.lock.AlreadyRunning: another step holds the database.
    """
    from sill.load import SillSourceError

    with exclusive(db_path):
        db = store.open_db(db_path)
        try:
            try:
                return sill_sync.load_into(db, source)
            except SillSourceError as error:
                if source != sill_sync.DEFAULT_SOURCE:
                    raise
                log.warning("SILL source unreachable, loading the bundled copy: %s", error)
                if on_fallback:
                    on_fallback(error)
                return sill_sync.load_into(db, sill_sync.BUNDLED)
        finally:
            db.close()


def publish(db_path: Path, out_dir: Path, *, site: bool = True) -> PublishReport:
    """Build the published folder ``out_dir`` from the database at ``db_path`` (without the
    static site when ``site`` is false).

    Raises:
        crawler.publish.build.PublishError: the publication failed; the previous one is kept.
        crawler.lock.AlreadyRunning: another step holds the database.
    """
    from crawler.publish.build import build

    with exclusive(db_path):
        return build(db_path, out_dir, site=site)
