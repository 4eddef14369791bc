"""What each command loads: a quick command (``--help``, ``orgs validate``, ``licence``) starts
without the forges' clients, sqlite-utils, the publication, the scheduler or Datasette, and a
GitLab-only crawl without PyGithub (issue 13 §4: every one of the suite's ~55 ``codegouv``
processes, and every user's ``codegouv --help``, paid 0.55 s of CPU for them).

Each command runs in a fresh process, through the real command line, and reports the modules
it ended with; the crawl goes to the local forge over real HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from crawler.config import token_variables
from crawler.db import open_db
from crawler.models import ForgeConfig
from localforge import LocalForge

ROOT = Path(__file__).resolve().parent.parent

#: ``codegouv ARGS`` in this process, then the modules it loaded, written to ``$MODULES_FILE``.
PROBE = """\
import json, os, sys
from crawler.cli import main
status = None
try:
    main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
with open(os.environ["MODULES_FILE"], "w", encoding="utf-8") as out:
    json.dump({"status": status, "modules": sorted(sys.modules)}, out)
"""

#: Libraries no quick command needs (top-level package names).
HEAVY = {"github", "gitlab", "sqlite_utils", "jinja2", "apscheduler", "datasette"}


@dataclass(frozen=True)
class Run:
    status: object
    stdout: str
    stderr: str
    packages: set[str]
    """The top-level packages loaded (``crawler.forges.github`` counts as ``crawler``)."""
    modules: set[str]


def codegouv(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    report = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, **(env or {}), "MODULES_FILE": str(report)},
        check=False,
    )
    assert report.is_file(), result.stderr
    loaded = json.loads(report.read_text(encoding="utf-8"))
    modules = set(loaded["modules"])
    return Run(
        loaded["status"],
        result.stdout,
        result.stderr,
        {m.split(".")[0] for m in modules},
        modules,
    )


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    run = codegouv(tmp_path, "--help")
    assert run.status == 0, run.stderr
    assert "crawl" in run.stdout and "orgs" in run.stdout and "schedule" in run.stdout
    assert not run.packages & (HEAVY | {"requests", "ruamel"})
    # the SILL's loader and the licence detection neither, for the default --source
    assert not {"sill.load", "crawler.licences"} & run.modules


@pytest.mark.parametrize("command", ["crawl", "schedule", "publish", "sill"])
def test_a_command_help_loads_no_heavy_library(tmp_path: Path, command: str) -> None:
    run = codegouv(tmp_path, command, "--help")
    assert run.status == 0, run.stderr
    assert "--db" in run.stdout  # its own options, defaults included
    assert not run.packages & HEAVY


def test_orgs_validate_loads_neither_the_forges_clients_nor_the_database(tmp_path: Path) -> None:
    run = codegouv(tmp_path, "orgs", "validate", "config/organisations.yml")
    assert run.status == 0, run.stderr
    assert "valide" in run.stdout
    assert not run.packages & (HEAVY | {"requests", "ruamel"})


def test_licence_loads_the_detection_only(tmp_path: Path) -> None:
    run = codegouv(tmp_path, "licence", "crawler/licences/data/texts/MIT.en.txt")
    assert run.status == 0, run.stderr
    assert "\tMIT\t" in run.stdout
    assert "crawler.licences.detect" in run.modules
    assert not run.packages & (HEAVY | {"requests"})


def test_a_gitlab_only_crawl_does_not_load_pygithub(tmp_path: Path, localforge: LocalForge) -> None:
    host, login = "gitlab.ow2.org", "lemonldap-ng"
    api_url = localforge.api_url(host)
    config = tmp_path / "organisations.yml"
    config.write_text(
        f"{host}:\n  forge: gitlab\n  api_url: {api_url}\n  owners:\n    {login}:\n",
        encoding="utf-8",
    )
    forge = ForgeConfig(host, "gitlab", api_url)
    tokens = {name: "test-token" for name in token_variables(forge)}
    db_path = tmp_path / "inventory.db"
    run = codegouv(tmp_path, "crawl", "--config", str(config), "--db", str(db_path), env=tokens)
    assert run.status == 0, run.stderr
    repositories = sqlite_utils.Database(db_path)["repositories"].count
    assert repositories == len(localforge.dataset.repositories(host, login)) > 0
    assert {"gitlab", "sqlite_utils", "requests"} <= run.packages  # what the crawl did use
    assert "github" not in run.packages
    assert not run.packages & {"jinja2", "apscheduler", "datasette"}
    assert "crawler.forges.github" not in run.modules
    assert "crawler.publish.build" not in run.modules


def test_a_publication_without_the_site_does_not_load_it(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    open_db(db_path).close()  # an empty inventory: what is published does not matter here
    out = tmp_path / "public"
    run = codegouv(tmp_path, "publish", "--no-site", "--db", str(db_path), "--out", str(out))
    assert run.status == 0, run.stderr
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert build["site"]["asked"] is False and not (out / "site").exists()
    assert (out / "data" / "datapackage.json").is_file()
    assert "crawler.publish.site" not in run.modules
    assert not run.packages & {"jinja2", "github", "gitlab", "apscheduler"}
