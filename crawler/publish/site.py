"""The static site: every page rendered from the published database with jinja2, DSFR assets
copied from npm's ``node_modules``, and the Pagefind search indexes built by its command-line
indexer over small index records (one per repository or SILL software: its searchable text,
metadata, filters and sorts, none of the page's layout).

Layout of the site folder (all links relative, so any static server or sub-path serves it)::

    index.html  depots/  organisations/  ministeres/  sill/  statistiques/  a-propos/
    accessibilite/  mentions-legales/  flux/*.xml  sitemap.xml  404.html  assets/
    pagefind/depots/0/ … pagefind/depots/N/   the repositories' search bundles (shards)
    pagefind/sill/                            the SILL's search bundle
    manifest.json   hash of each page's input rows and of each bundle's records, so the next
                    build reuses unchanged pages and bundles

Pagefind's command-line indexer is used, not its Python API, which waits 0.1 s per record. It
has no incremental mode: the repositories are split into shards by a stable hash of their
organisation, each shard its own bundle, re-indexed only when one of its records changed and
otherwise hard-linked from the previous build; the search page merges the shards in the
browser (``site/static/search.js``).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import heapq
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from crawler.publish import dsfr
from crawler.publish import site_data as data
from crawler.publish.site_data import ACTIVITY_LABELS, UNKNOWN, Row, safe_url
from crawler.resources import site_dir

log = logging.getLogger(__name__)

#: An index record's context, or the function that makes it (called only when indexed).
Record = Row | Callable[[], Row]

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = site_dir()
TEMPLATES = SITE_DIR / "templates"
STATIC = SITE_DIR / "static"
#: Where npm installs the DSFR (``make site-deps``); ``CODEGOUV_NODE_MODULES`` names another
#: ``node_modules`` (an installed product has none beside its code).
NODE_MODULES_VARIABLE = "CODEGOUV_NODE_MODULES"


def dsfr_dist() -> Path:
    """The DSFR's ``dist`` folder: from ``$CODEGOUV_NODE_MODULES``, the checkout, or the current
    directory, the first that holds it (the checkout's when none does, for the error)."""
    candidates = [ROOT / "node_modules", Path.cwd() / "node_modules"]
    if os.environ.get(NODE_MODULES_VARIABLE):
        candidates.insert(0, Path(os.environ[NODE_MODULES_VARIABLE]))
    dists = [folder / "@gouvfr" / "dsfr" / "dist" for folder in candidates]
    return next((d for d in dists if (d / "dsfr.min.css").is_file()), dists[0])


MANIFEST = "manifest.json"
#: Bumped when the renderer changes in a way the templates' hash does not show.
RENDERER_VERSION = "3"
#: Marianne faces shipped with the site: Regular and Bold only (preloaded); others synthesised.
FONTS = ("Marianne-Regular.woff2", "Marianne-Bold.woff2")
#: The DSFR components whose JS the pages need, after its core, in the DSFR bundle's order: the
#: breadcrumb's collapse, the header's menu (a modal) and its navigation, the tables' scroll
#: shadows. The others act on markup the pages do not have (equisized buttons, dismissible
#: tags, download cards and tiles…).
DSFR_SCRIPTS = ("breadcrumb", "modal", "navigation", "header", "table")
FEED_SIZE = 50
#: Repository pages sent to a worker at a time.
BATCH = 500
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
ORG_FEED_SIZE = 20
#: Search filters whose values are counted in thousands on the real inventory (the
#: organisations): a text field with suggestions, not a list.
SUGGESTED_FILTERS = ("organisation",)
SIMILAR_SIZE = 6
TOP = 15
#: Rows of the search page's default listing, rendered at build time (the first page of results).
LISTING = 20
#: Repository search shards. More shards make a one-organisation rebuild cheaper (one shard of
#: 50,000 / SHARDS records re-indexed) and the first search heavier (each shard's metadata,
#: index and filter chunks are fetched): see bench/README.md, "Site", for the measurements.
SHARDS = 8
#: Where the search bundles go, in the site.
SEARCH = "pagefind"
#: Added to a number in a sort key, so a negative score sorts as text too.
SORT_OFFSET = 10**9
#: A repository shard's sorts, taken out of Pagefind's metadata (which every search fetches)
#: into rank files fetched only for a sorted search: ``rangs/<sort>.<k>.json`` holds the page
#: ids of the k-th range of ranks, best first, of these sizes; the last range holds the rest
#: (a shard smaller than the sizes has fewer files: the one that reaches its end says so).
RANK_RANGES = (256, 1024, 4096)
#: Folder of a shard's rank files.
RANKS = "rangs"
#: What a repository's index record shows (``_record_depot.html``); all of it is in its page's key.
RECORD_KEYS = (
    "name",
    "description",
    "owner_name",
    "ministry",
    "topics",
    "licence_label",
    "licence_free",
    "language",
    "forge",
    "activity_label",
    "has_publiccode",
    "is_fork",
    "is_archived",
    "sill",
    "last_activity",
    "score",
    "score_text",
    "stars",
    "url_text",
)

#: Quality gaps an organisation page reports, with how to fix each one.
GAPS: tuple[tuple[str, str], ...] = (
    ("licence", "Sans licence"),
    ("licence_unknown", "Licence non reconnue"),
    ("readme", "Sans README"),
    ("description", "Sans description"),
    ("contributing", "Sans guide de contribution (CONTRIBUTING)"),
    ("publiccode", "Sans fichier publiccode.yml"),
    ("publiccode_invalid", "Fichier publiccode.yml non valide"),
)


class SiteError(Exception):
    """The site cannot be built (missing DSFR assets, Pagefind failure…)."""


class DsfrMissing(SiteError):
    """The DSFR is not installed (npm): the site cannot be themed."""


@dataclass
class SiteReport:
    """What a build did: pages written, pages reused from the previous build, durations."""

    out: Path
    pages: int = 0
    rendered: int = 0
    reused: int = 0
    repositories: int = 0
    organisations: int = 0
    sill: int = 0
    indexed: bool = False
    #: Search bundles indexed anew, and hard-linked from the previous build.
    bundles_indexed: list[str] = field(default_factory=list)
    bundles_reused: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)


