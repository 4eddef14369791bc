"""The only module that touches SQLite: shape, migrations, upserts, crawl runs, full-text search.

The shape comes from ``crawler.schema``; applying it is idempotent and additive (missing tables,
columns, indexes and FTS are created; nothing is renamed or dropped), so opening an older database
brings it up to date. Data fixes that cannot be expressed as "add" go in ``MIGRATIONS``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import Table as SqlTable

from crawler import schema
from crawler.licences import licence_catalogue
from crawler.models import (
    AccountDone,
    AccountFailed,
    AccountState,
    ForgeConfig,
    ForgeState,
    ItemSkipped,
    KnownRepository,
    Owner,
    OwnerConfig,
    Repository,
    RepositoryPage,
    RunReport,
)

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
        # Only one crawl writes at a time (crawler.lock): a run still "running" was killed.
        db.execute("update crawl_runs set status = 'interrupted' where status = 'running'")
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
            "not_modified": f.not_modified,
            "budget_left": f.budget_left,
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


def _owner_row(owner: Owner, account: OwnerConfig, now: str) -> dict[str, Any]:
    row = _account_row(account)
    row.update(
        id=owner.id,
        login=owner.login,
        kind=owner.kind,
        name=owner.name or (account.name if not account.whole_instance else None),
        description=owner.description,
        website=owner.website,
        email=owner.email,
        location=owner.location,
        avatar_url=owner.avatar_url,
        created_at=owner.created_at,
        last_seen_at=now,
        crawl_status="ok",
    )
    if owner.repositories_count is not None:
        row["repositories_count"] = owner.repositories_count
    return row


def _upsert_owner(db: sqlite_utils.Database, row: dict[str, Any], now: str) -> None:
    owners = _table(db, "owners")
    if owners.count_where("id = ?", [row["id"]]) == 0:
        row = {**row, "first_seen_at": now}
    owners.upsert(row, pk="id")


# --- incremental state ------------------------------------------------------------------------

#: A listing interrupted longer ago than this starts over: offset pages may have shifted.
RESUME_MAX_AGE = dt.timedelta(hours=24)


def load_state(db: sqlite_utils.Database, host: str, now: str | None = None) -> ForgeState:
    """What the adapters need to resume listings and skip unchanged accounts and projects."""
    now_time = _parse(now or utcnow())
    accounts: dict[str, AccountState] = {}
    for row in db.query("select * from _crawl_state where forge = ?", [host]):
        cursor = row["cursor"]
        if cursor and now_time - _parse(row["updated_at"]) > RESUME_MAX_AGE:
            cursor = None
        accounts[row["unit"]] = AccountState(
            cursor=cursor, signature=row["signature"], completed_at=row["completed_at"]
        )
    repositories = {
        row["id"]: KnownRepository(
            row["pushed_at"],
            {
                "licence": row["licence"],
                "licence_source": row["licence_source"],
                "last_commit_at": row["last_commit_at"],
                **{name: None if row[name] is None else bool(row[name]) for name in _FLAGS},
            },
            publiccode_read=bool(row["publiccode_read"]),
        )
        for row in db.query(
            "select id, pushed_at, licence, licence_source, last_commit_at, "
            f"{', '.join(_FLAGS)}, "
            "exists (select 1 from publiccode p where p.repository = r.id) as publiccode_read "
            "from repositories r where forge = ? and removed_at is null",
            [host],
        )
    }
    return ForgeState(accounts, repositories)


_FLAGS = ("has_readme", "has_licence_file", "has_contributing", "has_changelog", "has_publiccode")


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _unit_started_run(
    db: sqlite_utils.Database, account: OwnerConfig, run_id: int, now: str
) -> tuple[int, str]:
    """The run and time the account's current listing began, kept across pages and
    interrupted runs; a listing left unfinished longer than ``RESUME_MAX_AGE`` starts anew."""
    rows = list(
        db.query(
            "select started_run, started_at, updated_at from _crawl_state where unit = ?",
            [account.key],
        )
    )
    if (
        rows
        and rows[0]["started_run"]
        and rows[0]["updated_at"]
        and _parse(now) - _parse(rows[0]["updated_at"]) <= RESUME_MAX_AGE
    ):
        return int(rows[0]["started_run"]), str(rows[0]["started_at"])
    return run_id, now


@dataclass(frozen=True)
class SaveResult:
    new: int = 0
    removed: int = 0


def save_page(
    db: sqlite_utils.Database, page: RepositoryPage, run_id: int, now: str | None = None
) -> SaveResult:
    """Store one page and the cursor after it, in one transaction: a crash loses nothing
    already saved and the next run resumes after the last saved page."""
    now = now or utcnow()
    account = page.account
    with db.atomic():
        started_run, started_at = _unit_started_run(db, account, run_id, now)
        for owner in page.owners:
            _upsert_owner(db, _owner_row(owner, account, now), now)
        if (
            not account.whole_instance
            and _table(db, "owners").count_where("id = ?", [account.id]) == 0
        ):
            row = _account_row(account)
            row.update(login=account.login, crawl_status="running")
            _upsert_owner(db, row, now)
        new = _save_repositories(db, account, page.repositories, run_id, now)
        _table(db, "_crawl_state").upsert(
            {
                "unit": account.key,
                "forge": account.forge,
                "run_id": run_id,
                "cursor": page.cursor,
                "started_run": started_run,
                "started_at": started_at,
                "updated_at": now,
            },
            pk="unit",
        )
    return SaveResult(new=new)


def finish_account(
    db: sqlite_utils.Database, done: AccountDone, run_id: int, now: str | None = None
) -> SaveResult:
    """Close an account's listing: profile, ``removed_at`` on what it no longer lists."""
    now = now or utcnow()
    account = done.account
    with db.atomic():
        started_run, _ = _unit_started_run(db, account, run_id, now)
        if done.owner is not None:
            _upsert_owner(db, _owner_row(done.owner, account, now), now)
        scope, args = (
            ("forge = ?", [account.forge])
            if account.whole_instance
            else ("owner = ?", [account.id])
        )
        removed = 0
        if done.unchanged:
            db.execute(
                "update repositories set last_seen_at = ?, last_seen_run = ? "
                f"where {scope} and removed_at is null",
                [now, run_id, *args],
            )
        else:
            # Run ids, not clock times: two crawls within the same second stay apart.
            removed = db.execute(
                f"update repositories set removed_at = ? where {scope} and removed_at is null "
                "and (last_seen_run is null or last_seen_run < ?)",
                [now, *args, started_run],
            ).rowcount
        if not account.whole_instance:
            count = db.execute(
                "select count(*) from repositories where owner = ? and removed_at is null",
                [account.id],
            ).fetchone()[0]
            _table(db, "owners").update(
                account.id, {"repositories_count": count, "crawl_status": "ok"}
            )
        _table(db, "_crawl_state").upsert(
            {
                "unit": account.key,
                "forge": account.forge,
                "run_id": run_id,
                "cursor": None,
                "signature": done.signature,
                "started_run": None,
                "started_at": None,
                "updated_at": now,
                "completed_at": now,
            },
            pk="unit",
        )
    return SaveResult(removed=removed)


