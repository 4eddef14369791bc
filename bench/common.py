"""What the crawl benchmarks share: a local forge in its own process, the crawler in another,
and the figures written into a section of bench/README.md."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_forge(port: int, *options: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "localforge", "--port", str(port), *options]
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


def forge_requests(port: int, hosts: list[str] | None = None) -> int:
    stats: dict[str, dict[str, int]] = requests.get(
        f"http://127.0.0.1:{port}/_localforge/stats", timeout=10
    ).json()
    return sum(
        counts.get("rest", 0) + counts.get("graphql", 0)
        for host, counts in stats.items()
        if hosts is None or host in hosts
    )


@dataclass(frozen=True)
class CrawlFigures:
    seconds: float
    requests: int
    repositories: int
    peak_memory_mb: int


def crawl(config: Path, db_path: Path, port: int, env: dict[str, str]) -> CrawlFigures:
    """Run `codegouv crawl` as a child process; the forge must still be running (not reaped),
    so that the children's peak resident memory is the crawler's."""
    before = forge_requests(port)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config), "--db", str(db_path)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    db = sqlite_utils.Database(db_path)
    count = db.execute("select count(*) from repositories where removed_at is null").fetchone()[0]
    db.close()
    return CrawlFigures(round(seconds, 1), forge_requests(port) - before, count, round(peak))


def update_readme(section: str, lines: list[str]) -> None:
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = "\n".join([begin, *lines, end])
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    README.write_text(text, encoding="utf-8")
