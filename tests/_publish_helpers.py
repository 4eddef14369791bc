"""Shared by the publishing tests: the demo pipeline crawled once per test run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from _shared import DemoRun

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``codegouv ARGS`` in a real process."""
    return subprocess.run(
        [*CODEGOUV, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=600
    )


def crawled_demo(demo: DemoRun) -> Path:
    """The database of ``codegouv demo --once`` (local forge crawled, bundled SILL loaded,
    published once): tests/conftest.py's ``demo_run``, made once per test run for every
    worker; copy it before writing (``private_copy``)."""
    assert demo.returncode == 0, demo.stderr
    return demo.path


def demo_publication(demo: DemoRun) -> Path:
    """The folder ``codegouv demo --once`` published (``demo_run``), read-only."""
    assert demo.returncode == 0, demo.stderr
    assert (demo.out / "build.json").is_file(), demo.stdout
    return demo.out


def private_copy(db: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target
