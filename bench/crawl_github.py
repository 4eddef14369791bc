"""Benchmark: a full GitHub crawl of the local forge with latency, as a user runs it.

The local forge runs in its own process (`python -m localforge`), the crawl in another
(`python -m crawler crawl`), so the crawler's peak memory is its own. Figures are written to
bench/README.md between the markers of the "GitHub crawl" section.

    .venv/bin/python bench/crawl_github.py [--scale 1 25] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import crawl, free_port, start_forge, update_readme

from localforge import Dataset


def run(scale: int, latency: float) -> dict[str, object]:
    port = free_port()
    forge = start_forge(
        port, "--scale", str(scale), "--gitlab-scale", "1", "--latency", str(latency)
    )
    try:
        accounts = [a.login for a in Dataset.load(scale=scale).accounts("github.com")]
        document = {
            "github.com": {
                "forge": "github",
                "api_url": f"http://127.0.0.1:{port}/github.com",
                "owners": dict.fromkeys(accounts),
            }
        }
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "organisations.yml"
            config.write_text(yaml.safe_dump(document), encoding="utf-8")
            env = {"GITHUB_TOKEN": "bench-token"}
            db = Path(tmp) / "inventory.db"
            first = crawl(config, db, port, env)
            second = crawl(config, db, port, env)
    finally:
        forge.terminate()
        forge.wait(timeout=30)
    return {
        "accounts": len(accounts),
        "latency_ms": int(latency * 1000),
        "first": first.__dict__,
        "recrawl": second.__dict__,
        "date": time.strftime("%Y-%m-%d"),
    }


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
    lines = [
        "| accounts | repositories | latency | crawl | API requests | requests / repository "
        "| wall time | crawler peak memory | date |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for scale in args.scale:
        result = run(scale, args.latency)
        print(json.dumps(result))
        for label in ("first", "recrawl"):
            f = result[label]
            assert isinstance(f, dict)
            lines.append(
                f"| {result['accounts']:,} | {f['repositories']:,} | {result['latency_ms']} ms "
                f"| {'first' if label == 'first' else 're-crawl, nothing changed'} "
                f"| {f['requests']:,} | {f['requests'] / max(f['repositories'], 1):.4f} "
                f"| {f['seconds']} s | {f['peak_memory_mb']} MB | {result['date']} |"
            )
    update_readme("github-crawl", lines)


if __name__ == "__main__":
    main()