def fail_account(
    db: sqlite_utils.Database, failed: AccountFailed, run_id: int, now: str | None = None
) -> None:
    """Mark the account failed, keep every stored row and the cursor to resume from."""
    now = now or utcnow()
    account = failed.account
    with db.atomic():
        if not account.whole_instance:
            row = _account_row(account)
            row["crawl_status"] = "failed"
            if _table(db, "owners").count_where("id = ?", [account.id]) == 0:
                row["login"] = account.login
            _table(db, "owners").upsert(row, pk="id")
        record_error(
            db,
            run_id,
            forge=account.forge,
            owner=account.login or None,
            error=failed.error,
            now=now,
        )


def skip_item(
    db: sqlite_utils.Database, skipped: ItemSkipped, run_id: int, now: str | None = None
) -> None:
    """Record a malformed item of a page; its stored row, if any, counts as seen (the forge
    still lists it), so that it is not marked removed."""
    now = now or utcnow()
    with db.atomic():
        if skipped.repository_id:
            db.execute(
                "update repositories set last_seen_at = ?, last_seen_run = ? "
                "where id = ? and removed_at is null",
                [now, run_id, skipped.repository_id.lower()],
            )
        record_error(
            db,
            run_id,
            forge=skipped.account.forge,
            owner=skipped.account.login or None,
            error=skipped.error,
            now=now,
        )


