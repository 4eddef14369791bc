"""Load benchmark of the public Datasette instance, with wrk (a real HTTP load generator).

A mixed journalist workload (table pages with 5 facets, full-text searches, filtered and sorted
JSON, canned queries), each request with parameters drawn at random from pools read in the
database (search words, filter values, sort columns, canned-query parameters), against, in the
same run and on the same database file:
- our instance: `codegouv serve --out DIR --workers N` (published folder, settings, indexes,
  answer cache; one process per core), then without its answer cache (`--no-cache`), then as
  one process;
- plain `datasette serve FILE` with default settings.

The 50,000-repository database is generated from the demo crawl (the local forge's 2021
data): each repository is replicated under suffixed names (owners unchanged), then the
database is published with `codegouv publish`. Figures go into bench/README.md.

    python bench/datasette_load.py [--repositories 50000] [--seconds 15] [--reuse] [--workers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
from crawler.publish.datasette import FACET_COUNTS_TABLE  # noqa: E402
from crawler.publish.queries import QUERIES  # noqa: E402

WORK = ROOT / "bench" / "work" / "datasette"
DB = "inventory"

FACETS = "_facet=licence&_facet=language&_facet=forge&_facet=ministry&_facet=activity"
#: The journalist's page kinds. Each request draws its parameters at random from pools read in
#: the database (search words from the descriptions, licences, languages, forges, ministries,
#: owners, sort columns, months…), so that an answer cache sees few repeats.
KINDS: dict[str, str] = {
    "table": "table page, 5 facets (+ filter, sort)",
    "search": "full-text search, 1 word",
    "search2": "full-text search JSON, 2 words",
    "json": "filtered, sorted JSON",
    "canned": "canned query, with parameters",
}
SORTS = ("stars", "pushed_at", "created_at", "forks")
WORD = re.compile(r"[a-zà-ÿ]{5,}")


def pools(database: Path) -> dict[str, list[str]]:
    """Values a journalist would type or click, read from the benchmark database (already
    URL-encoded)."""
    db = sqlite_utils.Database(database)

    def top(column: str, limit: int) -> list[str]:
        rows = db.execute(
            f"select {column} from repositories where {column} is not null and {column} != '' "
            f"group by {column} order by count(*) desc limit {limit}"
        ).fetchall()
        return [str(r[0]) for r in rows]

    words: dict[str, int] = {}
    for (text,) in db.execute(
        "select description from repositories where description is not null "
        "and id not like '%-copie%'"
    ).fetchall():
        for word in set(WORD.findall(text.lower())):
            words[word] = words.get(word, 0) + 1
    common = sorted(words, key=lambda w: -words[w])[:300]
    months = [
        r[0]
        for r in db.execute(
            "select distinct substr(created_at, 1, 7) from repositories order by 1 desc limit 60"
        ).fetchall()
    ]
    days = [
        r[0]
        for r in db.execute(
            "select distinct substr(pushed_at, 1, 10) from repositories order by 1 desc limit 200"
        ).fetchall()
    ]
    found = {
        "words": common,
        "licence": top("licence", 40),
        "language": top("language", 60),
        "forge": top("forge", 40),
        "ministry": top("ministry", 40),
        "owner": top("owner", 300),
        "activity": top("activity", 10),
        "month": months,
        "day": days,
    }
    db.close()
    return {k: [urllib.parse.quote_plus(v) for v in values] for k, values in found.items()}


def lua_pools(values: dict[str, list[str]]) -> str:
    return "\n".join(
        f"pools[{json.dumps(k)}] = {{{', '.join(json.dumps(v) for v in vs)}}}"
        for k, vs in values.items()
    )


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
    jobs.publish(big, out, site=False)  # Datasette is measured here
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


LUA = r"""
pools = {}
%(pools)s
sorts = {%(sorts)s}
filters = {"licence", "language", "forge", "ministry", "owner", "activity"}
db = "/%(db)s"
facets = "%(facets)s"
canned = {"depots_sans_licence_par_ministere", "licences_utilisees",
  "organisations_depots_archives_ou_dormants", "part_licences_libres_par_ministere"}
-- Plain Datasette has no canned queries: it gets the same SQL and parameters through ?sql=.
sqls = {}
%(sqls)s
plain = false

function query(name, params)
  if plain then
    local path = db .. "?sql=" .. sqls[name]
    if params then path = path .. "&" .. params end
    return path
  end
  if params then return db .. "/" .. name .. "?" .. params end
  return db .. "/" .. name
end

