import json
from typing import Any

import pytest

from crawler.score import (
    FORKS_BANDS,
    HIGH,
    LOW,
    MEDIUM,
    RULES,
    STARS_BANDS,
    Score,
    ScoreItem,
    score,
)


def bare(**changes: Any) -> dict[str, Any]:
    """A row that earns nothing and loses nothing: score 0, no details."""
    row: dict[str, Any] = {
        "licence": None,
        "is_template": 0,
        "has_publiccode": 0,
        "has_readme": 0,
        "has_contributing": 0,
        "has_changelog": 0,
        "description": "Un outil",
        "is_archived": 0,
        "is_fork": 0,
        "forks": 0,
        "stars": 0,
    }
    row.update(changes)
    return row


def keys(result: Score) -> list[str]:
    return [item.rule for item in result.details]


def test_the_bare_row_scores_zero():
    result = score(bare())
    assert result == Score(0, ())
    assert result.details_json() == "[]"


@pytest.mark.parametrize(
    ("changes", "rule", "points"),
    [
        ({"licence": "MIT"}, "licence", 1000),
        ({"licence": "GPL-3.0-or-later OR CECILL-2.1"}, "licence", 1000),
        ({"is_template": 1}, "template", 1000),
        ({"has_publiccode": 1}, "publiccode", 1000),
        ({"has_readme": 1}, "readme", 100),
        ({"has_contributing": 1}, "contributing", 100),
        ({"has_changelog": 1}, "changelog", 10),
        ({"description": None}, "no_description", -100),
        ({"description": ""}, "no_description", -100),
        ({"description": "  \n"}, "no_description", -100),
        ({"is_archived": 1}, "archived", -1000),
        ({"is_fork": 1}, "fork", -1000),
        ({"forks": 2}, "forks_more_than_1", 10),
        ({"forks": 11}, "forks_more_than_10", 100),
        ({"forks": 101}, "forks_more_than_100", 1000),
        ({"stars": 11}, "stars_more_than_10", 10),
        ({"stars": 101}, "stars_more_than_100", 100),
        ({"stars": 1001}, "stars_more_than_1000", 1000),
    ],
)
def test_each_rule_alone_moves_the_score_by_its_points(changes, rule, points):
    result = score(bare(**changes))
    assert result.value == points
    assert keys(result) == [rule]
    assert result.details[0].points == points


@pytest.mark.parametrize(
    ("forks", "expected"),
    [
        (0, None),
        (1, None),  # "more than 1": exactly 1 earns nothing
        (2, "forks_more_than_1"),
        (10, "forks_more_than_1"),
        (11, "forks_more_than_10"),
        (100, "forks_more_than_10"),
        (101, "forks_more_than_100"),
        (50_000, "forks_more_than_100"),
    ],
)
def test_forks_bands_edges(forks, expected):
    result = score(bare(forks=forks))
    assert keys(result) == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("stars", "expected", "points"),
    [
        (10, None, 0),
        (11, "stars_more_than_10", LOW),
        (100, "stars_more_than_10", LOW),
        (101, "stars_more_than_100", MEDIUM),
        (1000, "stars_more_than_100", MEDIUM),
        (1001, "stars_more_than_1000", HIGH),
    ],
)
def test_stars_bands_edges(stars, expected, points):
    result = score(bare(stars=stars))
    assert keys(result) == ([] if expected is None else [expected])
    assert result.value == points


def test_bands_follow_the_published_constants():
    assert FORKS_BANDS == ((100, 1000), (10, 100), (1, 10))
    assert STARS_BANDS == ((1000, 1000), (100, 100), (10, 10))


@pytest.mark.parametrize("licence", [None, "", "NOASSERTION", "NONE"])
def test_an_unknown_or_unrecognised_licence_earns_nothing(licence):
    assert score(bare(licence=licence)).value == 0


@pytest.mark.parametrize(
    "flag",
    [
        "is_template",
        "has_publiccode",
        "has_readme",
        "has_contributing",
        "has_changelog",
        "is_archived",
        "is_fork",
    ],
)
def test_unknown_flags_do_not_count(flag):
    assert score(bare(**{flag: None})) == Score(0, ())
    # A missing key is as unknown as None.
    row = bare()
    del row[flag]
    assert score(row) == Score(0, ())


def test_unknown_counts_earn_nothing():
    assert score(bare(forks=None, stars=None)) == Score(0, ())


def test_booleans_count_like_integers():
    assert score(bare(has_readme=True, is_fork=False)).value == MEDIUM


def test_a_typical_full_row():
    row = {
        "licence": "EUPL-1.2",
        "is_template": 0,
        "has_publiccode": 1,
        "has_readme": 1,
        "has_contributing": 1,
        "has_changelog": None,  # not checked yet
        "description": "Générateur de formulaires",
        "is_archived": 0,
        "is_fork": 0,
        "forks": 42,
        "stars": 250,
    }
    result = score(row)
    assert keys(result) == [
        "licence",
        "publiccode",
        "readme",
        "contributing",
        "forks_more_than_10",
        "stars_more_than_100",
    ]
    assert result.value == 1000 + 1000 + 100 + 100 + 100 + 100


def test_a_negative_score_is_kept():
    result = score(bare(description=None, is_archived=1, is_fork=1, has_readme=1))
    assert result.value == -100 - 1000 - 1000 + 100
    assert keys(result) == ["readme", "no_description", "archived", "fork"]


def test_details_are_exactly_the_counted_rules_and_sum_to_the_value():
    row = bare(licence="MIT", is_template=1, has_changelog=1, description="", forks=3, stars=5)
    result = score(row)
    assert keys(result) == [
        "licence",
        "template",
        "changelog",
        "no_description",
        "forks_more_than_1",
    ]
    assert (
        sum(item.points for item in result.details) == result.value == 1000 + 1000 + 10 - 100 + 10
    )
    by_key = {rule.key: rule for rule in RULES}
    for item in result.details:
        assert item == ScoreItem(item.rule, by_key[item.rule].label, by_key[item.rule].points)


def test_details_json_is_valid_compact_and_keeps_accents():
    result = score(bare(is_archived=1, stars=20))
    text = result.details_json()
    assert "Dépôt archivé" in text
    assert "étoiles" in text
    assert "\\u" not in text
    assert ", " not in text and '": ' not in text
    assert json.loads(text) == [
        {"rule": "archived", "label": "Dépôt archivé", "points": -1000},
        {"rule": "stars_more_than_10", "label": "Plus de 10 étoiles", "points": 10},
    ]


def test_rules_table_is_well_formed():
    keys_ = [rule.key for rule in RULES]
    assert len(keys_) == len(set(keys_))
    assert all(rule.label and rule.points != 0 for rule in RULES)
    # The best possible repository earns every positive rule but one band of each count.
    best = score(
        bare(
            licence="MIT",
            is_template=1,
            has_publiccode=1,
            has_readme=1,
            has_contributing=1,
            has_changelog=1,
            forks=10_000,
            stars=10_000,
        )
    )
    assert best.value == 3 * HIGH + 2 * MEDIUM + LOW + HIGH + HIGH
