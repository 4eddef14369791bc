"""The only module that touches SQLite: shape, migrations, upserts, crawl runs, full-text search.

The shape comes from ``crawler.schema``; applying it is idempotent and additive (missing tables,
columns, indexes and FTS are created; nothing is renamed or dropped), so opening an older database
brings it up to date. Data fixes that cannot be expressed as "add" go in ``MIGRATIONS``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import schema
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
from crawler.redact import mask, mask_row, mask_value

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils.db import Table as SqlTable

log = logging.getLogger(__name__)

#: Tokenizer for full-text search: case- and accent-insensitive ("equipe" finds "équipe").
FTS_TOKENIZE = "unicode61 remove_diacritics 2"

Migration = Callable[["sqlite_utils.Database"], None]

#: Named, ordered data migrations, applied once each and recorded in ``_migrations``.
MIGRATIONS: tuple[tuple[str, Migration], ...] = ()


def utcnow() -> str:
    """Now, as the ISO 8601 UTC text stored everywhere in the database."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the inventory database and bring its shape up to date.

    Args:
        path: the database file; ``None`` for an in-memory database (tests).

    Raises:
        NotOurDatabase: the file exists but is not an inventory database; nothing was written.
    """
    # Imported here: what only checks a file (``check_ours``, the lock, the command line's
    # errors) does not pay for sqlite-utils.
    import sqlite_utils

    if path is None:
        db = sqlite_utils.Database(memory=True)
    else:
        check_ours(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    ensure_shape(db)
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return db


# --- whose database: refuse another application's file before writing to it -------------------

#: ``PRAGMA application_id`` of the inventory's databases ("CGIV"), set on every open.
APPLICATION_ID = 0x43474956
_SQLITE_HEADER = b"SQLite format 3\x00"
#: Tables that mark an inventory database created before ``APPLICATION_ID`` was set.
_OUR_TABLES = frozenset({"repositories", "owners", "crawl_runs"})


class NotOurDatabase(ValueError):
    """The file is not SQLite, or is another application's SQLite database."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path} : {reason} ; refusé, rien n'y est écrit")
        self.path = str(path)


def check_ours(path: str | Path) -> None:
    """Accept a missing or empty file (ours to create) or an inventory database, and raise
    ``NotOurDatabase`` for anything else, reading only (SQLite's header, then its tables).

    Raises:
        NotOurDatabase: another application's file.
        OSError: the file cannot be read.
    """
    try:
        with open(path, "rb") as stream:
            header = stream.read(100)
    except FileNotFoundError:
        return
    if not header:
        return
    if len(header) < 100 or not header.startswith(_SQLITE_HEADER):
        raise NotOurDatabase(path, "n'est pas une base SQLite")
    application_id = int.from_bytes(header[68:72], "big")
    if application_id == APPLICATION_ID:
        return
    if application_id != 0:
        raise NotOurDatabase(
            path, f"base SQLite d'une autre application (application_id {application_id:#x})"
        )
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        tables = {
            row[0]
            for row in connection.execute("select name from sqlite_master where type = 'table'")
        }
    finally:
        connection.close()
    if tables and not tables.issuperset(_OUR_TABLES):
        shown = ", ".join(sorted(tables)[:5]) + ("…" if len(tables) > 5 else "")
        raise NotOurDatabase(path, f"base SQLite d'une autre application (tables : {shown})")


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
    ensure_fts(db)
    _apply_migrations(db)


def ensure_fts(db: sqlite_utils.Database) -> None:
    """Give every table that declares full-text columns its FTS5 index, with ``FTS_TOKENIZE``.

    Idempotent: an index already in that exact shape is left alone; one with other columns or
    another tokenizer (an older database: "donnees" did not find "données") is rebuilt from its
    table, triggers included.
    """
    for declared in schema.TABLES:
        if declared.fts:
            db.table(declared.name).enable_fts(
                list(declared.fts), create_triggers=True, tokenize=FTS_TOKENIZE, replace=True
            )


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
            "message": mask_value(f.message),
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
                "error": mask(error),
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
        _table(db, "forges").upsert(mask_row(row), pk="host")


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
    owners.upsert(mask_row(row), pk="id")


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
                "cursor": mask_value(page.cursor),
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
    rows = [mask_row(repository_row(r, account)) for r in repositories]
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
        mask_row({**repository.publiccode, "repository": repository.id, "read_at": now})
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
    from crawler.licences import licence_catalogue

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


