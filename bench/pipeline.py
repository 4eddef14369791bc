"""Benchmark of the whole chain: crawl → SILL → publish on ~50,000 repositories of GitHub and
GitLab together, with latency; a first run, then the daily run after a day of upstream changes.

The local forge serves the 2021 sample scaled up (each GitHub account and each GitLab
top-level namespace replicated, so the sample's distributions hold: repositories per account,
licences, languages, GitHub/GitLab shares), configured like the real accounts list (whole
public-sector GitLab instances, accounts elsewhere). Each step runs as ``codegouv STEP`` in its
own child process, timed, its peak memory its own. Between the two runs, ``--changed`` of the
repositories change upstream (:func:`localforge.mutate.mutate`): pushed to, new, deleted,
licence file replaced. Figures go to the "Chaîne complète" section of bench/README.md, and the
details to ``--out`` (JSON).

    .venv/bin/python bench/pipeline.py [--scale 22] [--gitlab-scale 2] [--latency 0.1]
        [--changed 0.02]

The default scales give the DESIGN.md benchmark's 2,500 accounts and 50,000 repositories: the
sample holds 82 GitHub accounts (2,105 repositories) and 536 GitLab namespaces (2,606 public
projects); 22 and 2 replicas make 2,876 accounts and 51,522 repositories.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import StepFigures, load_average, run_step, update_readme

from crawler.config import load_config, token_variables
from crawler.demo import shaped_like_real
from localforge import Dataset, LocalForge
from localforge.mutate import Mutation, mutate

log = logging.getLogger("bench.pipeline")

#: At most this many requests in flight per forge host (DESIGN.md's politeness bar).
PER_HOST = 4
BARS = {"first_crawl_s": 300, "daily_run_s": 90, "crawler_mb": 300}


def run_chain(workdir: Path, config: Path, env: dict[str, str], label: str) -> dict[str, Any]:
    """crawl, sill (the bundled export), publish: each step's figures and the build's stages."""
    db, out = workdir / "inventory.db", workdir / "public"
    logfile = workdir / f"{label}.log"
    steps: dict[str, StepFigures] = {}
    steps["crawl"] = run_step(["crawl", "--config", str(config), "--db", str(db)], env, logfile)
    if steps["crawl"].returncode not in (0, 1):  # 1: some accounts failed, the rest saved
        raise SystemExit(f"{label}: crawl failed, see {logfile}")
    steps["sill"] = run_step(["sill", "--source", "bundled", "--db", str(db)], env, logfile)
    steps["publish"] = run_step(["publish", "--db", str(db), "--out", str(out)], env, logfile)
    for name, figures in steps.items():
        if figures.returncode not in (0, 1) or (name != "crawl" and figures.returncode):
            raise SystemExit(f"{label}: {name} failed ({figures.returncode}), see {logfile}")
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    return {
        "steps": {name: asdict(f) for name, f in steps.items()},
        "total_s": round(sum(f.seconds for f in steps.values()), 1),
        "publish_stages": build.get("durations", {}),
        "crawl": crawl_figures(db),
    }


def crawl_figures(db_path: Path) -> dict[str, Any]:
    """The last crawl run as the crawler recorded it: requests per host (crawl_runs.forges) and
    per forge kind, against the repositories seen of that kind."""
    db = sqlite_utils.Database(db_path)
    try:
        run = next(db.query("select * from crawl_runs order by id desc limit 1"))
        kinds = {r["host"]: r["kind"] for r in db.query("select host, kind from forges")}
        forges = json.loads(run["forges"] or "[]")
        repos: Counter[str] = Counter()
        for r in db.query(
            "select forge, count(*) as n from repositories where removed_at is null group by forge"
        ):
            repos[kinds.get(r["forge"], "?")] += r["n"]
        requests: Counter[str] = Counter()
        busiest = {"host": "", "requests": 0}
        for forge in forges:
            requests[kinds.get(forge["host"], "?")] += forge["requests"]
            if forge["requests"] > busiest["requests"]:
                busiest = {"host": forge["host"], "requests": forge["requests"]}
        return {
            "run_id": run["id"],
            "status": run["status"],
            "accounts_ok": run["accounts_ok"],
            "accounts_failed": run["accounts_failed"],
            "repositories_seen": run["repositories_seen"],
            "repositories_new": run["repositories_new"],
            "repositories_removed": run["repositories_removed"],
            "requests": run["requests"],
            "per_kind": {
                kind: {
                    "requests": requests[kind],
                    "repositories": repos[kind],
                    "per_repository": round(requests[kind] / max(repos[kind], 1), 4),
                }
                for kind in sorted(repos)
            },
            "busiest_host": busiest,
            "errors": db.execute(
                "select count(*) from crawl_errors where run_id = ?", [run["id"]]
            ).fetchone()[0],
        }
    finally:
        db.close()


def changes_seen(db_path: Path, mutation: Mutation, now: dt.datetime) -> dict[str, str]:
    """How many of the upstream changes the daily run's database shows."""
    db = sqlite_utils.Database(db_path)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def row(rid: str) -> dict[str, Any] | None:
        return next(db.query("select * from repositories where id = ?", [rid]), None)

    try:
        pushed = sum(1 for rid in mutation.pushed if (r := row(rid)) and r["pushed_at"] == stamp)
        added = sum(1 for rid in mutation.added if (r := row(rid)) and r["removed_at"] is None)
        removed = sum(1 for rid in mutation.removed if (r := row(rid)) and r["removed_at"])
        licence = sum(
            1
            for rid, (_, new) in mutation.licence_changed.items()
            if (r := row(rid)) and (r["licence"] or "").startswith(new)
        )
    finally:
        db.close()
    return {
        "pushed": f"{pushed}/{len(mutation.pushed)}",
        "added": f"{added}/{len(mutation.added)}",
        "removed": f"{removed}/{len(mutation.removed)}",
        "licence_changed": f"{licence}/{len(mutation.licence_changed)}",
    }


