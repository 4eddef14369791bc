"""``codegouv publish``: build the published folder beside the old one, then swap it in.

Layout of the published folder ``DIR`` (``public/`` by default)::

    DIR/inventory.db        immutable copy of the database (vacuumed, analysed, FTS merged)
    DIR/datasette/          Datasette configuration (metadata.json)
    DIR/data/               open-data exports: CSV, JSON, Table Schemas, datapackage.json
    DIR/build.json          when, from which crawl run, counts, durations, versions
    DIR/site/               the static site (crawler.publish.site), rebuilt from the copy;
                            pages whose rows did not change are linked from the previous build;
                            absent when the publication did not ask for it (``site=False``)

How the swap works, and why: ``DIR`` is a symbolic link to a build folder beside it
(``.DIR.build-<timestamp>``). A new publication is written into a fresh build folder; only
when it is complete, a new link is made under a temporary name and renamed over ``DIR`` with
``os.replace``. Renaming over a symbolic link is atomic, so a reader (a static server, Datasette
opening ``DIR/inventory.db``) always finds either the whole old publication or the whole new
one, never a missing or half-written ``DIR``; two renames of real directories would leave a
moment without ``DIR``. That moment happens once only, when an older ``DIR`` is a real
directory: it is renamed aside, then the link takes its place. The previous build folder is
kept (a reader that opened it keeps working; a rollback is one link away); older ones are
removed. A failed publication removes its half-built folder and leaves ``DIR`` untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler import db as store
from crawler.publish import datasette, exports, tableschema

log = logging.getLogger(__name__)

DATABASE_NAME = "inventory.db"

#: build.json's ``site`` when the publication was asked without the static site.
NOT_ASKED: dict[str, Any] = {
    "asked": False,
    "built": False,
    "reason": "publication demandée sans le site statique (--no-site)",
}


class PublishError(Exception):
    """The publication failed; the previous one is still in place."""


class PublishInputError(PublishError):
    """The publication cannot start: a missing database, an output path that is not a folder."""


@dataclass(frozen=True)
class PublishReport:
    run_id: int
    out_dir: Path
    build_dir: Path
    crawl_run_id: int | None
    counts: dict[str, int] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)


def build(
    db_path: Path, out_dir: Path, now: dt.datetime | None = None, *, site: bool = True
) -> PublishReport:
    """Publish the database at ``db_path`` into ``out_dir`` (see the module's docstring).

    The caller holds the database's lock. The publication is recorded in ``publish_runs``.
    With ``site=False`` the static site is not rendered (build.json says it was not asked
    for), and the previous publication's site is not carried over either: a folder whose
    ``site/`` described older data would be worse than none.

    Raises:
        PublishInputError: nothing could start (exit status 2).
        PublishError: the build failed; ``out_dir`` is as it was (exit status 1).
    """
    if not db_path.is_file():
        raise PublishInputError(f"{db_path} n'existe pas : lancez d'abord `codegouv crawl`.")
    if out_dir.name in ("", ".", ".."):
        raise PublishInputError(f"{out_dir} : donnez un dossier à créer ou à remplacer.")
    if out_dir.exists() and not out_dir.is_dir():
        raise PublishInputError(f"{out_dir} existe et n'est pas un dossier.")
    if _foreign_folder(out_dir):
        # Its content would be set aside, then removed at the next publication.
        raise PublishInputError(
            f"{out_dir} existe et n'est pas une publication (pas de build.json) : choisissez "
            "un autre dossier ou videz-le."
        )
    started = now or dt.datetime.now(dt.UTC)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build_dir = out_dir.with_name(f".{out_dir.name}.build-{started:%Y%m%dT%H%M%S%fZ}")
    live = store.open_db(db_path)
    run_id = store.start_publish(live, str(out_dir.absolute()))
    crawl_run = store.last_crawl_run(live)
    crawl_run_id = int(crawl_run["id"]) if crawl_run else None
    durations: dict[str, float] = {}
    # What fails the publication (the previous one kept) rather than crashing; the static
    # site's module (jinja2) is imported only when the site is built, and its errors with it.
    failures: tuple[type[Exception], ...] = (
        OSError,
        sqlite3.Error,
        sqlite_utils.db.NotFoundError,
        ValueError,
    )
    if site:
        from crawler.publish import site as static_site

        failures = (*failures, static_site.SiteError)

    def stage(name: str, work: Callable[[], Any]) -> Any:
        began = time.monotonic()
        log.info("publish: %s", name)
        result = work()
        durations[name] = round(time.monotonic() - began, 3)
        return result

    try:
        build_dir.mkdir()
        stage("daily_stats", lambda: store.refresh_daily_stats(live, f"{started:%Y-%m-%d}"))
        counts: dict[str, int] = stage(
            "database", lambda: _copy_database(live, build_dir / DATABASE_NAME, run_id)
        )
        stage("datasette", lambda: datasette.write(build_dir, build_dir / DATABASE_NAME))
        stage("exports", lambda: _export(build_dir, started))
        site_state = stage("site", lambda: _site(build_dir, out_dir)) if site else NOT_ASKED
        info = _build_info(started, run_id, crawl_run, counts, durations)
        _write_json(build_dir / "build.json", {**info, "site": site_state})
        previous = _swap(build_dir, out_dir, started)
    except failures as error:
        shutil.rmtree(build_dir, ignore_errors=True)
        message = f"publication dans {out_dir} impossible : {error}"
        store.finish_publish(
            live, run_id, status="failed", crawl_run_id=crawl_run_id, error=message
        )
        live.close()
        raise PublishError(message) from error
    except BaseException as error:
        shutil.rmtree(build_dir, ignore_errors=True)
        store.finish_publish(
            live, run_id, status="failed", crawl_run_id=crawl_run_id, error=repr(error)
        )
        live.close()
        raise
    store.finish_publish(live, run_id, status="ok", crawl_run_id=crawl_run_id)
    live.close()
    _remove_old_builds(out_dir, keep={build_dir.name, previous.name if previous else ""})
    return PublishReport(run_id, out_dir, build_dir, crawl_run_id, counts, durations)


def _foreign_folder(out_dir: Path) -> bool:
    """A real, non-empty folder that no publication wrote."""
    if out_dir.is_symlink() or not out_dir.is_dir():
        return False
    return not (out_dir / "build.json").is_file() and any(out_dir.iterdir())


def _copy_database(live: sqlite_utils.Database, path: Path, run_id: int) -> dict[str, int]:
    store.snapshot(live, path)
    copy = sqlite_utils.Database(path)
    try:
        # This publication is described by build.json; its row would read "running" forever.
        copy.execute("delete from publish_runs where id = ?", [run_id])
        copy.conn.commit()
        prepare = getattr(datasette, "prepare", None)
        if prepare is not None:
            prepare(copy)
        store.finalise_copy(copy)
        return store.table_counts(copy)
    finally:
        copy.close()


def _export(build_dir: Path, started: dt.datetime) -> None:
    copy = sqlite_utils.Database(build_dir / DATABASE_NAME)
    try:
        exports.write_all(copy, build_dir / "data", started.strftime("%Y-%m-%dT%H:%M:%SZ"))
    finally:
        copy.close()


def _build_info(
    started: dt.datetime,
    run_id: int,
    crawl_run: dict[str, Any] | None,
    counts: dict[str, int],
    durations: dict[str, float],
) -> dict[str, Any]:
    crawl = (
        {k: crawl_run[k] for k in ("id", "started_at", "finished_at", "status")}
        if crawl_run
        else None
    )
    return {
        "built_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publish_run": run_id,
        "crawl_run": crawl,
        "counts": counts,
        "durations": durations,
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    versions = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "table_schema": tableschema.VERSION,
    }
    for package in ("codegouv-inventory", "datasette", "sqlite-utils"):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = "inconnue"
    return versions


def _site(build_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Render the static site from the published copy, reusing the current publication's pages
    whose rows did not change. Without the DSFR (npm, ``make site-deps``) the data is still
    published and the site is said to be missing, rather than the whole publication failing."""
    from crawler.publish import site as static_site

    current = out_dir / "site"
    try:
        report = static_site.build(
            build_dir / DATABASE_NAME,
            build_dir / "site",
            previous=current.resolve() if current.is_dir() else None,
        )
    except static_site.DsfrMissing as error:
        log.warning("publish: static site skipped: %s", error)
        shutil.rmtree(build_dir / "site", ignore_errors=True)
        return {"asked": True, "built": False, "reason": str(error)}
    return {
        "asked": True,
        "built": True,
        "pages": report.pages,
        "rendered": report.rendered,
        "reused": report.reused,
    }


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _swap(build_dir: Path, out_dir: Path, started: dt.datetime) -> Path | None:
    """Point ``out_dir`` at ``build_dir``; return the build folder it pointed at before."""
    stamp = f"{started:%Y%m%dT%H%M%S%fZ}"
    link = out_dir.with_name(f".{out_dir.name}.link-{stamp}")
    link.symlink_to(build_dir.name, target_is_directory=True)
    previous: Path | None = None
    try:
        if out_dir.is_symlink():
            previous = out_dir.parent / os.readlink(out_dir)
        elif out_dir.exists():
            previous = out_dir.with_name(f".{out_dir.name}.old-{stamp}")
            out_dir.rename(previous)
        os.replace(link, out_dir)
    except OSError:
        link.unlink(missing_ok=True)
        if previous is not None and not out_dir.exists() and not previous.is_symlink():
            previous.rename(out_dir)
        raise
    return previous


def _remove_old_builds(out_dir: Path, keep: set[str]) -> None:
    for prefix in (f".{out_dir.name}.build-", f".{out_dir.name}.old-", f".{out_dir.name}.link-"):
        for path in out_dir.parent.glob(f"{prefix}*"):
            if path.name in keep:
                continue
            log.info("removing old publication %s", path)
            if path.is_symlink() or not path.is_dir():
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path, ignore_errors=True)
