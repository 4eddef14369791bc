"""`codegouv status` as a monitoring probe runs it, on databases filled by the real save
functions the crawl uses."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler import db as store
from crawler.cli import main
from crawler.models import (
    AccountDone,
    AccountFailed,
    ForgeConfig,
    ForgeReport,
    Owner,
    OwnerConfig,
    RunReport,
)

NOW = dt.datetime.now(dt.UTC)
GITHUB = ForgeConfig(
    "github.com",
    "github",
    "https://api.github.com",
    (OwnerConfig("github.com", "etalab"), OwnerConfig("github.com", "Fragile")),
)
GITLAB = ForgeConfig("gitlab.example.gouv.fr", "gitlab", "https://gitlab.example.gouv.fr/api/v4")


def iso(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def crawl(db, hours_ago: float, outcomes: dict[str, str], gitlab: str = "ok") -> int:
    """One crawl run as the pipeline records it: it lasted 90 s and ended ``hours_ago``;
    ``outcomes`` maps each GitHub login to ok or failed; the GitLab forge ends ``gitlab``."""
    started, finished = iso(hours_ago + 90 / 3600), iso(hours_ago)
    run_id = store.start_run(db, started)
    for forge in (GITHUB, GITLAB):
        store.save_forge(db, forge, "running", now=started)
    for account in GITHUB.owners:
        if outcomes[account.login] == "ok":
            owner = Owner("github.com", account.login, "organization")
            store.finish_account(db, AccountDone(account, owner), run_id, now=finished)
        else:
            failed = AccountFailed(account, f"HTTP 502 à {finished}")
            store.fail_account(db, failed, run_id, now=finished)
    failures = sum(1 for v in outcomes.values() if v != "ok")
    github_status = "partial" if failures else "ok"
    store.save_forge(db, GITHUB, github_status, now=finished)
    store.save_forge(
        db, GITLAB, gitlab, "forge injoignable" if gitlab == "failed" else None, finished
    )
    if gitlab == "failed":
        store.record_error(
            db, run_id, forge=GITLAB.host, owner=None, error="injoignable", now=finished
        )
    report = RunReport(
        run_id,
        started,
        finished,
        (
            ForgeReport("github.com", github_status, 4, 2 - failures, failures, 20),
            ForgeReport(GITLAB.host, gitlab, 3, 1 if gitlab == "ok" else 0, 0, 7),
        ),
    )
    store.finish_run(db, report)
    return run_id


@pytest.fixture()
def db_path(tmp_path) -> Path:
    return tmp_path / "inventory.db"


def status(*args: str):
    return CliRunner().invoke(main, ["status", *args], catch_exceptions=False)


def test_fresh_data_exits_0(db_path):
    db = store.open_db(db_path)
    crawl(db, 2, {"etalab": "ok", "Fragile": "ok"})
    db.close()
    result = status("--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "tout va bien" in result.stdout
    assert "jamais publié" in result.stdout
    assert "github.com" in result.stdout and "à jour" in result.stdout


def test_stale_data_exits_1_and_says_which_forge(db_path):
    db = store.open_db(db_path)
    crawl(db, 40, {"etalab": "ok", "Fragile": "ok"})
    db.close()
    result = status("--db", str(db_path))
    assert result.exit_code == 1
    assert "périmée" in result.stdout
    assert "github.com : données vieilles de 40 h" in result.stdout
    # The threshold is the operator's.
    assert status("--db", str(db_path), "--max-age", "48").exit_code == 0
    assert status("--db", str(db_path), "--max-age", "39").exit_code == 1


def test_a_forge_failing_since_its_last_success_is_stale_though_crawled_just_now(db_path):
    db = store.open_db(db_path)
    crawl(db, 50, {"etalab": "ok", "Fragile": "ok"})
    crawl(db, 1, {"etalab": "ok", "Fragile": "ok"}, gitlab="failed")
    db.close()
    result = status("--db", str(db_path), "--json")
    assert result.exit_code == 1
    state = json.loads(result.stdout)
    forges = {f["host"]: f for f in state["forges"]}
    assert forges["gitlab.example.gouv.fr"]["last_crawled_at"] == iso(1)
    assert forges["gitlab.example.gouv.fr"]["last_success_at"] == iso(50)
    assert forges["gitlab.example.gouv.fr"]["stale"] is True
    assert forges["github.com"]["stale"] is False
    assert state["problems"] == [
        "gitlab.example.gouv.fr : données vieilles de 50 h (plus de 36 h ; dernier parcours "
        f"réussi {iso(50)})"
    ]


def test_json_shape_runs_and_failing_accounts_with_their_first_failure(db_path):
    db = store.open_db(db_path)
    crawl(db, 72, {"etalab": "ok", "Fragile": "ok"})
    crawl(db, 48, {"etalab": "ok", "Fragile": "failed"})  # the first failure of the streak
    crawl(db, 24, {"etalab": "ok", "Fragile": "failed"})
    crawl(db, 1, {"etalab": "ok", "Fragile": "failed"})
    db.close()
    result = status("--db", str(db_path), "--json", "--runs", "3")
    # Failing accounts alone do not alert: their old data is kept and the forge is fresh.
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert set(state) == {
        "database",
        "checked_at",
        "max_age_hours",
        "runs",
        "forges",
        "failing_accounts",
        "publish",
        "problems",
        "healthy",
    }
    assert state["healthy"] is True and state["problems"] == [] and state["publish"] is None
    assert state["max_age_hours"] == 36.0
    assert [r["id"] for r in state["runs"]] == [4, 3, 2]
    assert state["runs"][0] == {
        "id": 4,
        "started_at": iso(1 + 90 / 3600),
        "finished_at": iso(1),
        "status": "partial",
        "duration_seconds": 90.0,
        "accounts_ok": 2,
        "accounts_failed": 1,
        "repositories_seen": 27,
    }
    assert state["failing_accounts"] == [
        {
            "id": "github.com/fragile",
            "forge": "github.com",
            "login": "Fragile",
            "failing_since": iso(48),
            "failures": 3,
            "last_error": f"HTTP 502 à {iso(1)}",
            "last_error_at": iso(1),
            "last_success_at": iso(72),
        }
    ]
    result = status("--db", str(db_path))
    assert "github.com/fragile" in result.stdout and iso(48) in result.stdout


def test_a_running_crawl_shows_its_duration_so_far(db_path):
    db = store.open_db(db_path)
    crawl(db, 3, {"etalab": "ok", "Fragile": "ok"})
    store.start_run(db, iso(0.5))
    db.close()
    # The run started half an hour before NOW (fixed when the module was imported).
    earliest = (dt.datetime.now(dt.UTC) - NOW).total_seconds() + 1800
    state = json.loads(status("--db", str(db_path), "--json").stdout)
    latest = (dt.datetime.now(dt.UTC) - NOW).total_seconds() + 1800
    assert state["runs"][0]["status"] == "running"
    assert state["runs"][0]["finished_at"] is None
    assert earliest - 2 < state["runs"][0]["duration_seconds"] < latest + 2


def add_publish_runs(db_path: Path, *rows: tuple[str, str, str | None]) -> None:
    """Publications recorded through the publish step's own save functions."""
    db = store.open_db(db_path)
    for started_at, status_, error in rows:
        run_id = store.start_publish(db, "public", now=started_at)
        store.finish_publish(
            db, run_id, status=status_, crawl_run_id=1, error=error, now=started_at
        )
    db.close()