def run(
    scale: int, gitlab_scale: int, latency: float, changed: float, workdir: Path
) -> dict[str, Any]:
    started = time.monotonic()
    dataset = Dataset.load(scale=scale, gitlab_scale=gitlab_scale)
    hosts = dataset.hosts()
    repositories = {
        h: sum(1 for r in dataset.all_repositories(h) if r.visibility == "public") for h in hosts
    }
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "scale": scale,
        "gitlab_scale": gitlab_scale,
        "latency_ms": round(latency * 1000),
        "hosts": len(hosts),
        "public_repositories": sum(repositories.values()),
        "by_kind": {
            kind: sum(n for h, n in repositories.items() if dataset.kind(h) == kind)
            for kind in sorted({dataset.kind(h) for h in hosts})
        },
        "load_average_start": load_average(),
    }
    forge = LocalForge(dataset, latency=latency).start()
    try:
        document = shaped_like_real(dataset, forge.api_url)
        result["accounts"] = sum(
            len(entry["owners"]) if "owners" in entry else len(dataset.accounts(host))
            for host, entry in document.items()
        )
        result["whole_instances"] = sorted(h for h, e in document.items() if "owners" not in e)
        config = workdir / "organisations.yml"
        config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        env = {v: "bench-token" for f in load_config(config).forges for v in token_variables(f)}
        log.info(
            "%d accounts, %d public repositories, setup %.0f s; first run",
            result["accounts"],
            result["public_repositories"],
            time.monotonic() - started,
        )
        before = forge.stats
        result["first"] = run_chain(workdir, config, env, "first")
        result["first"]["forge_requests"] = _sent(forge.stats, before, dataset)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        mutation = mutate(dataset, changed, now=now, seed=1)
        result["mutation"] = {
            "share": changed,
            "pushed": len(mutation.pushed),
            "licence_changed": len(mutation.licence_changed),
            "added": len(mutation.added),
            "removed": len(mutation.removed),
        }
        log.info("first run done; %d repositories changed upstream; daily run", mutation.total)
        before = forge.stats
        result["daily"] = run_chain(workdir, config, env, "daily")
        result["daily"]["forge_requests"] = _sent(forge.stats, before, dataset)
        result["daily"]["changes_seen"] = changes_seen(workdir / "inventory.db", mutation, now)
    finally:
        forge.stop()
    result["load_average_end"] = load_average()
    busiest = result["first"]["crawl"]["busiest_host"]
    result["first"]["politeness_floor_s"] = round(busiest["requests"] * latency / PER_HOST, 1)
    return result


def _sent(
    after: dict[str, dict[str, int]], before: dict[str, dict[str, int]], dataset: Dataset
) -> dict[str, int]:
    """Requests the forge received per forge kind between two reads of its counters."""
    sent: Counter[str] = Counter()
    for host, counts in after.items():
        old = before.get(host, {})
        sent[dataset.kind(host)] += sum(
            counts.get(k, 0) - old.get(k, 0) for k in ("rest", "graphql")
        )
    return dict(sent)


