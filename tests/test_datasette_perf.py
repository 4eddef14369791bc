"""What the Datasette speed work changes for a user, over HTTP on a real `codegouv serve` of
the published demo: JSON answers without the default facets unless one is asked, the topics
facet counted from the precomputed table with the same counts as json_each, and a facet asked
for that the table shows anyway computed once."""

from __future__ import annotations

import re
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

import requests
import sqlite_utils
from datasette.utils import tilde_encode  # type: ignore[import-untyped]

from crawler.publish import datasette as datasette_config
from tests._datasette_helpers import serving

DB = "inventory"


def table_json(server, **params) -> dict:
    answer = requests.get(f"{server.url}/{DB}/repositories.json", params=params, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def topics_by_json_each(published: Path, where: str = "", params: tuple = ()) -> list[tuple]:
    """The topics facet as Datasette's array facet counts it: each repository once per topic."""
    connection = sqlite3.connect(f"file:{published / 'inventory.db'}?immutable=1", uri=True)
    try:
        return connection.execute(
            "select j.value, count(distinct r.id) as n from repositories r, "
            f"json_each(r.topics) j {where} group by j.value order by n desc, j.value limit 10",
            params,
        ).fetchall()
    finally:
        connection.close()


def test_json_answer_skips_default_facets_unless_one_is_asked(server):
    assert table_json(server)["facet_results"] == {}
    asked = table_json(server, _facet="is_template")
    facets = asked["facet_results"]
    # Asking for one facet brings the table's default ones too, as on the HTML page.
    assert {"is_template", "licence", "language", "topics"} <= set(facets)


def test_topics_facet_has_json_each_counts_from_the_precomputed_table(server, published):
    facet = table_json(server, _facet="licence")["facet_results"]["topics"]
    got = [(v["value"], v["count"]) for v in facet["results"]]
    expected = topics_by_json_each(published)
    assert got == expected and len(got) == 10
    link = urllib.parse.urlsplit(facet["results"][0]["toggle_url"])
    assert ("topics__arraycontains", got[0][0]) in urllib.parse.parse_qsl(link.query)


def test_topics_facet_follows_the_filters(server, published):
    facet = table_json(server, _facet="licence", licence="MIT")["facet_results"]["topics"]
    got = [(v["value"], v["count"]) for v in facet["results"]]
    assert got == topics_by_json_each(published, "where r.licence = ?", ("MIT",))
    assert got and got != topics_by_json_each(published)


def test_topics_facet_value_filters_the_rows(server, published):
    top = topics_by_json_each(published)[0]
    data = table_json(server, topics__arraycontains=top[0], _size=1)
    assert data["filtered_table_rows_count"] == top[1]


def test_a_facet_asked_that_the_table_shows_anyway_is_computed_once(server):
    facets = table_json(server, _facet=["licence", "language", "is_template"])["facet_results"]
    assert "licence" in facets and "licence_2" not in facets and "language_2" not in facets
    page = requests.get(f"{server.url}/{DB}/repositories", params={"_facet": "licence"}, timeout=60)
    assert page.status_code == 200
    assert page.text.count('id="facet-licence"') == 1


def test_repository_topics_is_published_and_described(server, published):
    db = sqlite_utils.Database(published / "inventory.db")
    pairs = db.execute("select count(*) from repository_topics").fetchone()[0]
    expected = db.execute(
        "select count(*) from (select distinct r.id, j.value from repositories r, "
        "json_each(r.topics) j where j.value != '')"
    ).fetchone()[0]
    assert pairs == expected > 0
    table = requests.get(f"{server.url}/{DB}/repository_topics.json", timeout=30).json()
    assert table["filtered_table_rows_count"] == pairs
    meta = requests.get(f"{server.url}/-/metadata.json", timeout=30).json()
    described = meta["databases"][DB]["tables"]["repository_topics"]
    assert "mots-clés" in described["description"]
    assert described["license"] == datasette_config.LICENCE["license"]


def test_prepare_twice_keeps_one_row_per_repository_and_topic(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    db["repositories"].insert_all(
        [
            {"id": "a", "topics": '["x", "y", "x"]', "licence": "MIT"},
            {"id": "b", "topics": "pas du json", "licence": "MIT"},
            {"id": "c", "topics": None, "licence": "MIT"},
        ],
        pk="id",
    )
    datasette_config._fill_topics(db)
    datasette_config._fill_topics(db)
    assert sorted(db.execute("select * from repository_topics").fetchall()) == [
        ("a", "x"),
        ("a", "y"),
    ]


def _rows_and_columns(page: str) -> str:
    """The table of rows of an HTML page, whitespace between tags left out."""
    start = page.index('<div class="table-wrapper">')
    table = page[start : page.index("</table>", start)]
    return re.sub(r"\s+<", "<", re.sub(r">\s+", ">", table))


def test_table_of_rows_is_the_html_of_datasettes_own_template(server, published, tmp_path):
    """Our plugin writes the table of a table page in Python (``rows_and_columns``): the same
    HTML as Datasette's ``_table.html``, checked against a server of the same publication
    without our template."""
    plain = tmp_path / "public"
    shutil.copytree(published, plain, ignore=shutil.ignore_patterns("site", "data"))
    (plain / "datasette" / "templates" / "_table.html").unlink()
    paths = [
        f"/{DB}/repositories",
        f"/{DB}/repositories?_sort_desc=stars&licence=MIT",
        f"/{DB}/repositories?_search=donnees&_sort=name",
        f"/{DB}/owners?_sort=login",
        f"/{DB}/sill_software",
        f"/{DB}/licences",
        f"/{DB}/repository_topics",
    ]
    row = requests.get(f"{server.url}/{DB}/repositories.json?_shape=array&_size=1", timeout=30)
    paths.append(f"/{DB}/repositories/{tilde_encode(row.json()[0]['id'])}")
    with serving("--out", str(plain)) as reference:
        for path in paths:
            ours = requests.get(f"{server.url}{path}", timeout=60)
            theirs = requests.get(f"{reference.url}{path}", timeout=60)
            assert ours.status_code == theirs.status_code == 200, path
            assert "<td" in ours.text, path
            assert _rows_and_columns(ours.text) == _rows_and_columns(theirs.text), path
