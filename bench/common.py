"""What the benchmarks share: a local forge in its own process, the crawler in another,
each step of the chain measured in its own child process, and the figures written into a
section of bench/README.md."""

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


@dataclass(frozen=True)
class StepFigures:
    """One command run as a child process: its wall time, its own peak resident memory, its
    exit status and the processor time it used (user + system: what the machine's load does
    not stretch)."""

    seconds: float
    peak_memory_mb: int
    returncode: int
    cpu_seconds: float = 0.0


#: Runs ``python -m crawler ARGS`` and, at exit, writes the process's own peak resident memory
#: (``VmHWM``, kB) and processor time (s) to the file named by ``BENCH_PEAK_FILE``.
#: ``ru_maxrss`` cannot tell the memory: on Linux, exec records the parent's high-water mark
#: in the child's ``maxrss``, so a child started by a benchmark that holds 50,000 repositories
#: would report the benchmark's memory.
_PEAK_WRAPPER = """
import atexit, os, runpy, sys

def _peak():
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    cpu = sum(os.times()[:2])
    with open(os.environ["BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
        out.write(f"{kb} {cpu:.1f}")

atexit.register(_peak)
sys.argv = ["codegouv", *sys.argv[1:]]
runpy.run_module("crawler", run_name="__main__", alter_sys=True)
"""


def run_step(command: list[str], env: dict[str, str], log_path: Path) -> StepFigures:
    """Run ``codegouv COMMAND…`` (``python -m crawler``) in ``ROOT`` as a child process, its
    output appended to ``log_path``; its peak memory is its own (``VmHWM`` at exit)."""
    peak_file = log_path.with_suffix(".peak")
    peak_file.unlink(missing_ok=True)
    with log_path.open("ab") as log:
        log.write(f"$ codegouv {' '.join(command)}\n".encode())
        log.flush()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_WRAPPER, *command],
            cwd=ROOT,
            env={**os.environ, **env, "BENCH_PEAK_FILE": str(peak_file)},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
        seconds = time.monotonic() - started
    peak_kb, cpu = peak_file.read_text(encoding="ascii").split() if peak_file.exists() else [0, 0]
    return StepFigures(round(seconds, 1), round(int(peak_kb) / 1024), result.returncode, float(cpu))


def load_average() -> str:
    """The 1, 5 and 15 minutes load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def update_readme(section: str, lines: list[str]) -> None:
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = "\n".join([begin, *lines, end])
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    README.write_text(text, encoding="utf-8")
