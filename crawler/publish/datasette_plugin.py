"""Our Datasette plugin: caps on what one query may allocate or spin on, error pages that cost
nothing, and the robots policy.

Registered by ``crawler.serve`` (``register()``); plain ``datasette serve`` loads it with
``--plugins-dir`` pointing at this file's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl  # type: ignore[import-untyped]
from datasette.database import QueryInterrupted  # type: ignore[import-untyped]
from datasette.facets import (  # type: ignore[import-untyped]
    ArrayFacet,
    DateFacet,
    Facet,
)
from datasette.facets import ColumnFacet as DatasetteColumnFacet
from datasette.filters import Filters  # type: ignore[import-untyped]
from datasette.utils import (  # type: ignore[import-untyped]
    detect_json1,
    escape_sqlite,
    path_with_added_args,
    path_with_removed_args,
    path_with_replaced_args,
    to_css_class,
)
from datasette.utils.asgi import Base400, Response  # type: ignore[import-untyped]
from jinja2 import pass_context
from markupsafe import Markup, escape

from crawler.publish.datasette import (
    FACET_COUNTS_TABLE,
    LENGTH_LIMIT,
    MMAP_SIZE,
    TOPIC_FACET,
    TOPICS_TABLE,
)

log = logging.getLogger(__name__)

#: Search engines index the home page, table and row pages and canned queries; not arbitrary
#: SQL, query-string permutations (filters, facets, sorts, searches), JSON/CSV or downloads.
ROBOTS_TXT = """\
User-agent: *
Disallow: /*?sql=
Disallow: /*&sql=
Disallow: /*?
Disallow: /*.json
Disallow: /*.csv
Disallow: /*.db
Disallow: /-/
Allow: /
"""


#: One conversion of SQLite's printf: flags, width, precision (numbers or ``*``), type.
_CONVERSION = re.compile(r"%([-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d*))?(l{0,2})([a-zA-Z%])")


def _too_long(template: object, args: tuple[Any, ...]) -> bool:
    """Whether a printf asks for a width or precision beyond ``LENGTH_LIMIT``, as digits or
    through ``*``. SQLite checks its length cap only after its loop over the precision of
    ``%c``, which runs for seconds on ``printf('%.*c', 1e9, 'x')`` out of reach of the time
    limit (checked between virtual-machine steps, not inside one function)."""
    if not isinstance(template, str):
        return False
    position = 0
    for match in _CONVERSION.finditer(template):
        _, width, precision, _, kind = match.groups()
        if kind == "%":
            continue
        for part in (width, precision):
            if part == "*":
                value = args[position] if position < len(args) else 0
                position += 1
                try:
                    number = abs(int(value)) if value is not None else 0
                except (TypeError, ValueError, OverflowError):
                    number = 0
            else:
                number = int(part) if part else 0
            if number > LENGTH_LIMIT:
                return True
        position += 1
    return False


_local = threading.local()


def _printf(template: object, *args: Any) -> Any:
    """SQLite's own printf, run on a private in-memory connection once the template is
    checked; NULL when the result would be too long, as SQLite's printf answers then."""
    if _too_long(template, args):
        return None
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, LENGTH_LIMIT)
        _local.connection = connection
    placeholders = ", ".join("?" for _ in range(len(args) + 1))
    return connection.execute(f"select printf({placeholders})", (template, *args)).fetchone()[0]


@hookimpl  # type: ignore[untyped-decorator]
def prepare_connection(conn: sqlite3.Connection) -> None:
    # randomblob(1e9) or zeroblob(1e9) through ?sql= would allocate a gigabyte before the time
    # limit can act: SQLite refuses any longer string or blob ("string or blob too big").
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, LENGTH_LIMIT)
    # The reading threads share the file's pages through the OS instead of each copying them
    # into its own page cache.
    conn.execute(f"pragma mmap_size = {MMAP_SIZE}")
    # printf('%.*c', 1e9, 'x') spins for seconds before that cap applies: checked first.
    for name in ("printf", "format"):
        conn.create_function(name, -1, _printf, deterministic=True)


_WHERE = re.compile(r"\swhere\s", re.IGNORECASE)
#: Up to this many filtered rows, the asked column facets are counted in one query that reads
#: the rows once; above, one query per column (each reads an index or the table).
ONE_PASS_ROWS = 10_000

#: (value, count) pairs of one facet, at most facet size + 1 (the last tells "truncated").
Counts = list[tuple[Any, int]]


async def _precomputed_columns(facet: Facet) -> frozenset[str]:
    """The facet columns ``facet_counts`` holds for the facet's table (none on a database
    that may change, or without the table), read once per database."""
    database = facet.ds.get_database(facet.database)
    if database.is_mutable:
        return frozenset()
    known: dict[str, dict[str, frozenset[str]]] = facet.ds.__dict__.setdefault(
        "_codegouv_facet_columns", {}
    )
    if facet.database not in known:
        tables: dict[str, set[str]] = {}
        if await database.table_exists(FACET_COUNTS_TABLE):
            rows = await database.execute(
                f"select distinct table_name, facet_column from {FACET_COUNTS_TABLE} "  # noqa: S608
                "where filter_column = ''"
            )
            for table, column in rows.rows:
                tables.setdefault(table, set()).add(column)
        known[facet.database] = {t: frozenset(c) for t, c in tables.items()}
    return known[facet.database].get(facet.table, frozenset())


async def _equality_filter(facet: Facet) -> tuple[str, str] | None:
    """("", "") when the facet's SQL is the whole table, (column, value) when it is the table
    under exactly one equality filter on a precomputed facet column (``?licence=MIT``, built by
    Datasette's own ``Filters`` as the table view builds it); None otherwise (a search, several
    filters, another operator, a page after the first…)."""
    columns = await _precomputed_columns(facet)
    if not columns:
        return None
    head, found, where = facet.sql.partition(f" from {escape_sqlite(facet.table)} ")
    if not found or not head.startswith("select "):
        return None
    params = dict(facet.params) if isinstance(facet.params, dict) else None
    if where == "" and not facet.params:
        return ("", "")
    if params is None or set(params) != {"p0"} or not isinstance(params["p0"], str):
        return None
    for column in columns:
        clauses, expected = Filters([(column, params["p0"])]).build_where_clauses(facet.table)
        if expected == params and where == f"where {clauses[0]} ":
            return (column, params["p0"])
    return None


async def _lookup(
    facet: Facet, key: tuple[str, str], columns: list[str], size: int
) -> dict[str, Counts]:
    """The counts of ``columns`` under ``key`` read from ``facet_counts``. A column is in the
    answer only if the table holds it for that filter value (rank 0 marks a facet whose rows
    are all NULL); any other is left to the queries."""
    wanted = sorted(set(columns) & await _precomputed_columns(facet))
    if not wanted:
        return {}
    marks = ", ".join(f":c{i}" for i in range(len(wanted)))
    rows = await facet.ds.execute(
        facet.database,
        f"select facet_column, rank, value, count from {FACET_COUNTS_TABLE} "  # noqa: S608
        f"where table_name = :table and filter_column = :column and filter_value = :value "
        f"and facet_column in ({marks}) and rank <= :size order by facet_column, rank",
        {
            "table": facet.table,
            "column": key[0],
            "value": key[1],
            "size": size + 1,
            **{f"c{i}": c for i, c in enumerate(wanted)},
        },
        truncate=False,
    )
    found: dict[str, Counts] = {}
    for column, rank, value, count in rows.rows:
        counts = found.setdefault(column, [])
        if rank:
            counts.append((value, count))
    return found


async def _facet_query(facet: Facet, sql: str) -> Any:
    """``sql`` run with the page's parameters, under the facets' time limit (raises
    ``QueryInterrupted`` beyond it)."""
    return await facet.ds.execute(
        facet.database,
        sql,
        facet.params,
        truncate=False,
        custom_time_limit=facet.ds.setting("facet_time_limit_ms"),
    )


async def _one_pass(facet: Facet, columns: list[str], size: int) -> dict[str, Counts]:
    """The counts of every column in one query: the filtered rows are read once into a
    temporary table, then grouped per column, ranked as Datasette orders a facet.

    Raises:
        QueryInterrupted: over the facets' time limit.
    """
    names = [escape_sqlite(c) for c in columns]
    groups = " union all ".join(
        f"select {i} as i, {name} as value, count(*) as count from facet_rows "  # noqa: S608
        f"where {name} is not null group by {name}"
        for i, name in enumerate(names)
    )
    sql = (
        f"with facet_rows as materialized (select {', '.join(names)} from ({facet.sql})), "  # noqa: S608
        f"grouped as ({groups}) "
        "select i, value, count from (select i, value, count, row_number() over "
        "(partition by i order by count desc, value) as rank from grouped) "
        f"where rank <= {size + 1} order by i, rank"
    )
    rows = await _facet_query(facet, sql)
    found: dict[str, Counts] = {c: [] for c in columns}
    for i, value, count in rows.rows:
        found[columns[i]].append((value, count))
    return found


async def _per_column(facet: Facet, column: str, size: int) -> Counts | None:
    """One column's counts, Datasette's own query; None when over the time limit."""
    sql = (
        f"select {escape_sqlite(column)} as value, count(*) as count from ({facet.sql}) "  # noqa: S608
        f"where {escape_sqlite(column)} is not null "
        f"group by {escape_sqlite(column)} order by count desc, value limit {size + 1}"
    )
    try:
        rows = await _facet_query(facet, sql)
    except QueryInterrupted:
        return None
    return [(row["value"], row["count"]) for row in rows.rows]


class ColumnFacet(DatasetteColumnFacet):  # type: ignore[misc]
    """Datasette's column facet (``_facet=`` and the metadata's facets), with the same
    answer, labels, links and time limit, computed with fewer queries:

    - the whole table, or the table under one equality filter on a facet column
      (``?licence=MIT``): every facet read at once from ``facet_counts``, precomputed by
      ``codegouv publish``;
    - otherwise (a search, several filters, other operators) up to ``ONE_PASS_ROWS`` rows:
      all the columns counted in one query that reads the rows once;
    - more rows, or no count: one query per column, as Datasette, run side by side.

    Datasette 0.65 runs one query per column, one after the other: 9 on each page of the
    repositories, each reading the filtered rows again.
    """

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        # A column asked by the request that the table shows anyway is shown once (Datasette
        # would count it twice, as "licence" and "licence_2"); the request keeps its
        # ``_facet=``, so the links of the page keep asking for it.
        configs: list[dict[str, Any]] = []
        for entry in self.get_configs():
            if all(self._column(c) != self._column(entry) for c in configs):
                configs.append(entry)
        if not configs:
            return [], []
        size = self.get_facet_size()
        columns = [self._column(c) for c in configs]
        found: dict[str, Counts] = {}
        if self.table:
            key = await _equality_filter(self)
            if key is not None:
                found = await _lookup(self, key, columns, size)
        rest = [c for c in columns if c not in found]
        if len(rest) > 1 and self.row_count is not None and self.row_count <= ONE_PASS_ROWS:
            # Over the time limit: each column on its own, each with its own time limit.
            with contextlib.suppress(QueryInterrupted):
                found.update(await _one_pass(self, rest, size))
            rest = [c for c in columns if c not in found]
        if rest:
            answers = await asyncio.gather(*(_per_column(self, c, size) for c in rest))
            found.update({c: a for c, a in zip(rest, answers, strict=True) if a is not None})
        timed_out = [c for c in columns if c not in found]
        labels = await self._labels({c: found[c][:size] for c in columns if c in found})
        results = []
        for entry in configs:
            column = self._column(entry)
            if column in found:
                results.append(self._result(column, entry["source"], found[column], size, labels))
        return results, timed_out

    @staticmethod
    def _column(entry: dict[str, Any]) -> str:
        return str(entry["config"].get("column") or entry["config"]["simple"])

    async def _labels(self, shown: dict[str, Counts]) -> dict[tuple[str, Any], Any]:
        """Foreign keys expanded into labels, as Datasette's column facet does."""
        if not self.table:
            return {}
        labels: dict[tuple[str, Any], Any] = {}
        expanded = await asyncio.gather(
            *(
                self.ds.expand_foreign_keys(
                    self.database, self.table, column, [v for v, _ in counts]
                )
                for column, counts in shown.items()
            )
        )
        for one in expanded:
            labels.update(one)
        return labels

    def _result(
        self,
        column: str,
        source: str,
        counts: Counts,
        size: int,
        labels: dict[tuple[str, Any], Any],
    ) -> dict[str, Any]:
        pairs = self.get_querystring_pairs()
        argument = f"{column}__exact" if column.startswith("_") else column
        values = []
        for value, count in counts[:size]:
            selected = (argument, str(value)) in pairs
            if selected:
                toggle = path_with_removed_args(self.request, {argument: str(value)})
            else:
                toggle = path_with_added_args(self.request, {argument: value})
            values.append(
                {
                    "value": value,
                    "label": labels.get((column, value), value),
                    "count": count,
                    # A plain str: urljoin on Datasette's PrefixedUrlString calls dir(str)
                    # at each of its string operations (~250 times per page).
                    "toggle_url": self.ds.absolute_url(
                        self.request, str(self.ds.urls.path(toggle))
                    ),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "hideable": source != "metadata",
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {"_facet": column})
            ),
            "results": values,
            "truncated": len(counts) > size,
        }


class TopicFacet(Facet):  # type: ignore[misc]
    """The topics of the repositories a page shows, counted from ``repository_topics`` (one
    indexed row per repository and topic, built by ``prepare``) rather than with Datasette's
    array facet, which unpacks the JSON of every row (170 ms on 50,000 repositories). Same
    answer and same links: a value filters with ``topics__arraycontains``. The whole table and
    single equality filters read ``facet_counts`` (precomputed, like the column facets)."""

    type = TOPIC_FACET

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for entry in self.get_configs():
            config = entry["config"]
            column = config.get("column") or config["simple"]
            if self.table != "repositories" or column != "topics":
                continue
            key = await _equality_filter(self)
            counts = (await _lookup(self, key, [column], size)).get(column) if key else None
            if counts is None:
                try:
                    counts = await self._counts(size)
                except QueryInterrupted:
                    timed_out.append(column)
                    continue
            argument = f"{column}__arraycontains"
            values = []
            for raw, count in counts[:size]:
                value = str(raw)
                selected = (argument, value) in pairs
                change = path_with_removed_args if selected else path_with_added_args
                values.append(
                    {
                        "value": value,
                        "label": value,
                        "count": count,
                        "toggle_url": self.ds.absolute_url(
                            self.request, change(self.request, {argument: value})
                        ),
                        "selected": selected,
                    }
                )
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "results": values,
                    "hideable": entry["source"] != "metadata",
                    "toggle_url": self.ds.urls.path(
                        path_with_removed_args(self.request, {f"_facet_{self.type}": column})
                    ),
                    "truncated": len(counts) > size,
                }
            )
        return results, timed_out

    async def _counts(self, size: int) -> Counts:
        if _WHERE.search(self.sql):
            sql = (
                f"select topic as value, count(*) as count from {TOPICS_TABLE} "  # noqa: S608
                f"where repository in (select id from ({self.sql})) "
                f"group by topic order by count desc, value limit {size + 1}"
            )
        else:  # the whole table: the index on (topic, repository) alone answers
            sql = (
                f"select topic as value, count(*) as count from {TOPICS_TABLE} "  # noqa: S608
                f"group by topic order by count desc, value limit {size + 1}"
            )
        rows = await _facet_query(self, sql)
        return [(row["value"], row["count"]) for row in rows.rows]


@hookimpl  # type: ignore[untyped-decorator]
def register_facet_classes() -> list[type]:
    from datasette.plugins import pm  # type: ignore[import-untyped]

    if pm.get_plugin("datasette.facets") is not None:
        # Datasette's own facets are still registered (plain ``datasette --plugins-dir``, not
        # ``register()``): two column facets would each answer.
        return [TopicFacet]
    classes: list[type] = [ColumnFacet, DateFacet, TopicFacet]
    if detect_json1():
        classes.append(ArrayFacet)
    return classes


def _header_html(column: dict[str, Any], context: dict[str, Any]) -> str:
    name = column["name"]
    attributes = (
        (
            f'data-column-description="{escape(column.get("description"))}" '
            if column.get("description")
            else ""
        )
        + f'class="col-{escape(to_css_class(name))}" scope="col" data-column="{escape(name)}" '
        f'data-column-type="{escape(column["type"].lower())}" '
        f'data-column-not-null="{escape(column["notnull"])}" '
        f'data-is-pk="{1 if column["is_pk"] else 0}"'
    )
    if not column["sortable"]:
        label = str(escape(name))
    else:
        request = context["request"]
        if name == context.get("sort"):
            changes = {"_sort_desc": name, "_sort": None, "_next": None}
            arrow = "&nbsp;▼"
        else:
            changes = {"_sort": name, "_sort_desc": None, "_next": None}
            arrow = "&nbsp;▲" if name == context.get("sort_desc") else ""
        href = context["fix_path"](path_with_replaced_args(request, changes))
        label = f'<a href="{escape(href)}" rel="nofollow">{escape(name)}{arrow}</a>'
    return f"                    <th {attributes}>{label}</th>"


@pass_context
def rows_and_columns(context: Any) -> Markup:
    """The table of a table page (Datasette's ``_table.html``: the same elements, classes
    and data attributes that its table.js reads), written in Python rather than by a Jinja
    loop over every cell: on a 37-column page of 20 rows the loop was a third of the page's
    rendering time. Every value is escaped unless it is already markup (a link, a label),
    as Jinja's autoescape does."""
    rows = context["display_rows"]
    if not rows:
        return Markup('<p class="zero-results">0 records</p>')
    lines = [
        '<div class="table-wrapper">',
        '    <table class="rows-and-columns">',
        "        <thead>",
        "            <tr>",
        *(_header_html(column, context) for column in context["display_columns"]),
        "            </tr>",
        "        </thead>",
        "        <tbody>",
    ]
    for row in rows:
        lines.append("            <tr>")
        for cell in row:
            css = escape(to_css_class(cell["column"]))
            lines.append(
                f'                    <td class="col-{css} type-{escape(cell["value_type"])}">'
                f"{escape(cell['value'])}</td>"
            )
        lines.append("            </tr>")
    lines += ["        </tbody>", "    </table>", "</div>"]
    return Markup("\n".join(lines))  # noqa: S704 (every value above is escaped)


@hookimpl  # type: ignore[untyped-decorator]
def prepare_jinja2_environment(env: Any) -> None:
    env.globals["codegouv_rows_and_columns"] = rows_and_columns


async def robots_txt() -> Response:
    return Response.text(ROBOTS_TXT, headers={"Cache-Control": "max-age=86400, public"})


@hookimpl  # type: ignore[untyped-decorator]
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/robots\.txt$", robots_txt)]


@hookimpl(tryfirst=True)  # type: ignore[untyped-decorator]
def handle_exception(
    datasette: Any, request: Any, exception: BaseException
) -> Callable[[], Awaitable[Response]]:
    """Error pages without Datasette's default handler, which renders every error, a 404
    included, as a rich traceback with its local variables on stderr: costly enough for a
    visitor to load the server with bad addresses, and with rich 15 it fails outside an
    ``except`` block, turning each 404 into a 500."""
    from datasette.utils import add_cors_headers
    from datasette.views.base import DatasetteError  # type: ignore[import-untyped]

    async def answer() -> Response:
        title = None
        info: dict[str, Any] = {}
        if isinstance(exception, Base400):
            status, message = exception.status, exception.args[0]
        elif isinstance(exception, DatasetteError):
            status, message, title = exception.status, exception.message, exception.title
            info = dict(exception.error_dict)
        else:
            status, message = 500, str(exception)
            log.error("%s %s: %r", request.method, request.path, exception, exc_info=exception)
        info.update({"ok": False, "error": message, "status": status, "title": title})
        headers: dict[str, str] = {}
        if datasette.cors:
            add_cors_headers(headers)
        if request.path.split("?")[0].endswith(".json"):
            return Response.json(info, status=status, headers=headers)
        template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
        page = await template.render_async(
            {
                **info,
                "urls": datasette.urls,
                "app_css_hash": datasette.app_css_hash(),
                "menu_links": lambda: [],
            }
        )
        return Response.html(page, status=status, headers=headers)

    return answer


def register() -> None:
    """Register the plugin with Datasette's plugin manager, once per process, in place of
    Datasette's default error handler and column facets."""
    import sys

    from datasette.plugins import pm

    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name="codegouv")
    # Datasette awaits every handle_exception hook, its default included (see ours above); and
    # each registered column facet class answers: ours replaces Datasette's default facets
    # (and registers its date and array facets again, unchanged).
    for name in ("datasette.handle_exception", "datasette.facets"):
        default = pm.get_plugin(name)
        if default is not None:
            pm.unregister(default)
