"""The database through the real save functions, in memory."""

import json

from crawler import db as store
from crawler import schema
from crawler.models import ForgeConfig, Owner, OwnerConfig, OwnerCrawl, Repository

ACCOUNT = OwnerConfig("github.com", "Etalab", pso_id="p-1", ministry="Premier ministre")
FORGE = ForgeConfig("github.com", "github", "https://api.github.com", (ACCOUNT,))


def repo(name: str, **kw) -> Repository:
    return Repository("github.com", "etalab", name, f"https://github.com/etalab/{name}", **kw)


def owner() -> Owner:
    return Owner("github.com", "etalab", "organization", name="Etalab")


def setup():
    db = store.open_db()
    store.save_forge(db, FORGE, "ok")
    return db, store.start_run(db)


def test_every_contract_column_exists():
    db = store.open_db()
    for table in schema.TABLES:
        assert set(table.column_names) <= set(db.table(table.name).columns_dict), table.name
    assert db.table("repositories").detect_fts() == "repositories_fts"


def test_shape_is_idempotent_and_adds_missing_columns(tmp_path):
    path = tmp_path / "x.db"
    db = store.open_db(path)
    db.execute("create table t (a)")
    db.close()
    import sqlite_utils

    raw = sqlite_utils.Database(path)
    raw.table("owners").transform(drop={"ospo_url"})
    raw.close()
    db = store.open_db(path)
    assert "ospo_url" in db.table("owners").columns_dict
    store.open_db(path)


def test_new_repository_rows_and_flags():
    db, run = setup()
    result = store.save_owner_crawl(
        db,
        OwnerCrawl(
            ACCOUNT,
            owner(),
            (repo("a", topics=("état", "api"), is_fork=True, has_readme=True, licence="MIT"),),
        ),
        run,
    )
    assert result.new == 1
    row = db.table("repositories").get("github.com/etalab/a")
    assert row["owner"] == "github.com/etalab"
    assert json.loads(row["topics"]) == ["état", "api"]
    assert row["is_fork"] == 1 and row["has_readme"] == 1 and row["has_changelog"] is None
    assert row["ministry"] == "Premier ministre"
    assert row["first_seen_at"] == row["last_seen_at"]


def test_removed_repository_is_marked_then_revived():
    db, run = setup()
    store.save_owner_crawl(
        db, OwnerCrawl(ACCOUNT, owner(), (repo("a"), repo("b"))), run, "2026-01-01T00:00:00Z"
    )
    result = store.save_owner_crawl(
        db, OwnerCrawl(ACCOUNT, owner(), (repo("a"),)), run, "2026-01-02T00:00:00Z"
    )
    assert result.removed == 1 and result.new == 0
    b = db.table("repositories").get("github.com/etalab/b")
    assert b["removed_at"] == "2026-01-02T00:00:00Z"
    assert b["first_seen_at"] == "2026-01-01T00:00:00Z"
    store.save_owner_crawl(
        db, OwnerCrawl(ACCOUNT, owner(), (repo("a"), repo("b"))), run, "2026-01-03T00:00:00Z"
    )
    b = db.table("repositories").get("github.com/etalab/b")
    assert b["removed_at"] is None and b["first_seen_at"] == "2026-01-01T00:00:00Z"


def test_failed_crawl_keeps_rows_and_records_the_error():
    db, run = setup()
    store.save_owner_crawl(db, OwnerCrawl(ACCOUNT, owner(), (repo("a"),)), run)
    store.save_owner_crawl(db, OwnerCrawl(ACCOUNT, error="github.com: boom"), run)
    assert db.table("repositories").get("github.com/etalab/a")["removed_at"] is None
    stored = db.table("owners").get("github.com/etalab")
    assert stored["crawl_status"] == "failed" and stored["name"] == "Etalab"
    assert [e["error"] for e in db.table("crawl_errors").rows] == ["github.com: boom"]


def test_failed_first_crawl_still_lists_the_account():
    db, run = setup()
    store.save_owner_crawl(db, OwnerCrawl(ACCOUNT, error="github.com: not found"), run)
    stored = db.table("owners").get("github.com/etalab")
    assert stored["login"] == "Etalab" and stored["crawl_status"] == "failed"
    assert stored["first_seen_at"] is None
