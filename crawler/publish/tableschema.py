"""Table Schemas and the data package of the exports, generated from ``crawler.schema``.

The shape is the one schema.data.gouv.fr asks of French open data (a Table Schema with name,
title, description, version, contributors, homepage, licence, fields with French titles and
descriptions, types, formats, constraints, primary and foreign keys). The column declarations
of ``crawler.schema`` are the one source: the database, the Datasette metadata and these
schemas all follow them.
"""

from __future__ import annotations

from typing import Any

from crawler import schema

#: Version of the exported schemas: bump the minor for an added column, the major never (the
#: data contract adds, never renames).
VERSION = "0.1.0"
CREATED = "2026-11-29"
HOMEPAGE = "https://code.gouv.fr/"
PACKAGE_NAME = "inventaire-codes-sources-publics"
PACKAGE_TITLE = "Inventaire des codes sources publics et du SILL"
PACKAGE_DESCRIPTION = (
    "Les dépôts de code source publiés par les administrations publiques françaises sur GitHub "
    "et les forges GitLab (licence, activité, fichiers présents, score), leurs comptes, les "
    "forges parcourues, le Socle interministériel de logiciels libres (SILL) relié aux dépôts, "
    "les licences et les chiffres quotidiens."
)
LICENSES = [
    {
        "name": "etalab-2.0",
        "title": "Licence Ouverte / Open Licence version 2.0",
        "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    }
]
CONTRIBUTORS = [
    {
        "title": "Inventaire des codes sources publics (codegouv-inventory)",
        "role": "author",
    }
]
SOURCES = [
    {
        "title": "API de GitHub et des forges GitLab, comptes listés par code.gouv.fr",
        "path": HOMEPAGE,
    },
    {
        "title": "Socle interministériel de logiciels libres (SILL)",
        "path": "https://code.gouv.fr/sill/",
    },
]

#: The exported tables, in the order of the data package.
EXPORTED = (
    "repositories",
    "owners",
    "forges",
    "sill_software",
    "sill_repositories",
    "licences",
    "daily_stats",
)


def field(column: schema.Column, unique: bool = False) -> dict[str, Any]:
    """The Table Schema field of a column."""
    described: dict[str, Any] = {
        "name": column.name,
        "title": column.title or column.name,
        "description": column.description,
        "type": column.kind,
    }
    if column.kind in ("datetime", "date", "array", "object"):
        # datetime "default" is %Y-%m-%dT%H:%M:%SZ: the ISO 8601 UTC text the database stores.
        described["format"] = "default"
    if column.kind == "boolean":
        described["trueValues"] = ["1"]
        described["falseValues"] = ["0"]
    constraints: dict[str, Any] = {}
    if column.required:
        constraints["required"] = True
    if unique:
        constraints["unique"] = True
    if column.enum:
        constraints["enum"] = list(column.enum)
    if constraints:
        described["constraints"] = constraints
    return described


def primary_key(declared: schema.Table) -> list[str]:
    if declared.pk is None:
        return []
    return [declared.pk] if isinstance(declared.pk, str) else list(declared.pk)


def table_schema(declared: schema.Table) -> dict[str, Any]:
    """The Table Schema of one exported table (its CSV file)."""
    keys = primary_key(declared)
    if declared.name == "daily_stats":
        # No key in the database (ministry may be empty), one row per day × forge × ministry.
        keys = ["date", "forge", "ministry"]
    document: dict[str, Any] = {
        "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
        "name": f"{PACKAGE_NAME}-{declared.name.replace('_', '-')}",
        "title": declared.title or declared.name,
        "description": declared.description,
        "countryCode": "FR",
        "homepage": HOMEPAGE,
        "version": VERSION,
        "created": CREATED,
        "lastModified": CREATED,
        "contributors": CONTRIBUTORS,
        "licenses": LICENSES,
        "sources": SOURCES,
        "missingValues": [""],
        "fields": [field(c, unique=keys == [c.name]) for c in declared.columns],
    }
    if keys:
        document["primaryKey"] = keys
    foreign = [
        {"fields": column, "reference": {"resource": other, "fields": other_column}}
        for column, other, other_column in declared.foreign_keys
        if other in EXPORTED
    ]
    if foreign:
        document["foreignKeys"] = foreign
    return document


def datapackage(resources: list[dict[str, Any]], built_at: str) -> dict[str, Any]:
    """The ``datapackage.json`` that lists the CSV files with their schemas."""
    return {
        "name": PACKAGE_NAME,
        "title": PACKAGE_TITLE,
        "description": PACKAGE_DESCRIPTION,
        "homepage": HOMEPAGE,
        "version": VERSION,
        "created": built_at,
        "licenses": LICENSES,
        "contributors": CONTRIBUTORS,
        "sources": SOURCES,
        "keywords": ["logiciel libre", "code source", "administration", "SILL", "open data"],
        "resources": resources,
    }
