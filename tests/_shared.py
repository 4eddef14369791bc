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
import sysconfig
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


#: What a checkout holds beside its source: never part of an install, and hundreds of MB to copy
#: (node_modules, the demo's publication in data/demo/).
NOT_SOURCE = {".venv", ".git", "build", "public", "node_modules", "data", ".mypy_cache"}
NOT_SOURCE |= {".ruff_cache", ".pytest_cache"}
#: A template in a nested folder of site/, added to the installed copy only: package data must
#: reach an install whatever its depth (tests/test_publish.py checks it is there).
PROBE = Path("site", "templates", "pages", "probe.html")


def not_source(folder: str, names: list[str]) -> set[str]:
    """``shutil.copytree``'s ``ignore``: the checkout's top-level folders above, and anywhere
    the build's leftovers (``data/`` of a package, e.g. localforge/data, is source)."""
    ignored = NOT_SOURCE & set(names) if Path(folder) == ROOT else set()
    leftovers = shutil.ignore_patterns("*.egg-info", "*.db", "*.db-*", "__pycache__")
    return ignored | leftovers(folder, names)


@dataclass(frozen=True)
class PlainInstall:
    """``pip install .`` (not ``-e``) of a copy of the source into a fresh venv."""

    venv: Path
    purelib: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def codegouv(self) -> Path:
        return self.venv / "bin" / "codegouv"


def plain_install(shared: Path) -> PlainInstall:
    """The product as a user installs it, once per run: a copy of the source (with ``PROBE``)
    installed into a fresh venv whose dependencies are this venv's. The venv lives beside the
    ``built_once`` folder, not in it: its scripts name their interpreter by absolute path."""
    venv = shared / "plain-install-venv"

    def build(work: Path) -> None:
        source = work / "src"
        shutil.copytree(ROOT, source, ignore=not_source)
        nested = source / PROBE
        nested.parent.mkdir(parents=True)
        nested.write_text("<p>{{ probe }}</p>\n", encoding="utf-8")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        purelib = subprocess.run(
            [
                venv / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # The dependencies come from the current venv's site-packages, read as a plain path
        # entry (its .pth files, the editable install among them, are not processed from there).
        Path(purelib, "codegouv-deps.pth").write_text(
            sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
        )
        install = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")),
                # The backend is this venv's setuptools (a dev dependency): no isolated build
                # environment fetched from the index at every run (2 s of CPU, 3 s of wall).
                *("install", "-q", "--no-deps", "--no-build-isolation", str(source)),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if install.returncode != 0:
            raise RuntimeError(f"pip install . failed: {install.stderr}")
        (work / "purelib").write_text(purelib, encoding="utf-8")

    where = built_once(shared, "plain-install", build)
    return PlainInstall(venv, Path((where / "purelib").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class DemoRun:
    """``codegouv demo --once`` run once per run: its database and publication (read-only),
    its output, and the folder it ran in."""

    path: Path
    out: Path
    returncode: int
    stdout: str
    stderr: str
    cwd: Path


def demo_once(shared: Path) -> DemoRun:
    """``codegouv demo --once``, the whole offline pipeline as a user runs it, once per run in
    ``shared`` (its database and publication there, not in the checkout's data/demo/).

    It is the plain install's ``codegouv`` (``plain_install``), run in a folder of its own: the
    one demo of the run shows that an installed product crawls, publishes and renders its site
    from its package data, and the tests that read the demo read the product a user gets. The
    DSFR comes from the checkout's node_modules through ``CODEGOUV_NODE_MODULES``, as an
    installed product's users give it.
    """
    install = plain_install(shared)

    def build(work: Path) -> None:
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        result = subprocess.run(
            [
                str(install.codegouv), *("demo", "--once"),
                *("--db", str(work / "inventory.db"), "--out", str(work / "public")),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=elsewhere,
            env={**os.environ, "CODEGOUV_NODE_MODULES": str(ROOT / "node_modules")},
            timeout=600,
        )  # fmt: skip
        output = {"returncode": result.returncode, "stdout": result.stdout}
        output["stderr"] = result.stderr
        (work / "output.json").write_text(json.dumps(output), encoding="utf-8")

    where = built_once(shared, "demo", build)
    output = json.loads((where / "output.json").read_text(encoding="utf-8"))
    return DemoRun(where / "inventory.db", where / "public", **output, cwd=where / "elsewhere")
