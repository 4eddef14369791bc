"""The GitHub crawl end to end: the real crawler (PyGithub, GraphQL) over real HTTP against the
local forge, into a real SQLite database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from crawler import db as store
from crawler.config import load_config
from crawler.forges.github import GitHubForge
from crawler.models import Config, ForgeConfig, OwnerConfig
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge

SAMPLE = Path(__file__).resolve().parent.parent / "localforge" / "data"
TOKEN = {"GITHUB_TOKEN": "test-token"}


def sample_rows() -> list[dict[str, str]]:
    path = next(SAMPLE.glob("repositories-*.csv"))
    with path.open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["platform"] == "GitHub"]


def github_config(forge: LocalForge, *logins: str) -> Config:
    api_url = forge.api_url("github.com")
    owners = tuple(OwnerConfig("github.com", login, line=i + 1) for i, login in enumerate(logins))
    return Config("test", (ForgeConfig("github.com", "github", api_url, owners),))


@pytest.fixture(scope="session")
def etalab_crawl(crawl_once):
    """etalab alone, crawled once per test run (tests/conftest.py): read, never written."""
    return crawl_once(
        "crawl-github-etalab", lambda forge: [github_config(forge, "etalab")], retry=None
    )


@pytest.fixture()
def fresh_forge():
    """A forge of our own, for tests that change its data."""
    with LocalForge(Dataset.load()) as forge:
        yield forge


def test_owner_with_more_than_100_repositories_is_read_whole(etalab_crawl):
    expected = {r["name"].lower() for r in sample_rows() if r["organization_name"] == "etalab"}
    assert len(expected) > 200
    db, report = etalab_crawl.open(), etalab_crawl.report
    names = {
        r["name"].lower()
        for r in db.query("select name from repositories where owner = 'github.com/etalab'")
    }
    assert names == expected
    assert report.repositories_seen == len(expected)
    assert report.accounts_ok == 1 and report.accounts_failed == 0
    owner = db.table("owners").get("github.com/etalab")
    assert owner["kind"] == "organization"
    assert owner["repositories_count"] == len(expected)
    assert owner["crawl_status"] == "ok"


def test_repository_values_match_the_forge(etalab_crawl):
    rows = {r["name"]: r for r in sample_rows() if r["organization_name"] == "etalab"}
    db = etalab_crawl.open()
    for stored in db.query("select * from repositories where owner = 'github.com/etalab'"):
        source = rows[stored["name"]]
        assert stored["url"].endswith(f"/etalab/{source['name']}")
        assert stored["stars"] == int(source["stars_count"])
        assert stored["forks"] == int(source["forks_count"])
        assert stored["created_at"] == source["creation_date"]
        assert stored["pushed_at"] == source["last_modification"]
        assert stored["is_fork"] == (source["is_fork"] == "True")
        assert (stored["language"] or "") == source["language"]
        topics = json.loads(stored["topics"])
        assert topics == [t for t in source["topics"].split(",") if t][:20]
        if source["license"] == "MIT License":
            assert stored["licence"] == "MIT" and stored["licence_source"] == "forge"
        elif source["license"] in ("Other", ""):
            # GitHub does not know the file's licence: our detection reads it, if any, then
            # REUSE's LICENSES/ folder and the package manifests (tests/test_crawl_files.py)
            if stored["has_licence_file"]:
                assert stored["licence_source"] in ("detected", "manifest"), stored["id"]
            else:
                assert stored["licence"] == "NONE" or stored["licence_source"] in (
                    "manifest",
                    "readme",
                )
        assert stored["has_readme"] in (0, 1)
        assert stored["last_commit_at"]
        assert stored["first_seen_at"] and stored["last_seen_at"] and stored["removed_at"] is None


def test_user_account_is_crawled_like_an_organisation(localforge):
    from localforge.data import USER_LOGINS

    login = sorted(USER_LOGINS)[0]
    expected = {r["name"].lower() for r in sample_rows() if r["organization_name"] == login}
    db = store.open_db()
    report = crawl(github_config(localforge, login), db, environ=TOKEN)
    assert report.accounts_ok == 1
    owner = db.table("owners").get(f"github.com/{login}".lower())
    assert owner["kind"] == "user"
    names = {r["name"].lower() for r in db.query("select name from repositories")}
    assert names == expected and expected


def test_small_accounts_are_batched_into_few_queries(localforge, github_crawl):
    # github_crawl (tests/conftest.py): every account crawled once per test run, on a forge of
    # its own, with the requests that forge received
    accounts = [a.login for a in localforge.dataset.accounts("github.com")]
    expected = len(sample_rows())
    db, report = github_crawl.open(), github_crawl.report
    sent = github_crawl.requests["github.com"]
    assert report.repositories_seen == expected
    assert db.table("repositories").count == expected
    assert report.requests == sent
    # ~one query per 100 repositories, the survey (50 accounts a query) and the files read
    # beyond the page (200 repositories a query): the bar, far below one per account.
    assert sent / expected <= 0.02
    assert sent < len(accounts) / 2


def test_unknown_account_fails_alone(localforge):
    db = store.open_db()
    report = crawl(github_config(localforge, "etalab", "no-such-account-xyz"), db, environ=TOKEN)
    assert report.accounts_ok == 1 and report.accounts_failed == 1
    (forge,) = report.forges
    assert forge.status == "partial" and forge.message.startswith("1 of 2 accounts failed")
    assert "no-such-account-xyz" in forge.message
    assert db.table("forges").get("github.com")["status"] == "partial"
    errors = list(db.query("select * from crawl_errors"))
    assert len(errors) == 1 and errors[0]["owner"] == "no-such-account-xyz"
    assert "not found" in errors[0]["error"]
    assert db.table("owners").get("github.com/no-such-account-xyz")["crawl_status"] == "failed"


def test_deleted_repository_gets_removed_at_and_keeps_its_row(fresh_forge):
    db = store.open_db()
    config = github_config(fresh_forge, "etalab")
    crawl(config, db, environ=TOKEN)
    victim = fresh_forge.dataset.repositories("github.com", "etalab")[0]
    victim_id = f"github.com/etalab/{victim.name}".lower()
    before = db.table("repositories").get(victim_id)
    assert before["removed_at"] is None
    fresh_forge.dataset.remove_repository("github.com", "etalab", victim.name)
    report = crawl(config, db, environ=TOKEN)
    after = db.table("repositories").get(victim_id)
    assert after["removed_at"] is not None
    assert after["first_seen_at"] == before["first_seen_at"]
    assert after["description"] == before["description"]
    assert report.repositories_removed == 1
    others = db.execute("select count(*) from repositories where removed_at is null").fetchone()[0]
    assert others == report.repositories_seen


def test_failed_account_keeps_its_previous_rows(fresh_forge):
    db = store.open_db()
    config = github_config(fresh_forge, "etalab")
    crawl(config, db, environ=TOKEN)
    count = db.table("repositories").count
    fresh_forge.bad_tokens = {"revoked"}
    report = crawl(config, db, environ={"GITHUB_TOKEN": "revoked"})
    assert report.accounts_failed == 1
    assert db.table("repositories").count == count
    assert (
        db.execute("select count(*) from repositories where removed_at is not null").fetchone()[0]
        == 0
    )
    assert db.table("owners").get("github.com/etalab")["crawl_status"] == "failed"
    error = next(iter(db.query("select error from crawl_errors")))["error"]
    assert "revoked" not in error and "AuthenticationError" in error


def test_missing_token_is_a_clear_error(localforge):
    db = store.open_db()
    report = crawl(github_config(localforge, "etalab"), db, environ={})
    assert report.accounts_failed == 1
    error = next(iter(db.query("select error from crawl_errors")))["error"]
    assert "GITHUB_TOKEN" in error


def test_queries_are_valid_for_the_real_schema(localforge):
    """The local forge validates every query against GitHub's schema: a crawl that works there
    uses only fields GitHub has. A field GitHub lacks is refused the same way."""
    forge = GitHubForge(
        ForgeConfig("github.com", "github", localforge.api_url("github.com")), "test-token"
    )
    from crawler.forges.base import QueryRejected

    with pytest.raises(QueryRejected, match="licenceInfo"):
        forge.graphql('{ repository(owner: "etalab", name: "x") { licenceInfo { key } } }', {})


def test_unsupported_forges_are_reported_and_skipped(localforge, tmp_path):
    config_file = tmp_path / "organisations.yml"
    config_file.write_text(
        "github.com:\n"
        "  forge: github\n"
        f"  api_url: {localforge.api_url('github.com')}\n"
        "  owners:\n"
        "    etalab:\n"
        "gogs.example.org:\n"
        "  forge: gogs\n"
        "  pso_id: 68d07cbb-9bb3-4b8a-bda9-29f9328e362a\n",
        encoding="utf-8",
    )
    db = store.open_db()
    report = crawl(load_config(config_file), db, environ=TOKEN)
    statuses = {f.host: f.status for f in report.forges}
    assert statuses == {"github.com": "ok", "gogs.example.org": "unsupported"}
    assert db.table("forges").get("gogs.example.org")["status"] == "unsupported"
    assert report.accounts_failed == 0


def test_full_text_search_ignores_accents_and_case(etalab_crawl):
    db = etalab_crawl.open()
    row = next(
        iter(
            db.query(
                "select name, description from repositories where description like '%é%' limit 1"
            )
        )
    )
    word = next(w for w in row["description"].split() if "é" in w).strip(".,;:()!?\"'")
    plain = word.replace("é", "e").upper()
    hits = {
        r["name"]
        for r in db.query(
            "select name from repositories where rowid in "
            "(select rowid from repositories_fts where repositories_fts match ?)",
            [f'"{plain}"'],
        )
    }
    assert row["name"] in hits


def test_a_second_crawl_with_nothing_changed_only_surveys(fresh_forge, github_crawl):
    accounts = [a.login for a in fresh_forge.dataset.accounts("github.com")]
    config = github_config(fresh_forge, *accounts)
    # the first crawl of every account, done once per test run on the same data: a copy
    db, first = github_crawl.open(), github_crawl.report
    rows_before = {r["id"]: r for r in db.query("select * from repositories")}
    sent_before = fresh_forge.requests("github.com")
    second = crawl(config, db, environ=TOKEN)
    sent = fresh_forge.requests("github.com") - sent_before
    surveys = -(-len(accounts) // 50)
    assert sent == surveys == second.requests
    assert second.repositories_seen == first.repositories_seen
    assert second.repositories_new == 0 and second.repositories_removed == 0
    rows_after = {r["id"]: r for r in db.query("select * from repositories")}
    volatile = {"last_seen_at", "last_seen_run"}
    for rid, row in rows_before.items():
        assert {k: v for k, v in row.items() if k not in volatile} == {
            k: v for k, v in rows_after[rid].items() if k not in volatile
        }

    # A push to one repository: only its account is listed again, with the new values.
    victim = fresh_forge.dataset.repositories("github.com", "etalab")[5]
    fresh_forge.dataset.update_repository(
        "github.com",
        "etalab",
        victim.name,
        pushed_at="2026-11-20T10:00:00Z",
        updated_at="2026-11-20T10:00:00Z",
        stars=victim.stars + 7,
    )
    sent_before = fresh_forge.requests("github.com")
    third = crawl(config, db, environ=TOKEN)
    sent = fresh_forge.requests("github.com") - sent_before
    etalab_pages = -(-len(fresh_forge.dataset.repositories("github.com", "etalab")) // 100)
    assert sent == surveys + etalab_pages
    row = db.table("repositories").get(f"github.com/etalab/{victim.name}".lower())
    assert row["pushed_at"] == "2026-11-20T10:00:00Z" and row["stars"] == victim.stars + 7
    assert third.repositories_seen == first.repositories_seen


def test_a_query_github_times_out_on_is_asked_again_in_smaller_pages(fresh_forge):
    fresh_forge.graphql_max_nodes = 40
    db = store.open_db()
    report = crawl(github_config(fresh_forge, "etalab"), db, environ=TOKEN)
    count = len(fresh_forge.dataset.repositories("github.com", "etalab"))
    assert report.accounts_failed == 0
    assert db.table("repositories").count == count
    # pages of at most 40 (the survey, the refused queries, then the smaller pages)
    assert report.requests >= 1 + -(-count // 40)


def test_licences_are_current_spdx_ids_described_in_the_licences_table(github_crawl):
    db = github_crawl.open()
    used = {r["licence"] for r in db.query("select distinct licence from repositories")}
    assert "GPL-3.0-only" in used and "GPL-3.0" not in used  # GitHub's deprecated bare id
    described = {r["spdx_id"] for r in db.query("select spdx_id from licences")}
    assert used - {"NONE", "NOASSERTION"} <= described
    mit = db.table("licences").get("MIT")
    assert mit["is_osi_approved"] == 1 and mit["family"] == "permissive"


def test_licences_github_does_not_know_are_detected_from_their_files(localforge, github_crawl):
    """GitHub says NOASSERTION ("Other") for CeCILL and Etalab: their files are read in
    batches and recognised, within the request budget."""
    accounts = [a.login for a in localforge.dataset.accounts("github.com")]
    db, report = github_crawl.open(), github_crawl.report
    assert github_crawl.requests["github.com"] / report.repositories_seen <= 0.02
    others = [
        r
        for a in accounts
        for r in localforge.dataset.repositories("github.com", a)
        if r.licence is not None and r.licence.spdx_id == "NOASSERTION"
    ]
    assert len(others) > 100
    french = {"CECILL-2.1", "CECILL-B", "CECILL-C", "etalab-2.0"}
    for source in others:
        row = db.table("repositories").get(f"github.com/{source.owner}/{source.name}".lower())
        assert row["licence_source"] == "detected", row["id"]
        assert row["licence"] == source.licence_file_spdx and row["licence"] in french
    recognised = db.execute(
        "select count(*) from repositories where licence_source = 'forge' and licence not in "
        "('NONE', 'NOASSERTION')"
    ).fetchone()[0]
    assert recognised > 800  # what GitHub recognises is kept as GitHub says


def test_every_supported_kind_has_an_adapter():
    from crawler.forges import ADAPTERS
    from crawler.models import SUPPORTED_KINDS

    assert set(ADAPTERS) == set(SUPPORTED_KINDS)
