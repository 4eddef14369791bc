"""In-process timings of the public Datasette instance: the page kinds of
``bench/datasette_load.py``, with the same random parameters (a fixed seed, so that two runs
ask the same URLs), sent to ``crawler.serve.InventoryApp`` through httpx's ASGI transport:
no socket, no load generator, no answer cache. Each request's wall time and the process's
CPU time (every thread: SQLite runs in Datasette's pool) are kept; the medians of many
requests are steadier than wrk's tails on a loaded machine.

    python bench/datasette_inprocess.py [--out bench/work/datasette/public] [--requests 60]
        [--kind table] [--profile table] [--threads 4]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasette_load import FACETS, KINDS, SORTS, WORK, pools  # noqa: E402

DB = "/inventory"
FILTERS = ("licence", "language", "forge", "ministry", "owner", "activity")
CANNED = (
    "depots_sans_licence_par_ministere",
    "licences_utilisees",
    "organisations_depots_archives_ou_dormants",
    "part_licences_libres_par_ministere",
)


class Urls:
    """The Lua builders of bench/datasette_load.py, in Python."""

    def __init__(self, values: dict[str, list[str]], seed: int) -> None:
        self.values = values
        self.random = random.Random(seed)

    def pick(self, items: list[str] | tuple[str, ...]) -> str:
        return items[self.random.randrange(len(items))]

    def filter(self) -> str:
        name = self.pick(FILTERS)
        return f"{name}={self.pick(self.values[name])}"

    def table(self) -> str:
        path = f"{DB}/repositories?{FACETS}"
        r = self.random.randint(1, 4)
        if r <= 2:
            path += "&" + self.filter()
        if r in (2, 3):
            path += "&_sort_desc=" + self.pick(SORTS)
        return path

    def search(self) -> str:
        path = f"{DB}/repositories?_search={self.pick(self.values['words'])}"
        if self.random.randint(1, 3) == 1:
            path += "&" + self.filter()
        return path

    def search2(self) -> str:
        words = self.values["words"]
        return f"{DB}/repositories.json?_search={self.pick(words)}+{self.pick(words)}"

    def json(self) -> str:
        path = f"{DB}/repositories.json?{self.filter()}&_sort_desc={self.pick(SORTS)}"
        if self.random.randint(1, 2) == 1:
            path += "&" + self.filter()
        return path + "&_size=" + self.pick(("20", "50", "100"))

    def canned(self) -> str:
        r = self.random.randint(1, 6)
        if r == 1:
            return f"{DB}/langages_par_ministere?ministere={self.pick(self.values['ministry'])}"
        if r == 2:
            return f"{DB}/rapport_qualite_organisation?owner={self.pick(self.values['owner'])}"
        if r == 3:
            return f"{DB}/nouveaux_depots_du_mois?mois={self.pick(self.values['month'])}"
        if r == 4:
            day = self.pick(self.values["day"])
            return f"{DB}/depots_actifs_90_jours?date_reference={day}"
        return f"{DB}/{self.pick(CANNED)}"

    def of(self, kind: str) -> str:
        return str(getattr(self, kind)())


async def measure(
    out: Path,
    kinds: list[str],
    *,
    count: int,
    seed: int,
    profile: str | None,
    threads: int | None,
) -> None:
    from crawler import serve

    app = serve.InventoryApp(out, cache=False)
    if threads:
        original = app.load

        def load() -> serve.Published:
            loaded = original()
            settings = {**loaded.settings, "num_sql_threads": threads}
            return dataclasses.replace(loaded, settings=settings)

        app.load = load  # type: ignore[method-assign]
    await app.start()
    values = pools(out / "inventory.db")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for kind in kinds:
            urls = Urls(values, seed)
            # Warm-up: the OS's page cache and Datasette's own first-use work.
            for _ in range(5):
                await client.get(urls.of(kind))
            urls = Urls(values, seed + 1)
            walls: list[float] = []
            cpus: list[float] = []
            profiler = cProfile.Profile() if profile == kind else None
            slowest: list[tuple[float, str]] = []
            for _ in range(count):
                url = urls.of(kind)
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                answer = await client.get(url)
                if profiler:
                    profiler.disable()
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                slowest.append((walls[-1], url))
                if answer.status_code != 200:
                    print(f"  {answer.status_code} {url}", flush=True)
            walls.sort()
            p95 = walls[min(len(walls) - 1, int(len(walls) * 0.95))]
            print(
                f"{KINDS[kind]:<40} wall median {statistics.median(walls):6.1f} ms "
                f"p95 {p95:6.1f} ms, CPU median {statistics.median(cpus):6.1f} ms "
                f"({count} requests)",
                flush=True,
            )
            for ms, url in sorted(slowest, reverse=True)[:3]:
                print(f"    {ms:6.1f} ms {url}")
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=WORK / "public")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--kind", action="append", choices=list(KINDS))
    parser.add_argument("--profile", choices=list(KINDS))
    parser.add_argument("--threads", type=int, help="num_sql_threads instead of the setting")
    args = parser.parse_args()
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    asyncio.run(
        measure(
            args.out,
            args.kind or list(KINDS),
            count=args.requests,
            seed=args.seed,
            profile=args.profile,
            threads=args.threads,
        )
    )


if __name__ == "__main__":
    main()
