"""Shared by the publishing tests: the demo pipeline crawled once per test session."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``codegouv ARGS`` in a real process."""
    return subprocess.run(
        [*CODEGOUV, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=600
    )


def crawled_demo(factory: pytest.TempPathFactory) -> Path:
    """The database of ``codegouv demo --once`` (local forge crawled, bundled SILL loaded),
    made once per session; copy it before writing (``private_copy``)."""
    db = factory.getbasetemp() / "publish-demo" / "inventory.db"
    if not db.exists():
        db.parent.mkdir(exist_ok=True)
        result = run("demo", "--once", "--db", str(db))
        assert result.returncode == 0, result.stderr
    return db


def private_copy(db: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target
