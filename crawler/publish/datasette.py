"""Datasette on the inventory: the metadata (French, generated from ``crawler.schema``), the
settings of a public instance, and what ``codegouv publish`` writes for it in ``DIR/datasette/``
(metadata.json, settings.json, inspect-data.json, templates/).

Datasette is pinned below 1.0, which keeps canned queries, facets and the rest in the metadata
file; when upgrading, this is the one module to change (1.0 moves settings, canned queries and
facets to datasette.yaml: ``settings()`` and ``_table_options()`` already keep them apart from
the descriptions, which stay in metadata).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from crawler import schema
from crawler.publish.queries import QUERIES
from crawler.resources import site_dir

log = logging.getLogger(__name__)

TITLE = "Inventaire des codes sources publics"
DESCRIPTION = (
    "Les dépôts de code source publiés par les administrations publiques françaises sur "
    "GitHub et les forges GitLab, avec leur licence et leur activité, et le Socle "
    "interministériel de logiciels libres (SILL)."
)
LICENCE = {
    "license": "Licence Ouverte 2.0 (Etalab)",
    "license_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}
LICENCE_ID = "etalab-2.0"
SOURCE_FORGES = {
    "source": "API des forges (GitHub, GitLab), comptes listés par code.gouv.fr",
    "source_url": "https://code.gouv.fr/",
}
SOURCE_SILL = {
    "source": "Socle interministériel de logiciels libres (SILL), code.gouv.fr",
    "source_url": "https://code.gouv.fr/sill/",
}
SOURCE_SPDX = {
    "source": "Liste des licences SPDX (spdx.org), complétée par l'inventaire",
    "source_url": "https://spdx.org/licenses/",
}

#: Facet type of the topics, answered from ``repository_topics`` (see ``prepare``).
TOPIC_FACET = "topic"
#: The precomputed (repository, topic) pairs of the published copy.
TOPICS_TABLE = "repository_topics"
TOPICS_TABLE_METADATA: dict[str, Any] = {
    "description": (
        "Les mots-clés (topics) des dépôts, un par ligne : une ligne par dépôt et par mot-clé, "
        "calculée à la publication à partir de la colonne topics de la table repositories "
        "(qui reste inchangée). Elle rend le comptage des dépôts par mot-clé rapide."
    ),
    "columns": {
        "repository": "Identifiant du dépôt (table repositories)",
        "topic": "Un mot-clé du dépôt",
    },
    "facets": ["topic"],
}

#: Facets shown by default on the tables people browse ({"array": column} for JSON lists).
FACETS: dict[str, list[str | dict[str, str]]] = {
    "repositories": [
        "licence",
        "language",
        "forge",
        "owner",
        "ministry",
        "activity",
        "is_fork",
        "is_archived",
        # Counted from the precomputed repository_topics table (datasette_plugin.TopicFacet),
        # not with json_each over every row as Datasette's array facet does.
        {TOPIC_FACET: "topics"},
    ],
    "owners": ["forge", "kind", "ministry", "crawl_status"],
    "forges": ["kind", "status"],
    "sill_software": ["licence", "is_from_french_public_service", "in_inventory"],
    "sill_repositories": ["match"],
    "publiccode": ["valid", "version", "development_status"],
    "licences": ["family", "is_osi_approved", "is_fsf_libre", "is_free"],
    "crawl_runs": ["status"],
    "crawl_errors": ["forge"],
    "daily_stats": ["forge", "ministry"],
}
SORT: dict[str, str] = {"sill_software": "name", "licences": "spdx_id"}
SORT_DESC: dict[str, str] = {
    "repositories": "stars",
    "owners": "repositories_count",
    "crawl_runs": "id",
    "crawl_errors": "at",
    "daily_stats": "date",
    "publish_runs": "id",
}
#: The column that names a row, shown instead of its key where another table points at it.
LABELS: dict[str, str] = {
    "repositories": "name",
    "owners": "login",
    "forges": "host",
    "sill_software": "name",
    "licences": "name",
    "crawl_runs": "started_at",
}
HIDDEN = frozenset({"_migrations"})

#: Settings of the public instance (``datasette --setting``): fast pages, bounded queries.
SETTINGS: dict[str, Any] = {
    # 100-row HTML pages are most of a table page's cost; 20 rows keep a page light.
    "default_page_size": 20,
    "max_returned_rows": 1000,
    "sql_time_limit_ms": 1000,
    # Facets stay on (journalists need them), bounded in time; suggested facets cost a query
    # per column on every page, so they are off.
    "allow_facet": True,
    "facet_time_limit_ms": 300,
    "suggest_facets": False,
    "default_facet_size": 10,
    "num_sql_threads": 4,
    "cache_size_kb": 16000,
    "default_cache_ttl": 300,
    "allow_download": True,
    "max_csv_mb": 50,
    "truncate_cells_html": 300,
}

#: SQLite's cap on one string or blob (SQLITE_LIMIT_LENGTH) on every Datasette connection:
#: ``randomblob(1e9)`` fails at once instead of allocating a gigabyte; rows are far smaller.
LENGTH_LIMIT = 10_000_000
#: Bytes of the database each reading connection maps into memory (pragma mmap_size): the
#: threads share the OS's pages instead of copying them into their own page caches.
MMAP_SIZE = 512 * 1024 * 1024


def settings() -> dict[str, Any]:
    return dict(SETTINGS)


def _source(table: str) -> dict[str, str]:
    if table.startswith("sill_"):
        return SOURCE_SILL
    if table == "licences":
        return SOURCE_SPDX
    return SOURCE_FORGES


def _table_options(table: schema.Table) -> dict[str, Any]:
    """How a table is browsed: facets, sort, label, full-text search."""
    options: dict[str, Any] = {}
    if table.name in FACETS:
        options["facets"] = FACETS[table.name]
    if table.name in SORT:
        options["sort"] = SORT[table.name]
    if table.name in SORT_DESC:
        options["sort_desc"] = SORT_DESC[table.name]
    if table.name in LABELS:
        options["label_column"] = LABELS[table.name]
    if table.fts:
        # Words are matched in any order, accents ignored (crawler.db.FTS_TOKENIZE).
        options["fts_table"] = f"{table.name}_fts"
        options["fts_pk"] = "rowid"
    if table.name.startswith("_") or table.name in HIDDEN:
        options["hidden"] = True
    return options


def metadata(database: str) -> dict[str, Any]:
    """Datasette metadata for a database named ``database`` (the file's stem): licence and
    source on the instance and on every table, a French description of every table and column,
    facets, sort, labels, full-text search and the canned queries."""
    tables: dict[str, Any] = {}
    for table in schema.TABLES:
        tables[table.name] = {
            "description": table.description,
            **LICENCE,
            **_source(table.name),
            "columns": {c.name: c.description for c in table.columns},
            **_table_options(table),
        }
    tables[TOPICS_TABLE] = {**TOPICS_TABLE_METADATA, **LICENCE, **SOURCE_FORGES}
    tables[FACET_COUNTS_TABLE] = {**FACET_COUNTS_TABLE_METADATA, **LICENCE, **SOURCE_FORGES}
    for name in HIDDEN:
        tables.setdefault(name, {"hidden": True})
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        **LICENCE,
        **SOURCE_FORGES,
        "about": "Code source de l'inventaire",
        "about_url": "https://code.gouv.fr/",
        "databases": {
            database: {
                "description": DESCRIPTION,
                **LICENCE,
                **SOURCE_FORGES,
                "tables": tables,
                "queries": {q.name: q.as_metadata() for q in QUERIES},
            }
        },
    }


#: Indexes of the published copy only (the crawl does not need them): canned queries, facets,
#: the filtered count and the filtered, sorted listings read them instead of the whole table.
#: Each default facet column already has its own index (crawler.schema); a filter followed by a
#: sort (``?licence=MIT&_sort_desc=stars``) walks (filter, sort) in order and stops at the page.
_FACET_COLUMNS = tuple(f for f in FACETS["repositories"] if isinstance(f, str))
#: One covering index per facet column used as a filter (``?licence=MIT``): the filter's
#: column first, then every other facet column and the key. Each facet of a filtered page, the
#: filtered count and the topics facet's list of keys then read one range of one index,
#: never the rows.
_COVERING = tuple(
    (column, *(c for c in _FACET_COLUMNS if c != column), "id") for column in _FACET_COLUMNS
)
#: A filter then a sort (``?licence=MIT&_sort_desc=forks``): one (filter, sort) index for each
#: filter column and each sort people use (the table's default, activity, age, forks), so
#: that the page walks the index in order and stops after its rows. Without it, a filter that
#: keeps half the table sorts 25,000 rows for each page (37 ms).
_SORTED_FILTERS = ("licence", "language", "forge", "ministry", "activity", "owner")
_SORTS = ("stars", "pushed_at", "created_at", "forks")
PUBLISHED_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "repositories": (
        *_COVERING,
        ("created_at",),
        ("ministry", "licence"),
        ("ministry", "language"),
        ("owner", "activity"),
        ("forks",),
        *((column, sort) for column in _SORTED_FILTERS for sort in _SORTS),
        # The canned queries that group every live repository by ministry or owner read
        # these alone (covering: no lookup of the rows).
        ("removed_at", "ministry", "licence"),
        ("removed_at", "ministry", "language"),
        ("removed_at", "owner", "activity", "ministry"),
        ("removed_at", "licence"),
        # depots_actifs_90_jours: live, not archived, a range of push dates.
        ("removed_at", "is_archived", "pushed_at"),
        # depots_par_forge: per forge, without reading the rows.
        ("forge", "removed_at", "licence", "has_publiccode", "id"),
    ),
    TOPICS_TABLE: (("topic", "repository"),),
}


#: Facet counts of the published copy (see ``_fill_facet_counts``): for each table with column
#: facets, each facet column's values and counts on the whole table and under every single
#: equality filter on one of those columns. ``datasette_plugin.ColumnFacet`` answers a page
#: whose filter is one of these with one indexed lookup instead of one query per facet.
FACET_COUNTS_TABLE = "facet_counts"
FACET_COUNTS_TABLE_METADATA: dict[str, Any] = {
    "description": (
        "Les comptes des facettes, calculés à la publication : pour chaque table et chaque "
        "colonne de facette, le nombre de lignes par valeur, sur toute la table et pour chaque "
        "filtre d'égalité sur une colonne de facette. Ils rendent les pages de table rapides ; "
        "ils sont égaux à un GROUP BY sur la table."
    ),
    "columns": {
        "table_name": "Table comptée",
        "filter_column": "Colonne du filtre (vide : toute la table)",
        "filter_value": "Valeur du filtre, en texte (vide : toute la table)",
        "facet_column": "Colonne de la facette",
        "rank": (
            "Rang de la valeur dans la facette, par nombre décroissant puis par valeur ; "
            "0 : les lignes où la colonne est vide (NULL), qu'une facette ne montre pas"
        ),
        "value": "Valeur de la colonne de la facette",
        "count": "Nombre de lignes",
    },
    "hidden": True,
}


def _column_facets(table: str) -> tuple[str, ...]:
    return tuple(f for f in FACETS.get(table, ()) if isinstance(f, str))


def _fill_facet_counts(db: sqlite_utils.Database) -> None:
    """(Re)build ``facet_counts``: for every table of ``FACETS`` and every pair (filter column,
    facet column) of its column facets, the counts per (filter value, facet value), ranked as
    Datasette orders a facet (count descending, then value); the rows of the whole table under
    filter column ''. The topics of the repositories (``repository_topics``) count under the
    facet column "topics". Rank 0 holds the NULL values' count: it marks a facet computed even
    when every value is NULL."""
    db.execute(f"drop table if exists {FACET_COUNTS_TABLE}")
    db.execute(
        f"""create table {FACET_COUNTS_TABLE} (
            table_name text not null, filter_column text not null, filter_value text not null,
            facet_column text not null, rank integer not null, value, count integer not null,
            primary key (table_name, filter_column, filter_value, facet_column, rank)
        ) without rowid"""
    )

    def insert(source: str, filtered: bool) -> str:
        """Insert one facet's counts from ``source``, rows of ``value`` (and ``filter_value``
        when filtered): rank 1, 2… by count then value within each filter value, as
        Datasette's ``order by count desc, value``; rank 0 for NULL."""
        key = "cast(filter_value as text)" if filtered else "''"
        return f"""insert into {FACET_COUNTS_TABLE}
            select :table, :filter_column, key, :facet,
                case when value is null then 0 else row_number() over (
                    partition by key, value is null order by count(*) desc, value) end,
                value, count(*)
            from (select {key} as key, value from {source}
                {"where filter_value is not null" if filtered else ""})
            group by key, value"""  # noqa: S608

    with db.conn:
        for table in FACETS:
            existing = set(db.table(table).columns_dict) if db.table(table).exists() else set()
            columns = tuple(c for c in _column_facets(table) if c in existing)
            # (facet name, its values' column, the rows that hold both it and the filters)
            sources = [(c, f'"{c}"', f'"{table}"') for c in columns]
            if table == "repositories" and db.table(TOPICS_TABLE).exists():
                sources.append(
                    ("topics", "t.topic", f"{TOPICS_TABLE} t join repositories on id = repository")
                )
            for facet, value, rows in sources:
                for filter_column in (None, *columns):
                    filter_value = f', "{filter_column}" as filter_value' if filter_column else ""
                    db.execute(
                        insert(
                            f"(select {value} as value{filter_value} from {rows})",  # noqa: S608
                            bool(filter_column),
                        ),
                        {"table": table, "filter_column": filter_column or "", "facet": facet},
                    )


