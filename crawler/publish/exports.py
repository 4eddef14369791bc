"""The open-data exports: CSV and JSON per table, their Table Schemas, ``datapackage.json`` and
a README of the dataset, under ``DIR/data/``.

Rows are streamed from the published copy of the database to both files at once: a table of
50,000 repositories is never held in memory, not even once.

The CSV files are what the Table Schemas describe (UTF-8, comma, a header line; booleans 1/0,
lists as JSON text, empty cell for no value). The JSON files hold the same rows as an array of
objects with native JSON types: true/false, lists and objects decoded, null.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from crawler import db as store
from crawler import schema
from crawler.publish import tableschema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Export:
    table: str
    rows: int
    csv: Path
    json: Path
    schema: Path


def write_all(db: sqlite_utils.Database, out: Path, built_at: str) -> list[Export]:
    """Write every export of ``db`` into the folder ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    exports = [write_table(db, schema.table(name), out) for name in tableschema.EXPORTED]
    resources = [_resource(e) for e in exports]
    _write_json(out / "datapackage.json", tableschema.datapackage(resources, built_at))
    (out / "README.md").write_text(readme(exports, built_at), encoding="utf-8")
    return exports


def write_table(db: sqlite_utils.Database, declared: schema.Table, out: Path) -> Export:
    """One table to ``<table>.csv``, ``<table>.json`` and ``<table>.schema.json``."""
    columns = declared.column_names
    kinds = {c.name: c.kind for c in declared.columns}
    csv_path = out / f"{declared.name}.csv"
    json_path = out / f"{declared.name}.json"
    count = 0
    with (
        csv_path.open("w", encoding="utf-8", newline="") as csv_file,
        json_path.open("w", encoding="utf-8") as json_file,
    ):
        writer = csv.writer(csv_file, lineterminator="\n")
        writer.writerow(columns)
        json_file.write("[")
        for row in store.stream_rows(db, declared.name, columns):
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
            json_file.write(",\n" if count else "\n")
            _dump(_json_row(row, kinds), json_file)
            count += 1
        json_file.write("\n]\n" if count else "]\n")
    schema_path = out / f"{declared.name}.schema.json"
    _write_json(schema_path, tableschema.table_schema(declared))
    log.info("export %s: %d rows", declared.name, count)
    return Export(declared.name, count, csv_path, json_path, schema_path)


def _json_row(row: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, stored in row.items():
        kind = kinds[name]
        value = stored
        if stored is not None and kind == "boolean":
            value = bool(stored)
        elif isinstance(stored, str) and kind in ("array", "object"):
            try:
                value = json.loads(stored)
            except ValueError:
                log.warning("export: %s is not JSON, kept as text", name)
        converted[name] = value
    return converted


def _dump(document: Any, stream: IO[str]) -> None:
    stream.write(json.dumps(document, ensure_ascii=False))


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _resource(export: Export) -> dict[str, Any]:
    declared = schema.table(export.table)
    return {
        "name": export.table,
        "title": declared.title or declared.name,
        "description": declared.description,
        "path": export.csv.name,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": export.csv.stat().st_size,
        "schema": export.schema.name,
    }


def readme(exports: list[Export], built_at: str) -> str:
    """The README of the dataset, in French."""
    lines = [
        f"# {tableschema.PACKAGE_TITLE}",
        "",
        tableschema.PACKAGE_DESCRIPTION,
        "",
        f"Données produites le {built_at} (UTC), version du schéma {tableschema.VERSION}.",
        "",
        "## Fichiers",
        "",
        "Chaque table est publiée en CSV (UTF-8, séparateur virgule, une ligne d'en-tête) et "
        "en JSON (un tableau d'objets), avec le schéma de son CSV au format Table Schema "
        "(`<table>.schema.json`). `datapackage.json` décrit l'ensemble (Data Package).",
        "",
        "| Table | Lignes | Fichiers | Contenu |",
        "|---|---|---|---|",
    ]
    for export in exports:
        declared = schema.table(export.table)
        files = f"`{export.csv.name}`, `{export.json.name}`, `{export.schema.name}`"
        lines.append(f"| {declared.title} | {export.rows} | {files} | {declared.description} |")
    lines += [
        "",
        "## Conventions",
        "",
        "- Dates et heures : ISO 8601 en UTC (`2024-05-31T08:00:00Z`) ; jours : `AAAA-MM-JJ`.",
        "- Oui/non : `1`/`0` dans les CSV, `true`/`false` dans les JSON ; cellule vide : "
        "valeur inconnue.",
        "- Listes (mots-clés, catégories…) : texte JSON dans les CSV, listes dans les JSON.",
        "- Licences : identifiants SPDX ; `NOASSERTION` : un fichier de licence existe mais "
        "n'est pas reconnu ; `NONE` : aucune licence.",
        "- Les dépôts disparus de leur forge restent dans les données, avec leur date de "
        "disparition (`removed_at`).",
        "",
        "## Sources",
        "",
        "- Les API de GitHub et des forges GitLab, pour les comptes des administrations listés "
        "par code.gouv.fr (https://code.gouv.fr/).",
        "- L'export du Socle interministériel de logiciels libres (https://code.gouv.fr/sill/).",
        "",
        "## Production",
        "",
        "Un robot parcourt chaque jour les comptes listés, lit la licence, l'activité et les "
        "fichiers présents de chaque dépôt, charge le SILL et le relie aux dépôts ; la "
        "publication copie la base (`inventory.db`) et en tire ces fichiers. Les chiffres "
        "quotidiens (`daily_stats`) sont conservés jour après jour.",
        "",
        "## Licence",
        "",
        "Licence Ouverte / Open Licence version 2.0 (etalab-2.0) : "
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "",
    ]
    return "\n".join(lines)
