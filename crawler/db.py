"""The only module that touches SQLite: shape, migrations, upserts, crawl runs, full-text search.

The shape comes from ``crawler.schema``; applying it is idempotent and additive (missing tables,
columns, indexes and FTS are created; nothing is renamed or dropped), so opening an older database
brings it up to date. Data fixes that cannot be expressed as "add" go in ``MIGRATIONS``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table as SqlTable

from crawler import schema
from crawler.models import ForgeConfig, OwnerConfig, OwnerCrawl, Repository, RunReport

log = logging.getLogger(__name__)

#: Tokenizer for full-text search: case- and accent-insensitive ("equipe" finds "équipe").
FTS_TOKENIZE = "unicode61 remove_diacritics 2"

Migration = Callable[[sqlite_utils.Database], None]

#: Named, ordered data migrations, applied once each and recorded in ``_migrations``.
MIGRATIONS: tuple[tuple[str, Migration], ...] = ()


def utcnow() -> str:
    """Now, as the ISO 8601 UTC text stored everywhere in the database."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the inventory database and bring its shape up to date.

    Args:
        path: the database file; ``None`` for an in-memory database (tests).
    """
    if path is None:
        db = sqlite_utils.Database(memory=True)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    ensure_shape(db)
    return db


def _sql_type(type_: str) -> type:
    return {"TEXT": str, "INTEGER": int, "FLOAT": float}[type_]


def ensure_shape(db: sqlite_utils.Database) -> None:
    """Create whatever the declared schema has and the database lacks."""
    with db.atomic():
        for declared in schema.TABLES:
            table = db.table(declared.name)
            columns = {c.name: _sql_type(c.type) for c in declared.columns}
            if not table.exists():
                table.create(
                    columns,
                    pk=declared.pk,
                    foreign_keys=list(declared.foreign_keys) or None,
                )
            else:
                existing = set(table.columns_dict)
                for column in declared.columns:
                    if column.name not in existing:
                        log.info("adding column %s.%s", declared.name, column.name)
                        table.add_column(column.name, _sql_type(column.type))
            for index in declared.indexes:
                table.create_index(list(index), if_not_exists=True)
    for declared in schema.TABLES:
        table = db.table(declared.name)
        if declared.fts and not table.detect_fts():
            table.enable_fts(list(declared.fts), create_triggers=True, tokenize=FTS_TOKENIZE)
    _apply_migrations(db)


def _apply_migrations(db: sqlite_utils.Database) -> None:
    applied_table = db.table("_migrations")
    if not applied_table.exists():
        applied_table.create({"name": str, "applied_at": str}, pk="name")
    applied = {row["name"] for row in applied_table.rows}
    for name, migrate in MIGRATIONS:
        if name not in applied:
            log.info("applying migration %s", name)
            with db.atomic():
                migrate(db)
                applied_table.insert({"name": name, "applied_at": utcnow()})


def _table(db: sqlite_utils.Database, name: str) -> SqlTable:
    return db.table(name)


# --- crawl runs -------------------------------------------------------------------------------


def start_run(db: sqlite_utils.Database, now: str | None = None) -> int:
    """Record the start of a crawl and return its id."""
    table = _table(db, "crawl_runs")
    with db.atomic():
        table.insert({"started_at": now or utcnow(), "status": "running"})
    run_id = table.last_pk
    assert isinstance(run_id, int)
    return run_id


def finish_run(db: sqlite_utils.Database, report: RunReport) -> None:
    forges = [
        {
            "host": f.host,
            "status": f.status,
            "requests": f.requests,
            "accounts_ok": f.accounts_ok,
            "accounts_failed": f.accounts_failed,
            "repositories": f.repositories,
            "message": f.message,
        }
        for f in report.forges
    ]
    with db.atomic():
        _table(db, "crawl_runs").update(
            report.run_id,
            {
                "finished_at": report.finished_at,
                "status": report.status,
                "requests": report.requests,
                "accounts_ok": report.accounts_ok,
                "accounts_failed": report.accounts_failed,
                "repositories_seen": report.repositories_seen,
                "repositories_new": report.repositories_new,
                "repositories_removed": report.repositories_removed,
                "forges": json.dumps(forges, ensure_ascii=False),
            },
        )


def record_error(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    forge: str,
    owner: str | None,
    error: str,
    now: str | None = None,
) -> None:
    with db.atomic():
        _table(db, "crawl_errors").insert(
            {
                "run_id": run_id,
                "forge": forge,
                "owner": owner,
                "at": now or utcnow(),
                "error": error,
            }
        )


# --- forges and owners ------------------------------------------------------------------------


def save_forge(
    db: sqlite_utils.Database,
    forge: ForgeConfig,
    status: str,
    message: str | None = None,
    now: str | None = None,
) -> None:
    """Upsert a forge row with the outcome of its crawl."""
    row: dict[str, Any] = {
        "host": forge.host,
        "kind": forge.kind,
        "api_url": forge.api_url,
        "whole_instance": int(forge.whole_instance),
        "pso_id": forge.pso_id,
        "name": forge.name,
        "ministry": forge.ministry,
        "status": status,
        "message": message,
    }
    if status not in ("unsupported", "ignored"):
        row["last_crawled_at"] = now or utcnow()
    with db.atomic():
        _table(db, "forges").upsert(row, pk="host")


def _account_row(account: OwnerConfig) -> dict[str, Any]:
    return {
        "id": account.id,
        "forge": account.forge,
        "pso_id": account.pso_id,
        "ministry": account.ministry,
        "floss_policy": account.floss_policy,
        "ospo_url": account.ospo_url,
    }


@dataclass(frozen=True)
class SaveResult:
    new: int = 0
    removed: int = 0


def save_owner_crawl(
    db: sqlite_utils.Database, crawl: OwnerCrawl, run_id: int, now: str | None = None
) -> SaveResult:
    """Store one account's crawl in a single transaction.

    A successful crawl upserts the owner and its repositories and marks ``removed_at`` on the
    stored repositories it no longer lists; a failed one keeps every stored row, sets the owner's
    ``crawl_status`` and records the error.
    """
    now = now or utcnow()
    account = crawl.account
    owners = _table(db, "owners")
    with db.atomic():
        exists = owners.count_where("id = ?", [account.id]) > 0
        row = _account_row(account)
        if crawl.error is not None or crawl.owner is None:
            row["crawl_status"] = "failed"
            if not exists:
                row["login"] = account.login
                row["kind"] = None
            owners.upsert(row, pk="id")
            record_error(
                db,
                run_id,
                forge=account.forge,
                owner=account.login,
                error=crawl.error or "no data",
                now=now,
            )
            return SaveResult()
        owner = crawl.owner
        row.update(
            login=owner.login,
            kind=owner.kind,
            name=owner.name or account.name,
            description=owner.description,
            website=owner.website,
            email=owner.email,
            location=owner.location,
            avatar_url=owner.avatar_url,
            created_at=owner.created_at,
            repositories_count=len(crawl.repositories),
            last_seen_at=now,
            crawl_status="ok",
        )
        if not exists:
            row["first_seen_at"] = now
        owners.upsert(row, pk="id")
        return _save_repositories(db, account, crawl.repositories, now)


def _save_repositories(
    db: sqlite_utils.Database,
    account: OwnerConfig,
    repositories: Iterable[Repository],
    now: str,
) -> SaveResult:
    table = _table(db, "repositories")
    stored = {
        r["id"]: r["removed_at"]
        for r in db.query("select id, removed_at from repositories where owner = ?", [account.id])
    }
    rows = []
    seen: set[str] = set()
    for repository in repositories:
        row = repository_row(repository, account)
        row["last_seen_at"] = now
        row["removed_at"] = None
        if row["id"] not in stored:
            row["first_seen_at"] = now
        seen.add(row["id"])
        rows.append(row)
    table.upsert_all(rows, pk="id")
    gone = [rid for rid, removed_at in stored.items() if rid not in seen and removed_at is None]
    for rid in gone:
        table.update(rid, {"removed_at": now})
    return SaveResult(new=sum(1 for rid in seen if rid not in stored), removed=len(gone))


def repository_row(repository: Repository, account: OwnerConfig) -> dict[str, Any]:
    """Map a repository record to its row (booleans as 0/1, topics as a JSON array)."""

    def flag(value: bool | None) -> int | None:
        return None if value is None else int(value)

    return {
        "id": repository.id,
        "url": repository.url,
        "forge": repository.forge,
        "owner": account.id,
        "name": repository.name,
        "description": repository.description,
        "homepage": repository.homepage,
        "default_branch": repository.default_branch,
        "language": repository.language,
        "topics": json.dumps(list(repository.topics), ensure_ascii=False),
        "licence": repository.licence,
        "licence_source": repository.licence_source,
        "is_fork": int(repository.is_fork),
        "is_archived": int(repository.is_archived),
        "is_template": int(repository.is_template),
        "created_at": repository.created_at,
        "updated_at": repository.updated_at,
        "pushed_at": repository.pushed_at,
        "last_commit_at": repository.last_commit_at,
        "stars": repository.stars,
        "forks": repository.forks,
        "open_issues": repository.open_issues,
        "has_readme": flag(repository.has_readme),
        "has_licence_file": flag(repository.has_licence_file),
        "has_contributing": flag(repository.has_contributing),
        "has_changelog": flag(repository.has_changelog),
        "has_publiccode": flag(repository.has_publiccode),
        "ministry": account.ministry,
        "pso_id": account.pso_id,
    }
