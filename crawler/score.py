"""code.gouv.fr's repository score ("awesome score"), as a pure function on a ``repositories`` row.

code.gouv.fr ranks public repositories by a score that rewards what makes a repository
reusable (a known licence, a template, a publiccode.yml, a README, a contribution guide, a
changelog, forks, stars) and penalises what makes it a poor candidate for reuse (no
description, archived, a fork). The rules and points below are those of the script that builds
code.gouv.fr's data, ``compute-repo-score`` in the repository ``codegouvfr/codegouvfr-output-data``,
files ``src/codegouvfr/codegouvfr_output_data.clj``, ``src/cdg/codegouvfr-output-data.clj`` and
``codegouvfr-output-data.clj`` (same rules in the three); three tiers of points, 1000, 100 and 10:

- known licence (not empty, not "other" = our NOASSERTION), template, publiccode.yml: +1000 each;
- README, CONTRIBUTING: +100 each; CHANGELOG: +10;
- no description: -100; archived: -1000; fork: -1000;
- forks: more than 100 → +1000, more than 10 → +100, more than 1 → +10 (one band only).

Stars: those versions score GitHub *watchers* (``subscribers_count``), which we do not collect.
An earlier version of the same script (``src/codegouvfr-output-data.clj``, commit 09a31140) also
scored *stargazers*: more than 1000 → +1000, more than 100 → +100, more than 10 → +10. Our
``stars`` column holds stargazers, so we use those stargazer bands, not the watcher bands.

Departures, all deliberate:

- a flag that is unknown (``None``: not checked yet) does not count, for or against;
- a description of blanks only counts as no description.

The value is not clamped: code.gouv.fr keeps negative scores and hides those repositories from
its public listing instead (it lists only scores ≥ 0).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.licences import NOASSERTION, NONE

#: The three tiers of points code.gouv.fr uses.
HIGH = 1000
MEDIUM = 100
LOW = 10

#: Bands on counts, highest first: (count strictly above, points). One band counts at most.
FORKS_BANDS: tuple[tuple[int, int], ...] = ((100, HIGH), (10, MEDIUM), (1, LOW))
STARS_BANDS: tuple[tuple[int, int], ...] = ((1000, HIGH), (100, MEDIUM), (10, LOW))

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the score: its key, its French label (shown on the site), its points and
    the predicate telling whether a row earns them."""

    key: str
    label: str
    points: int
    applies: Callable[[Row], bool]


@dataclass(frozen=True, slots=True)
class ScoreItem:
    """A rule that counted for one repository."""

    rule: str
    label: str
    points: int


@dataclass(frozen=True, slots=True)
class Score:
    """A repository's score and the rules that made it (their points add up to ``value``)."""

    value: int
    details: tuple[ScoreItem, ...]

    def details_json(self) -> str:
        """The details as compact JSON, accents kept, for a TEXT column or the site."""
        items = [{"rule": i.rule, "label": i.label, "points": i.points} for i in self.details]
        return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _flag(key: str) -> Callable[[Row], bool]:
    """True only for a flag known to be set: ``None`` (unknown) and 0 do not count."""

    def applies(row: Row) -> bool:
        value = row.get(key)
        return value is not None and bool(value)

    return applies


def _count(row: Row, key: str) -> int:
    """A count, 0 when unknown (code.gouv.fr skipped a missing count the same way)."""
    value = row.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _band(key: str, above: int, up_to: int | None) -> Callable[[Row], bool]:
    """True when ``above < count <= up_to`` (no upper bound for the top band)."""

    def applies(row: Row) -> bool:
        count = _count(row, key)
        return count > above and (up_to is None or count <= up_to)

    return applies


def _bands(
    key: str, bands: tuple[tuple[int, int], ...], labels: tuple[str, ...]
) -> tuple[Rule, ...]:
    """One rule per band, mutually exclusive: each band ends where the one above starts."""
    uppers: tuple[int | None, ...] = (None, *(above for above, _ in bands[:-1]))
    return tuple(
        Rule(f"{key}_more_than_{above}", label, points, _band(key, above, up_to))
        for (above, points), up_to, label in zip(bands, uppers, labels, strict=True)
    )


def _known_licence(row: Row) -> bool:
    """An SPDX id or expression; NOASSERTION (unrecognised), NONE and unknown are not known."""
    licence = row.get("licence")
    return (
        isinstance(licence, str)
        and licence.strip() != ""
        and licence.strip() not in (NOASSERTION, NONE)
    )


def _no_description(row: Row) -> bool:
    description = row.get("description")
    return not isinstance(description, str) or description.strip() == ""


#: Every rule, in code.gouv.fr's order.
RULES: tuple[Rule, ...] = (
    Rule("licence", "Licence connue (identifiant SPDX)", HIGH, _known_licence),
    Rule("template", "Dépôt modèle (template)", HIGH, _flag("is_template")),
    Rule("publiccode", "Fichier publiccode.yml", HIGH, _flag("has_publiccode")),
    Rule("readme", "Fichier README", MEDIUM, _flag("has_readme")),
    Rule("contributing", "Guide de contribution (CONTRIBUTING)", MEDIUM, _flag("has_contributing")),
    Rule("changelog", "Journal des modifications (CHANGELOG)", LOW, _flag("has_changelog")),
    Rule("no_description", "Aucune description", -MEDIUM, _no_description),
    Rule("archived", "Dépôt archivé", -HIGH, _flag("is_archived")),
    Rule("fork", "Copie (fork) d'un autre dépôt", -HIGH, _flag("is_fork")),
    *_bands(
        "forks",
        FORKS_BANDS,
        ("Plus de 100 copies (forks)", "Plus de 10 copies (forks)", "Plus d'une copie (fork)"),
    ),
    *_bands(
        "stars",
        STARS_BANDS,
        ("Plus de 1000 étoiles", "Plus de 100 étoiles", "Plus de 10 étoiles"),
    ),
)


def score(row: Row) -> Score:
    """The score of one ``repositories`` row, with the rules that counted."""
    details = tuple(ScoreItem(r.key, r.label, r.points) for r in RULES if r.applies(row))
    return Score(sum(item.points for item in details), details)
