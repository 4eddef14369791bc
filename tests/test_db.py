"""The database through the real save functions, in memory."""

import json

import sqlite_utils

from crawler import db as store
from crawler import schema
from crawler.models import (
    AccountDone,
    AccountFailed,
    ForgeConfig,
    Owner,
    OwnerConfig,
    Repository,
    RepositoryPage,
)

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


def listing(db, _run, repos, now, pages=1):
    """Save an account's listing in ``pages`` pages, in a run of its own, then close it."""
    run = store.start_run(db, now)
    new = 0
    size = max(1, -(-len(repos) // pages))
    chunks = [repos[i : i + size] for i in range(0, len(repos), size)] or [[]]
    for i, chunk in enumerate(chunks):
        cursor = None if i == len(chunks) - 1 else f"c{i}"
        new += store.save_page(db, RepositoryPage(ACCOUNT, tuple(chunk), cursor), run, now).new
    removed = store.finish_account(db, AccountDone(ACCOUNT, owner(), "sig"), run, now).removed
    return new, removed


def test_every_contract_column_exists():
    db = store.open_db()
    for table in schema.TABLES:
        assert set(table.column_names) <= set(db.table(table.name).columns_dict), table.name
    assert db.table("repositories").detect_fts() == "repositories_fts"


def test_shape_is_idempotent_and_adds_missing_columns(tmp_path):
    path = tmp_path / "x.db"
    db = store.open_db(path)
    db.close()
    raw = sqlite_utils.Database(path)
    raw.table("owners").transform(drop={"ospo_url"})
    raw.close()
    db = store.open_db(path)
    assert "ospo_url" in db.table("owners").columns_dict
    store.open_db(path)


def test_new_repository_rows_and_flags():
    db, run = setup()
    new, _ = listing(
        db,
        run,
        [repo("a", topics=("état", "api"), is_fork=True, has_readme=True, licence="MIT")],
        "2026-01-01T00:00:00Z",
    )
    assert new == 1
    row = db.table("repositories").get("github.com/etalab/a")
    assert row["owner"] == "github.com/etalab"
    assert json.loads(row["topics"]) == ["état", "api"]
    assert row["is_fork"] == 1 and row["has_readme"] == 1 and row["has_changelog"] is None
    assert row["ministry"] == "Premier ministre"
    assert row["first_seen_at"] == row["last_seen_at"]
    stored = db.table("owners").get("github.com/etalab")
    assert stored["crawl_status"] == "ok" and stored["repositories_count"] == 1


def test_removed_repository_is_marked_then_revived():
    db, run = setup()
    listing(db, run, [repo("a"), repo("b"), repo("c")], "2026-01-01T00:00:00Z", pages=3)
    new, removed = listing(db, run, [repo("a"), repo("c")], "2026-01-02T00:00:00Z", pages=2)
    assert removed == 1 and new == 0
    b = db.table("repositories").get("github.com/etalab/b")
    assert b["removed_at"] == "2026-01-02T00:00:00Z"
    assert b["first_seen_at"] == "2026-01-01T00:00:00Z"
    assert db.table("owners").get("github.com/etalab")["repositories_count"] == 2
    listing(db, run, [repo("a"), repo("b"), repo("c")], "2026-01-03T00:00:00Z")
    b = db.table("repositories").get("github.com/etalab/b")
    assert b["removed_at"] is None and b["first_seen_at"] == "2026-01-01T00:00:00Z"


def test_an_unfinished_listing_marks_nothing_removed_and_resumes():
    db, run = setup()
    listing(db, run, [repo("a"), repo("b")], "2026-01-01T00:00:00Z")
    # Run 2 saves one page, then dies: nothing is marked removed, the cursor is kept.
    run = store.start_run(db)
    store.save_page(
        db, RepositoryPage(ACCOUNT, (repo("a"),), "after-a"), run, "2026-01-02T00:00:00Z"
    )
    assert (
        db.execute("select count(*) from repositories where removed_at is not null").fetchone()[0]
        == 0
    )
    state = store.load_state(db, "github.com", "2026-01-02T01:00:00Z")
    assert state.account(ACCOUNT).cursor == "after-a"
    # Run 3 resumes after the saved page; b is gone upstream: marked when the listing ends.
    run = store.start_run(db)
    store.save_page(db, RepositoryPage(ACCOUNT, (), None), run, "2026-01-02T02:00:00Z")
    store.finish_account(db, AccountDone(ACCOUNT, owner(), "sig"), run, "2026-01-02T02:00:00Z")
    assert db.table("repositories").get("github.com/etalab/a")["removed_at"] is None
    assert (
        db.table("repositories").get("github.com/etalab/b")["removed_at"] == "2026-01-02T02:00:00Z"
    )
    assert store.load_state(db, "github.com").account(ACCOUNT).cursor is None


def test_a_stale_cursor_is_not_resumed():
    db, run = setup()
    store.save_page(
        db, RepositoryPage(ACCOUNT, (repo("a"),), "after-a"), run, "2026-01-01T00:00:00Z"
    )
    state = store.load_state(db, "github.com", "2026-01-03T00:00:00Z")
    assert state.account(ACCOUNT).cursor is None


def test_unchanged_account_keeps_its_rows_fresh():
    db, run = setup()
    listing(db, run, [repo("a")], "2026-01-01T00:00:00Z")
    done = AccountDone(ACCOUNT, owner(), "sig", unchanged=True)
    run = store.start_run(db)
    assert store.finish_account(db, done, run, "2026-01-02T00:00:00Z").removed == 0
    a = db.table("repositories").get("github.com/etalab/a")
    assert a["last_seen_at"] == "2026-01-02T00:00:00Z" and a["removed_at"] is None
    assert store.load_state(db, "github.com").account(ACCOUNT).signature == "sig"


def test_failed_crawl_keeps_rows_and_records_the_error():
    db, run = setup()
    listing(db, run, [repo("a")], "2026-01-01T00:00:00Z")
    store.fail_account(db, AccountFailed(ACCOUNT, "github.com: boom"), run)
    assert db.table("repositories").get("github.com/etalab/a")["removed_at"] is None
    stored = db.table("owners").get("github.com/etalab")
    assert stored["crawl_status"] == "failed" and stored["name"] == "Etalab"
    assert [e["error"] for e in db.table("crawl_errors").rows] == ["github.com: boom"]


def test_failed_first_crawl_still_lists_the_account():
    db, run = setup()
    store.fail_account(db, AccountFailed(ACCOUNT, "github.com: not found"), run)
    stored = db.table("owners").get("github.com/etalab")
    assert stored["login"] == "Etalab" and stored["crawl_status"] == "failed"
    assert stored["first_seen_at"] is None


def test_whole_instance_pages_bring_their_owners():
    forge = ForgeConfig(
        "forge.example.fr", "gitlab", "https://forge.example.fr/api/v4", pso_id="p-2"
    )
    db = store.open_db()
    store.save_forge(db, forge, "ok")
    run = store.start_run(db)
    (unit,) = forge.units()
    ns = Owner("forge.example.fr", "team/sub", "group", name="Sub")
    project = Repository(
        "forge.example.fr", "team/sub", "app", "https://forge.example.fr/team/sub/app"
    )
    store.save_page(db, RepositoryPage(unit, (project,), None, (ns,)), run)
    store.finish_account(db, AccountDone(unit, None), run)
    row = db.table("repositories").get("forge.example.fr/team/sub/app")
    assert row["owner"] == "forge.example.fr/team/sub"
    assert db.table("owners").get("forge.example.fr/team/sub")["pso_id"] == "p-2"


PUBLICCODE = """\
publiccodeYmlVersion: "0.4"
name: Démarches simplifiées
url: https://github.com/etalab/ds
developmentStatus: production
softwareType: standalone/web
platforms: [web]
description:
  fr:
    shortDescription: Dématérialiser des démarches administratives
legal:
  license: AGPL-3.0-or-later
maintenance:
  type: internal
  contacts:
    - name: Équipe DS
"""


def test_publiccode_is_stored_with_its_errors_then_forgotten_when_gone():
    from crawler.publiccode import validate

    db, run = setup()
    row = validate(PUBLICCODE).as_row("publiccode.yml")
    listing(db, run, [repo("ds", has_publiccode=True, publiccode=row)], "2026-01-01T00:00:00Z")
    stored = db.table("publiccode").get("github.com/etalab/ds")
    assert stored["name"] == "Démarches simplifiées" and stored["valid"] == 0
    assert stored["short_description"] == "Dématérialiser des démarches administratives"
    assert stored["licence_spdx"] == "AGPL-3.0-or-later"
    errors = json.loads(stored["errors"])
    assert stored["errors_count"] == len(errors) >= 1
    # The author sees which key to fix: the unknown developmentStatus value.
    assert any(e["path"] == "developmentStatus" for e in errors), errors
    assert json.loads(stored["maintenance_contacts"]) == [{"name": "Équipe DS"}]
    assert stored["read_at"] == "2026-01-01T00:00:00Z"

    # Not read this time (nothing changed): the row stays.
    listing(db, run, [repo("ds", has_publiccode=True)], "2026-01-02T00:00:00Z")
    assert db.table("publiccode").get("github.com/etalab/ds")["read_at"] == "2026-01-01T00:00:00Z"
    # The SILL matcher sees the declared url.
    refs = {r["id"]: r for r in store.repository_refs(db)}
    assert refs["github.com/etalab/ds"]["publiccode_url"] == "https://github.com/etalab/ds"

    # The file left the repository: its row goes.
    listing(db, run, [repo("ds", has_publiccode=False)], "2026-01-03T00:00:00Z")
    assert db.table("publiccode").count == 0
    state = store.load_state(db, "github.com", "2026-01-03T00:00:00Z")
    assert state.repositories["github.com/etalab/ds"].publiccode_read is False


def test_scores_are_computed_and_explained_for_current_repositories():
    from crawler.score import score

    db, run = setup()
    listing(
        db,
        run,
        [
            repo("a", licence="MIT", has_readme=True, description="Outil", stars=12),
            repo("b", licence="NONE", is_fork=True),
        ],
        "2026-01-01T00:00:00Z",
    )

    def rate(row):
        rated = score(row)
        return rated.value, rated.details_json()

    assert store.refresh_scores(db, rate) == 2
    a = db.table("repositories").get("github.com/etalab/a")
    details = json.loads(a["score_details"])
    assert a["score"] == sum(d["points"] for d in details) > 0
    assert {d["rule"] for d in details} >= {"licence", "readme"}
    b = db.table("repositories").get("github.com/etalab/b")
    assert b["score"] < 0
    # Nothing changed: nothing is written again.
    assert store.refresh_scores(db, rate) == 0