def _n(number: int) -> str:
    """A whole number written the French way (``51 522``)."""
    return f"{number:,}".replace(",", "\u202f")


def readme_lines(r: dict[str, Any]) -> list[str]:
    first, daily = r["first"], r["daily"]

    def verdict(ok: bool) -> str:
        return "tenu" if ok else "**manqué**"

    first_crawl = first["steps"]["crawl"]["seconds"]
    crawl_mb = max(run["steps"]["crawl"]["peak_memory_mb"] for run in (first, daily))
    lines = [
        f"Mesuré le {r['date']} : {_n(r['accounts'])} comptes ({len(r['whole_instances'])} "
        f"instances GitLab parcourues en entier), {r['hosts']} hôtes, "
        f"{_n(r['public_repositories'])} dépôts publics ("
        + ", ".join(f"{k} {_n(n)}" for k, n in r["by_kind"].items())
        + f"), latence {r['latency_ms']} ms, échelle {r['scale']} (GitLab {r['gitlab_scale']}). "
        f"Charge de la machine (load average 1/5/15 min) : {r['load_average_start']} au début, "
        f"{r['load_average_end']} à la fin.",
        "",
        "| exécution | étape | durée | temps processeur | mémoire max | statut |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, run in (("première", first), ("quotidienne", daily)):
        for step, f in run["steps"].items():
            lines.append(
                f"| {label} | {step} | {f['seconds']} s | {f['cpu_seconds']} s "
                f"| {f['peak_memory_mb']} MB | {f['returncode']} |"
            )
        lines.append(f"| {label} | **total** | **{run['total_s']} s** | | | |")
    lines += [
        "",
        "Étapes de la publication (build.json, secondes) : première "
        + ", ".join(f"{k} {v}" for k, v in first["publish_stages"].items())
        + " ; quotidienne "
        + ", ".join(f"{k} {v}" for k, v in daily["publish_stages"].items())
        + ".",
        "",
        "| exécution | forge | requêtes | dépôts | requêtes / dépôt |",
        "|---|---|---:|---:|---:|",
    ]
    for label, run in (("première", first), ("quotidienne", daily)):
        for kind, k in run["crawl"]["per_kind"].items():
            lines.append(
                f"| {label} | {kind} | {_n(k['requests'])} | {_n(k['repositories'])} "
                f"| {k['per_repository']:.4f} |"
            )
    m = r["mutation"]
    lines += [
        "",
        f"Changements en amont entre les deux exécutions ({m['share']:.0%} des dépôts) : "
        f"{m['pushed']} poussés, {m['licence_changed']} fichiers de licence remplacés, "
        f"{m['added']} nouveaux, {m['removed']} supprimés ; vus par l'exécution quotidienne : "
        + ", ".join(f"{k} {v}" for k, v in daily["changes_seen"].items())
        + ".",
        "",
        f"- premier parcours ≤ {BARS['first_crawl_s']} s : {first_crawl} s, "
        f"{verdict(first_crawl <= BARS['first_crawl_s'])} ;",
        f"- exécution quotidienne ≤ {BARS['daily_run_s']} s : {daily['total_s']} s, "
        f"{verdict(daily['total_s'] <= BARS['daily_run_s'])} ;",
        f"- mémoire du crawler ≤ {BARS['crawler_mb']} MB : {crawl_mb} MB, "
        f"{verdict(crawl_mb <= BARS['crawler_mb'])}.",
        "",
        f"Plancher imposé par la politesse : l'hôte le plus sollicité "
        f"({first['crawl']['busiest_host']['host']}, "
        f"{_n(first['crawl']['busiest_host']['requests'])} requêtes au premier parcours) ne reçoit "
        f"que {PER_HOST} requêtes à la fois, soit au moins {first['politeness_floor_s']} s à "
        f"{r['latency_ms']} ms par requête, quel que soit le reste.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale", type=int, default=22, help="replicas of each GitHub account of the sample"
    )
    parser.add_argument(
        "--gitlab-scale",
        type=int,
        default=2,
        help="replicas of each GitLab top-level namespace of the sample",
    )
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--changed", type=float, default=0.02, help="share changed upstream")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="work (and keep the files) in this empty folder"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the figures (JSON) here")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md as is")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.workdir:  # kept, with the steps' logs
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.scale, args.gitlab_scale, args.latency, args.changed, args.workdir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args.scale, args.gitlab_scale, args.latency, args.changed, Path(tmp))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    if not args.no_readme:
        update_readme("pipeline", readme_lines(result))


if __name__ == "__main__":
    main()
