"""Static site benchmark: the whole site with its Pagefind index for a 50,000-repository
database, then a rebuild where one organisation changed, and the transfer sizes the browser
fetches (gzipped, fonts left out).

The large database is made from a demo crawl of the local forge (or ``--base DB``) by copying
its owners and repositories with new ids until it holds ``--repositories`` rows. Each build
runs in its own process so its peak memory (with Pagefind's) is measured apart.

In the browser: "first results" is the search page's load to its first results shown (the
default listing), "first query" a word typed on a fresh search page to its results, "first
search" the weight of a shared URL carrying a query (Pagefind loaded), "later search" another
word, "sorted" the same query sorted by stars (one search per shard, merged).

    python bench/site_build.py [--base data/inventory.db] [--repositories 50000] [--shards 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from common import ROOT, update_readme

BUILD = """
import json, sys, time
from pathlib import Path
from crawler.publish import site
site.SHARDS = int(sys.argv[3])
previous = Path(sys.argv[4]) if len(sys.argv) > 4 else None
started = time.monotonic()
report = site.build(Path(sys.argv[1]), Path(sys.argv[2]), previous=previous)
print(json.dumps({"seconds": time.monotonic() - started, "pages": report.pages,
                  "rendered": report.rendered, "reused": report.reused,
                  "durations": report.durations, "indexed": report.bundles_indexed}))