def count_repositories(db: sqlite_utils.Database, account: OwnerConfig) -> int:
    """Repositories currently listed (not removed) for an account or a whole instance."""
    column, value = ("forge", account.forge) if account.whole_instance else ("owner", account.id)
    row = db.execute(
        f"select count(*) from repositories where {column} = ? and removed_at is null", [value]
    ).fetchone()
    return int(row[0])


def _save_repositories(
    db: sqlite_utils.Database,
    account: OwnerConfig,
    repositories: Sequence[Repository],
    run_id: int,
    now: str,
) -> int:
    rows = [repository_row(r, account) for r in repositories]
    if not rows:
        return 0
    ids = [row["id"] for row in rows]
    placeholders = ", ".join("?" for _ in ids)
    stored = {
        r["id"] for r in db.query(f"select id from repositories where id in ({placeholders})", ids)
    }
    for row in rows:
        row["last_seen_at"] = now
        row["last_seen_run"] = run_id
        row["removed_at"] = None
        if row["id"] not in stored:
            row["first_seen_at"] = now
    table = _table(db, "repositories")
    # Rows with and without first_seen_at go apart: upsert_all takes its columns from the batch.
    table.upsert_all([r for r in rows if r["id"] in stored], pk="id")
    table.upsert_all([r for r in rows if r["id"] not in stored], pk="id")
    _save_publiccode(db, repositories, now)
    return len(rows) - len(stored)


def _save_publiccode(
    db: sqlite_utils.Database, repositories: Sequence[Repository], now: str
) -> None:
    """Store the publiccode.yml read in this crawl; forget those that left their repository.
    A repository whose file was not read this time (nothing changed) keeps its row."""
    rows = [
        {**repository.publiccode, "repository": repository.id, "read_at": now}
        for repository in repositories
        if repository.publiccode is not None
    ]
    if rows:
        _table(db, "publiccode").upsert_all(rows, pk="repository")
    gone = [r.id for r in repositories if r.has_publiccode is False]
    if gone:
        placeholders = ", ".join("?" for _ in gone)
        db.execute(f"delete from publiccode where repository in ({placeholders})", gone)