def _fill_topics(db: sqlite_utils.Database) -> None:
    """(Re)build ``repository_topics`` from ``repositories.topics`` (JSON lists of strings)."""
    table = db.table(TOPICS_TABLE)
    if table.exists():
        table.drop()
    db.create_table(
        TOPICS_TABLE,
        {"repository": str, "topic": str},
        pk=("repository", "topic"),
        not_null={"repository", "topic"},
        foreign_keys=[("repository", "repositories", "id")],
    )
    with db.conn:
        db.execute(
            f"""insert or ignore into {TOPICS_TABLE} (repository, topic)
            select r.id, j.value from repositories r, json_each(r.topics) j
            where json_valid(r.topics) and json_type(r.topics) = 'array'
                and j.type = 'text' and j.value != ''"""  # noqa: S608
        )


def prepare(db: sqlite_utils.Database) -> None:
    """Shape a published copy of the database for Datasette: the full-text indexes in their
    accent-insensitive form, the precomputed ``repository_topics`` table, and the indexes the
    canned queries, facets and filtered listings read.

    Called by ``codegouv publish`` on the copy, before it is analysed.
    """
    from crawler import db as store

    store.ensure_fts(db)
    if db.table("repositories").exists():
        _fill_topics(db)
    _fill_facet_counts(db)
    for name, indexes in PUBLISHED_INDEXES.items():
        table = db.table(name)
        if not table.exists():
            continue
        for columns in indexes:
            table.create_index(list(columns), if_not_exists=True)