def build(
    db_path: Path,
    out: Path,
    *,
    previous: Path | None = None,
    base_url: str = "",
    datasette_url: str = "/inventory",
    exports_url: str = "../data/",
    workers: int = 2,
) -> SiteReport:
    """Render the whole site from the database at ``db_path`` into ``out``.

    Args:
        previous: the previous build's site folder; its pages whose input did not change are
            reused (hard-linked) instead of rendered again.
        base_url: absolute URL where the site is served, for the feeds and the sitemap
            (relative links everywhere else).
        datasette_url: where Datasette answers (absolute, or relative to the site root).
        exports_url: where the CSV/JSON exports are (absolute, or relative to the site root).
        workers: processes rendering the repository pages (the bulk of the site).

    Raises:
        SiteError: the DSFR assets are missing or the search indexer failed.
    """
    if not db_path.is_file():
        raise SiteError(f"{db_path} n'existe pas : lancez d'abord `codegouv crawl`.")
    report = SiteReport(out)
    out.mkdir(parents=True, exist_ok=True)
    connection = data.connect(db_path)
    try:
        renderer = _Renderer(out, previous, base_url, datasette_url, exports_url, report, workers)
        shutil.rmtree(out / SEARCH, ignore_errors=True)
        try:
            with _stage(report, "pages"):
                try:
                    # the repositories' bundles are indexed beside the other pages' rendering
                    renderer.render_all(connection)
                finally:
                    renderer.finish()
            with _stage(report, "assets"):
                copy_assets(out)
        except BaseException:
            renderer.index_pool.shutdown(cancel_futures=True)
            raise
        with _stage(report, "search"):
            renderer.finish_index()
        renderer.write_manifest()
    finally:
        connection.close()
    log.info(
        "site: %d pages (%d rendered, %d reused) in %s",
        report.pages,
        report.rendered,
        report.reused,
        out,
    )
    return report


class _stage:
    def __init__(self, report: SiteReport, name: str) -> None:
        self.report, self.name = report, name

    def __enter__(self) -> None:
        self.started = time.monotonic()

    def __exit__(self, *_: object) -> None:
        self.report.durations[self.name] = round(time.monotonic() - self.started, 3)


# --- names and paths ---------------------------------------------------------------------------


def slug(value: str) -> str:
    """A file name for an id: readable when the id is plain, with a short hash when anything
    had to be replaced (so two ids never share a page, and a hostile name is inert)."""
    plain = value.lower().replace("/", "~")
    ascii_ = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9._~-]+", "-", ascii_).strip(".-~")[:100]
    if cleaned == plain and cleaned:
        return cleaned
    digest = hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned else digest


def repository_path(repository_id: str) -> str:
    return f"depots/{slug(repository_id)}.html"


def owner_path(owner_id: str) -> str:
    return f"organisations/{slug(owner_id)}.html"


def ministry_path(name: str) -> str:
    return f"ministeres/{slug(name)}.html"


def sill_path(sill_id: int) -> str:
    return f"sill/{int(sill_id)}.html"


