"""``codegouv serve``: Datasette on a published folder, plus its static files, in one process.

One ASGI application of ours, run by uvicorn, routes ``/data/…`` (the open-data exports) and
``/site/…`` (the static site, when built) to the files of the published folder, and everything
else to a Datasette instance on ``DIR/inventory.db`` (immutable, counts from
``DIR/datasette/inspect-data.json``, metadata, settings and templates from ``DIR/datasette/``).

Publishing without downtime: a watcher notices when ``codegouv publish`` has swapped in a new
folder (the database file is another file), builds a new Datasette on it, opens its connections,
and only then swaps the reference. Requests already running finish on the old instance, which
is closed once idle: no request fails. Nothing is ever written to the folder (it may be
read-only).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import json
import logging
import mimetypes
import os
import signal
import socket
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.publish import datasette as datasette_config

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DB_NAME = "inventory.db"
#: How often the published folder is checked for a new publication, in seconds.
WATCH_INTERVAL = 0.5
#: Static files are sent in pieces of this size.
CHUNK = 256 * 1024
#: Answers kept per publication: its database is immutable, so an answer stays right until the
#: next publication replaces the instance (and its cache). Bounded in count and size.
CACHE_ENTRIES = 2048
CACHE_MAX_BODY = 2_000_000


class ServeError(Exception):
    """The folder or the port cannot be served; the message is for the user (French)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status
        """Exit status: 2 bad input (no published folder), 1 failure (port taken…)."""


@dataclass(frozen=True)
class Published:
    """What a published folder holds for the server, read once per publication."""

    out_dir: Path
    db_path: Path
    metadata: dict[str, Any]
    settings: dict[str, Any]
    inspect_data: dict[str, Any] | None
    templates: Path | None
    stamp: tuple[int, int, int]
    """(device, inode, mtime) of the database: another value means another publication."""


