"""The column facets of the published instance (our ``ColumnFacet``: precomputed counts, one
pass, or one query per column) as a visitor sees them over HTTP on a real `codegouv serve`:
the counts equal a plain GROUP BY on the same rows, foreign keys show their labels, and the
links of the values filter and unfilter the page."""

from __future__ import annotations

import sqlite3
import urllib.parse

import pytest
import requests
import sqlite_utils

from crawler.publish import datasette as datasette_config

DB = "inventory"
COLUMNS = [c for c in datasette_config.FACETS["repositories"] if isinstance(c, str)]


@pytest.fixture(scope="module")
def connection(published):
    connection = sqlite3.connect(f"file:{published / 'inventory.db'}?immutable=1", uri=True)
    yield connection
    connection.close()


def page(url: str, **params) -> dict:
    answer = requests.get(url, params=params, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def facets(server, **params) -> dict:
    return page(f"{server.url}/{DB}/repositories.json", _facet="licence", **params)["facet_results"]


def group_by(connection, column: str, where: str = "", params: tuple = (), size: int = 10):
    """A facet as plain SQL: the values of ``column`` on the rows ``where`` keeps, by count."""
    rows = connection.execute(
        f'select "{column}", count(*) from repositories where "{column}" is not null '
        f"{'and ' + where if where else ''} group by 1 order by 2 desc, 1 limit {size + 1}",
        params,
    ).fetchall()
    return [tuple(r) for r in rows[:size]], len(rows) > size


def shown(facet: dict) -> tuple[list[tuple], bool]:
    return [(v["value"], v["count"]) for v in facet["results"]], facet["truncated"]


def common_value(connection, column: str, where: str = "", params: tuple = ()) -> str:
    value = group_by(connection, column, where, params)[0][0][0]
    return str(value)


def fts_where(word: str) -> tuple[str, tuple]:
    return (
        "rowid in (select rowid from repositories_fts where repositories_fts match ?)",
        (word,),
    )


def test_facets_of_the_whole_table_equal_a_group_by(server, connection):
    results = facets(server)
    for column in COLUMNS:
        assert shown(results[column]) == group_by(connection, column), column
    assert results["licence"]["results"] and results["owner"]["truncated"]


@pytest.mark.parametrize("column", ["licence", "owner", "is_fork", "activity"])
def test_facets_under_one_filter_equal_a_group_by(server, connection, column):
    value = common_value(connection, column)
    results = facets(server, **{column: value})
    where = f'"{column}" = ?'
    for facet in COLUMNS:
        assert shown(results[facet]) == group_by(connection, facet, where, (value,)), facet
    # Also through the explicit form of the same filter.
    exact = facets(server, **{f"{column}__exact": value})
    assert {c: shown(exact[c]) for c in COLUMNS} == {c: shown(results[c]) for c in COLUMNS}


def test_a_value_that_no_row_has_gives_empty_facets(server):
    results = facets(server, licence="Aucune-Licence-Pareille")
    assert all(results[c]["results"] == [] for c in COLUMNS)


def test_facets_of_a_search_equal_a_group_by(server, connection):
    word = "donnees"
    where, params = fts_where(word)
    results = facets(server, _search=word)
    assert results["licence"]["results"], "the demo has repositories about data"
    for column in COLUMNS:
        assert shown(results[column]) == group_by(connection, column, where, params), column


def test_facets_under_several_filters_and_other_operators_equal_a_group_by(server, connection):
    licence = common_value(connection, "licence")
    language = common_value(connection, "language", "licence = ?", (licence,))
    cases = [
        (
            {"licence": licence, "language": language},
            "licence = ? and language = ?",
            (licence, language),
        ),
        ({"stars__gte": "1"}, "stars >= 1", ()),
        ({"licence__not": licence}, "licence != ?", (licence,)),
    ]
    for params, where, values in cases:
        results = facets(server, **params)
        for column in COLUMNS:
            assert shown(results[column]) == group_by(connection, column, where, values), (
                params,
                column,
            )
        # Without a row count (``_nocount``), each column is counted by its own query.
        uncounted = facets(server, _nocount="1", **params)
        assert {c: shown(uncounted[c]) for c in COLUMNS} == {c: shown(results[c]) for c in COLUMNS}


def test_facet_size_and_truncation_follow_the_request(server, connection):
    owner = facets(server, _facet_size="3")["owner"]
    assert shown(owner) == group_by(connection, "owner", size=3)
    everything = facets(server, _facet_size="max")["owner"]
    assert shown(everything) == group_by(connection, "owner", size=1000)
    assert everything["truncated"] is False and len(everything["results"]) > 10


def test_owner_facet_shows_the_owners_login_as_label(server, connection):
    values = facets(server)["owner"]["results"]
    logins = dict(connection.execute("select id, login from owners").fetchall())
    assert values and all(v["label"] == logins[v["value"]] for v in values)


def test_a_facet_value_link_filters_and_its_selected_link_unfilters(server, connection):
    start = page(f"{server.url}/{DB}/repositories.json", _facet="licence", language="Python")
    value = start["facet_results"]["licence"]["results"][0]
    assert value["selected"] is False
    filtered = page(value["toggle_url"])
    assert filtered["filtered_table_rows_count"] == value["count"]
    selected = [v for v in filtered["facet_results"]["licence"]["results"] if v["selected"]]
    assert [(v["value"], v["count"]) for v in selected] == [(value["value"], value["count"])]
    back = page(selected[0]["toggle_url"])
    assert back["filtered_table_rows_count"] == start["filtered_table_rows_count"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(selected[0]["toggle_url"]).query))
    assert query.get("language") == "Python" and "licence" not in query


def test_boolean_facet_values_are_numbers_and_filter(server, connection):
    fork = facets(server)["is_fork"]["results"]
    assert {v["value"] for v in fork} <= {0, 1}
    one = next(v for v in fork if v["value"] == 1)
    assert page(one["toggle_url"])["filtered_table_rows_count"] == one["count"]


def test_html_table_page_lists_the_facets_and_their_links(server, connection):
    licence = common_value(connection, "licence")
    html = requests.get(
        f"{server.url}/{DB}/repositories", params={"licence": licence}, timeout=60
    ).text
    for column in COLUMNS:
        assert f'id="facet-{column}"' in html
    count = group_by(connection, "licence", "licence = ?", (licence,))[0][0][1]
    assert f"{count:,}" in html and "&#x2716;" in html


def test_facet_counts_are_published_for_every_faceted_table(published, connection):
    db = sqlite_utils.Database(published / "inventory.db")
    tables = {r[0] for r in db.execute("select distinct table_name from facet_counts").fetchall()}
    assert {"repositories", "owners", "sill_software"} <= tables
    # The topics count as the table repository_topics does.
    top = db.execute(
        "select value, count from facet_counts where table_name = 'repositories' "
        "and filter_column = '' and facet_column = 'topics' and rank = 1"
    ).fetchone()
    assert (
        top
        == db.execute(
            "select topic, count(*) from repository_topics group by topic "
            "order by 2 desc, 1 limit 1"
        ).fetchone()
    )
