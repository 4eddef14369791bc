"""Shared by the Datasette tests: `codegouv serve` started as a real process on a free port (the
published demo they read is tests/_publish_helpers.py's ``demo_publication``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`codegouv ARGS`, as a user runs it."""
    return subprocess.run(
        [*CODEGOUV, *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish(db_path: Path, out_dir: Path, *, site: bool = True) -> None:
    from crawler import jobs

    jobs.publish(db_path, out_dir, site=site)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str


@contextlib.contextmanager
def serving(*args: str, timeout: float = 120.0) -> Iterator[Server]:
    """`codegouv serve ARGS --port N` as a real process; waits until it answers, stops it with
    SIGTERM at the end."""
    port = free_port()
    process = subprocess.Popen(
        [*CODEGOUV, "serve", *args, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if requests.get(f"{url}/-/versions.json", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "codegouv serve never answered"
            time.sleep(0.3)
        yield Server(process, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_kb(pid: int) -> int:
    """Resident memory of a process, in kB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def publications_seen(url: str) -> int:
    """The publications the server at ``url`` serves (rows of publish_runs), asked on a new
    connection each time, so that any of its workers may answer."""
    answer = requests.get(f"{url}/inventory/publish_runs.json?_shape=array", timeout=30)
    answer.raise_for_status()
    return len(answer.json())


@dataclass
class Load:
    """What the clients of ``load`` saw: each answer's status, and the failures (errors and
    non-200 answers)."""

    answers: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@contextlib.contextmanager
def load(
    url: str, paths: list[str], clients: int, *, new_connections: bool = False
) -> Iterator[Load]:
    """``clients`` threads asking for ``paths`` in turn until the block ends, each waiting
    20 ms between two requests (a steady flow through whatever the block does, not the cores
    held); on one kept-alive session each, or on a new connection per request (so that every
    worker of the server gets some)."""
    stop = threading.Event()
    seen = Load()

    def client(offset: int) -> None:
        get = requests.get if new_connections else requests.Session().get
        index = offset
        while not stop.is_set():
            path = paths[index % len(paths)]
            index += 1
            try:
                status = get(f"{url}{path}", timeout=30).status_code
            except requests.RequestException as error:
                seen.failures.append(f"{path}: {error!r}")
                continue
            seen.answers.append(status)
            if status != 200:
                seen.failures.append(f"{path}: HTTP {status}")
            stop.wait(0.02)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