function pick(list) return list[math.random(#list)] end
function filter()
  local name = pick(filters)
  return name .. "=" .. pick(pools[name])
end

builders = {
  table = function()
    local path = db .. "/repositories?" .. facets
    local r = math.random(4)
    if r <= 2 then path = path .. "&" .. filter() end
    if r == 2 or r == 3 then path = path .. "&_sort_desc=" .. pick(sorts) end
    return path
  end,
  search = function()
    local path = db .. "/repositories?_search=" .. pick(pools.words)
    if math.random(3) == 1 then path = path .. "&" .. filter() end
    return path
  end,
  search2 = function()
    return db .. "/repositories.json?_search=" .. pick(pools.words) .. "+" .. pick(pools.words)
  end,
  json = function()
    local path = db .. "/repositories.json?" .. filter() .. "&_sort_desc=" .. pick(sorts)
    if math.random(2) == 1 then path = path .. "&" .. filter() end
    return path .. "&_size=" .. pick({"20", "50", "100"})
  end,
  canned = function()
    local r = math.random(6)
    if r == 1 then return query("langages_par_ministere", "ministere=" .. pick(pools.ministry)) end
    if r == 2 then return query("rapport_qualite_organisation", "owner=" .. pick(pools.owner)) end
    if r == 3 then return query("nouveaux_depots_du_mois", "mois=" .. pick(pools.month)) end
    if r == 4 then return query("depots_actifs_90_jours", "date_reference=" .. pick(pools.day)) end
    return query(pick(canned), nil)
  end,
}
kinds = {}

init = function(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%%x+)"), 16) or 0))
  for _, kind in ipairs(args) do
    if kind == "plain" then plain = true else table.insert(kinds, kind) end
  end
end

request = function()
  return wrk.format("GET", builders[pick(kinds)]())
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"p95\": %%f, \"p50\": %%f, \"requests\": %%d, " ..
    "\"errors\": %%d, \"timeouts\": %%d, \"non2xx\": %%d}\n",
    latency:percentile(95) / 1000, latency:percentile(50) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout, summary.errors.timeout,
    summary.errors.status))
end
"""


def write_script(values: dict[str, list[str]]) -> Path:
    script = WORK / "mix.lua"
    script.write_text(
        LUA
        % {
            "pools": lua_pools(values),
            "sorts": ", ".join(json.dumps(s) for s in SORTS),
            "db": DB,
            "facets": FACETS,
            "sqls": "\n".join(
                f"sqls[{json.dumps(q.name)}] = "
                f"{json.dumps(urllib.parse.quote_plus(' '.join(q.sql.split())))}"
                for q in QUERIES
            ),
        },
        encoding="utf-8",
    )
    return script


def wrk(
    binary: str, script: Path, url: str, kinds: list[str], *, clients: int, seconds: int
) -> dict[str, float]:
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
            "--",
            *kinds,
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
        "--reuse",
        action="store_true",
        help="reuse the database published by the last run (published again if older than "
        "the precomputed facet counts)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="processes of our instance (codegouv serve --workers), one per core by default",
    )
    args = parser.parse_args()
    binary = ensure_wrk()
    out = WORK / "public"
    if not (args.reuse and (out / "inventory.db").exists()):
        out = build_database(args.repositories)
    elif FACET_COUNTS_TABLE not in sqlite_utils.Database(out / "inventory.db").table_names():
        # A publication made before the precomputed facet counts: publish the same database
        # again (its replication is kept), so that our instance is measured as it now ships.
        from crawler import jobs

        print("the publication predates facet_counts: publishing it again…", flush=True)
        jobs.publish(WORK / "inventory.db", out, site=False)  # Datasette is measured here
    database = out / "inventory.db"
    count = sqlite_utils.Database(database).table("repositories").count
    serve = [sys.executable, "-m", "crawler", "serve", "--out", str(out)]
    ours = f"ours ({args.workers} processes)" if args.workers > 1 else "ours"
    servers = {
        ours: [*serve, "--workers", str(args.workers)],
        f"{ours}, no answer cache": [*serve, "--workers", str(args.workers), "--no-cache"],
        **({"ours, one process": serve} if args.workers > 1 else {}),
        "plain Datasette": [sys.executable, "-m", "datasette", "serve", str(database)],
    }
    script = write_script(pools(database))
    rows: list[str] = []
    mixed: dict[str, dict[str, float]] = {}
    for name, command in servers.items():
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start([*command, "--port", str(port)], url)
        try:
            # Warm the page cache of the OS (each kind once, answers not reused: they vary).
            kinds = [*KINDS, "plain"] if name == "plain Datasette" else list(KINDS)
            wrk(binary, script, url, kinds, clients=1, seconds=2)
            for kind, page in KINDS.items():
                short = max(3, args.seconds // 3)
                only = [kind, "plain"] if name == "plain Datasette" else [kind]
                one = wrk(binary, script, url, only, clients=1, seconds=short)
                rows.append(row(name, page, 1, one, short))
                print(rows[-1], flush=True)
            many = wrk(binary, script, url, kinds, clients=16, seconds=args.seconds)
            mixed[name] = many
            rows.append(row(name, "**mixed workload**", 16, many, args.seconds))
            print(rows[-1], flush=True)
        finally:
            process.terminate()
            process.wait(timeout=60)
    # Plain Datasette may complete no request at all in the run: count it as one, a bound.
    plain = max(mixed["plain Datasette"]["requests"], 1) / args.seconds
    bound = "≥ " if mixed["plain Datasette"]["requests"] == 0 else ""
    ratio = f"{bound}{mixed[ours]['rps'] / plain:.0f}"
    ratio_nocache = f"{bound}{mixed[f'{ours}, no answer cache']['rps'] / plain:.1f}"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    section = (
        f"{count:,} repositories, wrk, {args.seconds} s per mixed run, "
        f"{dt.date.today():%Y-%m-%d}, load average at the end {load}.\n\n"
        "| server | page | clients | p50 | p95 | requests/s | errors |\n"
        "|---|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
        f"Mixed workload, 16 clients: {ours} serves {ratio}× plain Datasette's throughput "
        f"({ratio_nocache}× without the answer cache); plain Datasette completed "
        f"{mixed['plain Datasette']['requests']:.0f} requests in {args.seconds} s.\n"
    )
    write_readme(section)
    print(section)


if __name__ == "__main__":
    main()
