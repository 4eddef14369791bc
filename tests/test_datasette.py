"""The public Datasette instance as a visitor sees it: `codegouv serve` on a published demo
folder (`codegouv demo --once`: local forge crawled, bundled SILL loaded, published by the
same step as `codegouv publish`), checked over HTTP."""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import socket
import time

import pytest
import requests
import sqlite_utils

from crawler import db as store
from crawler.lock import exclusive
from crawler.publish import queries
from tests._datasette_helpers import (
    rss_kb,
    run,
)

DB = "inventory"


def get(server, path: str, **params) -> requests.Response:
    return requests.get(f"{server.url}{path}", params=params, timeout=30)


def rows(server, path: str, **params) -> list[dict]:
    answer = get(server, f"/{DB}/{path}.json", _shape="array", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def visible_tables(server) -> list[str]:
    tables = get(server, f"/{DB}.json").json()["tables"]
    return [t["name"] for t in tables if not t["hidden"]]


# --- metadata ---------------------------------------------------------------------------------


def test_licence_and_source_on_the_instance_and_on_every_table(server):
    meta = get(server, "/-/metadata.json").json()
    assert meta["license"] == "Licence Ouverte 2.0 (Etalab)"
    assert "etalab.gouv.fr" in meta["license_url"] and meta["source"] and meta["title"]
    tables = visible_tables(server)
    assert {"repositories", "owners", "forges", "sill_software", "daily_stats"} <= set(tables)
    for table in tables:
        page = get(server, f"/{DB}/{table}")
        assert page.status_code == 200, table
        assert "Licence Ouverte 2.0 (Etalab)" in page.text, table
        assert "etalab.gouv.fr/licence-ouverte" in page.text, table
        assert "Source :" in page.text, table


def test_every_table_and_column_is_described_in_french(server):
    meta = get(server, "/-/metadata.json").json()["databases"][DB]["tables"]
    for table in visible_tables(server):
        columns = get(server, f"/{DB}/{table}.json", _size=1).json()["columns"]
        described = meta[table]["columns"]
        assert meta[table]["description"], table
        missing = [c for c in columns if c != "rowid" and not described.get(c)]
        assert missing == [], f"{table}: {missing}"


def test_table_page_folds_column_descriptions_and_shows_default_facets(server):
    page = get(server, f"/{DB}/repositories").text
    disclosure = page.index("<summary>Description des colonnes</summary>")
    assert page.index("<details", disclosure - 200) < disclosure
    assert page.count('class="column-descriptions"') == 1, "listed once, folded"
    assert page.index("</details>", disclosure) < page.index('<table class="rows-and-columns"')
    for facet in ("licence", "language", "forge", "owner", "ministry", "activity", "topics"):
        assert f'id="facet-{facet}"' in page, facet


def test_foreign_keys_show_labels(server):
    data = get(server, f"/{DB}/sill_repositories.json", _labels="on", _size=5).json()
    first = data["rows"][0]
    assert isinstance(first["sill_id"], dict) and first["sill_id"]["label"]
    assert isinstance(first["repository"], dict) and first["repository"]["label"]


def test_home_page_in_french_links_tables_queries_and_exports(server):
    page = get(server, "/").text
    assert "Inventaire des codes sources publics" in page
    assert "Les questions fréquentes" in page and "Télécharger les données" in page
    for table in ("repositories", "owners", "sill_software", "daily_stats"):
        assert f'href="/{DB}/{table}"' in page, table
    for query in queries.QUERIES:
        assert f'href="/{DB}/{query.name}"' in page, query.name
    assert 'href="/data/"' in page


# --- canned queries ---------------------------------------------------------------------------


def test_at_least_twelve_canned_queries_each_returning_rows_on_the_demo(server):
    meta = get(server, "/-/metadata.json").json()["databases"][DB]["queries"]
    assert len(meta) >= 12
    for name, query in meta.items():
        assert query["title"] and query["description"], name
        answer = get(server, f"/{DB}/{name}.json", _shape="objects")
        assert answer.status_code == 200, f"{name}: {answer.text[:300]}"
        assert answer.json()["rows"], f"{name} returns no rows on the demo data"


def test_quality_report_takes_an_owner(server):
    etalab = rows(server, "rapport_qualite_organisation", owner="github.com/etalab")
    assert etalab and {r["compte"] for r in etalab} == {"github.com/etalab"}
    assert all(r["a_corriger"] for r in etalab)
    assert rows(server, "rapport_qualite_organisation", owner="etalab") == etalab


def test_recent_queries_follow_a_reference_date(server):
    recent = rows(server, "depots_actifs_90_jours")
    assert recent and all(r["dernier_envoi"] >= "2021-08" for r in recent)
    older = rows(server, "depots_actifs_90_jours", date_reference="2019-06-30")
    assert older and all("2019-04-01" <= r["dernier_envoi"] < "2019-07-01" for r in older)
    month = rows(server, "nouveaux_depots_du_mois", mois="2020-03")
    assert month and all(r["cree_le"].startswith("2020-03") for r in month)


# --- full-text search -------------------------------------------------------------------------


def test_search_ignores_accents(server):
    found = rows(server, "repositories", _search="donnees", _size=100)
    assert found
    assert any("données" in (r["description"] or "").lower() for r in found)
    accented = rows(server, "repositories", _search="données", _size=100)
    assert {r["id"] for r in accented} == {r["id"] for r in found}


def test_search_finds_words_in_any_order(server):
    one = rows(server, "repositories", _search="logiciel libre", _size=200)
    other = rows(server, "repositories", _search="libre logiciel", _size=200)
    assert one and {r["id"] for r in one} == {r["id"] for r in other}


@pytest.mark.parametrize(
    ("table", "words"),
    [("owners", "ministere"), ("sill_software", "donnees"), ("sill_software", "donnees outil")],
)
def test_search_on_owners_and_sill(server, table, words):
    assert rows(server, table, _search=words)


def test_an_old_fts_index_is_rebuilt_accent_insensitive():
    db = sqlite_utils.Database(memory=True)
    db["repositories"].insert({"id": "a", "name": "x", "description": "Données"}, pk="id")
    db["repositories"].enable_fts(["description"], tokenize="unicode61 remove_diacritics 0")
    assert not list(
        db.query("select * from repositories_fts where repositories_fts match 'donnees'")
    )
    store.ensure_shape(db)
    store.ensure_shape(db)  # idempotent
    assert "remove_diacritics 2" in db["repositories_fts"].schema
    assert list(db.query("select * from repositories_fts where repositories_fts match 'donnees'"))
    db["repositories"].insert({"id": "b", "name": "y", "description": "Équipe"})
    assert list(db.query("select * from repositories_fts where repositories_fts match 'equipe'"))


# --- formats, CORS, robots --------------------------------------------------------------------


def test_json_and_csv_answer(server):
    data = get(server, f"/{DB}/repositories.json", licence="MIT", _sort="name").json()
    assert data["rows"] and all(r[data["columns"].index("licence")] == "MIT" for r in data["rows"])
    answer = get(server, f"/{DB}/repositories.csv", licence="MIT", _size=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/")
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert table and {r["licence"] for r in table} == {"MIT"}


def test_json_api_allows_any_origin(server):
    answer = get(server, f"/{DB}/repositories.json", _size=1)
    assert answer.headers["access-control-allow-origin"] == "*"


def test_robots_lets_table_pages_in_and_keeps_sql_out(server):
    answer = get(server, "/robots.txt")
    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert "User-agent: *" in lines
    for rule in ("Disallow: /*?sql=", "Disallow: /*.json", "Disallow: /*.csv", "Disallow: /-/"):
        assert rule in lines
    assert not any(line in ("Disallow: /", f"Disallow: /{DB}") for line in lines)


# --- a public instance: read-only, bounded ----------------------------------------------------


def test_writes_are_refused(server, published):
    database = published / "inventory.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    insert = "insert into licences (spdx_id, name) values ('X-TEST', 'x')"
    answer = get(server, f"/{DB}.json", sql=insert)
    assert answer.status_code >= 400 and not answer.json()["ok"]
    for path in (f"/{DB}/licences/-/insert", f"/{DB}/licences", f"/{DB}"):
        posted = requests.post(
            f"{server.url}{path}",
            json={"row": {"spdx_id": "X-TEST"}, "sql": insert},
            timeout=30,
        )
        assert posted.status_code >= 400, path
    posted = requests.post(f"{server.url}/{DB}", data={"sql": insert}, timeout=30)
    assert posted.status_code >= 400
    assert not rows(server, "licences", spdx_id="X-TEST")
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_unknown_pages_are_404_not_500(server):
    for path in (f"/{DB}/nothing", f"/{DB}/nothing.json", "/nothing/at/all"):
        assert get(server, path).status_code == 404, path


def test_a_gigabyte_query_is_refused_at_once_without_growing_the_server(server):
    before = rss_kb(server.process.pid)
    started = time.monotonic()
    answer = get(server, f"/{DB}.json", sql="select randomblob(1000000000) as b")
    assert time.monotonic() - started < 5
    assert answer.status_code >= 400 and not answer.json()["ok"]
    assert "too big" in answer.json()["error"]
    started = time.monotonic()
    answer = get(server, f"/{DB}.json", sql="select printf('%.*c', 1e9, 'x') as s", _shape="array")
    assert time.monotonic() - started < 5
    assert answer.json() == [{"s": None}]
    # The cap leaves real rows alone, and SQLite's printf still works within it.
    answer = get(server, f"/{DB}.json", sql="select printf('%05d-%s', 42, 'x') as s")
    assert answer.json()["rows"] == [["00042-x"]]
    assert rss_kb(server.process.pid) - before < 100_000


def test_a_slow_query_hits_the_time_limit(server):
    endless = (
        "with recursive n(i) as (select 1 union all select i + 1 from n) select count(*) from n"
    )
    started = time.monotonic()
    answer = get(server, f"/{DB}.json", sql=endless)
    assert time.monotonic() - started < 10
    assert answer.status_code >= 400 and "interrupted" in answer.text.lower()


def test_serve_writes_nothing_in_the_published_folder(server, published):
    folder = published.resolve()
    before = sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*"))
    get(server, f"/{DB}/repositories")
    get(server, f"/{DB}/repositories.json", _search="donnees")
    after = sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*"))
    assert after == before


def test_exports_are_served_beside_datasette(server, published):
    listing = get(server, "/data/")
    assert listing.status_code == 200 and 'href="datapackage.json"' in listing.text
    package = get(server, "/data/datapackage.json")
    assert package.status_code == 200 and package.headers["access-control-allow-origin"] == "*"
    assert package.json()["resources"]
    exported = get(server, "/data/repositories.csv")
    assert exported.content == (published / "data" / "repositories.csv").read_bytes()


def test_static_files_stay_inside_the_published_folder(server):
    host, port = server.url.removeprefix("http://").split(":")
    for path in ("/data/../build.json", "/data/%2e%2e/build.json", "/site/..%2fbuild.json"):
        # http.client sends the path as written (requests would normalise the dots away).
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        assert answer.status == 404 and b"publish_run" not in body, path


# --- the command line -------------------------------------------------------------------------


def test_a_port_in_use_is_one_french_line_and_status_1(published):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--out", str(published), "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"le port {port} est déjà utilisé sur 127.0.0.1 : choisissez-en un autre avec --port."
    ]
    assert "Traceback" not in result.stderr


def test_serve_without_a_publication_says_what_to_do(tmp_path):
    result = run("serve", "--out", str(tmp_path / "nothing"), "--port", "1")
    assert result.returncode == 2
    assert "codegouv publish" in result.stderr and "Traceback" not in result.stderr


def test_demo_takes_the_lock_of_its_own_database(tmp_path):
    db_path = tmp_path / "demo.db"
    with exclusive(db_path):
        result = run("demo", "--once", "--db", str(db_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(db_path) in result.stderr and "Traceback" not in result.stderr
    assert not db_path.exists()


def test_demo_default_database_is_not_the_crawl_database():
    result = run("demo", "--help")
    assert "data/demo/inventory.db" in result.stdout
