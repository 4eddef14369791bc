"""`codegouv publish` as a user runs it, on a database crawled from the local forge."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
import sqlite_utils
from _publish_helpers import crawled_demo, private_copy, run
from _shared import PROBE, plain_install
from click.testing import CliRunner
from hostile import Answer, HostileServer

from crawler import jobs, sill_sync
from crawler.cli import main
from crawler.lock import AlreadyRunning, exclusive
from crawler.models import Config, ForgeConfig, OwnerConfig
from crawler.publish.build import PublishInputError
from localforge import LocalForge
from localforge.data import GITHUB
from sill.load import SillSourceError


@pytest.fixture(scope="module")
def crawled(demo_run) -> Path:
    return crawled_demo(demo_run)


@pytest.fixture
def live(crawled, tmp_path) -> Path:
    """A private copy of the crawled database (publishing writes into it)."""
    return private_copy(crawled, tmp_path / "live" / "inventory.db")


def test_publish_builds_an_immutable_copy_metadata_and_build_json(live, tmp_path):
    out = tmp_path / "site" / "public"
    # (the demo database may hold the demo's own publication already)
    earlier = sqlite_utils.Database(live).execute("select count(*) from publish_runs").fetchone()
    result = run("publish", "--no-site", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"Publication n°{earlier[0] + 1} " in result.stdout

    source = sqlite_utils.Database(live)
    published = sqlite_utils.Database(out / "inventory.db")
    assert published.execute("pragma journal_mode").fetchone()[0] == "delete"
    assert not (out / "inventory.db-wal").exists()
    assert published["repositories"].count == source["repositories"].count > 4000
    assert published["sill_software"].count == 240
    # planner statistics and full-text indexes come with the copy
    assert published["sqlite_stat1"].exists()
    hits = published.execute(
        "select count(*) from repositories_fts where repositories_fts match 'donnees'"
    ).fetchone()[0]
    assert hits > 0

    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    last_crawl = next(iter(source.query("select * from crawl_runs order by id desc limit 1")))
    assert build["crawl_run"]["id"] == last_crawl["id"]
    assert build["counts"]["repositories"] == source["repositories"].count
    assert set(build["durations"]) >= {"daily_stats", "database", "datasette"}
    assert build["versions"]["datasette"].startswith("0.65")

    meta = json.loads((out / "datasette" / "metadata.json").read_text(encoding="utf-8"))
    assert "repositories" in meta["databases"]["inventory"]["tables"]

    runs = list(source.query("select * from publish_runs order by id"))
    assert len(runs) == earlier[0] + 1
    assert (runs[-1]["status"], runs[-1]["crawl_run_id"]) == ("ok", last_crawl["id"])
    assert runs[0]["finished_at"] >= runs[0]["started_at"]
    assert runs[-1]["out_dir"] == str(out.absolute())


def test_daily_stats_one_row_per_forge_and_ministry_replaced_on_the_same_day(live, tmp_path):
    out = tmp_path / "public"
    assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    db = sqlite_utils.Database(live)
    rows = list(db.query("select * from daily_stats"))
    present = db.execute("select count(*) from repositories where removed_at is null").fetchone()[0]
    assert sum(r["repositories"] for r in rows) == present
    groups = {(r["date"], r["forge"], r["ministry"]) for r in rows}
    assert len(groups) == len(rows) and len({r["date"] for r in rows}) == 1
    archived = db.execute(
        "select count(*) from repositories where removed_at is null and is_archived = 1"
    ).fetchone()[0]
    assert sum(r["archived"] for r in rows) == archived > 0
    free = db.execute(
        "select count(*) from repositories r join licences l on l.spdx_id = r.licence "
        "where r.removed_at is null and l.is_free = 1"
    ).fetchone()[0]
    assert sum(r["licensed"] for r in rows) == free > 0
    assert any(r["ministry"] for r in rows)

    # an older day is kept; the same day is replaced, not added to
    db.execute("update daily_stats set date = '2020-01-01'")
    db.conn.commit()
    assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    db = sqlite_utils.Database(live)
    per_day = dict(db.execute("select date, count(*) from daily_stats group by date").fetchall())
    assert per_day["2020-01-01"] == len(rows)
    assert sorted(per_day.values()) == [len(rows), len(rows)]
    published = sqlite_utils.Database(out / "inventory.db")
    assert published["daily_stats"].count == 2 * len(rows)


def test_readers_never_miss_the_folder_while_it_is_republished(live, tmp_path):
    out = tmp_path / "public"
    assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    first = json.loads((out / "build.json").read_text(encoding="utf-8"))
    failures: list[str] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                json.loads((out / "build.json").read_text(encoding="utf-8"))
                with sqlite3.connect(f"file:{out / 'inventory.db'}?mode=ro", uri=True) as c:
                    c.execute("select count(*) from forges").fetchone()
                reads += 1
            except (OSError, ValueError, sqlite3.Error) as error:
                failures.append(repr(error))
            stop.wait(0.001)  # hundreds of reads a second, not a core held from the publisher

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(2):
            assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    finally:
        stop.set()
        thread.join()
    assert failures == [] and reads > 10
    last = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert last["publish_run"] == first["publish_run"] + 2
    # the live folder and the previous one remain; older builds are removed
    builds = sorted(p.name for p in tmp_path.glob(".public.build-*"))
    assert len(builds) == 2 and os.readlink(out) == builds[-1]


def test_a_failed_publish_keeps_the_previous_one_and_says_why(live, tmp_path, monkeypatch):
    out = tmp_path / "public"
    assert run("publish", "--no-site", "--db", str(live), "--out", str(out)).returncode == 0
    before = (out / "build.json").read_text(encoding="utf-8")
    target = os.readlink(out)

    def disk_full(out_dir: Path, db_path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("crawler.publish.datasette.write", disk_full)
    result = CliRunner().invoke(
        main, ["publish", "--no-site", "--db", str(live), "--out", str(out)]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(out) in lines[0] and "No space left" in lines[0]
    assert os.readlink(out) == target
    assert (out / "build.json").read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.glob(".public.build-*")] == [target]
    runs = list(sqlite_utils.Database(live).query("select * from publish_runs order by id"))
    assert [r["status"] for r in runs][-2:] == ["ok", "failed"]
    assert "No space left" in runs[-1]["error"]


def test_an_older_real_folder_is_replaced_by_the_link_and_kept_aside(live, tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    (out / "notes.txt").write_text("mes notes", encoding="utf-8")
    # a folder that no publication wrote is not taken over
    result = run("publish", "--db", str(live), "--out", str(out))
    assert result.returncode == 2 and "build.json" in result.stderr
    assert (out / "notes.txt").is_file() and not out.is_symlink()

    (out / "build.json").write_text("{}", encoding="utf-8")
    result = run("publish", "--no-site", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_symlink() and (out / "inventory.db").is_file()
    aside = list(tmp_path.glob(".public.old-*"))
    assert len(aside) == 1 and (aside[0] / "notes.txt").is_file()


#: A few GitHub accounts (about 80 repositories): the publication with the static site below
#: renders and indexes them in seconds, where the demo's 4,700 take a minute of CPU.
SMALL_ACCOUNTS = ("coq", "DGAC", "plantnet", "riatelab", "Antique-team")


@pytest.fixture(scope="module")
def small_crawl(crawl_once) -> Path:
    """``SMALL_ACCOUNTS`` crawled from the local forge and the bundled SILL loaded, once per
    test run (tests/conftest.py); copy it before writing."""

    def config(forge: LocalForge) -> list[Config]:
        owners = tuple(
            OwnerConfig(GITHUB, login, line=i + 1) for i, login in enumerate(SMALL_ACCOUNTS)
        )
        return [Config("test", (ForgeConfig(GITHUB, "github", forge.api_url(GITHUB), owners),))]

    crawled = crawl_once("crawl-publish-small", config)
    assert crawled.report.accounts_failed == 0
    return crawled.path


@pytest.fixture
def small_live(small_crawl, tmp_path) -> Path:
    """A private copy of ``small_crawl`` with the bundled SILL loaded."""
    path = private_copy(small_crawl, tmp_path / "small" / "inventory.db")
    db = sqlite_utils.Database(path)
    sill_sync.load_into(db, sill_sync.BUNDLED)
    db.close()
    return path


def test_the_site_is_published_and_no_site_publishes_the_rest_without_the_old_site(
    small_live, tmp_path
):
    """The one publication of this module with the static site (the other tests publish with
    --no-site): the site goes through the same build folder and swap as the data, and a later
    --no-site publication leaves no site behind, neither built nor carried over. On a small
    crawl: the whole site of the demo is the demo's own publication (tests/test_site*.py)."""
    live = small_live
    out = tmp_path / "public"
    result = run("publish", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert build["site"]["asked"] and build["site"]["built"], build["site"]
    assert build["site"]["pages"] > build["counts"]["repositories"] > 50
    assert build["counts"]["sill_software"] == 240
    assert "site" in build["durations"]
    home = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert "Inventaire" in home and (out / "site" / "pagefind").is_dir()
    with_site = os.readlink(out)

    result = run("publish", "--no-site", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Site statique non construit (--no-site)." in result.stdout
    assert os.readlink(out) != with_site
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert build["site"]["asked"] is False and build["site"]["built"] is False
    assert "--no-site" in build["site"]["reason"] and "site" not in build["durations"]
    assert not (out / "site").exists()
    # the rest is published as with the site
    assert (out / "data" / "datapackage.json").is_file()
    assert (out / "datasette" / "metadata.json").is_file()
    published = sqlite_utils.Database(out / "inventory.db")
    assert published["repositories"].count == build["counts"]["repositories"]
    # the previous publication, kept aside for its readers, still has its site
    assert (tmp_path / with_site / "site" / "index.html").is_file()

    help_text = " ".join(CliRunner().invoke(main, ["publish", "--help"]).output.split())
    assert "--no-site" in help_text and "précédente n'est pas repris" in help_text


def test_bad_input_exits_2_with_the_path_on_one_line(live, tmp_path):
    # longer than 80 columns: stderr is not a terminal, the line must not be wrapped
    missing = tmp_path / ("a-folder-with-a-rather-long-name-" * 3) / "nothing.db"
    result = run("publish", "--db", str(missing), "--out", str(tmp_path / "public"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(missing) in result.stderr
    assert not (tmp_path / "public").exists()

    result = run("publish", "--db", str(live), "--out", ".")
    assert result.returncode == 2 and "dossier" in result.stderr

    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    result = run("publish", "--db", str(live), "--out", str(a_file))
    assert result.returncode == 2 and str(a_file) in result.stderr.replace("\n", "")


def test_publish_waits_for_no_one_while_a_crawl_holds_the_database(live, tmp_path):
    with exclusive(live):
        result = run("publish", "--db", str(live), "--out", str(tmp_path / "public"))
    assert result.returncode == 2 and "lock" in result.stderr
    assert not (tmp_path / "public").exists()


def test_a_plain_install_runs_the_demo_and_publishes(demo_run, shared_dir):
    """`pip install .` (not -e) into a fresh venv: site/ and config/ come as package data. The
    install and its `codegouv demo --once`, run in a folder of its own, are the suite's shared
    demo (tests/_shared.py: ``plain_install``, ``demo_once``)."""
    install = plain_install(shared_dir)
    where = subprocess.run(
        [
            install.python,
            "-c",
            "import crawler.resources as r; print(r.__file__); print(r.site_dir())",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=demo_run.cwd,
    ).stdout.split()
    assert all(line.startswith(str(install.purelib)) for line in where), where
    assert (Path(where[1]) / PROBE.relative_to("site")).is_file()

    assert demo_run.returncode == 0, demo_run.stderr
    assert "Traceback" not in demo_run.stderr
    assert not any(demo_run.cwd.iterdir()), "the demo wrote into the folder it ran in"
    out = demo_run.out
    assert (out / "inventory.db").is_file() and (out / "data" / "datapackage.json").is_file()
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert build["counts"]["repositories"] > 4000
    # the static site, rendered from the installed templates and static files
    assert build["site"]["built"], build["site"]
    assert (out / "site" / "assets" / "site.css").is_file()
    # the demo's accounts carry the pso_ids of the shipped config/organisations.yml
    db = sqlite_utils.Database(out / "inventory.db")
    assert db.execute("select count(*) from owners where pso_id is not null").fetchone()[0] > 50


# --- crawler.jobs: the steps the command line and the scheduler share ---------------------------


def test_sill_falls_back_to_the_bundled_copy_when_the_default_source_fails(tmp_path, monkeypatch):
    db = tmp_path / "inventory.db"
    with HostileServer(lambda request: Answer(503, body=b"maintenance")) as server:
        source = f"{server.url}/sill.json"
        monkeypatch.setattr(sill_sync, "DEFAULT_SOURCE", source)
        told: list[SillSourceError] = []
        report = jobs.sill(db, source, on_fallback=told.append)
        assert [r.path for r in server.requests] == ["/sill.json"]
    assert len(told) == 1 and "503" in str(told[0])
    assert report.loaded == 240
    assert sqlite_utils.Database(db)["sill_software"].count == 240


def test_sill_from_another_source_that_fails_raises_and_keeps_the_tables(tmp_path):
    db = tmp_path / "inventory.db"
    jobs.sill(db, sill_sync.BUNDLED)
    with HostileServer(lambda request: Answer(503)) as server, pytest.raises(SillSourceError):
        jobs.sill(db, f"{server.url}/sill.json", on_fallback=pytest.fail)
    assert sqlite_utils.Database(db)["sill_software"].count == 240


def test_every_step_waits_for_no_one_while_another_holds_the_database(tmp_path):
    db = tmp_path / "inventory.db"
    jobs.sill(db, sill_sync.BUNDLED)
    with exclusive(db):
        with pytest.raises(AlreadyRunning):
            jobs.sill(db, sill_sync.BUNDLED)
        with pytest.raises(AlreadyRunning):
            jobs.publish(db, tmp_path / "public", site=False)
    assert not (tmp_path / "public").exists()
    # and the lock is released after each step, even a failed one
    with pytest.raises(PublishInputError):
        jobs.publish(tmp_path / "missing.db", tmp_path / "public")
    report = jobs.publish(db, tmp_path / "public", site=False)
    assert report.counts["sill_software"] == 240 and report.crawl_run_id is None
    assert (tmp_path / "public" / "data" / "sill_software.csv").is_file()
