"""Our Datasette plugin: caps on what one query may allocate or spin on, and the robots policy.

Registered by ``crawler.serve`` (``register()``); plain ``datasette serve`` loads it with
``--plugins-dir`` pointing at this file's folder.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

from datasette import hookimpl  # type: ignore[import-untyped]
from datasette.utils.asgi import Response  # type: ignore[import-untyped]

from crawler.publish.datasette import LENGTH_LIMIT

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
    # printf('%.*c', 1e9, 'x') spins for seconds before that cap applies: checked first.
    for name in ("printf", "format"):
        conn.create_function(name, -1, _printf, deterministic=True)


async def robots_txt() -> Response:
    return Response.text(ROBOTS_TXT, headers={"Cache-Control": "max-age=86400, public"})


@hookimpl  # type: ignore[untyped-decorator]
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/robots\.txt$", robots_txt)]


def register() -> None:
    """Register the plugin with Datasette's plugin manager, once per process."""
    import sys

    from datasette.plugins import pm  # type: ignore[import-untyped]

    module = sys.modules[__name__]
    if not pm.is_registered(module):
        pm.register(module, name="codegouv")
