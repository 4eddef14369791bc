"""The published database's shape, declared once: tables, columns, types and French descriptions.

The table and column names are a public API (journalists' queries depend on them): add, never
rename or drop. ``crawler.db`` applies this declaration; the Datasette metadata and the Table
Schema of the exports are generated from the same descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """SQLite affinity: ``TEXT``, ``INTEGER`` or ``FLOAT``."""
    description: str
    """French description, shown in Datasette and in the exports' Table Schema."""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    pk: str | tuple[str, ...] | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    """(column, other table, other column)."""
    indexes: tuple[tuple[str, ...], ...] = ()
    fts: tuple[str, ...] = ()
    """Columns indexed for full-text search."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description)


DATE = "date et heure UTC au format ISO 8601"

FORGES = Table(
    "forges",
    "Les forges logicielles parcourues : github.com, gitlab.com et les forges GitLab du "
    "secteur public.",
    (
        _c("host", "TEXT", "Nom d'hôte de la forge (identifiant)"),
        _c("kind", "TEXT", "Logiciel de la forge : github, gitlab, gitea, gogs ou sourcehut"),
        _c("api_url", "TEXT", "Adresse de l'API interrogée"),
        _c(
            "whole_instance",
            "INTEGER",
            "1 si la forge est entièrement dédiée au secteur public (tous ses projets publics "
            "sont recensés), 0 si seuls les comptes listés le sont",
        ),
        _c("pso_id", "TEXT", "Identifiant de l'organisme dans l'Annuaire de l'administration"),
        _c(
            "status",
            "TEXT",
            "Résultat du dernier parcours : ok, partial (des comptes en échec), failed, "
            "unsupported (type de forge pas encore pris en charge) ou ignored",
        ),
        _c("last_crawled_at", "TEXT", f"Dernier parcours de la forge, {DATE}"),
        _c("name", "TEXT", "Nom de l'organisme qui administre la forge, s'il est connu"),
        _c("ministry", "TEXT", "Ministère de rattachement de la forge, s'il est connu"),
        _c(
            "message",
            "TEXT",
            "Explication du statut en cas d'échec ou de forge non prise en charge",
        ),
    ),
    pk="host",
)

OWNERS = Table(
    "owners",
    "Les comptes (organisations, utilisateurs, groupes) des administrations sur les forges.",
    (
        _c("id", "TEXT", "Identifiant du compte : HÔTE/IDENTIFIANT, en minuscules"),
        _c("forge", "TEXT", "Forge du compte (voir la table forges)"),
        _c("login", "TEXT", "Identifiant du compte sur sa forge"),
        _c("kind", "TEXT", "Type de compte : organization, user ou group"),
        _c("name", "TEXT", "Nom affiché du compte"),
        _c("description", "TEXT", "Description du compte"),
        _c("website", "TEXT", "Site web déclaré par le compte"),
        _c("email", "TEXT", "Adresse électronique publique du compte"),
        _c("location", "TEXT", "Localisation déclarée par le compte"),
        _c("avatar_url", "TEXT", "Adresse de l'avatar du compte"),
        _c("created_at", "TEXT", f"Création du compte sur la forge, {DATE}"),
        _c("repositories_count", "INTEGER", "Nombre de dépôts publics du compte"),
        _c("pso_id", "TEXT", "Identifiant de l'organisme dans l'Annuaire de l'administration"),
        _c("ministry", "TEXT", "Ministère de rattachement"),
        _c("floss_policy", "TEXT", "Lien vers la politique de publication de codes sources"),
        _c(
            "ospo_url", "TEXT", "Lien vers la mission logiciels libres (OSPO) dont relève le compte"
        ),
        _c("first_seen_at", "TEXT", f"Premier parcours où le compte a été vu, {DATE}"),
        _c("last_seen_at", "TEXT", f"Dernier parcours réussi du compte, {DATE}"),
        _c(
            "crawl_status",
            "TEXT",
            "Résultat du dernier parcours du compte : ok, ou failed (ses données précédentes sont "
            "conservées ; la raison est dans crawl_errors)",
        ),
    ),
    pk="id",
    foreign_keys=(("forge", "forges", "host"),),
    indexes=(("forge",), ("ministry",), ("pso_id",), ("crawl_status",)),
)

REPOSITORIES = Table(
    "repositories",
    "Les dépôts de code source publics des administrations, un par ligne.",
    (
        _c("id", "TEXT", "Identifiant du dépôt : HÔTE/PROPRIÉTAIRE/NOM, en minuscules"),
        _c("url", "TEXT", "Adresse web du dépôt"),
        _c("forge", "TEXT", "Forge du dépôt (voir la table forges)"),
        _c("owner", "TEXT", "Compte propriétaire du dépôt (voir la table owners)"),
        _c("name", "TEXT", "Nom du dépôt"),
        _c("description", "TEXT", "Description du dépôt"),
        _c("homepage", "TEXT", "Site web du projet déclaré sur la forge"),
        _c("default_branch", "TEXT", "Branche par défaut"),
        _c("language", "TEXT", "Langage de programmation principal, selon la forge"),
        _c("topics", "TEXT", "Mots-clés du dépôt (liste JSON)"),
        _c(
            "licence",
            "TEXT",
            "Licence : identifiant SPDX, NOASSERTION (fichier de licence présent mais non "
            "reconnu) ou NONE (aucune licence)",
        ),
        _c(
            "licence_source",
            "TEXT",
            "Origine de la licence : forge (déclarée par la forge), detected (reconnue dans le "
            "texte du fichier) ou manifest (déclarée dans un fichier de paquet)",
        ),
        _c("is_fork", "INTEGER", "1 si le dépôt est une copie (fork) d'un autre dépôt"),
        _c("is_archived", "INTEGER", "1 si le dépôt est archivé (en lecture seule)"),
        _c("is_template", "INTEGER", "1 si le dépôt est un modèle de dépôt"),
        _c("created_at", "TEXT", f"Création du dépôt, {DATE}"),
        _c("updated_at", "TEXT", f"Dernière modification du dépôt sur la forge, {DATE}"),
        _c("pushed_at", "TEXT", f"Dernier envoi de code (push), {DATE}"),
        _c("last_commit_at", "TEXT", f"Dernier commit de la branche par défaut, {DATE}"),
        _c("stars", "INTEGER", "Nombre d'étoiles"),
        _c("forks", "INTEGER", "Nombre de copies (forks)"),
        _c("open_issues", "INTEGER", "Nombre de tickets ouverts"),
        _c("has_readme", "INTEGER", "1 si le dépôt a un fichier README à sa racine"),
        _c("has_licence_file", "INTEGER", "1 si le dépôt a un fichier de licence à sa racine"),
        _c(
            "has_contributing", "INTEGER", "1 si le dépôt a un guide de contribution (CONTRIBUTING)"
        ),
        _c("has_changelog", "INTEGER", "1 si le dépôt a un journal des modifications (CHANGELOG)"),
        _c("has_publiccode", "INTEGER", "1 si le dépôt a un fichier publiccode.yml"),
        _c("activity", "TEXT", "Activité : active, dormant, inactive ou archived"),
        _c("score", "FLOAT", "Score de réutilisabilité"),
        _c("first_seen_at", "TEXT", f"Premier parcours où le dépôt a été vu, {DATE}"),
        _c("last_seen_at", "TEXT", f"Dernier parcours où le dépôt a été vu, {DATE}"),
        _c(
            "removed_at",
            "TEXT",
            f"Date à laquelle le dépôt a disparu de sa forge (vide s'il existe toujours), {DATE}",
        ),
        _c("ministry", "TEXT", "Ministère de rattachement du compte propriétaire"),
        _c("pso_id", "TEXT", "Identifiant de l'organisme propriétaire dans l'Annuaire"),
    ),
    pk="id",
    foreign_keys=(("forge", "forges", "host"), ("owner", "owners", "id")),
    indexes=(
        ("owner",),
        ("forge",),
        ("licence",),
        ("language",),
        ("activity",),
        ("ministry",),
        ("pushed_at",),
        ("stars",),
        ("removed_at",),
        ("is_fork",),
        ("is_archived",),
        ("has_publiccode",),
    ),
    fts=("name", "description", "topics"),
)

CRAWL_RUNS = Table(
    "crawl_runs",
    "Les parcours des forges, un par exécution du robot.",
    (
        _c("id", "INTEGER", "Numéro du parcours"),
        _c("started_at", "TEXT", f"Début du parcours, {DATE}"),
        _c("finished_at", "TEXT", f"Fin du parcours, {DATE}"),
        _c("status", "TEXT", "running, ok, partial (des comptes en échec) ou failed"),
        _c("requests", "INTEGER", "Nombre de requêtes envoyées aux API des forges"),
        _c("accounts_ok", "INTEGER", "Comptes lus avec succès"),
        _c("accounts_failed", "INTEGER", "Comptes en échec"),
        _c("repositories_seen", "INTEGER", "Dépôts vus pendant le parcours"),
        _c("repositories_new", "INTEGER", "Dépôts vus pour la première fois"),
        _c(
            "repositories_removed",
            "INTEGER",
            "Dépôts disparus de leur forge depuis le parcours précédent",
        ),
        _c("forges", "TEXT", "Détail par forge (JSON : requêtes, comptes, dépôts, statut)"),
    ),
    pk="id",
)

CRAWL_ERRORS = Table(
    "crawl_errors",
    "Les erreurs rencontrées pendant les parcours, une par compte ou forge en échec.",
    (
        _c("run_id", "INTEGER", "Parcours concerné (voir la table crawl_runs)"),
        _c("forge", "TEXT", "Forge concernée"),
        _c("owner", "TEXT", "Compte concerné (vide si toute la forge est en échec)"),
        _c("at", "TEXT", f"Moment de l'erreur, {DATE}"),
        _c("error", "TEXT", "Message d'erreur"),
    ),
    foreign_keys=(("run_id", "crawl_runs", "id"),),
    indexes=(("run_id",), ("forge",)),
)

TABLES: tuple[Table, ...] = (FORGES, OWNERS, REPOSITORIES, CRAWL_RUNS, CRAWL_ERRORS)


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)