# --- publication ------------------------------------------------------------------------------


def start_publish(db: sqlite_utils.Database, out_dir: str, now: str | None = None) -> int:
    """Record the start of a publication and return its id."""
    table = _table(db, "publish_runs")
    with db.atomic():
        # Only one step writes at a time (crawler.lock): a publication still "running" was killed.
        db.execute("update publish_runs set status = 'interrupted' where status = 'running'")
        table.insert({"started_at": now or utcnow(), "status": "running", "out_dir": out_dir})
    run_id = table.last_pk
    assert isinstance(run_id, int)
    return run_id


def finish_publish(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    status: str,
    crawl_run_id: int | None,
    error: str | None = None,
    now: str | None = None,
) -> None:
    with db.atomic():
        _table(db, "publish_runs").update(
            run_id,
            {
                "finished_at": now or utcnow(),
                "status": status,
                "crawl_run_id": crawl_run_id,
                "error": error,
            },
        )


def last_crawl_run(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The most recent crawl run, finished or not."""
    rows = list(db.query("select * from crawl_runs order by id desc limit 1"))
    return rows[0] if rows else None


#: One row per forge × ministry of the repositories still on their forge.
_DAILY_STATS = """
select
    ? as date,
    r.forge as forge,
    r.ministry as ministry,
    count(*) as repositories,
    coalesce(sum(l.is_free = 1), 0) as licensed,
    coalesce(sum(r.activity = 'active'), 0) as active,
    coalesce(sum(r.activity = 'dormant'), 0) as dormant,
    coalesce(sum(r.activity = 'inactive'), 0) as inactive,
    coalesce(sum(r.is_archived = 1), 0) as archived,
    coalesce(sum(r.is_fork = 1), 0) as forks,
    coalesce(sum(r.has_publiccode = 1), 0) as with_publiccode,
    coalesce(sum(r.in_sill = 1), 0) as in_sill
from repositories r
left join licences l on l.spdx_id = r.licence
where r.removed_at is null
group by r.forge, r.ministry
order by r.forge, r.ministry
"""


def refresh_daily_stats(db: sqlite_utils.Database, day: str) -> int:
    """Replace the ``daily_stats`` rows of ``day`` (AAAA-MM-JJ) with today's figures; the other
    days are kept forever. Returns the number of rows written."""
    rows = list(db.query(_DAILY_STATS, [day]))
    with db.atomic():
        db.execute("delete from daily_stats where date = ?", [day])
        if rows:
            _table(db, "daily_stats").insert_all(rows)
    return len(rows)


def snapshot(db: sqlite_utils.Database, path: Path) -> None:
    """Copy the database, compacted, into the new file ``path`` (a consistent snapshot, even
    while another connection writes)."""
    db.execute("VACUUM INTO ?", [str(path)])


def finalise_copy(copy: sqlite_utils.Database) -> None:
    """Make a published copy fast to read: merged full-text indexes, fresh planner statistics,
    no write-ahead log (it is opened read-only and immutable)."""
    for declared in schema.TABLES:
        table = copy.table(declared.name)
        if declared.fts and table.detect_fts():
            table.optimize()
    copy.execute("ANALYZE")
    copy.execute("PRAGMA journal_mode = DELETE")


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Rows per declared table."""
    return {t.name: _table(db, t.name).count for t in schema.TABLES if db[t.name].exists()}


def stream_rows(
    db: sqlite_utils.Database, table: str, columns: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """The rows of ``table``, one at a time, in primary-key (or insertion) order."""
    declared = schema.table(table)
    order = declared.pk if isinstance(declared.pk, str) else ", ".join(declared.pk or ("rowid",))
    names = ", ".join(f"[{c}]" for c in columns)
    yield from db.query(f"select {names} from [{table}] order by {order}")
