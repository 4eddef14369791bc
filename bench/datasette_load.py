"""Load benchmark of the public Datasette instance, with wrk (a real HTTP load generator).

A mixed journalist workload (table pages with 5 facets, full-text searches, filtered and sorted
JSON, canned-query SQL) against, in the same run and on the same database file:
- our instance: `codegouv serve --out DIR` (published folder, settings, indexes, answer cache);
- our instance without its answer cache (`--no-cache`);
- plain `datasette serve FILE` with default settings.

The 50,000-repository database is generated from the demo crawl (the local forge's 2021
data): each repository is replicated under suffixed names (owners unchanged), then the
database is published with `codegouv publish`. Figures go into bench/README.md.

    python bench/datasette_load.py [--repositories 50000] [--seconds 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import requests
import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import README, free_port  # noqa: E402

WORK = ROOT / "bench" / "work" / "datasette"
DB = "inventory"

FACETS = "_facet=licence&_facet=language&_facet=forge&_facet=ministry&_facet=activity"
CANNED_SQL = (
    "select coalesce(ministry, '(non renseigné)') as ministere, count(*) as depots, "
    "sum(licence = 'NONE') as sans_licence from repositories where removed_at is null "
    "group by ministry order by sans_licence desc"
)
#: The journalist's pages: name → path (same paths on every server).
PAGES: dict[str, str] = {
    "table page, 5 facets": f"/{DB}/repositories?{FACETS}",
    "full-text search": f"/{DB}/repositories?_search=donnees",
    "full-text search, 2 words": f"/{DB}/repositories.json?_search=logiciel+libre",
    "filtered, sorted JSON": f"/{DB}/repositories.json?licence=MIT&_sort_desc=stars&_size=50",
    "filtered, sorted JSON 2": f"/{DB}/repositories.json?language=Python&_sort_desc=pushed_at",
    "canned query (SQL)": f"/{DB}?sql={urllib.parse.quote(CANNED_SQL)}",
}


def build_database(repositories: int) -> Path:
    """The demo crawl, replicated to ``repositories`` rows, published into WORK/public."""
    from crawler import db as store
    from crawler import demo, jobs

    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "demo.db"
    if not source.exists():
        print("crawling the local forge (demo data)…", flush=True)
        db = store.open_db(source)
        forge, _ = demo.run(db, WORK)
        forge.stop()
        db.close()
    big = WORK / "inventory.db"
    if big.exists():
        big.unlink()
    shutil.copy(source, big)
    db = store.open_db(big)
    base = list(db.query("select * from repositories"))
    copies = -(-repositories // len(base)) - 1
    print(f"replicating {len(base)} repositories × {copies + 1}…", flush=True)
    with db.atomic():
        for n in range(1, copies + 1):
            rows = [
                {
                    **row,
                    "id": f"{row['id']}-copie{n}",
                    "name": f"{row['name']}-copie{n}",
                    "url": f"{row['url']}-copie{n}",
                }
                for row in base
            ]
            db.table("repositories").insert_all(rows, batch_size=500)
    count = db.table("repositories").count
    db.close()
    out = WORK / "public"
    print(f"publishing {count} repositories…", flush=True)
    jobs.publish(big, out)
    return out


def start(command: list[str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/versions.json", timeout=5).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{command[0]} did not start")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package)…", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"p95\\": %%f, \\"p50\\": %%f, \\"requests\\": %%d, " ..
    "\\"errors\\": %%d, \\"timeouts\\": %%d, \\"non2xx\\": %%d}\\n",
    latency:percentile(95) / 1000, latency:percentile(50) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout, summary.errors.timeout,
    summary.errors.status))
end
"""


def wrk(binary: str, url: str, paths: list[str], clients: int, seconds: int) -> dict[str, float]:
    script = WORK / "mix.lua"
    script.write_text(LUA % ", ".join(json.dumps(p) for p in paths), encoding="utf-8")
    result = subprocess.run(
        [
            binary,
            f"-t{min(clients, 2)}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("JSON "))
    figures: dict[str, float] = json.loads(line[5:])
    figures["rps"] = figures["requests"] / seconds
    return figures


def row(server: str, page: str, clients: int, figures: dict[str, float], seconds: int) -> str:
    if not figures["requests"]:
        return f"| {server} | {page} | {clients} | — | — | none completed in {seconds} s | — |"
    return (
        f"| {server} | {page} | {clients} | {figures['p50']:.0f} ms | {figures['p95']:.0f} ms | "
        f"{figures['rps']:.1f} | {figures['errors']:.0f} |"
    )


def write_readme(section: str) -> None:
    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- datasette-load:begin -->", "<!-- datasette-load:end -->"
    if begin in text:
        text = re.sub(f"{begin}.*?{end}", f"{begin}\n{section}{end}", text, flags=re.S)
    else:
        text += f"\n{begin}\n{section}{end}\n"
    README.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repositories", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the database published by the last run"
    )
    args = parser.parse_args()
    binary = ensure_wrk()
    out = WORK / "public"
    if not (args.reuse and (out / "inventory.db").exists()):
        out = build_database(args.repositories)
    database = out / "inventory.db"
    count = sqlite_utils.Database(database).table("repositories").count
    servers = {
        "ours": [sys.executable, "-m", "crawler", "serve", "--out", str(out)],
        "ours, no answer cache": [
            sys.executable,
            "-m",
            "crawler",
            "serve",
            "--out",
            str(out),
            "--no-cache",
        ],
        "plain Datasette": [sys.executable, "-m", "datasette", "serve", str(database)],
    }
    rows: list[str] = []
    mixed: dict[str, dict[str, float]] = {}
    for name, command in servers.items():
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start([*command, "--port", str(port)], url)
        try:
            for path in PAGES.values():  # warm the page cache of the OS and of SQLite
                requests.get(url + path, timeout=60)
            for page, path in PAGES.items():
                one = wrk(binary, url, [path], 1, max(3, args.seconds // 3))
                rows.append(row(name, page, 1, one, max(3, args.seconds // 3)))
                print(rows[-1], flush=True)
            many = wrk(binary, url, list(PAGES.values()), 16, args.seconds)
            mixed[name] = many
            rows.append(row(name, "**mixed workload**", 16, many, args.seconds))
            print(rows[-1], flush=True)
        finally:
            process.terminate()
            process.wait(timeout=60)
    # Plain Datasette may complete no request at all in the run: count it as one, a bound.
    plain = max(mixed["plain Datasette"]["requests"], 1) / args.seconds
    bound = "≥ " if mixed["plain Datasette"]["requests"] == 0 else ""
    ratio = f"{bound}{mixed['ours']['rps'] / plain:.0f}"
    ratio_nocache = f"{bound}{mixed['ours, no answer cache']['rps'] / plain:.1f}"
    section = (
        f"{count:,} repositories, wrk, {args.seconds} s per mixed run, "
        f"{dt.date.today():%Y-%m-%d}.\n\n"
        "| server | page | clients | p50 | p95 | requests/s | errors |\n"
        "|---|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
        f"Mixed workload, 16 clients: ours serves {ratio}× plain Datasette's throughput "
        f"({ratio_nocache}× without the answer cache); plain Datasette completed "
        f"{mixed['plain Datasette']['requests']:.0f} requests in {args.seconds} s.\n"
    )
    write_readme(section)
    print(section)


if __name__ == "__main__":
    main()
