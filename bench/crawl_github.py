"""Benchmark: a full GitHub crawl of the local forge with latency, as a user runs it.

The local forge runs in its own process (`python -m localforge`), the crawl in another
(`python -m crawler crawl`), so the crawler's peak memory is its own. Figures are written to
bench/README.md between the markers of the "GitHub crawl" section.

    .venv/bin/python bench/crawl_github.py [--scale 25] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlite_utils
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- github-crawl:begin -->", "<!-- github-crawl:end -->"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_forge(port: int, scale: int, latency: float) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "localforge",
        "--port",
        str(port),
        "--scale",
        str(scale),
        "--latency",
        str(latency),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/_localforge/stats", timeout=5)
            return process
        except requests.ConnectionError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the local forge did not start")


def forge_stats(port: int) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = requests.get(
        f"http://127.0.0.1:{port}/_localforge/stats", timeout=10
    ).json()
    return stats


def write_config(path: Path, port: int, scale: int) -> int:
    from localforge import Dataset

    accounts = [a.login for a in Dataset.load(scale=scale).accounts("github.com")]
    document = {
        "github.com": {
            "forge": "github",
            "api_url": f"http://127.0.0.1:{port}/github.com",
            "owners": dict.fromkeys(accounts),
        }
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return len(accounts)


def run(scale: int, latency: float) -> dict[str, object]:
    port = free_port()
    forge = start_forge(port, scale, latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config, db_path = Path(tmp) / "organisations.yml", Path(tmp) / "inventory.db"
            accounts = write_config(config, port, scale)
            before = forge_stats(port).get("github.com", {})
            env = dict(os.environ, GITHUB_TOKEN="bench-token")
            started = time.monotonic()
            crawl = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "crawler",
                    "crawl",
                    "--config",
                    str(config),
                    "--db",
                    str(db_path),
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.monotonic() - started
            # The forge is still running (not reaped): the children's peak is the crawler's.
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            if crawl.returncode != 0:
                raise SystemExit(f"crawl failed ({crawl.returncode}):\n{crawl.stderr[-3000:]}")
            after = forge_stats(port).get("github.com", {})
            db = sqlite_utils.Database(db_path)
            repositories = db.table("repositories").count
            run_row = next(iter(db.query("select * from crawl_runs order by id desc limit 1")))
    finally:
        forge.terminate()
        forge.wait(timeout=30)
    served = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    requests_sent = sum(v for k, v in served.items() if k in ("rest", "graphql"))
    return {
        "scale": scale,
        "latency_ms": int(latency * 1000),
        "accounts": accounts,
        "repositories": repositories,
        "requests": requests_sent,
        "requests_counted_by_crawler": run_row["requests"],
        "requests_per_repository": round(requests_sent / max(repositories, 1), 4),
        "seconds": round(seconds, 1),
        "peak_memory_mb": round(peak_mb),
        "date": time.strftime("%Y-%m-%d"),
    }


def update_readme(results: list[dict[str, object]]) -> None:
    lines = [
        BEGIN,
        "| accounts | repositories | latency | API requests | requests / repository | "
        "wall time | crawler peak memory | date |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['accounts']:,} | {r['repositories']:,} | {r['latency_ms']} ms | "
            f"{r['requests']:,} | {r['requests_per_repository']} | {r['seconds']} s | "
            f"{r['peak_memory_mb']} MB | {r['date']} |"
        )
    lines.append(END)
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    block = "\n".join(lines)
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        default=[1, 25],
        help="replicas of each sample account (1 = the 2021 sample)",
    )
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    results = []
    for scale in args.scale:
        result = run(scale, args.latency)
        print(json.dumps(result))
        results.append(result)
    update_readme(results)


if __name__ == "__main__":
    main()
