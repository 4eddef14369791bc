"""`codegouv publish` as a user runs it, on a database crawled from the local forge."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from crawler.cli import main
from crawler.lock import exclusive

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CODEGOUV, *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=600
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    """The demo pipeline once: the local forge crawled, the bundled SILL loaded."""
    db = tmp_path_factory.mktemp("crawled") / "inventory.db"
    result = run("demo", "--once", "--db", str(db))
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def live(crawled, tmp_path) -> Path:
    """A private copy of the crawled database (publishing writes into it)."""
    copy = tmp_path / "live" / "inventory.db"
    copy.parent.mkdir()
    with sqlite3.connect(crawled) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


def test_publish_builds_an_immutable_copy_metadata_and_build_json(live, tmp_path):
    out = tmp_path / "site" / "public"
    result = run("publish", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Publication n°1" in result.stdout

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

    runs = list(source.query("select * from publish_runs"))
    assert [(r["status"], r["crawl_run_id"]) for r in runs] == [("ok", last_crawl["id"])]
    assert runs[0]["finished_at"] >= runs[0]["started_at"]
    assert runs[0]["out_dir"] == str(out.absolute())


def test_daily_stats_one_row_per_forge_and_ministry_replaced_on_the_same_day(live, tmp_path):
    out = tmp_path / "public"
    assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
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
    assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
    assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
    db = sqlite_utils.Database(live)
    per_day = dict(db.execute("select date, count(*) from daily_stats group by date").fetchall())
    assert per_day["2020-01-01"] == len(rows)
    assert sorted(per_day.values()) == [len(rows), len(rows)]
    published = sqlite_utils.Database(out / "inventory.db")
    assert published["daily_stats"].count == 2 * len(rows)


def test_readers_never_miss_the_folder_while_it_is_republished(live, tmp_path):
    out = tmp_path / "public"
    assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
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

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(2):
            assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
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
    assert run("publish", "--db", str(live), "--out", str(out)).returncode == 0
    before = (out / "build.json").read_text(encoding="utf-8")
    target = os.readlink(out)

    def disk_full(out_dir: Path, db_path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("crawler.publish.datasette.write", disk_full)
    result = CliRunner().invoke(main, ["publish", "--db", str(live), "--out", str(out)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(out) in lines[0] and "No space left" in lines[0]
    assert os.readlink(out) == target
    assert (out / "build.json").read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.glob(".public.build-*")] == [target]
    runs = list(sqlite_utils.Database(live).query("select * from publish_runs order by id"))
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert "No space left" in runs[-1]["error"]


def test_an_older_real_folder_is_replaced_by_the_link_and_kept_aside(live, tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    (out / "old.txt").write_text("ancienne publication", encoding="utf-8")
    result = run("publish", "--db", str(live), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_symlink() and (out / "inventory.db").is_file()
    aside = list(tmp_path.glob(".public.old-*"))
    assert len(aside) == 1 and (aside[0] / "old.txt").is_file()


def test_bad_input_exits_2_with_the_path(live, tmp_path):
    missing = tmp_path / "nothing.db"
    result = run("publish", "--db", str(missing), "--out", str(tmp_path / "public"))
    assert result.returncode == 2
    assert str(missing) in result.stderr.replace("\n", "")
    assert not (tmp_path / "public").exists()

    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    result = run("publish", "--db", str(live), "--out", str(a_file))
    assert result.returncode == 2 and str(a_file) in result.stderr.replace("\n", "")


def test_publish_waits_for_no_one_while_a_crawl_holds_the_database(live, tmp_path):
    with exclusive(live):
        result = run("publish", "--db", str(live), "--out", str(tmp_path / "public"))
    assert result.returncode == 2 and "lock" in result.stderr
    assert not (tmp_path / "public").exists()
