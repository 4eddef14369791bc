"""Synthetic commit histories of the default branches, made one commit at a time.

A repository's history is linear: ``commit_count`` commits, the newest (index 0) being
``commit_oid`` at ``last_commit_at``, the oldest near ``created_at`` (or before it, for a long
history pushed at once). Any commit is computed from the repository and its index alone, so a
page of a 3,000-commit history costs a page of work and nothing is kept in memory.

Dates are the committer's local time, as git records them: most people commit in Paris time
(``+01:00`` in winter, ``+02:00`` in summer), some in UTC.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from localforge.data import Repository

_PEOPLE = (
    "Camille Martin",
    "Julien Bernard",
    "Sophie Dubois",
    "Thomas Petit",
    "Claire Moreau",
    "Nicolas Laurent",
    "Émilie Lefèvre",
    "Antoine Girard",
    "Léa Fournier",
    "Mathieu Mercier",
    "Hélène Roux",
    "Pierre Fontaine",
)
_TITLES = (
    "Corrige l'affichage de la page d'accueil",
    "Mise à jour des dépendances",
    "Ajoute des tests unitaires",
    "Met à jour le README",
    "Corrige une faute de frappe",
    "Refactorisation du module principal",
    "Ajoute la configuration de l'intégration continue",
    "Supprime du code mort",
    "Améliore les performances du chargement",
    "Corrige la gestion des erreurs",
    "Ajoute l'export CSV",
    "Update README.md",
    "Fix typo",
    "Update dependencies",
    "Add documentation",
    "Prépare la version {version}",
)
_BODIES = (
    "Le cas des valeurs vides n'était pas traité.",
    "Suite aux retours des utilisateurs.",
    "Voir le ticket correspondant pour le détail.",
    "Aucun changement fonctionnel.",
)
_PARIS_WINTER = timezone(timedelta(hours=1))
_PARIS_SUMMER = timezone(timedelta(hours=2))


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    in_utc: bool
    """Commits with a ``+00:00`` offset rather than Paris time."""

    @property
    def signature(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit of a synthetic history."""

    index: int
    """0 for the newest commit (the branch's head)."""
    oid: str
    parent_oids: tuple[str, ...]
    title: str
    message: str
    """The whole message: title, optional body, optional ``Signed-off-by`` trailer."""
    author: Person
    authored_at: datetime
    """Aware, in the author's offset."""
    committer: Person
    committed_at: datetime
    """Aware, in the committer's offset; the head's is the repository's ``last_commit_at``."""
    trailers: tuple[tuple[str, str], ...]


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def paris(moment: datetime) -> timezone:
    """Paris's offset at ``moment``: summer time from the last Sunday of March to the last Sunday
    of October, 01:00 UTC (the EU rule)."""
    year = moment.astimezone(UTC).year
    summer = _last_sunday(year, 3) <= moment < _last_sunday(year, 10)
    return _PARIS_SUMMER if summer else _PARIS_WINTER


def local(moment: datetime, person: Person) -> datetime:
    """``moment`` in the offset ``person`` commits with."""
    return moment.astimezone(UTC if person.in_utc else paris(moment))


def _hash(text: str, size: int = 16) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=size, person=b"localforge-hist").digest()


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii()).lower()


def _domain(repo: Repository) -> str:
    if repo.host == "github.com":
        return "users.noreply.github.com"
    return ".".join(repo.host.split(".")[-2:])


def people(repo: Repository) -> tuple[Person, ...]:
    """The one to four people who commit to ``repo``, the main one first."""
    b = _hash(f"people:{repo.host}/{repo.database_id}")
    count = 1 + b[0] % 4
    domain = _domain(repo)
    found = []
    for i in range(count):
        name = _PEOPLE[(b[1] + 5 * i) % len(_PEOPLE)]
        first, _, last = name.partition(" ")
        found.append(Person(name, f"{_ascii(first)}.{_ascii(last)}@{domain}", b[2 + i] < 50))
    return tuple(found)


def oid(repo: Repository, index: int) -> str:
    """The id of commit ``index`` (0: ``commit_oid``)."""
    if index == 0:
        return repo.commit_oid
    data = f"{repo.commit_oid}:{index}".encode()
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def committed_at(repo: Repository, index: int) -> datetime:
    """When commit ``index`` was committed (UTC); never later than commit ``index - 1``."""
    head = _utc(repo.last_commit_at)
    if index == 0:
        return head
    count = max(repo.commit_count, 1)
    span = max(head - _utc(repo.created_at), timedelta(minutes=30) * (count - 1))
    step = span / max(count - 1, 1)
    moment = head - step * index
    if index < count - 1:
        moment -= step * (0.9 * _hash(f"{repo.commit_oid}:{index}", 1)[0] / 256)
    return moment.replace(microsecond=0)


def commit(repo: Repository, index: int) -> Commit:
    """Commit ``index`` (0 to ``commit_count - 1``) of ``repo``'s default branch."""
    count = repo.commit_count
    c = _hash(f"{repo.commit_oid}:{index}")
    team = people(repo)
    author = team[0] if c[0] < 128 else team[c[1] % len(team)]
    committer = author
    committed = committed_at(repo, index)
    authored = committed
    if c[2] < 30 and len(team) > 1:  # applied by the main maintainer (a rebase, a cherry-pick)
        committer = team[0]
        authored = committed - timedelta(hours=1 + c[3] % 72, minutes=c[4] % 60)
    if index == count - 1:
        title = "Initial commit" if c[5] < 128 else "Premier commit"
    else:
        title = _TITLES[c[5] % len(_TITLES)].format(
            version=f"{1 + (count - index) // 400}.{(count - index) // 40 % 10}.0"
        )
    message = title
    if c[6] < 70:
        message += "\n\n" + _BODIES[c[7] % len(_BODIES)]
    trailers: tuple[tuple[str, str], ...] = ()
    if _hash(f"signoff:{repo.host}/{repo.database_id}", 1)[0] < 50:
        trailers = (("Signed-off-by", author.signature),)
        message += "\n\nSigned-off-by: " + author.signature
    if c[8] < 200:  # from the command line; the web editor writes no final newline
        message += "\n"
    parents = (oid(repo, index + 1),) if index + 1 < count else ()
    return Commit(
        index=index,
        oid=oid(repo, index),
        parent_oids=parents,
        title=title,
        message=message,
        author=author,
        authored_at=local(authored, author),
        committer=committer,
        committed_at=local(committed, committer),
        trailers=trailers,
    )