def repository_row(repository: Repository, account: OwnerConfig) -> dict[str, Any]:
    """Map a repository record to its row (booleans as 0/1, topics as a JSON array)."""

    def flag(value: bool | None) -> int | None:
        return None if value is None else int(value)

    return {
        "id": repository.id,
        "url": repository.url,
        "forge": repository.forge,
        "owner": repository.owner_id if account.whole_instance else account.id,
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


# --- derived columns --------------------------------------------------------------------------


def refresh_activity(db: sqlite_utils.Database, active_since: str, dormant_since: str) -> None:
    """Recompute ``activity`` for every current repository: time passes for the repositories a
    re-crawl skipped too. Same rule as ``crawler.metrics.activity``; the cut-offs come from it."""
    latest = "max(coalesce(last_commit_at, ''), coalesce(pushed_at, ''))"
    with db.atomic():
        db.execute(
            "update repositories set activity = case "
            "when is_archived = 1 then 'archived' "
            f"when {latest} = '' then null "
            f"when {latest} >= :active then 'active' "
            f"when {latest} >= :dormant then 'dormant' "
            "else 'inactive' end where removed_at is null",
            {"active": active_since, "dormant": dormant_since},
        )


def refresh_scores(
    db: sqlite_utils.Database, rate: Callable[[dict[str, Any]], tuple[int, str]]
) -> int:
    """Recompute ``score`` and ``score_details`` of every current repository with ``rate``
    (row → score and its JSON explanation); only changed rows are written. Returns how many."""
    columns = (
        "id, licence, is_template, has_publiccode, has_readme, has_contributing, "
        "has_changelog, description, is_archived, is_fork, forks, stars, score, score_details"
    )
    changes = []
    for row in db.query(f"select {columns} from repositories where removed_at is null"):
        value, details = rate(row)
        if (value, details) != (row["score"], row["score_details"]):
            changes.append((value, details, row["id"]))
    with db.atomic():
        db.conn.executemany(
            "update repositories set score = ?, score_details = ? where id = ?", changes
        )
    return len(changes)


# --- licences ---------------------------------------------------------------------------------


def refresh_licences(db: sqlite_utils.Database) -> None:
    """The ``licences`` table, from the SPDX catalogue the project keeps."""
    rows = [
        {
            "spdx_id": info.spdx_id,
            "name": info.name,
            "is_osi_approved": int(info.is_osi_approved),
            "is_fsf_libre": int(info.is_fsf_libre),
            "is_free": int(info.is_free),
            "family": info.family,
        }
        for info in licence_catalogue()
    ]
    with db.atomic():
        _table(db, "licences").upsert_all(rows, pk="spdx_id")


# --- SILL -------------------------------------------------------------------------------------

SILL_CHILD_TABLES = (
    "sill_organisations",
    "sill_instances",
    "sill_service_providers",
    "sill_similar_software",
)


@dataclass(frozen=True)
class SillSaveResult:
    loaded: int
    new: int
    removed: int


def save_sill(
    db: sqlite_utils.Database,
    software: list[dict[str, Any]],
    children: dict[str, list[dict[str, Any]]],
    now: str | None = None,
) -> SillSaveResult:
    """Replace the SILL tables in one transaction: readers see the old SILL or the new one,
    never half of it. Software that left the export keeps its row, with ``removed_at``."""
    now = now or utcnow()
    table = _table(db, "sill_software")
    with db.atomic():
        stored = {row["id"] for row in db.query("select id from sill_software")}
        ids = [row["id"] for row in software]
        rows = [{**row, "last_seen_at": now, "removed_at": None} for row in software]
        table.upsert_all([r for r in rows if r["id"] in stored], pk="id")
        table.upsert_all(
            [{**r, "first_seen_at": now} for r in rows if r["id"] not in stored], pk="id"
        )
        gone = stored - set(ids)
        for software_id in gone:
            table.update(software_id, {"removed_at": now})
        for name in SILL_CHILD_TABLES:
            child = _table(db, name)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                child.delete_where(f"software_id in ({', '.join('?' for _ in chunk)})", chunk)
            child.insert_all(children.get(name, []))
    return SillSaveResult(len(ids), len(set(ids) - stored), len(gone))


def repository_refs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """What the SILL matcher needs of every current repository."""
    return list(
        db.query(
            "select r.id, r.url, r.homepage, r.is_fork, p.url as publiccode_url "
            "from repositories r left join publiccode p on p.repository = r.id "
            "where r.removed_at is null"
        )
    )


def sill_software_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("select * from sill_software where removed_at is null"))


def save_sill_links(db: sqlite_utils.Database, links: list[dict[str, Any]]) -> None:
    """Replace the SILL ↔ repository links and the flags that mirror them on both sides."""
    with db.atomic():
        db.execute("delete from sill_repositories")
        _table(db, "sill_repositories").insert_all(links, pk=("sill_id", "repository"))
        db.execute(
            "update repositories set in_sill = "
            "exists (select 1 from sill_repositories s where s.repository = repositories.id)"
        )
        db.execute(
            "update sill_software set in_inventory = "
            "exists (select 1 from sill_repositories s where s.sill_id = sill_software.id)"
        )
