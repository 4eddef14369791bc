"""Our Datasette plugin: caps on what one query may allocate or spin on, error pages that cost
nothing, and the robots policy.

Registered by ``crawler.serve`` (``register()``); plain ``datasette serve`` loads it with
``--plugins-dir`` pointing at this file's folder.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl  # type: ignore[import-untyped]
from datasette.database import QueryInterrupted  # type: ignore[import-untyped]
from datasette.facets import Facet  # type: ignore[import-untyped]
from datasette.utils import (  # type: ignore[import-untyped]
    path_with_added_args,
    path_with_removed_args,
)
from datasette.utils.asgi import Base400, Response  # type: ignore[import-untyped]

from crawler.publish.datasette import LENGTH_LIMIT, MMAP_SIZE, TOPIC_FACET, TOPICS_TABLE

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


class TopicFacet(Facet):  # type: ignore[misc]
    """The topics of the repositories a page shows, counted from ``repository_topics`` (one
    indexed row per repository and topic, built by ``prepare``) rather than with Datasette's
    array facet, which unpacks the JSON of every row (170 ms on 50,000 repositories). Same
    answer and same links: a value filters with ``topics__arraycontains``."""

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
            try:
                rows = await self.ds.execute(
                    self.database,
                    sql,
                    self.params,
                    truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            except QueryInterrupted:
                timed_out.append(column)
                continue
            argument = f"{column}__arraycontains"
            values = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                selected = (argument, value) in pairs
                change = path_with_removed_args if selected else path_with_added_args
                values.append(
                    {
                        "value": value,
                        "label": value,
                        "count": row["count"],
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
                    "truncated": len(rows.rows) > size,
                }
            )
        return results, timed_out


@hookimpl  # type: ignore[untyped-decorator]
def register_facet_classes() -> list[type]:
    return [TopicFacet]


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
    Datasette's default error handler."""
    import sys

    from datasette.plugins import pm  # type: ignore[import-untyped]

    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name="codegouv")
    # Datasette awaits every handle_exception hook, its default included (see ours above).
    default = pm.get_plugin("datasette.handle_exception")
    if default is not None:
        pm.unregister(default)
