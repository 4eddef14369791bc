"""What tests/conftest.py and the helper modules share: work done once per test run, whatever
the number of pytest-xdist workers, and kept as files in a directory every worker sees
(pytest-xdist's documented pattern: the base temp's parent, and a file lock so that only one
worker builds)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
#: GitHub (packed small accounts, a paged large one) and two GitLab hosts (groups, subgroups,
#: users): the hosts tests/test_resilience.py crawls, kills and resumes.
KILL_HOSTS = ("github.com", "gricad-gitlab.univ-grenoble-alpes.fr", "plmlab.math.cnrs.fr")
#: A few accounts of each of ``KILL_HOSTS``, with the shapes of the whole: on GitHub a large
#: organisation listed in several pages, a user and small organisations packed into one query;
#: on GitLab groups with subgroups (OSUG, plmteam), small groups and the two hosts' users.
#: About a third of the whole's requests, so that one crawl takes seconds.
KILL_ACCOUNTS = {
    "github.com": ("etalab", "riatelab", "Antique-team", "DGAC", "coq", "plantnet"),
    "gricad-gitlab.univ-grenoble-alpes.fr": ("OSUG", "verimag", "kubernetes-alpes", "marinesj"),
    "plmlab.math.cnrs.fr": ("plmteam", "imt", "plmshift", "david.delavennat"),
}


def shared_base(factory: pytest.TempPathFactory) -> Path:
    """A directory all the workers of this run share (the run's own base temp without xdist)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(shared: Path, name: str, build: Callable[[Path], None]) -> Path:
    """The directory ``shared/name``, filled by ``build`` the first time any worker asks.

    ``build`` writes into an empty directory that is renamed into place only when it returns,
    so a build that fails leaves nothing behind and the next test that asks tries again (and
    reports the same failure).
    """
    done = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not done.is_dir():
            work = shared / f"{name}.building"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            build(work)
            work.rename(done)
    return done


def copy_database(source: Path, target: Path | None = None) -> sqlite_utils.Database:
    """A private copy of the database file ``source``: in memory, or the file ``target``."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(":memory:" if target is None else str(target))
        src.backup(dst)
    finally:
        src.close()
    db = sqlite_utils.Database(dst)
    db.execute("PRAGMA foreign_keys = ON")
    return db


@dataclass(frozen=True)
class DemoRun:
    """``codegouv demo --once`` run once per run: its database and publication (read-only) and
    its output."""

    path: Path
    out: Path
    returncode: int
    stdout: str
    stderr: str


def demo_once(shared: Path) -> DemoRun:
    """``codegouv demo --once``, the whole offline pipeline as a user runs it, once per run in
    ``shared`` (its database and publication there, not in the checkout's data/demo/)."""

    def build(work: Path) -> None:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "crawler", "demo", "--once"),
                *("--db", str(work / "inventory.db"), "--out", str(work / "public")),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            timeout=600,
        )
        output = {"returncode": result.returncode, "stdout": result.stdout}
        output["stderr"] = result.stderr
        (work / "output.json").write_text(json.dumps(output), encoding="utf-8")

    where = built_once(shared, "demo", build)
    output = json.loads((where / "output.json").read_text(encoding="utf-8"))
    return DemoRun(where / "inventory.db", where / "public", **output)
