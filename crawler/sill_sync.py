"""The SILL merged into the inventory: load an export, store it, link it to repositories.

``sill`` reads exports into records and matches them with plain values; this module turns the
records into rows and hands them to ``crawler.db``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import db as store
from sill.match import RepositoryRef, match
from sill.models import SillExport, Software
from sill.sources import BUNDLED_2022, SILL_URL

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

#: ``--source bundled``: the copy shipped with the project, for offline use.
BUNDLED = "bundled"
DEFAULT_SOURCE = SILL_URL

_CHILDREN = {
    "sill_organisations": "organisations",
    "sill_instances": "instances",
    "sill_service_providers": "providers",
    "sill_similar_software": "similar",
}


@dataclass(frozen=True)
class SillReport:
    shape: str
    source: str
    loaded: int
    new: int
    removed: int
    skipped: int
    warnings: tuple[str, ...]
    links: int


def resolve(source: str | Path) -> str | Path:
    return BUNDLED_2022 if str(source) == BUNDLED else source


def load_into(db: sqlite_utils.Database, source: str | Path = DEFAULT_SOURCE) -> SillReport:
    """Load a SILL export (URL, file or ``bundled``) into the database and relink it.

    Raises:
        sill.load.SillError: the source cannot be read, is not a SILL export, or more than half
            of its entries are invalid; the stored SILL tables are then left as they were.
    """
    # The loader (and the licence normalisation) when a SILL is loaded, not when the crawl
    # relinks or the command line shows DEFAULT_SOURCE.
    from sill.load import check_mostly_valid, load

    export = load(resolve(source))
    check_mostly_valid(export)
    software = [software_row(s, export.shape) for s in export.software]
    children = {
        table: [_row(record) for record in getattr(export, attribute)]
        for table, attribute in _CHILDREN.items()
    }
    saved = store.save_sill(db, software, children)
    store.refresh_licences(db)
    links = relink(db)
    return SillReport(
        export.shape,
        str(export.source),
        saved.loaded,
        saved.new,
        saved.removed,
        export.skipped,
        export.warnings,
        links,
    )


def relink(db: sqlite_utils.Database) -> int:
    """Recompute every SILL ↔ repository link from what the database holds now."""
    entries = [_software(row) for row in store.sill_software_rows(db)]
    if not entries:
        return 0
    refs = [
        RepositoryRef(r["id"], r["url"], r["homepage"], r["publiccode_url"], bool(r["is_fork"]))
        for r in store.repository_refs(db)
    ]
    links = match(entries, refs)
    store.save_sill_links(
        db,
        [{"sill_id": k.sill_id, "repository": k.repository_id, "match": k.match} for k in links],
    )
    return len(links)


def software_row(software: Software, shape: str) -> dict[str, Any]:
    row = _row(software)
    raw = row.pop("licence")
    spdx = row.pop("licence_spdx")
    row["licence_raw"] = raw
    row["licence"] = spdx or ("NOASSERTION" if raw else None)
    row["source_shape"] = shape
    return row


def _software(row: Mapping[str, Any]) -> Software:
    """Enough of a stored entry for the matcher."""
    return Software(
        id=int(row["id"]),
        name=str(row["name"]),
        website=row["website"],
        repository_url=row["repository_url"],
    )


def _row(record: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, tuple):
            value = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, Mapping):
            value = json.dumps(dict(value), ensure_ascii=False)
        row[item.name] = value
    return row


__all__ = ["BUNDLED", "DEFAULT_SOURCE", "SillExport", "SillReport", "load_into", "relink"]
