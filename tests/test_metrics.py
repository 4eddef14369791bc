import datetime as dt

from crawler import db as store
from crawler.metrics import activity, activity_cutoffs
from crawler.models import AccountDone, ForgeConfig, Owner, OwnerConfig, Repository, RepositoryPage

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def test_activity_thresholds():
    assert activity(True, "2026-11-01T00:00:00Z", None, NOW) == "archived"
    assert activity(False, "2026-10-01T00:00:00Z", None, NOW) == "active"
    assert activity(False, None, "2026-06-01T00:00:00Z", NOW) == "active"
    assert activity(False, "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z", NOW) == "dormant"
    assert activity(False, "2023-01-01T00:00:00Z", None, NOW) == "inactive"
    assert activity(False, None, None, NOW) is None


def test_the_database_applies_the_same_rule():
    account = OwnerConfig("github.com", "etalab")
    db = store.open_db()
    store.save_forge(db, ForgeConfig("github.com", "github", "https://api.github.com"), "ok")
    run = store.start_run(db)
    cases = [
        ("a", True, "2026-11-01T00:00:00Z", None),
        ("b", False, "2026-10-01T00:00:00Z", None),
        ("c", False, None, "2025-03-01T00:00:00Z"),
        ("d", False, "2023-01-01T00:00:00Z", "2022-01-01T00:00:00Z"),
        ("e", False, None, None),
    ]
    repos = tuple(
        Repository(
            "github.com",
            "etalab",
            n,
            f"https://github.com/etalab/{n}",
            is_archived=arch,
            last_commit_at=commit,
            pushed_at=push,
        )
        for n, arch, commit, push in cases
    )
    store.save_page(db, RepositoryPage(account, repos, None), run)
    store.finish_account(
        db, AccountDone(account, Owner("github.com", "etalab", "organization")), run
    )
    store.refresh_activity(db, *activity_cutoffs(NOW))
    for name, archived, commit, push in cases:
        row = db.table("repositories").get(f"github.com/etalab/{name}")
        assert row["activity"] == activity(archived, commit, push, NOW), name
