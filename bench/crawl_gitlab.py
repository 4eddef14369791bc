"""Benchmark: GitLab crawls of the local forge with latency — a first crawl, then a re-crawl
where nothing changed — shaped like the real accounts list (whole public-sector instances,
and groups on the shared forges).

    .venv/bin/python bench/crawl_gitlab.py [--gitlab-scale 8] [--latency 0.1]
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

from crawler.config import load_config, token_variables
from crawler.demo import shaped_like_real
from localforge import Dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gitlab-scale", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    port = free_port()
    forge = start_forge(
        port,
        "--scale",
        "1",
        "--gitlab-scale",
        str(args.gitlab_scale),
        "--latency",
        str(args.latency),
    )
    try:
        dataset = Dataset.load(scale=1, gitlab_scale=args.gitlab_scale)
        hosts = [h for h in dataset.hosts() if dataset.kind(h) == "gitlab"]
        document = shaped_like_real(dataset, lambda host: f"http://127.0.0.1:{port}/{host}/api/v4")
        document = {h: document[h] for h in hosts}
        whole = sum(1 for entry in document.values() if "owners" not in entry)
        groups = sum(len(entry.get("owners") or {}) for entry in document.values())
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "organisations.yml"
            config.write_text(yaml.safe_dump(document), encoding="utf-8")
            env = {v: "bench" for f in load_config(config).forges for v in token_variables(f)}
            db = Path(tmp) / "inventory.db"
            first = crawl(config, db, port, env)
            second = crawl(config, db, port, env)
    finally:
        forge.terminate()
        forge.wait(timeout=30)
    result = {
        "hosts": len(hosts),
        "whole_instances": whole,
        "groups_and_users": groups,
        "first": first.__dict__,
        "recrawl": second.__dict__,
    }
    print(json.dumps(result))
    per = first.repositories or 1
    update_readme(
        "gitlab-crawl",
        [
            f"{len(hosts)} GitLab hosts ({whole} crawled as whole instances, {groups} groups and "
            f"users on the others), {first.repositories:,} public projects, "
            f"{int(args.latency * 1000)} ms latency, {time.strftime('%Y-%m-%d')}:",
            "",
            "| crawl | API requests | requests / project | wall time | crawler peak memory |",
            "|---|---:|---:|---:|---:|",
            f"| first | {first.requests:,} | {first.requests / per:.3f} | {first.seconds} s | "
            f"{first.peak_memory_mb} MB |",
            f"| re-crawl, nothing changed | {second.requests:,} | {second.requests / per:.4f} | "
            f"{second.seconds} s | {second.peak_memory_mb} MB |",
        ],
    )


if __name__ == "__main__":
    main()
