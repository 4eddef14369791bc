"""``codegouv status``: what an operator or a monitoring probe needs to know of the inventory.

The last crawl runs with their outcome and duration, how fresh each forge's data is, the
accounts failing and since when, and the last publication. It only reads: the database is
opened read-only through the standard ``sqlite3`` module (not :func:`crawler.db.open_db`,
which creates the file and brings its schema up to date), so a probe never writes to it, and
it works while a crawl holds the lock.

A forge's data is as old as its last *successful* crawl: ``forges.last_crawled_at`` moves on
every attempt, failed ones included, so the last success is read from the per-forge detail of
``crawl_runs.forges``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

#: A forge whose data is older than this (hours) makes ``status`` exit 1.
DEFAULT_MAX_AGE_HOURS = 36.0
#: Forge statuses whose data is current (``partial``: the failing accounts are listed apart).
FRESH_STATUSES = ("ok", "partial")
#: Forge statuses that are not crawled at all: no freshness to watch.
UNCRAWLED_STATUSES = ("unsupported", "ignored")
#: Publication statuses that mean it failed (the publish engineer's table; tolerant reading).
FAILED_PUBLISH = ("failed", "failure", "error")
_REQUIRED_TABLES = ("crawl_runs", "crawl_errors", "forges", "owners")


class StatusError(ValueError):
    """The database cannot be read as the inventory's (bad input): one line naming it."""


@dataclass(frozen=True)
class RunInfo:
    id: int
    started_at: str | None
    finished_at: str | None
    status: str | None
    duration_seconds: float | None
    """Until ``finished_at``; for a run still going, until now."""
    accounts_ok: int | None
    accounts_failed: int | None
    repositories_seen: int | None


@dataclass(frozen=True)
class ForgeFreshness:
    host: str
    kind: str | None
    status: str | None
    """The outcome of its last crawl (forges.status)."""
    last_crawled_at: str | None
    """The last crawl attempt, whatever its outcome."""
    last_success_at: str | None
    """The end of its last successful (ok or partial) crawl: how old its data is."""
    age_hours: float | None
    stale: bool


@dataclass(frozen=True)
class FailingAccount:
    id: str
    forge: str
    login: str
    failing_since: str | None
    """The first failure since the account was last read successfully."""
    failures: int
    """Errors recorded since then."""
    last_error: str | None
    last_error_at: str | None
    last_success_at: str | None


@dataclass(frozen=True)
class PublishInfo:
    id: Any
    started_at: str | None
    finished_at: str | None
    status: str | None
    out_dir: str | None
    error: str | None
    failed: bool


@dataclass(frozen=True)
class Status:
    database: str
    checked_at: str
    max_age_hours: float
    runs: list[RunInfo]
    forges: list[ForgeFreshness]
    failing_accounts: list[FailingAccount]
    publish: PublishInfo | None
    """The last publication; None when never published (or no ``publish_runs`` table)."""
    problems: list[str] = field(default_factory=list)
    """Why a probe should alert (French, one line each); empty when healthy."""

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        value = asdict(self)
        value["healthy"] = self.healthy
        return value


def read_status(
    db_path: Path,
    *,
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS,
    runs: int = 5,
    now: dt.datetime | None = None,
) -> Status:
    """Read the inventory's state from ``db_path`` without writing to it.

    Raises:
        StatusError: no such file, not SQLite, or not the inventory's database.
    """
    now = now or dt.datetime.now(dt.UTC)
    with _read_only(db_path) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
        missing = [name for name in _REQUIRED_TABLES if name not in tables]
        if missing:
            raise StatusError(
                f"{db_path} : pas une base de l'inventaire (tables absentes : {', '.join(missing)})"
            )
        run_rows = _rows(db, "select * from crawl_runs order by id desc limit ?", [runs])
        forges = _forges(db, now, max_age_hours)
        failing = _failing(db)
        publish = _publish(db) if "publish_runs" in tables else None
    problems = []
    for forge in forges:
        if not forge.stale:
            continue
        if forge.last_success_at is None:
            problems.append(f"{forge.host} : jamais parcourue avec succès")
        else:
            problems.append(
                f"{forge.host} : données vieilles de {forge.age_hours:.0f} h "
                f"(plus de {max_age_hours:g} h ; dernier parcours réussi {forge.last_success_at})"
            )
    if not forges:
        problems.append("aucune forge parcourue : lancez `codegouv crawl`")
    if publish is not None and publish.failed:
        problems.append(
            f"la dernière publication a échoué ({publish.started_at})"
            + (f" : {publish.error}" if publish.error else "")
        )
    return Status(
        database=str(db_path),
        checked_at=_iso(now),
        max_age_hours=max_age_hours,
        runs=[_run(row, now) for row in run_rows],
        forges=forges,
        failing_accounts=failing,
        publish=publish,
        problems=problems,
    )


@contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    if not db_path.is_file():
        raise StatusError(f"{db_path} : base introuvable (lancez d'abord `codegouv crawl`)")
    uri = f"file:{quote(str(db_path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=10)
    except sqlite3.Error as error:
        raise StatusError(f"{db_path} : ouverture impossible ({error})") from None
    connection.row_factory = sqlite3.Row
    with closing(connection):
        try:
            yield connection
        except sqlite3.DatabaseError as error:
            raise StatusError(f"{db_path} : lecture impossible ({error})") from None


def _rows(db: sqlite3.Connection, sql: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in db.execute(sql, args or [])]


def _parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(row: dict[str, Any], now: dt.datetime) -> RunInfo:
    started = _parse(row.get("started_at"))
    finished = _parse(row.get("finished_at"))
    end = finished or (now if row.get("status") == "running" else None)
    duration = (end - started).total_seconds() if started and end else None
    return RunInfo(
        id=row["id"],
        started_at=row.get("started_at"),
        finished_at=row.get("finished_at"),
        status=row.get("status"),
        duration_seconds=round(duration, 1) if duration is not None else None,
        accounts_ok=row.get("accounts_ok"),
        accounts_failed=row.get("accounts_failed"),
        repositories_seen=row.get("repositories_seen"),
    )


def _last_successes(db: sqlite3.Connection) -> dict[str, str]:
    """host → the end of its last ok/partial crawl, from the runs' per-forge detail."""
    found: dict[str, str] = {}
    for row in db.execute(
        "select finished_at, forges from crawl_runs where finished_at is not null "
        "and forges is not null order by finished_at desc"
    ):
        try:
            detail = json.loads(row["forges"])
        except (TypeError, ValueError):
            continue
        for forge in detail if isinstance(detail, list) else ():
            host = forge.get("host") if isinstance(forge, dict) else None
            if isinstance(host, str) and forge.get("status") in FRESH_STATUSES:
                found.setdefault(host, row["finished_at"])
    return found


def _forges(db: sqlite3.Connection, now: dt.datetime, max_age: float) -> list[ForgeFreshness]:
    successes = _last_successes(db)
    forges = []
    for row in _rows(db, "select * from forges order by host"):
        status = row.get("status")
        if status in UNCRAWLED_STATUSES:
            continue
        host = row["host"]
        success = successes.get(host)
        if success is None and status in FRESH_STATUSES:
            success = row.get("last_crawled_at")  # a database from before the per-forge detail
        moment = _parse(success)
        age = (now - moment).total_seconds() / 3600 if moment else None
        forges.append(
            ForgeFreshness(
                host=host,
                kind=row.get("kind"),
                status=status,
                last_crawled_at=row.get("last_crawled_at"),
                last_success_at=success,
                age_hours=round(age, 1) if age is not None else None,
                stale=age is None or age > max_age,
            )
        )
    return forges


def _failing(db: sqlite3.Connection) -> list[FailingAccount]:
    failing = []
    for owner in _rows(
        db,
        "select id, forge, login, last_seen_at from owners where crawl_status = 'failed' "
        "order by forge, id",
    ):
        since = owner.get("last_seen_at") or ""
        errors = _rows(
            db,
            "select at, error from crawl_errors where forge = ? and lower(owner) = lower(?) "
            "and at > ? order by at",
            [owner["forge"], owner["login"], since],
        )
        failing.append(
            FailingAccount(
                id=owner["id"],
                forge=owner["forge"],
                login=owner["login"],
                failing_since=errors[0]["at"] if errors else None,
                failures=len(errors),
                last_error=errors[-1]["error"] if errors else None,
                last_error_at=errors[-1]["at"] if errors else None,
                last_success_at=owner.get("last_seen_at"),
            )
        )
    return failing


def _publish(db: sqlite3.Connection) -> PublishInfo | None:
    columns = {row[1] for row in db.execute("pragma table_info(publish_runs)")}
    order = "started_at desc" if "started_at" in columns else "rowid desc"
    rows = _rows(db, f"select * from publish_runs order by {order} limit 1")  # noqa: S608
    if not rows:
        return None
    row = rows[0]
    status = row.get("status")
    return PublishInfo(
        id=row.get("id"),
        started_at=row.get("started_at"),
        finished_at=row.get("finished_at"),
        status=status,
        out_dir=row.get("out_dir"),
        error=row.get("error"),
        failed=isinstance(status, str) and status.lower() in FAILED_PUBLISH,
    )
