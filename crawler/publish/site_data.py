"""What the static site shows, read from the published database: plain rows, no rendering.

The database is opened read-only; every value read here is crawled text and therefore hostile:
the templates escape it, and URLs go through :func:`safe_url` before they become links.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Row = dict[str, Any]

#: French labels of the ``activity`` column, in the order the site lists them.
ACTIVITY_LABELS: dict[str, str] = {
    "active": "Actif",
    "dormant": "En sommeil",
    "inactive": "Inactif",
    "archived": "Archivé",
}
UNKNOWN = "Inconnu"


def connect(db_path: Path) -> sqlite3.Connection:
    """The database, read-only (the publication's copy is immutable; a live one is not written)."""
    connection = sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    return connection


def has_table(connection: sqlite3.Connection, name: str) -> bool:
    found = connection.execute(
        "select 1 from sqlite_master where type in ('table', 'view') and name = ?", (name,)
    ).fetchone()
    return found is not None


def safe_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else ``None``: a crawled
    ``javascript:`` or ``data:`` URL never becomes a live link."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def _json_array(value: object) -> list[Any]:
    """A JSON array column's items; anything else (NULL, invalid JSON, not an array): none."""
    if not isinstance(value, str) or not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return []
    return items if isinstance(items, list) else []


def json_list(value: object) -> list[str]:
    """A JSON array column as a list of strings; anything else as an empty list."""
    items = _json_array(value)
    return [str(item) for item in items if item is not None and str(item).strip()]


def json_details(value: object) -> list[Row]:
    """``score_details`` as a list of {label, points}."""
    items = _json_array(value)
    return [
        {"label": str(i.get("label", "")), "points": int(i.get("points", 0))}
        for i in items
        if isinstance(i, dict) and isinstance(i.get("points", 0), int)
    ]


def free_licences(connection: sqlite3.Connection) -> frozenset[str]:
    """SPDX ids the ``licences`` table calls free."""
    if not has_table(connection, "licences"):
        return frozenset()
    return frozenset(
        str(r[0]) for r in connection.execute("select spdx_id from licences where is_free = 1")
    )


def is_free(licence: object, free: frozenset[str]) -> bool:
    """A licence id or a simple expression (``MIT OR Apache-2.0``) whose parts are all free."""
    if not isinstance(licence, str) or not licence:
        return False
    parts = [p.strip("() ") for p in licence.replace(" AND ", " OR ").split(" OR ")]
    return all(p in free for p in parts if p) and any(parts)


@dataclass
class Owner:
    """An organisation (forge account) and the summaries of its repositories."""

    row: Row
    repositories: list[Row] = field(default_factory=list)


def owners(connection: sqlite3.Connection) -> dict[str, Owner]:
    return {
        str(r["id"]): Owner(dict(r))
        for r in connection.execute("select * from owners order by lower(coalesce(name, login))")
    }


def forges(connection: sqlite3.Connection) -> list[Row]:
    return [dict(r) for r in connection.execute("select * from forges order by host")]


def repository_rows(connection: sqlite3.Connection) -> Iterator[tuple[tuple[Any, ...], Row]]:
    """Repositories still on their forge, streamed, with the owner's display name and the
    publiccode.yml validity joined in: each as a dict, beside its row's plain values (a tuple
    that is cheap to hash, the site's digest of a repository page)."""
    publiccode = (
        "(select valid from publiccode p where p.repository = r.id)"
        if has_table(connection, "publiccode")
        else "null"
    )
    query = f"""
        select r.*, coalesce(o.name, o.login, r.owner) as owner_name,
               {publiccode} as publiccode_valid
        from repositories r left join owners o on o.id = r.owner
        where r.removed_at is null
        order by r.owner, r.name
    """  # noqa: S608 (the only interpolation is one of two constant fragments)
    cursor = connection.cursor()
    cursor.row_factory = None
    cursor.execute(query)
    columns = [c[0] for c in cursor.description]
    for values in cursor:
        yield values, dict(zip(columns, values, strict=True))


def sill_software(connection: sqlite3.Connection) -> list[Row]:
    if not has_table(connection, "sill_software"):
        return []
    return [
        dict(r)
        for r in connection.execute(
            "select * from sill_software where removed_at is null order by lower(name)"
        )
    ]


def sill_links(connection: sqlite3.Connection) -> dict[int, list[str]]:
    """SILL id → ids of the repositories that build it."""
    links: dict[int, list[str]] = {}
    if not has_table(connection, "sill_repositories"):
        return links
    for row in connection.execute(
        "select sill_id, repository from sill_repositories order by repository"
    ):
        links.setdefault(int(row[0]), []).append(str(row[1]))
    return links


def sill_children(connection: sqlite3.Connection, table: str) -> dict[int, list[Row]]:
    """Rows of a SILL child table (instances, similar software…) by software id."""
    children: dict[int, list[Row]] = {}
    if not has_table(connection, table):
        return children
    for row in connection.execute(f"select * from {table} order by rowid"):  # noqa: S608
        children.setdefault(int(row["software_id"]), []).append(dict(row))
    return children


def daily_stats(connection: sqlite3.Connection) -> list[Row]:
    """Totals per day from ``daily_stats`` (empty when the table is absent or empty)."""
    if not has_table(connection, "daily_stats"):
        return []
    columns = {r[1] for r in connection.execute("pragma table_info(daily_stats)")}
    wanted = [c for c in ("repositories", "licensed", "active") if c in columns]
    if "date" not in columns or not wanted:
        return []
    sums = ", ".join(f"sum({c}) as {c}" for c in wanted)
    query = f"select date, {sums} from daily_stats group by date order by date"  # noqa: S608
    return [dict(r) for r in connection.execute(query)]


def last_run(connection: sqlite3.Connection) -> Row | None:
    if not has_table(connection, "crawl_runs"):
        return None
    row = connection.execute(
        "select * from crawl_runs where finished_at is not null order by id desc limit 1"
    ).fetchone()
    return dict(row) if row else None