"""


def demo_database(workdir: Path) -> Path:
    from crawler import db as store
    from crawler import demo

    path = workdir / "demo.db"
    db = store.open_db(path)
    forge, _ = demo.run(db, workdir / "demo")
    forge.stop()
    db.close()
    return path


def scale(base: Path, target: Path, repositories: int) -> tuple[int, int]:
    """Copy ``base`` to ``target`` and replicate its owners and repositories (new ids: the
    owner's id and login get ``-rN``) until it holds ``repositories`` live repositories."""
    shutil.copyfile(base, target)
    with sqlite3.connect(target) as connection:
        connection.row_factory = sqlite3.Row
        owners = [dict(r) for r in connection.execute("select * from owners")]
        rows = [
            dict(r)
            for r in connection.execute("select * from repositories where removed_at is null")
        ]
        replica = 1
        count = len(rows)
        while count < repositories:
            new_owners, new_rows = [], []
            for owner in owners:
                copy = dict(owner)
                copy["id"] = f"{owner['id']}-r{replica}"
                copy["login"] = f"{owner['login']}-r{replica}"
                copy["name"] = f"{owner['name'] or owner['login']} ({replica})"
                new_owners.append(copy)
            for row in rows:
                if count >= repositories:
                    break
                copy = dict(row)
                copy["owner"] = f"{row['owner']}-r{replica}"
                copy["id"] = copy["owner"] + row["id"][len(row["owner"]) :]
                copy["url"] = f"{row['url']}-r{replica}"
                new_rows.append(copy)
                count += 1
            for table, items in (("owners", new_owners), ("repositories", new_rows)):
                columns = list(items[0])
                connection.executemany(
                    f"insert into {table} ({', '.join(columns)}) "
                    f"values ({', '.join('?' for _ in columns)})",
                    [[item[c] for c in columns] for item in items],
                )
            replica += 1
        owners_count = connection.execute("select count(*) from owners").fetchone()[0]
    return count, int(owners_count)


def change_one_organisation(db_path: Path) -> tuple[str, int]:
    """Change the description of every repository of the organisation with the most."""
    with sqlite3.connect(db_path) as connection:
        owner, count = connection.execute(
            "select owner, count(*) from repositories group by owner order by 2 desc limit 1"
        ).fetchone()
        connection.execute(
            "update repositories set description = coalesce(description, '') || ' (modifié)' "
            "where owner = ?",
            (owner,),
        )
    return str(owner), int(count)


def timed_build(
    db_path: Path, out: Path, shards: int, previous: Path | None = None
) -> dict[str, object]:
    command = [sys.executable, "-c", BUILD, str(db_path), str(out), str(shards)]
    if previous:
        command.append(str(previous))
    load_before = os.getloadavg()
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(command, cwd=ROOT, stdout=stdout)
        # wait4's usage covers the build and the descendants it waited for (its rendering
        # workers, Pagefind): ru_maxrss is the largest single one of them.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise SystemExit(f"build failed ({process.returncode})")
        stdout.seek(0)
        figures: dict[str, object] = json.loads(stdout.read().decode().strip().splitlines()[-1])
    figures["peak_mb"] = usage.ru_maxrss / 1024
    figures["cpu"] = usage.ru_utime + usage.ru_stime
    figures["load"] = f"{load_before[0]:.1f} → {os.getloadavg()[0]:.1f}"
    return figures


def transfer_sizes(out: Path) -> dict[str, int]:
    """Gzipped bytes a real Chromium fetches, fonts left out: home, first and later search."""
    from playwright.sync_api import sync_playwright

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"

    def size(urls: list[str]) -> int:
        total = 0
        for url in urls:
            path = unquote(urlsplit(url).path).lstrip("/") or "index.html"
            target = out / path
            if target.suffix not in (".woff2", ".woff") and target.is_file():
                total += len(gzip.compress(target.read_bytes(), 9))
        return total

    def settle(page: object, started: float, unlike: str = "") -> float:
        """Wait for results shown (other than the status ``unlike``: the default listing's)."""
        page.wait_for_function(  # type: ignore[attr-defined]
            """unlike => {
                const list = document.getElementById('cg-results');
                const status = document.getElementById('cg-status');
                return list && status && list.dataset.state === 'done'
                    && status.textContent !== unlike
                    && (list.children.length > 0 || /Aucun/.test(status.textContent));
            }""",
            arg=unlike,
            polling=10,
        )
        return round((time.monotonic() - started) * 1000)

    # Every request a page makes, its Pagefind worker's too (a worker's fetches are missing
    # from the page's performance timeline, but not from its network events).
    requested: dict[object, list[str]] = {}

    def watch(page: object) -> object:
        requested[page] = []
        page.on("request", lambda request: requested[page].append(request.url))  # type: ignore[attr-defined]
        return page

    def taken(page: object) -> list[str]:
        urls, requested[page] = requested[page], []
        return urls

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = watch(browser.new_page())
            page.goto(base + "index.html")
            page.wait_for_load_state("networkidle")
            home = size(taken(page))
            # first results: the search page as loaded (its default listing)
            fresh = watch(browser.new_page())
            started = time.monotonic()
            fresh.goto(base + "depots/index.html", wait_until="commit")
            first_results_ms = settle(fresh, started)
            default = fresh.inner_text("#cg-status")
            fresh.wait_for_load_state("networkidle")
            listing = size(taken(fresh))
            # first query: a word typed on that fresh page
            fresh.fill("#cg-q", "donnees")
            started = time.monotonic()
            fresh.press("#cg-q", "Enter")
            first_query_ms = settle(fresh, started, default)
            fresh.close()

            def shared(query: str, unlike: str) -> tuple[object, int, int]:
                """A shared URL carrying ``query``, in a fresh browser (nothing cached): the
                page, its results, and the bytes of all it fetched (assets and Pagefind)."""
                page = watch(browser.new_context().new_page())
                started = time.monotonic()
                page.goto(base + f"depots/index.html?{query}", wait_until="commit")  # type: ignore[attr-defined]
                ms = settle(page, started, unlike)
                page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
                page.wait_for_timeout(500)  # type: ignore[attr-defined]
                return page, ms, size(taken(page))

            page, shared_ms, first = shared("q=donnees", default)
            page.fill("#cg-q", "carte")
            started = time.monotonic()
            page.press("#cg-q", "Enter")
            later_ms = settle(page, started)
            page.wait_for_timeout(500)
            later = size(taken(page))
            started = time.monotonic()
            page.select_option("#cg-tri", "etoiles")
            sorted_ms = settle(page, started)
            page.wait_for_timeout(500)
            sorted_size = size(taken(page))
            # a first search that is sorted too
            _, first_sorted_ms, first_sorted = shared("q=donnees&tri=etoiles", default)
            browser.close()
    finally:
        server.shutdown()
    return {
        "home": home,
        "listing": listing,
        "first": first,
        "later": later,
        "sorted": sorted_size,
        "first_sorted": first_sorted,
        "first_sorted_ms": first_sorted_ms,
        "first_results_ms": first_results_ms,
        "first_query_ms": first_query_ms,
        "shared_ms": shared_ms,
        "later_ms": later_ms,
        "sorted_ms": sorted_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="a crawled database (default: a demo crawl)")
    parser.add_argument("--repositories", type=int, default=50_000)
    parser.add_argument("--shards", type=int, default=8, help="repository search shards")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument("--no-readme", action="store_true", help="print, do not write README")
    parser.add_argument("--sizes-only", type=Path, help="only measure this built site's transfers")
    args = parser.parse_args()
    if args.sizes_only:
        print("browser (gzip, no fonts):", transfer_sizes(args.sizes_only))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="site-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base = args.base or demo_database(work)
    large = work / "large.db"
    repositories, owners = scale(base, large, args.repositories)
    print(f"database: {repositories} repositories, {owners} owners, {args.shards} shards")
    for folder in ("site-1", "site-2"):
        shutil.rmtree(work / folder, ignore_errors=True)
    full = timed_build(large, work / "site-1", args.shards)
    print("full build:", full, flush=True)
    owner, changed = change_one_organisation(large)
    again = timed_build(large, work / "site-2", args.shards, previous=work / "site-1")
    print(f"rebuild after {owner} changed ({changed} repositories):", again, flush=True)
    sizes = transfer_sizes(work / "site-2")
    print("browser (gzip, no fonts):", sizes, f"load {os.getloadavg()}")
    today = dt.date.today().isoformat()
    if args.no_readme:
        return

    def row(label: str, f: dict[str, object]) -> str:
        durations = f["durations"]
        assert isinstance(durations, dict)
        return (
            f"| {label} | {repositories:,} | {f['pages']:,} | {f['rendered']:,} | "
            f"{f['reused']:,} | {len(f['indexed'])} | {durations['pages']:.1f} s | "  # type: ignore[arg-type]
            f"{durations['search']:.1f} s | "
            f"{float(f['seconds']):.1f} s | {float(f['cpu']):.1f} s | "  # type: ignore[arg-type]
            f"{float(f['peak_mb']):.0f} MB | {f['load']} | {today} |"  # type: ignore[arg-type]
        )

    def kb(key: str) -> str:
        return f"{sizes[key] / 1000:.0f} kB"

    update_readme(
        "site-build",
        [
            f'{args.shards} repository search shards (and the SILL\'s own bundle). "search" is'
            " the wait for the indexing after the pages: the repositories' shards are indexed"
            " beside the rendering of the other pages.",
            "",
            "| build | repositories | pages | rendered | reused | bundles indexed | pages time |"
            " search (after pages) | total (wall) | CPU time | peak memory |"
            " load (1 min, before → after) | date |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
            row("full", full),
            row(f"one organisation changed ({changed} repositories)", again),
            "",
            "| in Chromium (gzip, no fonts) | home | search page as loaded | first search (all)"
            " | later search | then sorted by stars | first search, sorted (all) |",
            "|---|---:|---:|---:|---:|---:|---:|",
            f"| transfer | {kb('home')} | {kb('listing')} | {kb('first')} | {kb('later')} | "
            f"{kb('sorted')} | {kb('first_sorted')} |",
            f"| time to results | | {sizes['first_results_ms']} ms (first results) | "
            f"{sizes['shared_ms']} ms (shared URL); {sizes['first_query_ms']} ms (first query)"
            f" | {sizes['later_ms']} ms | {sizes['sorted_ms']} ms | "
            f"{sizes['first_sorted_ms']} ms |",
            "| bar | 150 kB | | 700 kB; first results 500 ms | 150 kB | 150 kB | 700 kB |",
        ],
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
