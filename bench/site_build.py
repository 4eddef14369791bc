"""Static site benchmark: the whole site with its Pagefind index for a 50,000-repository
database, then a rebuild where one organisation changed, and the transfer sizes the browser
fetches (gzipped, fonts left out).

The large database is made from a demo crawl of the local forge (or ``--base DB``) by copying
its owners and repositories with new ids until it holds ``--repositories`` rows. Each build
runs in its own process so its peak memory (with Pagefind's) is measured apart.

    python bench/site_build.py [--base data/inventory.db] [--repositories 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import json
import resource
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
previous = Path(sys.argv[3]) if len(sys.argv) > 3 else None
started = time.monotonic()
report = site.build(Path(sys.argv[1]), Path(sys.argv[2]), previous=previous)
print(json.dumps({"seconds": time.monotonic() - started, "pages": report.pages,
                  "rendered": report.rendered, "reused": report.reused,
                  "durations": report.durations}))
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


def timed_build(db_path: Path, out: Path, previous: Path | None = None) -> dict[str, object]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage.ru_maxrss
    cpu_before = usage.ru_utime + usage.ru_stime
    command = [sys.executable, "-c", BUILD, str(db_path), str(out)]
    if previous:
        command.append(str(previous))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the largest single descendant (the build, a worker or Pagefind)
    figures["peak_mb"] = max(usage.ru_maxrss, before) / 1024
    figures["cpu"] = usage.ru_utime + usage.ru_stime - cpu_before
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
    resources = "performance.getEntriesByType('resource').map(e => e.name)"

    def size(urls: list[str]) -> int:
        total = 0
        for url in urls:
            path = unquote(urlsplit(url).path).lstrip("/") or "index.html"
            target = out / path
            if target.suffix not in (".woff2", ".woff") and target.is_file():
                total += len(gzip.compress(target.read_bytes(), 9))
        return total

    def settle(page: object) -> float:
        started = time.monotonic()
        page.wait_for_function(  # type: ignore[attr-defined]
            "document.querySelectorAll('#cg-results > li').length > 0"
            " || /Aucun/.test(document.getElementById('cg-status').textContent)"
        )
        return time.monotonic() - started

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page()
            page.goto(base + "index.html")
            page.wait_for_load_state("networkidle")
            home = size([base + "index.html", *page.evaluate(resources)])
            page.goto(base + "depots/index.html?q=donnees")
            first_ms = settle(page) * 1000
            page.wait_for_load_state("networkidle")
            first = size([base + "depots/index.html", *page.evaluate(resources)])
            page.evaluate("performance.clearResourceTimings()")
            page.fill("#cg-q", "carte")
            page.press("#cg-q", "Enter")
            page.wait_for_timeout(300)
            settle(page)
            page.wait_for_load_state("networkidle")
            later = size(page.evaluate(resources))
            browser.close()
    finally:
        server.shutdown()
    return {"home": home, "first": first, "later": later, "first_ms": round(first_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="a crawled database (default: a demo crawl)")
    parser.add_argument("--repositories", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="site-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base = args.base or demo_database(work)
    large = work / "large.db"
    repositories, owners = scale(base, large, args.repositories)
    print(f"database: {repositories} repositories, {owners} owners")
    full = timed_build(large, work / "site-1")
    print("full build:", full)
    owner, changed = change_one_organisation(large)
    again = timed_build(large, work / "site-2", previous=work / "site-1")
    print(f"rebuild after {owner} changed ({changed} repositories):", again)
    sizes = transfer_sizes(work / "site-2")
    print("transfer (gzip, no fonts):", sizes)
    today = dt.date.today().isoformat()

    def row(label: str, f: dict[str, object]) -> str:
        durations = f["durations"]
        assert isinstance(durations, dict)
        return (
            f"| {label} | {repositories:,} | {f['pages']:,} | {f['rendered']:,} | "
            f"{f['reused']:,} | {durations['pages']:.1f} s | {durations['search']:.1f} s | "
            f"{float(f['seconds']):.1f} s | {float(f['cpu']):.1f} s | "  # type: ignore[arg-type]
            f"{float(f['peak_mb']):.0f} MB | {today} |"  # type: ignore[arg-type]
        )

    update_readme(
        "site-build",
        [
            "| build | repositories | pages | rendered | reused | pages time | search index |"
            " total (wall) | CPU time | peak memory | date |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            row("full", full),
            row(f"one organisation changed ({changed} repositories)", again),
            "",
            "| transfer (gzip, no fonts) | home | first search (all) | later search |"
            " first results |",
            "|---|---:|---:|---:|---:|",
            f"| measured in Chromium | {sizes['home'] / 1000:.0f} kB | "
            f"{sizes['first'] / 1000:.0f} kB | {sizes['later'] / 1000:.0f} kB | "
            f"{sizes['first_ms']} ms |",
            "| bar | 150 kB | 700 kB | 150 kB | 500 ms |",
        ],
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