def shard_of(owner_id: str) -> int:
    """The search shard of an organisation's repositories: a stable hash of its id, so a change
    in one organisation re-indexes one shard only."""
    digest = hashlib.sha1(owner_id.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % SHARDS


def sort_key(value: int) -> str:
    """A number as text that sorts like it (Pagefind compares sort keys that are not all
    numbers as text); search.js builds the same."""
    return f"{int(value) + SORT_OFFSET:012d}"


def shard_bundle(shard: int) -> str:
    return f"depots/{shard}"


def relative_root(path: str) -> str:
    return "../" * path.count("/")


def _external(url: str, root: str) -> str:
    """A configured URL as seen from a page: absolute ones as they are, others from the root."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE) or url.startswith("/"):
        return url
    return root + url


# --- formatting ---------------------------------------------------------------------------------


def _date(value: object) -> str:
    """An ISO 8601 date as French text (``3 mars 2024``); empty when unknown."""
    if not isinstance(value, str) or len(value) < 10:
        return ""
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return ""
    months = MONTHS
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    return ""


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "–"
    return f"{round(100 * part / whole)}\u00a0%"


def _yes(value: object) -> str:
    return "oui" if value else "non"


def _bars(items: Iterable[tuple[str, int]]) -> list[Row]:
    """Rows for a horizontal bar chart (label, value, width in % of the largest)."""
    pairs = [(label, int(value)) for label, value in items]
    top = max((value for _, value in pairs), default=0)
    return [
        {
            "label": label,
            "value": value,
            "width": round(100 * value / top, 1) if top else 0,
            "y": index * 28,
        }
        for index, (label, value) in enumerate(pairs)
    ]


# --- rendering ----------------------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment, one per process: a template is compiled once, not at every
    build (a publication, a test), and forked rendering workers inherit the compiled ones. The
    loader still reloads a template changed on disk."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=_date, number=_number, safe_url=safe_url, yesno=_yes, slug=slug, bars=_bars
    )
    env.globals.update(
        sort_key=sort_key,
        repository_path=repository_path,
        owner_path=owner_path,
        ministry_path=ministry_path,
        sill_path=sill_path,
        activity_labels=ACTIVITY_LABELS,
        percent=_percent,
    )
    return env


def fingerprint(params: Mapping[str, str]) -> str:
    """Hash of everything besides the rows that shapes a page: templates, static files, the
    renderer's version and the build's parameters."""
    digest = hashlib.sha256(RENDERER_VERSION.encode())
    digest.update(json.dumps(dict(params), sort_keys=True).encode())
    for folder in (TEMPLATES, STATIC):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(SITE_DIR).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


class _Writer:
    """Renders and writes pages: one per process (the build's, and each worker's)."""

    def __init__(self, out: Path, datasette_url: str, exports_url: str, generated: str) -> None:
        self.out = out
        self.datasette_url = datasette_url
        self.exports_url = exports_url
        self.generated = generated
        self.env = environment()
        self.templates: dict[str, jinja2.Template] = {}
        self.chromes: dict[tuple[str, str], dict[str, Markup]] = {}
        self.folders: set[Path] = set()

    def template(self, name: str) -> jinja2.Template:
        if name not in self.templates:
            self.templates[name] = self.env.get_template(name)
        return self.templates[name]

    def folder(self, target: Path) -> None:
        if target.parent not in self.folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.folders.add(target.parent)

    def write(self, path: str, template: str, context: Mapping[str, Any]) -> None:
        root = relative_root(path)
        text = self.template(template).render(
            **context, **self.common(root, path), chrome=self.chrome(root, path)
        )
        target = self.out / path
        self.folder(target)
        target.write_text(text, encoding="utf-8")

    def common(self, root: str, path: str) -> dict[str, str]:
        return {
            "root": root,
            "path": path,
            "datasette": _external(self.datasette_url, root),
            "exports": _external(self.exports_url, root),
            "generated": self.generated,
        }

    def chrome(self, root: str, path: str) -> dict[str, Markup]:
        """Head links, header and footer, rendered once per depth and section: most of a
        page's markup, so rendering it once makes 50,000 pages affordable."""
        key = (root, path.split("/", maxsplit=1)[0])
        if key not in self.chromes:
            module = self.template("_chrome.html").make_module(self.common(root, path))
            # The macros return Markup already (autoescaped by the template).
            self.chromes[key] = {
                part: getattr(module, part)() for part in ("head", "header", "footer")
            }
        return self.chromes[key]


_WORKER: _Writer | None = None


def _start_worker(out: Path, datasette_url: str, exports_url: str, generated: str) -> None:
    global _WORKER  # noqa: PLW0603 (one writer per worker process, made once)
    _WORKER = _Writer(out, datasette_url, exports_url, generated)


def _write_batch(batch: list[tuple[str, str, Row]]) -> int:
    assert _WORKER is not None
    for path, template, context in batch:
        _WORKER.write(path, template, context)
    return len(batch)


class _Renderer:
    def __init__(  # noqa: PLR0917 (one private caller, in order)
        self,
        out: Path,
        previous: Path | None,
        base_url: str,
        datasette_url: str,
        exports_url: str,
        report: SiteReport,
        workers: int = 1,
    ) -> None:
        self.out = out
        # A previous build in the output folder itself cannot lend its pages (they would be
        # unlinked before being linked back): everything is rendered in place then.
        usable = previous and previous.is_dir() and previous.resolve() != out.resolve()
        self.previous = previous if usable else None
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.datasette_url = datasette_url
        self.exports_url = exports_url
        self.report = report
        self.fingerprint = fingerprint(
            {"base_url": base_url, "datasette_url": datasette_url, "exports_url": exports_url}
        )
        self.old: dict[str, str] = {}
        self.old_bundles: dict[str, str] = {}
        if self.previous:
            try:
                manifest = json.loads((self.previous / MANIFEST).read_text(encoding="utf-8"))
                if manifest.get("fingerprint") == self.fingerprint:
                    self.old = dict(manifest.get("pages", {}))
                    self.old_bundles = dict(manifest.get("bundles", {}))
            except (OSError, ValueError):
                log.info("site: no usable manifest in %s, every page is rendered", previous)
        self.previous_prefix = f"{self.previous}/"
        self.out_prefix = f"{out}/"
        self.linked_folders: set[str] = set()
        self.new: dict[str, str] = {}
        self.paths: list[str] = []
        #: Each search bundle's index records: (page path, template, context or the function
        #: that makes it), made and rendered only for the bundles indexed anew.
        self.records: dict[str, list[tuple[str, str, Record]]] = {}
        self.record_digests: dict[str, str] = {}
        self.bundles: dict[str, str] = {}
        self.index_pool = ThreadPoolExecutor(max_workers=1)
        self.indexing: list[Future[None]] = []
        self.generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.writer = _Writer(out, datasette_url, exports_url, self.generated)
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.batch: list[tuple[str, str, Row]] = []
        self.pending: list[Future[int]] = []

    # -- writing

    def template(self, name: str) -> jinja2.Template:
        return self.writer.template(name)

    def page(
        self,
        path: str,
        template: str,
        context: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        key: object = None,
        *,
        digest: str | None = None,
        parallel: bool = False,
    ) -> bool:
        """Write one page; with ``key`` (its input rows) or its ``digest``, reuse the previous
        build's page when that did not change. ``context`` may be a function, called only when
        the page is rendered. With ``parallel``, the page is rendered by the worker pool.
        Returns whether the page was rendered anew."""
        if path.endswith(".html"):
            self.paths.append(path)
        self.report.pages += 1
        if key is not None:
            digest = hashlib.sha1(
                json.dumps(key, sort_keys=True, default=str).encode(), usedforsecurity=False
            ).hexdigest()
        if digest is not None:
            self.new[path] = digest
            if self.previous and self.old.get(path) == digest and self._reuse(path):
                self.report.reused += 1
                return False
        self.report.rendered += 1
        if callable(context):
            context = context()
        if parallel and self.workers > 1:
            self.batch.append((path, template, dict(context)))
            if len(self.batch) >= BATCH:
                self._submit()
            return True
        self.writer.write(path, template, context)
        return True

    def _submit(self) -> None:
        if not self.batch:
            return
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                initializer=_start_worker,
                initargs=(self.out, self.datasette_url, self.exports_url, self.generated),
            )
        self.pending.append(self.pool.submit(_write_batch, self.batch))
        self.batch = []
        if len(self.pending) > 4 * self.workers:  # bound the rows held in flight
            self.pending.pop(0).result()

    def finish(self) -> None:
        """Wait for the workers' pages (a worker's error is raised here)."""
        if self.pool is None:
            # Less than one batch in all (a small site, a rebuild after a few changes): written
            # here, as the workers would, without starting processes for it.
            for path, template, context in self.batch:
                self.writer.write(path, template, context)
            self.batch = []
        self._submit()
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pending = []
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None

    def common(self, root: str, path: str) -> dict[str, str]:
        return self.writer.common(root, path)

    def chrome(self, root: str, path: str) -> dict[str, Markup]:
        return self.writer.chrome(root, path)

    def _reuse(self, path: str) -> bool:
        assert self.previous is not None
        # Plain strings, no pathlib, no stat of the source nor unlink of the target beforehand:
        # 64,000 pages make every per-page step a good part of a rebuild.
        source = self.previous_prefix + path
        target = self.out_prefix + path
        folder = target.rpartition("/")[0]
        if folder not in self.linked_folders:
            os.makedirs(folder, exist_ok=True)
            self.linked_folders.add(folder)
        try:
            try:
                os.link(source, target)
            except FileExistsError:
                os.unlink(target)
                os.link(source, target)
        except FileNotFoundError:
            return False
        except OSError:
            try:
                shutil.copyfile(source, target)
            except FileNotFoundError:
                return False
        return True

    def record(
        self, bundle: str, path: str, template: str, context: Record, digest: str | None = None
    ) -> None:
        """The index record of the page at ``path``, for the search bundle ``bundle``; its
        context is hashed now (unless ``digest`` is given: the page's own, when the page's key
        holds all the record shows), rendered only if the bundle is indexed anew."""
        self.records.setdefault(bundle, []).append((path, template, context))
        assert digest is not None or not callable(context)
        self.record_digests[path] = (
            digest
            or hashlib.sha1(
                json.dumps(context, sort_keys=True, default=str).encode(), usedforsecurity=False
            ).hexdigest()
        )

    def start_index(self) -> None:
        """Index the bundles whose records are all gathered (the repositories', once they all
        streamed by) in a thread: Pagefind runs beside the rendering of the other pages."""
        names = sorted(set(self.records) - set(self.bundles))
        self.bundles.update(self.bundle_digests(names))
        self.indexing.append(
            self.index_pool.submit(self._index_timed, {name: self.records[name] for name in names})
        )

    def _index_timed(self, records: Mapping[str, list[tuple[str, str, Record]]]) -> None:
        started = time.monotonic()
        _index(
            self.out,
            self.previous,
            records,
            self.bundles,
            self.old_bundles,
            self.report,
            self.workers,
        )
        name = "search beside pages: " + ", ".join(sorted(records))
        self.report.durations[name] = round(time.monotonic() - started, 3)

    def finish_index(self) -> None:
        """Index the bundles not indexed yet (the SILL's), and wait for every indexing (an
        indexer's error is raised here)."""
        try:
            if set(self.records) - set(self.bundles):
                self.start_index()
            for future in self.indexing:
                future.result()
        finally:
            self.index_pool.shutdown(cancel_futures=True)

    def bundle_digests(self, names: Iterable[str]) -> dict[str, str]:
        """Each bundle's digest: its records' contexts, the templates (the fingerprint) and
        Pagefind's version; a bundle whose digest did not change need not be indexed again."""
        digests = {}
        for name in names:
            items = self.records[name]
            digest = hashlib.sha256(f"{self.fingerprint}\0{version('pagefind_bin')}".encode())
            for path in sorted(path for path, _, _ in items):
                digest.update(f"\0{path}\0{self.record_digests[path]}".encode())
            digests[name] = digest.hexdigest()
        return digests

    def write_manifest(self) -> None:
        manifest = {"fingerprint": self.fingerprint, "pages": self.new, "bundles": self.bundles}
        (self.out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    # -- the pages

    def render_all(self, connection: Any) -> None:
        """Render every page and gather the search bundles' records."""
        free = data.free_licences(connection)
        owners = data.owners(connection)
        forges = data.forges(connection)
        software = data.sill_software(connection)
        links = data.sill_links(connection)
        names = {int(s["id"]): str(s["name"]) for s in software}
        sill_of: dict[str, list[Row]] = {}
        for sill_id, repository_ids in links.items():
            for repository_id in repository_ids:
                if sill_id in names:
                    sill_of.setdefault(repository_id, []).append(
                        {"id": sill_id, "name": names[sill_id]}
                    )

        stats = _Stats()
        newest: list[tuple[str, str, Row]] = []
        linked: dict[str, Row] = {}
        wanted = {r for ids in links.values() for r in ids}
        top: list[tuple[int, str, Callable[[], Row]]] = []
        # A repository page's digest is its row's (and its SILL links'), hashed as the database
        # gives them, with what else shapes the view (the free licences): its view is built
        # only when the page is rendered or its record indexed.
        salt = hashlib.sha1(repr(sorted(free)).encode(), usedforsecurity=False)
        shards: dict[str, str] = {}
        for values, row in data.repository_rows(connection):
            repository_id = _text(row["id"])
            sill = sill_of.get(repository_id, [])
            hashed = salt.copy()
            hashed.update(repr((values, sill)).encode())
            digest = hashed.hexdigest()
            summary = _summary_of(row, free)
            stats.add(summary, _text(row.get("ministry")))
            path = repository_path(repository_id)
            view = functools.partial(_repository, row, free, sill)
            self.page(
                path,
                "repository.html",
                functools.partial(_page_context, view),
                digest=digest,
                parallel=True,
            )
            owner_id = _text(row["owner"])
            if owner_id not in shards:
                shards[owner_id] = shard_bundle(shard_of(owner_id))
            self.record(
                shards[owner_id],
                path,
                "_record_depot.html",
                functools.partial(_record_context, view, path),
                # the page's digest covers all its view holds: a superset of the record's
                digest=digest,
            )
            # the default listing: by score, then page path, both descending (as the index)
            top.append((summary["score"], path, view))
            if len(top) > 10 * LISTING:
                top = sorted(top, key=_listing_order, reverse=True)[:LISTING]
            owner = owners.get(owner_id)
            if owner is not None:
                owner.repositories.append(summary)
            if repository_id in wanted:
                linked[repository_id] = summary
            entry = (_text(row["first_seen_at"]), repository_id, summary)
            if len(newest) < FEED_SIZE:
                heapq.heappush(newest, entry)
            else:
                heapq.heappushpop(newest, entry)
        self.report.repositories = stats.total
        self.start_index()

        self._organisations(owners, forges)
        self._sill(software, links, linked, connection)
        listing = [
            _listed(make())
            for _, _, make in sorted(top, key=_listing_order, reverse=True)[:LISTING]
        ]
        self._home_and_search(stats, owners, forges, software, listing)
        self._statistics(stats, data.daily_stats(connection))
        self._feeds(sorted(newest, reverse=True), owners, software)
        for path, template in (
            ("a-propos/index.html", "about.html"),
            ("accessibilite/index.html", "accessibility.html"),
            ("mentions-legales/index.html", "legal.html"),
        ):
            self.page(path, template, {})
        self._not_found()
        self._sitemap()

    def _organisations(self, owners: dict[str, data.Owner], forges: list[Row]) -> None:
        ministries: dict[str, list[Row]] = {}
        listing: list[Row] = []
        for owner_id, owner in owners.items():
            row = owner.row
            repositories = sorted(owner.repositories, key=lambda r: (-r["score"], r["name"]))
            figures = _figures(repositories)
            view = {
                "id": owner_id,
                "login": str(row.get("login") or ""),
                "name": str(row.get("name") or row.get("login") or owner_id),
                "description": row.get("description") or "",
                "website": safe_url(row.get("website")),
                "website_text": row.get("website") or "",
                "forge": row.get("forge") or "",
                "kind": row.get("kind") or "",
                "ministry": row.get("ministry") or "",
                "floss_policy": safe_url(row.get("floss_policy")),
                "last_seen_at": row.get("last_seen_at") or "",
                "crawl_status": row.get("crawl_status") or "",
            }
            report = _quality(repositories)
            self.page(
                owner_path(owner_id),
                "organisation.html",
                {"o": view, "repositories": repositories, "figures": figures, "gaps": report},
                key=[view, repositories],
            )
            listing.append({**view, **figures})
            if view["ministry"]:
                ministries.setdefault(view["ministry"], []).append({**view, **figures})
        self.report.organisations = len(listing)
        self.page("organisations/index.html", "organisations.html", {"owners": listing})
        ministry_views = []
        for name, members in sorted(ministries.items()):
            figures = _add_figures(members)
            ministry_views.append({"name": name, "owners": len(members), **figures})
            self.page(
                ministry_path(name),
                "ministry.html",
                {"name": name, "owners": members, "figures": figures},
                key=[name, members],
            )
        self.page("ministeres/index.html", "ministries.html", {"ministries": ministry_views})

    def _sill(
        self,
        software: list[Row],
        links: dict[int, list[str]],
        linked: dict[str, Row],
        connection: Any,
    ) -> None:
        instances = data.sill_children(connection, "sill_instances")
        similar_declared = data.sill_children(connection, "sill_similar_software")
        views = [_software(s) for s in software]
        by_id = {v["id"]: v for v in views}
        for view in views:
            repositories = [linked[r] for r in links.get(view["id"], []) if r in linked]
            view["repositories_count"] = len(repositories)
            context = {
                "s": view,
                "repositories": repositories,
                "instances": [
                    {
                        "url": safe_url(i.get("url")),
                        "text": i.get("url") or "",
                        "organisation": i.get("organisation") or "",
                        "audience": i.get("target_audience") or "",
                    }
                    for i in instances.get(view["id"], [])
                ],
                "similar": _similar(view, views),
                "declared": [
                    {
                        "name": str(d.get("name") or ""),
                        "sill": by_id.get(d["sill_id"]) if d.get("sill_id") else None,
                    }
                    for d in similar_declared.get(view["id"], [])
                ],
            }
            self.page(sill_path(view["id"]), "software.html", context, key=context)
            self.record("sill", sill_path(view["id"]), "_record_sill.html", {"s": view})
        self.report.sill = len(views)
        options = {
            "categorie": sorted({c for v in views for c in v["categories"]}),
            "licence": sorted({v["licence"] for v in views if v["licence"]}),
        }
        self.page(
            "sill/index.html",
            "sill_search.html",
            {"options": options, "bundles": [f"{SEARCH}/sill/"] if views else []},
        )

    def _home_and_search(
        self,
        stats: _Stats,
        owners: dict[str, data.Owner],
        forges: list[Row],
        software: list[Row],
        listing: list[Row],
    ) -> None:
        counts = Counter(r["forge"] for o in owners.values() for r in o.repositories)
        forge_views = [
            {
                "host": f["host"],
                "kind": f.get("kind") or "",
                "status": f.get("status") or "",
                "last_crawled_at": f.get("last_crawled_at") or "",
                "repositories": counts.get(f["host"], 0),
            }
            for f in forges
        ]
        recommended = sum(1 for s in software if not s.get("is_dereferenced"))
        figures = {
            "repositories": stats.total,
            "organisations": sum(1 for o in owners.values() if o.repositories),
            "free": stats.free,
            "active": stats.activity.get("active", 0),
            "sill": recommended,
        }
        self.page("index.html", "home.html", {"figures": figures, "forges": forge_views})
        owner_options = sorted(
            (
                (oid, str(o.row.get("name") or o.row.get("login") or oid))
                for oid, o in owners.items()
                if o.repositories
            ),
            key=lambda pair: pair[1].lower(),
        )
        options: dict[str, list[Any]] = {
            "licence": sorted(stats.licences),
            "langage": sorted(stats.languages, key=str.lower),
            "forge": sorted(stats.forges),
            "organisation": [{"value": label, "label": label} for _, label in owner_options],
            "ministere": sorted(stats.ministries),
            "activite": [v for v in ACTIVITY_LABELS.values() if v in stats.activity_labels]
            + ([UNKNOWN] if UNKNOWN in stats.activity_labels else []),
        }
        bundles = [
            f"{SEARCH}/{shard_bundle(shard)}/"
            for shard in range(SHARDS)
            if shard_bundle(shard) in self.records
        ]
        # A filter with thousands of values (the organisations) is a text field whose
        # suggestions are fetched when it is first used: as a <select>, its 7,000 options made
        # the search page 400 kB of HTML and slowed its first display by a third of a second.
        suggested: dict[str, str] = {}
        for name, values in options.items():
            if name in SUGGESTED_FILTERS:
                labels = [v["value"] if isinstance(v, dict) else v for v in values]
                (self.out / "depots").mkdir(parents=True, exist_ok=True)
                (self.out / "depots" / f"filtre-{name}.json").write_text(
                    json.dumps(labels, ensure_ascii=False), encoding="utf-8"
                )
                suggested[name] = f"filtre-{name}.json"
        self.page(
            "depots/index.html",
            "search.html",
            {
                "options": options,
                "suggested": suggested,
                "bundles": bundles,
                "listing": listing,
                "total": stats.total,
            },
        )

    def _statistics(self, stats: _Stats, daily: list[Row]) -> None:
        charts = [
            {
                "id": "licences",
                "title": "Licences les plus fréquentes",
                "unit": "dépôts",
                "rows": _bars(stats.licence_counts.most_common(TOP)),
            },
            {
                "id": "langages",
                "title": "Langages les plus fréquents",
                "unit": "dépôts",
                "rows": _bars(stats.language_counts.most_common(TOP)),
            },
            {
                "id": "activite",
                "title": "Activité des dépôts",
                "unit": "dépôts",
                "rows": _bars(
                    (label, stats.activity.get(key, 0)) for key, label in ACTIVITY_LABELS.items()
                ),
            },
            {
                "id": "creations",
                "title": "Dépôts créés par année",
                "unit": "dépôts",
                "rows": _bars(sorted(stats.years.items())),
            },
        ]
        if daily:
            charts.append(
                {
                    "id": "tendance",
                    "title": "Nombre de dépôts recensés, par jour de publication",
                    "unit": "dépôts",
                    "rows": _bars(
                        (str(d["date"]), int(d["repositories"] or 0)) for d in daily[-30:]
                    ),
                }
            )
        self.page("statistiques/index.html", "statistics.html", {"charts": charts})

    def _feeds(
        self, newest: list[tuple[str, str, Row]], owners: dict[str, data.Owner], software: list[Row]
    ) -> None:
        entries = [summary for _, _, summary in newest]
        self.page(
            "flux/depots.xml",
            "feed.xml",
            {
                "title": "Nouveaux dépôts publics",
                "feed_id": "depots",
                "entries": [_entry(s) for s in entries],
                "base": self.base_url,
            },
        )
        for owner_id, owner in owners.items():
            latest = sorted(owner.repositories, key=lambda r: r["first_seen_at"], reverse=True)
            name = str(owner.row.get("name") or owner.row.get("login") or owner_id)
            feed_entries = [_entry(s) for s in latest[:ORG_FEED_SIZE]]
            self.page(
                f"flux/organisations/{slug(owner_id)}.xml",
                "feed.xml",
                {
                    "title": f"Nouveaux dépôts : {name}",
                    "feed_id": f"organisations/{slug(owner_id)}",
                    "entries": feed_entries,
                    "base": self.base_url,
                },
                key=[name, feed_entries, self.base_url],
            )
        recent = sorted(
            software,
            key=lambda s: str(s.get("referenced_since") or s.get("first_seen_at") or ""),
            reverse=True,
        )[:FEED_SIZE]
        self.page(
            "flux/sill.xml",
            "feed.xml",
            {
                "title": "Nouveaux logiciels du SILL",
                "feed_id": "sill",
                "entries": [
                    {
                        "id": f"sill/{int(s['id'])}",
                        "title": str(s.get("name") or ""),
                        "summary": str(s.get("description") or ""),
                        "path": sill_path(int(s["id"])),
                        "updated": str(s.get("referenced_since") or s.get("first_seen_at") or ""),
                    }
                    for s in recent
                ],
                "base": self.base_url,
            },
        )

    def _not_found(self) -> None:
        # Served for any missing path, at any depth: its links cannot be relative.
        root = self.base_url or "/"
        text = self.template("404.html").render(
            **self.common(root, "404.html"), chrome=self.chrome(root, "404.html")
        )
        self.writer.folder(self.out / "404.html")
        (self.out / "404.html").write_text(text, encoding="utf-8")
        self.report.pages += 1
        self.report.rendered += 1

    def _sitemap(self) -> None:
        self.page(
            "sitemap.xml",
            "sitemap.xml",
            {"paths": [p.removesuffix("index.html") for p in self.paths], "base": self.base_url},
        )


class _Stats:
    """Figures gathered while the repositories stream by."""

    def __init__(self) -> None:
        self.total = 0
        self.free = 0
        self.activity: Counter[str] = Counter()
        self.activity_labels: set[str] = set()
        self.licence_counts: Counter[str] = Counter()
        self.language_counts: Counter[str] = Counter()
        self.years: Counter[str] = Counter()
        self.licences: set[str] = set()
        self.languages: set[str] = set()
        self.forges: set[str] = set()
        self.ministries: set[str] = set()

    def add(self, r: Row, ministry: str) -> None:
        self.total += 1
        self.free += int(r["licence_free"])
        self.activity[r["activity"] or ""] += 1
        self.activity_labels.add(r["activity_label"])
        self.licence_counts[r["licence_label"]] += 1
        self.language_counts[r["language"] or UNKNOWN] += 1
        if r["created_at"][:4].isdigit():
            self.years[r["created_at"][:4]] += 1
        self.licences.add(r["licence_label"])
        self.languages.add(r["language"] or UNKNOWN)
        self.forges.add(r["forge"])
        if ministry:
            self.ministries.add(ministry)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _summary_of(row: Row, free: frozenset[str]) -> Row:
    """What lists (organisation, SILL, feeds) and the figures use of a repository: made for
    every repository at every build, so only plain values, no URL check nor JSON."""
    licence = _text(row.get("licence"))
    activity = _text(row.get("activity"))
    return {
        "id": _text(row["id"]),
        "name": _text(row.get("name")),
        "description": _text(row.get("description")).strip(),
        "licence": licence,
        "licence_label": licence or UNKNOWN,
        "licence_free": data.is_free(licence, free),
        "language": _text(row.get("language")),
        "activity": activity,
        "activity_label": ACTIVITY_LABELS.get(activity, UNKNOWN),
        "last_activity": max(_text(row.get("last_commit_at")), _text(row.get("pushed_at"))),
        "stars": int(row.get("stars") or 0),
        "score": int(row.get("score") or 0),
        "forge": _text(row.get("forge")),
        "owner_name": _text(row.get("owner_name")),
        "first_seen_at": _text(row.get("first_seen_at")),
        "created_at": _text(row.get("created_at")),
        "is_fork": bool(row.get("is_fork")),
        "is_archived": bool(row.get("is_archived")),
        "has_readme": row.get("has_readme"),
        "has_contributing": row.get("has_contributing"),
        "has_publiccode": row.get("has_publiccode"),
        "publiccode_valid": row.get("publiccode_valid"),
    }


def _repository(row: Row, free: frozenset[str], sill: list[Row]) -> Row:
    """The view of one repository: every value the templates and the search record use."""
    details = data.json_details(row.get("score_details"))
    return {
        **_summary_of(row, free),
        "url": safe_url(row.get("url")),
        "url_text": _text(row.get("url")),
        "owner": _text(row.get("owner")),
        "homepage": safe_url(row.get("homepage")),
        "homepage_text": _text(row.get("homepage")),
        "topics": data.json_list(row.get("topics")),
        "forks": int(row.get("forks") or 0),
        "open_issues": int(row.get("open_issues") or 0),
        "score_details": details,
        "score_text": ", ".join(f"{d['label']} ({d['points']:+d})" for d in details),
        "is_template": bool(row.get("is_template")),
        "has_licence_file": row.get("has_licence_file"),
        "has_changelog": row.get("has_changelog"),
        "ministry": _text(row.get("ministry")),
        "default_branch": _text(row.get("default_branch")),
        "sill": sill,
    }


def _page_context(view: Callable[[], Row]) -> Row:
    return {"r": view()}


def _record_context(view: Callable[[], Row], path: str) -> Row:
    repository = view()
    return {"r": {k: repository[k] for k in RECORD_KEYS}, "path": path}


def _listing_order(entry: tuple[int, str, object]) -> tuple[int, str]:
    return entry[0], entry[1]


def _listed(r: Row) -> Row:
    """What the search page's default listing shows of a repository (as its script does)."""
    keys = ("id", "name", "description", "owner_name", "licence_label", "language", "score")
    return {
        **{k: r[k] for k in keys},
        "activity": r["last_activity"][:10],
        "score_text": r["score_text"],
    }


def _figures(repositories: list[Row]) -> Row:
    return {
        "repositories": len(repositories),
        "free": sum(1 for r in repositories if r["licence_free"]),
        "active": sum(1 for r in repositories if r["activity"] == "active"),
        "stars": sum(r["stars"] for r in repositories),
    }


def _add_figures(members: list[Row]) -> Row:
    return {k: sum(m[k] for m in members) for k in ("repositories", "free", "active", "stars")}


def _quality(repositories: list[Row]) -> list[Row]:
    """Each gap, with the repositories that have it (archived ones and forks left out: they are
    not candidates for reuse). An unknown flag (not checked yet) is not a gap."""
    considered = [r for r in repositories if not r["is_archived"] and not r["is_fork"]]
    tests: dict[str, Callable[[Row], bool]] = {
        "licence": lambda r: r["licence"] in ("", "NONE"),
        "licence_unknown": lambda r: r["licence"] == "NOASSERTION",
        "readme": lambda r: r["has_readme"] == 0,
        "description": lambda r: not r["description"],
        "contributing": lambda r: r["has_contributing"] == 0,
        "publiccode": lambda r: r["has_publiccode"] == 0,
        "publiccode_invalid": lambda r: bool(r["has_publiccode"]) and r["publiccode_valid"] == 0,
    }
    return [
        {
            "key": key,
            "title": title,
            "considered": len(considered),
            "repositories": [r for r in considered if tests[key](r)],
        }
        for key, title in GAPS
    ]


def _software(row: Row) -> Row:
    wikidata = _text(row.get("wikidata_id"))
    comptoir = row.get("comptoir_du_libre_id")
    return {
        "id": int(row["id"]),
        "name": _text(row.get("name")),
        "description": _text(row.get("description")),
        "licence": _text(row.get("licence")),
        "licence_raw": _text(row.get("licence_raw")),
        "version_min": _text(row.get("version_min")),
        "categories": data.json_list(row.get("categories")),
        "keywords": data.json_list(row.get("keywords")),
        "users_count": int(row.get("users_count") or 0),
        "referents_count": int(row.get("referents_count") or 0),
        "instances_count": int(row.get("instances_count") or 0),
        "public_sector": bool(row.get("is_from_french_public_service")),
        "recommended": not row.get("is_dereferenced"),
        "referenced_since": _text(row.get("referenced_since")),
        "website": safe_url(row.get("website")),
        "repository_url": safe_url(row.get("repository_url")),
        "wikidata": (
            f"https://www.wikidata.org/wiki/{wikidata}"
            if re.fullmatch(r"Q[0-9]+", wikidata)
            else None
        ),
        "wikidata_id": wikidata,
        "comptoir": (
            f"https://comptoir-du-libre.org/fr/softwares/{int(comptoir)}"
            if isinstance(comptoir, int)
            else None
        ),
    }


def _similar(view: Row, views: list[Row]) -> list[Row]:
    """Other SILL software sharing categories or keywords, most shared first."""
    mine = set(view["categories"]) | {k.lower() for k in view["keywords"]}
    if not mine:
        return []
    scored = []
    for other in views:
        if other["id"] == view["id"]:
            continue
        theirs = set(other["categories"]) | {k.lower() for k in other["keywords"]}
        shared = len(mine & theirs)
        if shared:
            scored.append((-shared, other["name"].lower(), other["id"], other["name"]))
    return [{"id": i, "name": name} for _, _, i, name in sorted(scored)[:SIMILAR_SIZE]]


def _entry(summary: Row) -> Row:
    title = f"{summary['owner_name']} / {summary['name']}" if summary["owner_name"] else ""
    return {
        "id": f"depots/{summary['id']}",
        "title": title or summary["name"],
        "summary": summary["description"],
        "path": repository_path(summary["id"]),
        "updated": summary["first_seen_at"] or summary["created_at"],
    }


# --- assets and search index ---------------------------------------------------------------------


def copy_assets(out: Path, dist: Path | None = None) -> None:
    """Copy what the pages use of the DSFR (its CSS trimmed to the classes our templates and
    scripts name, of the custom properties nothing reads and of the fonts not shipped, the files
    that CSS references, Marianne Regular and Bold, its JS core and the ``DSFR_SCRIPTS``
    components) and our own static files."""
    dist = dist or dsfr_dist()
    if not (dist / "dsfr.min.css").is_file():
        raise DsfrMissing(
            f"DSFR introuvable dans {dist} : lancez `make site-deps` (npm ci) à la racine du "
            "projet."
        )
    target = out / "assets" / "dsfr"
    target.mkdir(parents=True, exist_ok=True)
    scripts = [dist / "core" / "core.module.min.js"]
    scripts += [dist / "component" / name / f"{name}.module.min.js" for name in DSFR_SCRIPTS]
    # One module of several: each file declares its own top-level names (``const
    # e=window.dsfr``), so each gets a block of its own.
    module = "\n".join(
        "{\n" + re.sub(r"//# sourceMappingURL=\S+", "", path.read_text(encoding="utf-8")) + "\n}"
        for path in scripts
    )
    (target / "dsfr.module.min.js").write_text(module, encoding="utf-8")
    css = (dist / "dsfr.min.css").read_text(encoding="utf-8")

    def keep_font(match: re.Match[str]) -> str:
        block = match.group(0)
        for font in FONTS:
            if font in block:
                return re.sub(r",url\([^)]*\.woff\) format\(\"woff\"\)", "", block)
        return ""

    css = re.sub(r"@font-face\{[^}]*\}", keep_font, css)
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
    ours = [p for p in sorted(TEMPLATES.iterdir()) if p.is_file()] + sorted(STATIC.glob("*.js"))
    css = dsfr.trim(css, dsfr.use((p.read_text(encoding="utf-8") for p in ours), module))
    readers = [p.read_text(encoding="utf-8") for p in sorted(STATIC.iterdir()) if p.is_file()]
    css = dsfr.prune_variables(css, [*readers, module])
    (target / "dsfr.min.css").write_text(css, encoding="utf-8")
    for reference in sorted(set(re.findall(r"url\(([^)\"']+)\)", css))):
        if reference.startswith("data:"):
            continue
        source = dist / reference
        if source.is_file():
            (target / reference).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / reference)
    (target / "favicon").mkdir(exist_ok=True)
    shutil.copyfile(dist / "favicon" / "favicon.svg", target / "favicon" / "favicon.svg")
    shutil.copyfile(dist / "favicon" / "favicon.ico", out / "favicon.ico")
    for static in STATIC.iterdir():
        if static.is_file():
            shutil.copyfile(static, out / "assets" / static.name)


