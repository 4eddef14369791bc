"""A demo site for the site tests: the local forge crawled for real (its GitHub accounts and
one GitLab host), the bundled SILL, one repository and its owner carrying injection payloads,
then the real site build."""

from __future__ import annotations

import dataclasses
import functools
import pickle
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _shared import built_once, shared_base

from crawler import db as store
from crawler import demo, sill_sync
from crawler.config import load_config
from crawler.models import Config
from crawler.pipeline import crawl
from crawler.publish import site
from localforge import Dataset, LocalForge

HOSTS = ("github.com", "gitlab.ow2.org")
#: Debian's Chromium (`make site-deps` installs it): Playwright's own browser downloads are
#: not available here.
CHROMIUM = Path("/usr/bin/chromium")
#: The account and repository that get the payloads (a small GitHub organisation).
HOSTILE_OWNER = "imagesdesmaths"
PAYLOAD_NAME = '"><svg onload=window.__pwned=1>'
PAYLOAD_DESCRIPTION = (
    '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=3"> hostilepayload'
)
PAYLOAD_TOPICS = ("<script>window.__pwned=4</script>", '"><svg onload=window.__pwned=5>')
PAYLOAD_HOMEPAGE = "javascript:window.__pwned=6"
PAYLOAD_OWNER_NAME = "<img src=x onerror=window.__pwned=7>Agence hostile"


def _poison(dataset: Dataset) -> None:
    """Write the payloads into the forge's own data, so they travel the real crawl path."""
    repository = dataset.repositories("github.com", HOSTILE_OWNER)[0]
    changed = dataset.update_repository(
        "github.com",
        repository.owner,
        repository.name,
        description=PAYLOAD_DESCRIPTION,
        topics=PAYLOAD_TOPICS,
        homepage=PAYLOAD_HOMEPAGE,
    )
    # update_repository takes the name as its lookup key: rename the record the same way it
    # replaces one (a fresh record, fresh caches).
    key = HOSTILE_OWNER.lower()
    renamed = dataclasses.replace(changed, name=PAYLOAD_NAME)
    owned = dataset._repos["github.com"][key]
    dataset._repos["github.com"][key] = [renamed if r is changed else r for r in owned]
    dataset._repos_by_id[("github.com", renamed.database_id)] = renamed
    # The dataset has no public setter for accounts: replace the record as update_repository
    # does for repositories (a fresh record, fresh caches).
    account = dataset._accounts["github.com"][key]
    hostile = dataclasses.replace(account, name=PAYLOAD_OWNER_NAME)
    dataset._accounts["github.com"][key] = hostile
    dataset._accounts_by_id[("github.com", hostile.database_id)] = hostile
    dataset._changed()


def make_demo_db(workdir: Path) -> Path:
    """Crawl the poisoned local forge and load the bundled SILL into ``workdir/inventory.db``."""
    dataset = Dataset.load()
    _poison(dataset)
    db_path = workdir / "inventory.db"
    with LocalForge(dataset) as forge:
        full = load_config(
            demo.write_demo_config(forge, workdir / "organisations.yml"),
            ministries_path=demo.MINISTRIES,
        )
        config = Config(full.path, tuple(f for f in full.forges if f.host in HOSTS))
        db = store.open_db(db_path)
        environ = {"GITHUB_TOKEN": demo.DEMO_TOKEN, "GITLAB_TOKEN": demo.DEMO_TOKEN}
        report = crawl(config, db, environ=environ)
        assert report.accounts_failed == 0, report
        sill_sync.load_into(db, sill_sync.BUNDLED)
        db.close()
    return db_path


_SHARED: dict[str, tuple[Path, Path, site.SiteReport]] = {}


def shared_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, site.SiteReport]:
    """The demo database and its site, made once per test run for all the workers (tests/
    _shared.py's ``built_once``) and shared by the site test modules (read-only: a test that
    changes the database works on a copy)."""
    if "site" not in _SHARED:

        def make(work: Path) -> None:
            report = build(make_demo_db(work), work / "site")
            (work / "report.pickle").write_bytes(pickle.dumps(report))

        where = built_once(shared_base(tmp_path_factory), "site-demo", make)
        report = pickle.loads((where / "report.pickle").read_bytes())
        # The report names the folder the site was built in, before it was moved into place.
        report = dataclasses.replace(report, out=where / "site")
        _SHARED["site"] = (where / "inventory.db", where / "site", report)
    return _SHARED["site"]


def hostile_repository_id(db_path: Path) -> str:
    db = store.open_db(db_path)
    try:
        row = next(
            db.query("select id from repositories where description like ?", ["%hostilepayload%"])
        )
    finally:
        db.close()
    return str(row["id"])


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A plain static HTTP server on loopback (any static server must do), yielding its URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            """A browser that drops a request it no longer needs (a page left, a fetch
            aborted) is not an error of the server's; anything else is printed as before."""
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def build(db_path: Path, out: Path, **kwargs: object) -> site.SiteReport:
    return site.build(db_path, out, **kwargs)  # type: ignore[arg-type]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()