def write_metadata(db_path: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(metadata(db_path.stem), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return out


def inspect_data(db_path: Path) -> dict[str, Any]:
    """Datasette's ``inspect`` figures for an immutable database (file name, size, hash, rows
    per table), so that a server never counts rows itself."""
    from datasette.inspect import inspect_hash  # type: ignore[import-untyped]

    connection = sqlite3.connect(f"file:{db_path}?immutable=1", uri=True)
    try:
        names = [
            row[0]
            for row in connection.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
        ]
        counts = {
            name: connection.execute(f'select count(*) from "{name}"').fetchone()[0]  # noqa: S608
            for name in names
        }
    finally:
        connection.close()
    return {
        db_path.stem: {
            "hash": inspect_hash(db_path),
            "size": db_path.stat().st_size,
            "file": db_path.name,
            "tables": {name: {"count": count} for name, count in counts.items()},
        }
    }


def write(out_dir: Path, db_path: Path) -> None:
    """Write the Datasette configuration of a published folder into ``out_dir/datasette/``:
    metadata.json, settings.json, inspect-data.json (counts, read by ``codegouv serve``) and the
    templates (French home page, table pages). ``codegouv serve`` reads nothing else, and
    writes nothing: the folder may be read-only.

    Args:
        out_dir: the publication being built.
        db_path: the published database, final (its stem names the database in Datasette).
    """
    folder = out_dir / "datasette"
    write_metadata(db_path, folder / "metadata.json")
    (folder / "settings.json").write_text(json.dumps(settings(), indent=2), encoding="utf-8")
    (folder / "inspect-data.json").write_text(
        json.dumps(inspect_data(db_path), indent=2), encoding="utf-8"
    )
    templates = folder / "templates"
    if templates.exists():
        shutil.rmtree(templates)
    shutil.copytree(site_dir() / "datasette" / "templates", templates)
