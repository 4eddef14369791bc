"""The SILL in the inventory database: loads, reloads, failed loads, links both ways."""

from __future__ import annotations

import pytest

from crawler import db as store
from crawler import sill_sync
from sill.load import BUNDLED_V2_EXTRACT, SillFormatError


def test_bundled_export_loads_whole():
    db = store.open_db()
    report = sill_sync.load_into(db, sill_sync.BUNDLED)
    assert report.shape == "2022" and report.loaded == db.table("sill_software").count == 240
    seven_zip = db.table("sill_software").get(1)
    assert seven_zip["name"] == "7zip" and seven_zip["removed_at"] is None
    assert seven_zip["first_seen_at"] and seven_zip["source_shape"] == "2022"


def test_a_reload_keeps_software_that_left_the_export_with_removed_at():
    db = store.open_db()
    sill_sync.load_into(db, sill_sync.BUNDLED)
    report = sill_sync.load_into(db, BUNDLED_V2_EXTRACT)
    assert report.shape == "v2" and report.loaded == 3 and report.removed == 240 - 1
    assert db.table("sill_software").count == 240 + 2
    seven_zip = db.table("sill_software").get(1)
    assert seven_zip["removed_at"] is None and seven_zip["wikidata_id"] == "Q215051"
    gone = db.table("sill_software").get(2)
    assert gone["removed_at"] is not None and gone["name"]


def test_a_file_that_is_not_a_sill_export_leaves_the_tables_untouched(tmp_path):
    db = store.open_db()
    sill_sync.load_into(db, sill_sync.BUNDLED)
    before = list(db.query("select * from sill_software order by id"))
    bogus = tmp_path / "page.html"
    bogus.write_text("<html><body>Maintenance</body></html>", encoding="utf-8")
    with pytest.raises(SillFormatError, match=r"page\.html"):
        sill_sync.load_into(db, bogus)
    assert list(db.query("select * from sill_software order by id")) == before


def test_sill_entries_are_linked_to_the_repositories_that_build_them(github_crawl):
    # every GitHub account of the local forge, crawled once per test run (tests/conftest.py)
    db = github_crawl.open()
    report = sill_sync.load_into(db, sill_sync.BUNDLED)
    assert report.links > 0
    links = list(db.query("select * from sill_repositories"))
    assert len(links) == report.links
    for link in links:
        repository = db.table("repositories").get(link["repository"])
        software = db.table("sill_software").get(link["sill_id"])
        assert repository["in_sill"] == 1 and software["in_inventory"] == 1
        assert link["match"] in (
            "repository_url",
            "publiccode_url",
            "website",
            "homepage",
            "homepage_fork",
        )
    linked = db.execute("select count(*) from repositories where in_sill = 1").fetchone()[0]
    assert linked == len({link["repository"] for link in links})