def stamp_of(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return (info.st_dev, info.st_ino, info.st_mtime_ns)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ServeError(f"{path} : illisible ({error})") from None
    if not isinstance(value, dict):
        raise ServeError(f"{path} : un objet JSON est attendu")
    return value


def load_published(out_dir: Path) -> Published:
    """Read the Datasette configuration of a folder written by ``codegouv publish``.

    Raises:
        ServeError: no published database in the folder, or an unreadable configuration.
    """
    db_path = out_dir / DB_NAME
    if not db_path.is_file():
        raise ServeError(
            f"{db_path} n'existe pas : lancez d'abord `codegouv publish --out {out_dir}`."
        )
    stamp = stamp_of(db_path)
    config = out_dir / "datasette"
    metadata = _read_json(config / "metadata.json") or datasette_config.metadata(db_path.stem)
    settings = _read_json(config / "settings.json") or datasette_config.settings()
    templates = config / "templates"
    return Published(
        out_dir=out_dir,
        db_path=db_path,
        metadata=_with_links(metadata, out_dir),
        settings=settings,
        inspect_data=_read_json(config / "inspect-data.json"),
        templates=templates if templates.is_dir() else None,
        stamp=stamp,
    )


def load_database(db_path: Path) -> Published:
    """Serve a working database (``--db``) rather than a published folder: read-only but not
    immutable (a crawl may be writing it), metadata generated in memory, nothing written."""
    if not db_path.is_file():
        raise ServeError(f"{db_path} n'existe pas : lancez d'abord `codegouv crawl`.")
    from crawler.resources import site_dir

    templates = site_dir() / "datasette" / "templates"
    return Published(
        out_dir=db_path.parent,
        db_path=db_path,
        metadata=datasette_config.metadata(db_path.stem),
        settings=datasette_config.settings(),
        inspect_data=None,
        templates=templates if templates.is_dir() else None,
        stamp=stamp_of(db_path),
    )


def _with_links(metadata: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Tell the home page which static parts exist (plugin configuration "codegouv")."""
    plugins = dict(metadata.get("plugins") or {})
    plugins["codegouv"] = {
        "exports": (out_dir / "data").is_dir(),
        "site": (out_dir / "site").is_dir(),
    }
    return {**metadata, "plugins": plugins}


def build_datasette(published: Published, *, immutable: bool = True) -> Any:
    """A Datasette instance on the published database (not started)."""
    from datasette.app import Datasette  # type: ignore[import-untyped]

    from crawler.publish import datasette_plugin

    datasette_plugin.register()
    path = str(published.db_path)
    return Datasette(
        files=[] if immutable else [path],
        immutables=[path] if immutable else [],
        metadata=published.metadata,
        settings=published.settings,
        inspect_data=published.inspect_data if immutable else None,
        template_dir=str(published.templates) if published.templates else None,
        cors=True,
    )


async def _warm(instance: Any) -> None:
    """Start a Datasette and open every reading connection it will use, so that it never
    opens the database file again: it keeps reading its own publication after a newer one
    has replaced (and removed) the folder."""
    await instance.invoke_startup()
    await instance.refresh_schemas()
    threads = int(instance.setting("num_sql_threads")) or 1
    for database in instance.databases.values():
        if database.is_memory:
            continue
        # One blocking task per thread forces the pool to start them all.
        barrier = threading.Barrier(threads)

        def touch(connection: Any, barrier: threading.Barrier = barrier) -> None:
            connection.execute("select count(*) from sqlite_master").fetchall()
            barrier.wait(timeout=10)

        await asyncio.gather(*(database.execute_fn(touch) for _ in range(threads)))


@dataclass
class _Instance:
    published: Published
    datasette: Any
    app: ASGIApp
    active: int = 0
    retired: bool = False
    closed: bool = field(default=False)
    cache: OrderedDict[bytes, tuple[Message, bytes]] = field(default_factory=OrderedDict)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for database in self.datasette.databases.values():
            database.close()
        if self.datasette.executor is not None:
            self.datasette.executor.shutdown(wait=False)


class InventoryApp:
    """The ASGI application: static files of the published folder, Datasette for the rest,
    and a hot swap of the Datasette instance when a new publication arrives."""

    def __init__(
        self,
        out_dir: Path | None = None,
        *,
        db_path: Path | None = None,
        watch_interval: float = WATCH_INTERVAL,
        cache: bool = True,
    ) -> None:
        if (out_dir is None) == (db_path is None):
            raise ValueError("give a published folder or a database, not both")
        self.out_dir = out_dir
        self.db_path = db_path
        self.watch_interval = watch_interval
        self.cache = cache and out_dir is not None
        """Keep answers in memory (a published, immutable database only)."""
        self._current: _Instance | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.reloads = 0
        """How many publications were swapped in since the start."""

    # --- instances ----------------------------------------------------------------------------

    def load(self) -> Published:
        if self.out_dir is not None:
            return load_published(self.out_dir)
        assert self.db_path is not None
        return load_database(self.db_path)

    async def _new_instance(self, published: Published) -> _Instance:
        instance = build_datasette(published, immutable=self.out_dir is not None)
        await _warm(instance)
        return _Instance(published, instance, instance.app())

    async def start(self) -> None:
        """Load the current publication and start watching for the next one."""
        self._current = await self._new_instance(self.load())
        if self.out_dir is not None:
            self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._current is not None:
            self._current.close()

    async def _watch(self) -> None:
        assert self.out_dir is not None
        while True:
            await asyncio.sleep(self.watch_interval)
            try:
                await self.reload_if_changed()
            except ServeError as error:
                # Mid-swap or a broken publication: keep serving the current one.
                log.warning("nouvelle publication pas encore lisible : %s", error)
            except OSError as error:
                log.warning("nouvelle publication pas encore lisible : %s", error)

    async def reload_if_changed(self) -> bool:
        """Swap in the publication now in the folder if it is a new one."""
        assert self._current is not None and self.out_dir is not None
        try:
            stamp = stamp_of(self.out_dir / DB_NAME)
        except FileNotFoundError:
            return False  # the folder is being swapped
        if stamp == self._current.published.stamp:
            return False
        published = await asyncio.to_thread(load_published, self.out_dir)
        fresh = await self._new_instance(published)
        old, self._current = self._current, fresh
        self.reloads += 1
        log.info("nouvelle publication servie : %s", published.db_path)
        old.retired = True
        if old.active == 0:
            old.close()
        return True

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        instance = self._current
        assert instance is not None, "the application was not started"
        path = scope["path"]
        if self.out_dir is not None:
            for prefix in ("data", "site"):
                if path == f"/{prefix}" or path.startswith(f"/{prefix}/"):
                    await self._static(instance, prefix, path, scope, send)
                    return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            # Read-only instance, no writable canned query: nothing here takes a POST.
            await _send_text(
                send, 405, "Cette instance est en lecture seule.\n", {"allow": "GET, HEAD"}
            )
            return
        scope = _without_repeated_facets(_json_without_default_facets(scope), instance)
        instance.active += 1
        try:
            if self.cache and scope["method"] == "GET":
                await self._cached(instance, scope, receive, send)
            else:
                await instance.app(scope, receive, send)
        finally:
            instance.active -= 1
            if instance.retired and instance.active == 0:
                instance.close()

    async def _cached(
        self, instance: _Instance, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer from the publication's cache, or ask Datasette and keep a whole 200 answer
        that sets no cookie."""
        host = next((v for k, v in scope["headers"] if k == b"host"), b"")
        key = b" ".join(
            (host, scope.get("raw_path") or scope["path"].encode(), scope["query_string"])
        )
        hit = instance.cache.get(key)
        if hit is not None:
            instance.cache.move_to_end(key)
            start, body = hit
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        started: Message = {}
        chunks: list[bytes] = []
        size = 0

        async def keep(message: Message) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body" and size <= CACHE_MAX_BODY:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
            await send(message)

        await instance.app(scope, receive, keep)
        cookies = any(k.lower() == b"set-cookie" for k, _ in started.get("headers", []))
        if started.get("status") == 200 and not cookies and size <= CACHE_MAX_BODY:
            instance.cache[key] = (started, b"".join(chunks))
            if len(instance.cache) > CACHE_ENTRIES:
                instance.cache.popitem(last=False)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._current is None:
                        await self.start()
                except ServeError as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _static(
        self, instance: _Instance, prefix: str, path: str, scope: Scope, send: Send
    ) -> None:
        from datasette.utils.asgi import asgi_send_file  # type: ignore[import-untyped]

        if scope["method"] not in ("GET", "HEAD"):
            await _send_text(send, 405, "Méthode non autorisée.\n", {"allow": "GET, HEAD"})
            return
        root = (instance.published.out_dir / prefix).resolve()
        relative = urllib.parse.unquote(path[len(prefix) + 1 :]).lstrip("/")
        target = (root / relative).resolve()
        if target != root and root not in target.parents:
            await _send_text(send, 404, "Introuvable.\n")
            return
        if target.is_dir():
            if not path.endswith("/"):
                await _send_text(send, 301, "", {"location": f"{path}/"})
                return
            if (target / "index.html").is_file():
                target = target / "index.html"
            else:
                await _send_listing(send, target, path)
                return
        if not target.is_file():
            await _send_text(send, 404, "Introuvable.\n")
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("json"):
            content_type += "; charset=utf-8"
        headers = {"cache-control": "max-age=300, public", "access-control-allow-origin": "*"}
        try:
            await asgi_send_file(
                send, target, content_type=content_type, chunk_size=CHUNK, headers=headers
            )
        except FileNotFoundError:
            await _send_text(send, 404, "Introuvable.\n")


def _json_without_default_facets(scope: Scope) -> Scope:
    """A table's JSON answer skips the table's default facets unless the request asks for a
    facet (``_facet``, ``_facet_array``…): Datasette computes them for ``.json`` too, the
    most costly part of a listing, and a program reading the rows rarely wants them. Adds
    Datasette's own ``_nofacet=1`` to such a request."""
    if not scope["path"].endswith(".json"):
        return scope
    query = scope["query_string"].decode("latin-1")
    names = [pair.split("=", 1)[0] for pair in query.split("&") if pair]
    if any(urllib.parse.unquote_plus(n).startswith(("_facet", "_nofacet")) for n in names):
        return scope
    extra = "_nofacet=1"
    return {**scope, "query_string": f"{query}&{extra}".lstrip("&").encode("latin-1")}


def _default_facets(metadata: dict[str, Any], database: str, table: str) -> set[str]:
    """The request arguments (``_facet_topic=topics``, ``_facet_array=topics``) that ask for a
    facet other than a column's that a table already shows by default."""
    tables = ((metadata.get("databases") or {}).get(database) or {}).get("tables") or {}
    found: set[str] = set()
    for facet in (tables.get(table) or {}).get("facets") or []:
        # A column facet (``_facet=licence``) is kept: our column facet shows it once, and the
        # page's links keep asking for it.
        if isinstance(facet, dict):
            for kind, column in facet.items():
                found.add(f"_facet_{kind}={column}")
                if kind == datasette_config.TOPIC_FACET:
                    # The same counts as Datasette's array facet, from the precomputed table.
                    found.add(f"_facet_array={column}")
    return found


def _without_repeated_facets(scope: Scope, instance: _Instance) -> Scope:
    """Drop the facets a request asks for that the table shows anyway: Datasette would compute
    and show each of them twice (``licence`` and ``licence_2``)."""
    query = scope["query_string"].decode("latin-1")
    if "_facet" not in query:
        return scope
    parts = scope["path"].strip("/").split("/")
    if len(parts) != 2:
        return scope
    database, table = parts[0], urllib.parse.unquote(parts[1]).removesuffix(".json")
    defaults = _default_facets(instance.published.metadata, database, table)
    pairs = [pair for pair in query.split("&") if pair]
    kept = [p for p in pairs if urllib.parse.unquote_plus(p) not in defaults]
    if len(kept) == len(pairs):
        return scope
    return {**scope, "query_string": "&".join(kept).encode("latin-1")}


async def _send_text(
    send: Send, status: int, text: str, headers: dict[str, str] | None = None
) -> None:
    body = text.encode()
    raw = [(b"content-type", b"text/plain; charset=utf-8")]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_listing(send: Send, folder: Path, path: str) -> None:
    """A plain list of a folder's files (the exports have no index page of their own)."""
    entries = sorted(folder.iterdir())
    items = "\n".join(
        f'<li><a href="{urllib.parse.quote(e.name)}{"/" if e.is_dir() else ""}">'
        f"{html.escape(e.name)}{'/' if e.is_dir() else ''}</a></li>"
        for e in entries
        if not e.name.startswith(".")
    )
    page = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(path)}</title></head><body><h1>{html.escape(path)}</h1>"
        f'<p><a href="/">Retour à l\'accueil</a></p><ul>\n{items}\n</ul></body></html>'
    )
    body = page.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the server -------------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts so that a taken port is one clear
    error.

    Raises:
        ServeError: the port is taken or cannot be used (exit status 1).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: an answer goes out as its headers and its body in two
    # writes, and Nagle's algorithm would hold the body until the client's delayed ACK (40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ServeError(
                f"le port {port} est déjà utilisé sur {host} : choisissez-en un autre avec --port.",
                status=1,
            ) from None
        raise ServeError(
            f"impossible d'écouter sur {host}:{port} ({error.strerror}).", status=1
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(
    app: InventoryApp,
    sock: socket.socket,
    *,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` on the bound socket until SIGINT or SIGTERM (uvicorn's handlers: the
    requests in flight finish, then the process exits). With ``workers`` above 1, that many
    worker processes share the socket (see ``_prefork``); otherwise no child process is started.

    Raises:
        ServeError: the publication cannot be served, or a worker process failed.
    """
    check(app)
    if workers > 1:
        _prefork(app, sock, workers, on_ready)
    else:
        _run(app, sock, on_ready)


def _run(
    app: InventoryApp, sock: socket.socket, on_ready: Callable[[], None] | None = None
) -> None:
    """One uvicorn server on the socket, in this process."""
    import uvicorn

    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)

    if on_ready is not None:
        ready = on_ready

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.05)
            ready()

        original = server.serve

        async def serve_and_announce(sockets: list[socket.socket] | None = None) -> None:
            task = asyncio.create_task(announce())
            try:
                await original(sockets=sockets)
            finally:
                task.cancel()

        server.serve = serve_and_announce  # type: ignore[method-assign]
    server.run(sockets=[sock])


def _prefork(
    app: InventoryApp,
    sock: socket.socket,
    workers: int,
    on_ready: Callable[[], None] | None,
) -> None:
    """``workers`` processes forked from this one, each running its own server (its own
    Datasette, answer cache and watcher of the published folder) on the shared listening
    socket, so that a request uses any free core. The socket listens before the first fork:
    a connection made while the workers start waits in its queue instead of being refused.

    This process only supervises: SIGINT or SIGTERM is passed on to every worker as one SIGTERM
    (each finishes its requests in flight); a worker that dies on its own stops the others, and
    the command fails. Workers run in their own process group, so that a Ctrl-C in a terminal
    reaches them once, through this process, not twice (uvicorn would then abort requests).
    """
    sock.listen(socket.SOMAXCONN)
    supervisor = os.getpid()
    children: set[int] = set()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the worker (its tests observe it over HTTP)
            status = 0
            try:
                os.setpgid(0, 0)
                _die_with(supervisor)
                _run(app, sock)
            except BaseException:
                log.exception("processus du serveur arrêté sur une erreur")
                status = 1
            finally:
                os._exit(status)
        children.add(pid)
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    failed: list[str] = []
    try:
        if on_ready is not None:
            on_ready()
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            children.discard(pid)
            if not stopping:
                failed.append(f"processus {pid} : statut {os.waitstatus_to_exitcode(status)}")
                stop()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if failed:
        raise ServeError(
            "un processus du serveur s'est arrêté de lui-même (" + ", ".join(failed) + ").",
            status=1,
        )


def _die_with(supervisor: int) -> None:
    """Ask Linux to send SIGTERM to this worker if the supervising process dies (killed with
    SIGKILL, it cannot pass the signal on): no orphan keeps the port. Elsewhere, nothing."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != supervisor:  # it died before the request took effect
        os._exit(0)


def check(app: InventoryApp) -> None:
    """Read the publication before anything starts: a missing or broken folder is one clear
    error (``ServeError``), not a server that fails its first request."""
    app.load()


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"
