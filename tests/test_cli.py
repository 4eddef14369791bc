"""The command line as a user runs it: real processes, a real Datasette."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import requests
import sqlite_utils
from click.testing import CliRunner

from crawler.cli import main

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]


def run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CODEGOUV, *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=600, **kw
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_once_crawls_every_repository_of_the_local_forge(demo_db):
    # demo_db (tests/conftest.py): `codegouv demo --once` run once per test run, exit 0
    from localforge import Dataset

    dataset = Dataset.load()
    expected = sum(
        1
        for host in dataset.hosts()
        for r in dataset.all_repositories(host)
        if r.visibility == "public"
    )
    db = sqlite_utils.Database(demo_db)
    count = db.table("repositories").count
    assert count == expected
    assert (
        db.execute("select count(*) from repositories where forge = 'github.com'").fetchone()[0]
        > 2000
    )
    assert db.execute("select count(*) from repositories where licence is null").fetchone()[0] == 0
    assert (
        db.execute("select count(*) from repositories where created_at is null").fetchone()[0] == 0
    )
    assert (
        db.execute("select count(*) from repositories where has_readme is null").fetchone()[0] == 0
    )
    run_row = next(iter(db.query("select * from crawl_runs order by id desc limit 1")))
    assert run_row["status"] == "ok" and run_row["repositories_seen"] == count
    assert db.table("sill_repositories").count > 0
    assert db.execute("select count(*) from repositories where activity is null").fetchone()[0] == 0
    activities = {r["activity"] for r in db.query("select distinct activity from repositories")}
    assert activities <= {"active", "dormant", "inactive", "archived"} and "archived" in activities
    # accounts of the real list carry their pso_id, and so their ministry when it is one
    assert db.execute("select count(*) from owners where pso_id is not null").fetchone()[0] > 50


def test_bad_config_exits_2_with_line_numbers_and_writes_nothing(tmp_path):
    config = tmp_path / "organisations.yml"
    config.write_text("github.com:\n  forge: gitlub\n  owners:\n    a:\n    a:\n", encoding="utf-8")
    db = tmp_path / "out.db"
    result = run("crawl", "--config", str(config), "--db", str(db))
    assert result.returncode == 2
    assert f"{config}:2:" in result.stderr.replace("\n", "")
    assert f"{config}:5:" in result.stderr.replace("\n", "")
    assert not db.exists()


def test_orgs_validate_accepts_the_real_accounts_list():
    result = run("orgs", "validate")
    assert result.returncode == 0, result.stderr
    assert "valide" in result.stdout


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command line of ``group``, subcommands included: ``()``, ``("crawl",)``, …"""
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_has_help():
    # One real process: `python -m crawler` starts and answers --help...
    result = run("--help")
    assert result.returncode == 0 and "Usage" in result.stdout
    assert "demo" in result.stdout and "crawl" in result.stdout
    # ... and every command and subcommand answers it too, in this process (starting a Python
    # per command would cost a second each and test nothing more).
    lines = list(commands(main))
    assert {("crawl",), ("serve",), ("demo",), ("orgs",), ("orgs", "validate")} <= set(lines)
    for line in lines:
        result = CliRunner().invoke(main, [*line, "--help"])
        assert result.exit_code == 0, (line, result.output)
        assert result.output.startswith("Usage: "), (line, result.output)


def test_serve_answers_with_a_real_datasette(demo_db):
    port = free_port()
    process = subprocess.Popen(
        [*CODEGOUV, "serve", "--db", str(demo_db), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/-/versions.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "Datasette never answered"
            time.sleep(0.3)
        rows = requests.get(
            f"{base}/inventory/repositories.json",
            params={"_shape": "array", "owner": "github.com/etalab", "_size": "max"},
            timeout=10,
        ).json()
        assert len(rows) > 200 and all(r["forge"] == "github.com" for r in rows)
        search = requests.get(
            f"{base}/inventory/repositories.json",
            params={"_search": "etalab", "_shape": "array"},
            timeout=10,
        )
        assert search.ok and search.json()
        meta = requests.get(f"{base}/-/metadata.json", timeout=10).json()
        columns = meta["databases"]["inventory"]["tables"]["repositories"]["columns"]
        assert "SPDX" in columns["licence"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sill_command_loads_the_bundled_copy_and_refuses_a_bogus_file(tmp_path):
    db = tmp_path / "inventory.db"
    result = run("sill", "--source", "bundled", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "240 logiciels" in result.stdout
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": "world"}', encoding="utf-8")
    result = run("sill", "--source", str(bogus), "--db", str(db))
    assert result.returncode == 2 and "bogus.json" in result.stderr
    assert sqlite_utils.Database(db).table("sill_software").count == 240


def test_licence_command_names_each_file_licence():
    fixtures = ROOT / "tests" / "fixtures" / "licences"
    result = run(
        "licence",
        "--json",
        str(fixtures / "LICENSE.cecill-b-fr-crlf"),
        str(fixtures / "LICENSE.lorem"),
        str(fixtures / "LICENSE.copyright-only"),
    )
    assert result.returncode == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["licence"] for f in found] == ["CECILL-B", "NOASSERTION", "NONE"]
    assert found[0]["confidence"] >= 0.95 and found[0]["path"].endswith("cecill-b-fr-crlf")


def test_publiccode_command_reports_errors_with_key_paths():
    fixtures = ROOT / "tests" / "fixtures" / "publiccode"
    result = run(
        "publiccode", "--json", str(fixtures / "valid-0.4.yml"), str(fixtures / "invalid.yml")
    )
    assert result.returncode == 1
    valid, invalid = (json.loads(line) for line in result.stdout.splitlines())
    assert valid["valid"] is True and valid["errors"] == []
    assert invalid["valid"] is False
    assert "maintenance.contacts[0].email" in {e["path"] for e in invalid["errors"]}
    assert run("publiccode", str(fixtures / "valid-0.4.yml")).returncode == 0


def test_an_error_names_a_long_path_whole_on_one_line(tmp_path):
    """stderr is not a terminal here: a path longer than 80 columns must not be cut in two."""
    deep = tmp_path / ("a-directory-with-a-long-name-" * 3) / "and-another-level-below-it"
    deep.mkdir(parents=True)
    bogus = deep / "not-a-sill-export.json"
    bogus.write_text('{"hello": "world"}', encoding="utf-8")
    assert len(str(bogus)) > 120
    result = run("sill", "--source", str(bogus), "--db", str(tmp_path / "inventory.db"))
    assert result.returncode == 2
    assert f"{bogus}: " in result.stderr
