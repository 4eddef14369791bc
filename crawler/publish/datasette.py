"""Datasette on the inventory: its metadata (French, generated from ``crawler.schema``) and the
server process.

Datasette is pinned below 1.0, which keeps settings and canned queries in the metadata file; when
upgrading, this is the one module to change (1.0 moves them to datasette.yaml).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import sqlite_utils

from crawler import schema

log = logging.getLogger(__name__)

TITLE = "Inventaire des codes sources publics"
DESCRIPTION = (
    "Les dépôts de code source publiés par les administrations publiques françaises sur "
    "GitHub et les forges GitLab, avec leur licence et leur activité."
)

#: Facets offered by default on the tables people browse.
FACETS: dict[str, list[str]] = {
    "repositories": ["forge", "licence", "language", "ministry", "is_archived"],
    "owners": ["forge", "kind", "ministry", "crawl_status"],
    "forges": ["kind", "status"],
}
SORT_DESC: dict[str, str] = {"repositories": "stars", "crawl_runs": "id"}
LABELS: dict[str, str] = {"repositories": "name", "owners": "login", "forges": "host"}


def metadata(database: str) -> dict[str, Any]:
    """Datasette metadata for a database named ``database`` (the file's stem)."""
    tables: dict[str, Any] = {}
    for table in schema.TABLES:
        entry: dict[str, Any] = {
            "description": table.description,
            "columns": {c.name: c.description for c in table.columns},
        }
        if table.name in FACETS:
            entry["facets"] = FACETS[table.name]
        if table.name in SORT_DESC:
            entry["sort_desc"] = SORT_DESC[table.name]
        if table.name in LABELS:
            entry["label_column"] = LABELS[table.name]
        if table.name.startswith("_"):
            entry["hidden"] = True
        tables[table.name] = entry
    tables["_migrations"] = {"hidden": True}
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "license": "Licence Ouverte 2.0 (Etalab)",
        "license_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "source": "API des forges (GitHub, GitLab), comptes listés par code.gouv.fr",
        "source_url": "https://code.gouv.fr/",
        "databases": {database: {"tables": tables}},
    }


def prepare(db: sqlite_utils.Database) -> None:
    """Shape a published copy of the database for Datasette (indexes, precomputed tables).

    Called by ``codegouv publish`` on the copy, before it is analysed; nothing yet.
    """


def write_metadata(db_path: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(metadata(db_path.stem), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return out


def write(out_dir: Path, db_path: Path) -> None:
    """Write the Datasette configuration of a published folder: ``out_dir/datasette/``.

    Args:
        out_dir: the publication being built.
        db_path: the published database (its stem names the database in Datasette).
    """
    write_metadata(db_path, out_dir / "datasette" / "metadata.json")


def start(db_path: Path, port: int, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start a Datasette server on the database; its metadata is written beside it."""
    meta = write_metadata(db_path, db_path.with_name(f"{db_path.stem}-metadata.json"))
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db_path),
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        str(meta),
        "--setting",
        "default_page_size",
        "50",
        "--setting",
        "sql_time_limit_ms",
        "3500",
    ]
    log.info("starting %s", " ".join(command))
    return subprocess.Popen(command)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Block until Datasette answers on ``url``; raise if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Datasette exited with status {process.returncode}")
        try:
            if requests.get(f"{url}/-/versions.json", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Datasette did not answer on {url} within {timeout:.0f} s")