def test_the_last_publish_failing_exits_1(db_path):
    db = store.open_db(db_path)
    crawl(db, 2, {"etalab": "ok", "Fragile": "ok"})
    db.close()
    add_publish_runs(db_path, (iso(30), "ok", None), (iso(1), "failed", "disque plein"))
    result = status("--db", str(db_path), "--json")
    assert result.exit_code == 1
    state = json.loads(result.stdout)
    assert state["publish"]["status"] == "failed" and state["publish"]["failed"] is True
    assert state["problems"] == [f"la dernière publication a échoué ({iso(1)}) : disque plein"]
    result = status("--db", str(db_path))
    assert "disque plein" in result.stdout


def test_the_last_publish_ok_exits_0(db_path):
    db = store.open_db(db_path)
    crawl(db, 2, {"etalab": "ok", "Fragile": "ok"})
    db.close()
    add_publish_runs(db_path, (iso(30), "failed", "x"), (iso(1), "ok", None))
    result = status("--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "Publication : ok" in result.stdout


def test_status_never_writes_and_refuses_what_is_not_the_inventory(tmp_path, db_path):
    db = store.open_db(db_path)
    crawl(db, 2, {"etalab": "ok", "Fragile": "ok"})
    db.close()
    before = db_path.read_bytes()
    assert status("--db", str(db_path)).exit_code == 0
    assert db_path.read_bytes() == before

    missing = tmp_path / "absente.db"
    result = status("--db", str(missing))
    assert result.exit_code == 2 and "absente.db" in result.stderr
    assert not missing.exists()

    other = tmp_path / "autre.db"
    with sqlite3.connect(other) as connection:
        connection.execute("create table notes (x text)")
    result = status("--db", str(other))
    assert result.exit_code == 2 and "pas une base de l'inventaire" in result.stderr

    garbage = tmp_path / "texte.db"
    garbage.write_text("ceci n'est pas une base SQLite, mais un texte assez long " * 20)
    result = status("--db", str(garbage))
    assert result.exit_code == 2 and "texte.db" in result.stderr


def test_a_database_never_crawled_alerts(db_path):
    store.open_db(db_path).close()
    result = status("--db", str(db_path))
    assert result.exit_code == 1
    assert "aucune forge parcourue" in result.stdout


def test_a_forge_that_never_succeeded_alerts(db_path):
    db = store.open_db(db_path)
    crawl(db, 1, {"etalab": "ok", "Fragile": "ok"}, gitlab="failed")
    db.close()
    result = status("--db", str(db_path), "--json")
    assert result.exit_code == 1
    state = json.loads(result.stdout)
    assert state["problems"] == ["gitlab.example.gouv.fr : jamais parcourue avec succès"]