def _link_trees(source: Path, target: Path, names: list[str]) -> None:
    """Hard-link the folders ``names`` of ``source`` into ``target``: one ``cp -al`` per
    parent folder (a bundle holds thousands of files, too many for a Python loop), a Python
    copy of links where ``cp`` has no ``-l`` (not GNU coreutils)."""
    parents: dict[str, list[str]] = {}
    for name in names:
        parents.setdefault(os.path.dirname(name), []).append(name)
    for parent, members in sorted(parents.items()):
        (target / parent).mkdir(parents=True, exist_ok=True)
        command = ["cp", "-al", "--", *(str(source / m) for m in members), str(target / parent)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log.info("site: cp -al failed (%s), linking in Python", result.stderr.strip())
            for member in members:
                shutil.rmtree(target / member, ignore_errors=True)
                shutil.copytree(source / member, target / member, copy_function=os.link)


#: What starts every Pagefind index file, before its CBOR.
PAGEFIND_SIGNATURE = b"pagefind_dcd"


def split_sorts(bundle: Path) -> None:
    """Move a bundle's sorts out of Pagefind's metadata into rank files.

    Every search fetches the metadata of every shard; with three sorts of 50,000 repositories
    it was about half of a first search's weight (each sort is a permutation of the pages).
    The metadata is written again without its sorts (under a new name, the bundle's
    ``pagefind-entry.json`` pointing to it), and each sort's pages, best first, as ids in
    ``RANK_RANGES`` files that a sorted search fetches one after the other while it needs
    them (``site/static/search.js``).
    """
    import cbor2

    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    ranks = bundle / RANKS
    ranks.mkdir(exist_ok=True)
    for code, language in entry["languages"].items():
        meta_path = bundle / f"pagefind.{language['hash']}.pf_meta"
        raw = gzip.decompress(meta_path.read_bytes())
        if not raw.startswith(PAGEFIND_SIGNATURE):
            raise SiteError(f"métadonnées Pagefind illisibles : {meta_path}")
        meta = cbor2.loads(raw[len(PAGEFIND_SIGNATURE) :])
        # Pagefind 1.5's metadata: version, pages ([id, words]), index chunks, filters, sorts
        # ([name, page numbers in ascending order]), metadata fields.
        if not (isinstance(meta, list) and len(meta) > 4 and isinstance(meta[4], list)):
            raise SiteError(
                f"métadonnées Pagefind d'un format inattendu : {meta_path} (Pagefind "
                f"{version('pagefind_bin')} ; ce code lit celles de Pagefind 1.5)"
            )
        pages, sorts = meta[1], meta[4]
        for name, order in sorts:
            ids = [pages[number][0] for number in reversed(order)]
            start, k = 0, 0
            while True:
                end = start + RANK_RANGES[k] if k < len(RANK_RANGES) else len(ids)
                part = {"ids": ids[start:end], "last": end >= len(ids)}
                (ranks / f"{name}.{k}.json").write_text(
                    json.dumps(part, separators=(",", ":")), encoding="utf-8"
                )
                if part["last"]:
                    break
                start, k = end, k + 1
        meta[4] = []
        lean = PAGEFIND_SIGNATURE + cbor2.dumps(meta)
        digest = hashlib.sha256(lean).hexdigest()[:10]
        new_hash = f"{code}_{digest}"
        (bundle / f"pagefind.{new_hash}.pf_meta").write_bytes(gzip.compress(lean, mtime=0))
        if new_hash != language["hash"]:
            meta_path.unlink()
        language["hash"] = new_hash
    entry_path.write_text(
        json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )


def _index(  # noqa: PLR0917 (one private caller, in order)
    out: Path,
    previous: Path | None,
    records: Mapping[str, list[tuple[str, str, Record]]],
    digests: Mapping[str, str],
    old: Mapping[str, str],
    report: SiteReport,
    workers: int = 2,
) -> None:
    """Build each search bundle whose digest changed since the previous build with Pagefind's
    command-line indexer; hard-link the others from the previous build.

    Args:
        previous: the previous build (``None``: every bundle is indexed).
        records: each bundle's index records, (page path, template, context).
        digests: each bundle's digest; ``old``: the previous build's.
    """
    import pagefind_bin

    search = out / SEARCH
    for name in records:
        shutil.rmtree(search / name, ignore_errors=True)
    todo: list[str] = []
    reused: list[str] = []
    for name in sorted(records):
        source = previous / SEARCH / name if previous else None
        if (
            source is not None
            and old.get(name) == digests[name]
            and (source / "pagefind-entry.json").is_file()
        ):
            reused.append(name)
        else:
            todo.append(name)
    if previous is not None and reused:
        _link_trees(previous / SEARCH, search, reused)
    report.bundles_reused.extend(reused)
    if not todo:
        return
    executable = str(pagefind_bin.get_executable())
    with tempfile.TemporaryDirectory(prefix="codegouv-index-") as temporary:
        # The records are written under their pages' paths, so Pagefind gives the pages' URLs.
        env = environment()
        for name in todo:
            folders: set[Path] = set()
            for path, template, context in records[name]:
                target = Path(temporary, name, path)
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                made = context() if callable(context) else context
                target.write_text(env.get_template(template).render(made), encoding="utf-8")

        def run(name: str) -> None:
            command = [
                executable,
                "--site",
                str(Path(temporary, name)),
                "--output-path",
                str(search / name),
                "--force-language",
                "fr",
                "--quiet",
            ]
            log.info("site: %s", " ".join(command))
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise SiteError(
                    f"l'indexation Pagefind de {name} a échoué : {result.stderr.strip()[-500:]}"
                )
            if name.startswith("depots/"):
                split_sorts(search / name)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for _ in pool.map(run, todo):
                pass
    report.bundles_indexed.extend(todo)
    report.indexed = True
