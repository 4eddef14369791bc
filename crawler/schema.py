"""The published database's shape, declared once: tables, columns, types and French descriptions.

The table and column names are a public API (journalists' queries depend on them): add, never
rename or drop. ``crawler.db`` applies this declaration; the Datasette metadata and the Table
Schema of the exports are generated from the same descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """SQLite affinity: ``TEXT``, ``INTEGER`` or ``FLOAT``."""
    description: str
    """French description, shown in Datasette and in the exports' Table Schema."""
    title: str = ""
    """Short French title (Table Schema ``title``); see ``TITLES``."""
    kind: str = ""
    """Table Schema type: string, integer, number, boolean, datetime, array or object."""
    enum: tuple[str, ...] = ()
    """The only values allowed, when the list is closed; see ``ENUMS``."""
    required: bool = False
    """Never empty (Table Schema ``required``); primary keys always are."""


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
    title: str = ""
    """Short French title of the table (Table Schema and datapackage ``title``)."""

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
    fts=("login", "name", "description"),
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
            "Origine de la licence : forge (déclarée par la forge), detected (lue dans les "
            "fichiers de licence du dépôt ; NONE si ceux-ci n'accordent aucune licence), "
            "manifest (déclarée dans un fichier de paquet : package.json, pyproject.toml…) ou "
            "readme (donnée par la section « Licence » du README, faute de fichier de licence)",
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
        _c(
            "score",
            "INTEGER",
            "Score de réutilisabilité, selon les règles de code.gouv.fr (voir score_details)",
        ),
        _c("first_seen_at", "TEXT", f"Premier parcours où le dépôt a été vu, {DATE}"),
        _c("last_seen_at", "TEXT", f"Dernier parcours où le dépôt a été vu, {DATE}"),
        _c(
            "removed_at",
            "TEXT",
            f"Date à laquelle le dépôt a disparu de sa forge (vide s'il existe toujours), {DATE}",
        ),
        _c("ministry", "TEXT", "Ministère de rattachement du compte propriétaire"),
        _c("pso_id", "TEXT", "Identifiant de l'organisme propriétaire dans l'Annuaire"),
        _c("last_seen_run", "INTEGER", "Dernier parcours (voir crawl_runs) où le dépôt a été vu"),
        _c(
            "in_sill",
            "INTEGER",
            "1 si le dépôt construit un logiciel du SILL (voir sill_repositories)",
        ),
        _c(
            "score_details",
            "TEXT",
            "Détail du score : liste JSON des règles qui ont compté (rule, label, points)",
        ),
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
        _c(
            "status",
            "TEXT",
            "running, ok, partial (des comptes en échec), failed ou interrupted (arrêté avant "
            "la fin ; le parcours suivant a repris où il s'était arrêté)",
        ),
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

SILL_SOFTWARE = Table(
    "sill_software",
    "Le Socle interministériel de logiciels libres (SILL) : les logiciels libres recommandés "
    "aux administrations, un par ligne.",
    (
        _c("id", "INTEGER", "Identifiant du logiciel dans le SILL"),
        _c("name", "TEXT", "Nom du logiciel"),
        _c("description", "TEXT", "Description (fonction du logiciel), en français"),
        _c("description_en", "TEXT", "Description en anglais, si le SILL la donne"),
        _c(
            "licence",
            "TEXT",
            "Licence en identifiant SPDX (NOASSERTION si la licence déclarée n'a pas "
            "d'équivalent SPDX certain)",
        ),
        _c("licence_raw", "TEXT", "Licence telle que le SILL l'écrit"),
        _c("version_min", "TEXT", "Version minimale recommandée"),
        _c("version_max", "TEXT", "Version maximale recommandée (export 2022)"),
        _c("categories", "TEXT", "Catégories (liste JSON)"),
        _c("keywords", "TEXT", "Mots-clés (liste JSON)"),
        _c("referenced_since", "TEXT", f"Entrée du logiciel dans le SILL, {DATE}"),
        _c("updated_at", "TEXT", f"Dernière mise à jour de la fiche, {DATE}"),
        _c("is_dereferenced", "INTEGER", "1 si le logiciel a été retiré du SILL (déréférencé)"),
        _c("dereferencing_reason", "TEXT", "Raison du déréférencement"),
        _c("dereferencing_time", "TEXT", f"Date du déréférencement, {DATE}"),
        _c(
            "last_recommended_version", "TEXT", "Dernière version recommandée avant déréférencement"
        ),
        _c("is_in_observation", "INTEGER", "1 si le logiciel est encore en observation (en test)"),
        _c(
            "is_from_french_public_service",
            "INTEGER",
            "1 si le logiciel est développé par le service public français",
        ),
        _c(
            "is_present_in_support_contract",
            "INTEGER",
            "1 si le logiciel est couvert par le marché de support interministériel",
        ),
        _c(
            "respects_rgaa",
            "INTEGER",
            "1 si le logiciel respecte le RGAA (accessibilité), 0 sinon, vide si non précisé",
        ),
        _c("is_libre", "INTEGER", "1 si la source externe (Wikidata…) le dit libre"),
        _c("website", "TEXT", "Site web du logiciel"),
        _c("repository_url", "TEXT", "Dépôt du code source"),
        _c("documentation_url", "TEXT", "Documentation"),
        _c("logo_url", "TEXT", "Adresse du logo"),
        _c("wikidata_id", "TEXT", "Identifiant Wikidata (Q…)"),
        _c("comptoir_du_libre_id", "INTEGER", "Identifiant sur le Comptoir du Libre"),
        _c("framalibre_id", "TEXT", "Identifiant sur Framalibre"),
        _c("external_id", "TEXT", "Identifiant dans la source externe de la fiche"),
        _c("external_source", "TEXT", "Source externe de la fiche (wikidata, hal…)"),
        _c("catalogue_numerique_url", "TEXT", "Fiche sur le catalogue numérique de l'État"),
        _c("latest_version", "TEXT", "Dernière version publiée"),
        _c("latest_version_date", "TEXT", f"Date de la dernière version, {DATE}"),
        _c("users_count", "INTEGER", "Nombre d'organisations utilisatrices déclarées"),
        _c("referents_count", "INTEGER", "Nombre de référents déclarés"),
        _c("instances_count", "INTEGER", "Nombre d'instances déclarées"),
        _c("has_expert_referent", "INTEGER", "1 si un référent expert est déclaré"),
        _c("operating_systems", "TEXT", "Systèmes d'exploitation (liste JSON)"),
        _c("runtime_platforms", "TEXT", "Plateformes d'exécution (liste JSON)"),
        _c("programming_languages", "TEXT", "Langages de programmation (liste JSON)"),
        _c("authors", "TEXT", "Auteurs (liste JSON)"),
        _c("parent_software", "TEXT", "Logiciel parent (pour un greffon ou une extension)"),
        _c("usage_context", "TEXT", "Contexte d'usage recommandé"),
        _c("mim_group", "TEXT", "Groupe de travail (MIM) référent"),
        _c("sill_years", "TEXT", "Années de présence dans le SILL (liste JSON, export 2022)"),
        _c("status", "TEXT", "Statut dans le SILL"),
        _c("custom_attributes", "TEXT", "Autres attributs de la fiche (objet JSON)"),
        _c("in_inventory", "INTEGER", "1 si au moins un dépôt de l'inventaire est lié au logiciel"),
        _c("source_shape", "TEXT", "Format de l'export SILL lu (2022, 2023-2024, v1, v2)"),
        _c("first_seen_at", "TEXT", f"Premier chargement où le logiciel figurait, {DATE}"),
        _c("last_seen_at", "TEXT", f"Dernier chargement où le logiciel figurait, {DATE}"),
        _c(
            "removed_at",
            "TEXT",
            f"Chargement où le logiciel a disparu de l'export (vide s'il y est), {DATE}",
        ),
    ),
    pk="id",
    indexes=(("is_dereferenced",), ("licence",), ("wikidata_id",)),
    fts=("name", "description", "keywords"),
)

SILL_ORGANISATIONS = Table(
    "sill_organisations",
    "Les organisations qui déclarent utiliser un logiciel du SILL ou en être référentes.",
    (
        _c("software_id", "INTEGER", "Logiciel (voir sill_software)"),
        _c("organisation", "TEXT", "Organisation (vide : utilisateurs sans organisation)"),
        _c("users_count", "INTEGER", "Nombre d'utilisateurs déclarés dans l'organisation"),
        _c("referents_count", "INTEGER", "Nombre de référents dans l'organisation"),
    ),
    foreign_keys=(("software_id", "sill_software", "id"),),
    indexes=(("software_id",), ("organisation",)),
)

SILL_INSTANCES = Table(
    "sill_instances",
    "Les instances (services en ligne) d'un logiciel du SILL déployées par des administrations.",
    (
        _c("software_id", "INTEGER", "Logiciel (voir sill_software)"),
        _c("instance_id", "INTEGER", "Identifiant de l'instance dans le SILL"),
        _c("organisation", "TEXT", "Organisation qui opère l'instance"),
        _c("target_audience", "TEXT", "Public visé"),
        _c("url", "TEXT", "Adresse publique de l'instance"),
        _c("other_software", "TEXT", "Autres logiciels du SILL utilisés (liste JSON)"),
    ),
    foreign_keys=(("software_id", "sill_software", "id"),),
    indexes=(("software_id",),),
)

SILL_SERVICE_PROVIDERS = Table(
    "sill_service_providers",
    "Les prestataires qui proposent du service sur un logiciel du SILL.",
    (
        _c("software_id", "INTEGER", "Logiciel (voir sill_software)"),
        _c("name", "TEXT", "Nom du prestataire"),
        _c("website", "TEXT", "Site web du prestataire"),
        _c("comptoir_du_libre_url", "TEXT", "Fiche du prestataire sur le Comptoir du Libre"),
        _c("cnll_url", "TEXT", "Fiche du prestataire à l'annuaire du CNLL"),
        _c("siren", "TEXT", "Numéro SIREN"),
    ),
    foreign_keys=(("software_id", "sill_software", "id"),),
    indexes=(("software_id",),),
)

SILL_SIMILAR_SOFTWARE = Table(
    "sill_similar_software",
    "Les logiciels similaires (alternatives) cités par une fiche du SILL.",
    (
        _c("software_id", "INTEGER", "Logiciel du SILL (voir sill_software)"),
        _c("name", "TEXT", "Nom du logiciel similaire"),
        _c("wikidata_id", "TEXT", "Identifiant Wikidata du logiciel similaire"),
        _c("external_id", "TEXT", "Identifiant dans la source externe"),
        _c("external_source", "TEXT", "Source externe"),
        _c("description", "TEXT", "Description"),
        _c("is_libre", "INTEGER", "1 si le logiciel similaire est libre"),
        _c("is_in_sill", "INTEGER", "1 si le logiciel similaire est lui-même dans le SILL"),
        _c("sill_id", "INTEGER", "Son identifiant dans le SILL, le cas échéant"),
    ),
    foreign_keys=(("software_id", "sill_software", "id"),),
    indexes=(("software_id",),),
)

SILL_REPOSITORIES = Table(
    "sill_repositories",
    "Les liens entre les logiciels du SILL et les dépôts de l'inventaire qui les construisent.",
    (
        _c("sill_id", "INTEGER", "Logiciel du SILL (voir sill_software)"),
        _c("repository", "TEXT", "Dépôt de l'inventaire (voir repositories)"),
        _c(
            "match",
            "TEXT",
            "Preuve du lien : repository_url (adresse du dépôt déclarée au SILL), "
            "publiccode_url (url du publiccode.yml du dépôt), website (le site du logiciel est "
            "le dépôt), homepage (page d'accueil du dépôt = site du logiciel), homepage_fork "
            "(idem, pour une copie)",
        ),
    ),
    pk=("sill_id", "repository"),
    foreign_keys=(("sill_id", "sill_software", "id"), ("repository", "repositories", "id")),
    indexes=(("repository",),),
)

PUBLICCODE = Table(
    "publiccode",
    "Les fichiers publiccode.yml des dépôts : champs principaux et erreurs de validation "
    "(standard publiccode.yml 0.2 à 0.7, et « 0 » pour la dernière 0.x), pour que leurs "
    "auteurs voient quoi corriger.",
    (
        _c("repository", "TEXT", "Dépôt du fichier (voir repositories)"),
        _c("path", "TEXT", "Chemin du fichier dans le dépôt"),
        _c("valid", "INTEGER", "1 si le fichier respecte le standard (aucune erreur)"),
        _c("errors_count", "INTEGER", "Nombre d'erreurs"),
        _c("warnings_count", "INTEGER", "Nombre d'avertissements"),
        _c(
            "errors",
            "TEXT",
            "Erreurs : liste JSON d'objets path (chemin de la clé) et message",
        ),
        _c(
            "warnings",
            "TEXT",
            "Avertissements (clé obsolète, version ancienne…) : liste JSON d'objets path et "
            "message",
        ),
        _c("version", "TEXT", "Version du standard déclarée (publiccodeYmlVersion)"),
        _c("name", "TEXT", "Nom du logiciel (name)"),
        _c("url", "TEXT", "Adresse du dépôt de code déclarée (url)"),
        _c("landing_url", "TEXT", "Page de présentation du logiciel (landingURL)"),
        _c("software_version", "TEXT", "Dernière version publiée (softwareVersion)"),
        _c("release_date", "TEXT", "Date de cette version (releaseDate)"),
        _c(
            "development_status",
            "TEXT",
            "État du développement : concept, development, beta, stable ou obsolete",
        ),
        _c(
            "software_type",
            "TEXT",
            "Type de logiciel : standalone/web, library, configurationFiles…",
        ),
        _c("platforms", "TEXT", "Plateformes (liste JSON : web, linux, windows…)"),
        _c("categories", "TEXT", "Catégories du standard (liste JSON)"),
        _c(
            "short_description",
            "TEXT",
            "Description courte, en français si elle existe, sinon dans la première langue",
        ),
        _c(
            "short_descriptions",
            "TEXT",
            "Descriptions courtes par langue (objet JSON : code de langue → texte)",
        ),
        _c("licence", "TEXT", "Licence déclarée (legal.license), telle qu'écrite"),
        _c("licence_spdx", "TEXT", "Licence déclarée, normalisée en identifiant SPDX"),
        _c(
            "maintenance_type",
            "TEXT",
            "Type de maintenance : internal, contract, community ou none",
        ),
        _c(
            "maintenance_contacts",
            "TEXT",
            "Contacts de maintenance (liste JSON d'objets name, email, phone, affiliation)",
        ),
        _c("maintenance_contractors", "TEXT", "Prestataires de maintenance (liste JSON de noms)"),
        # --- publiccode.yml 0.5 and 0.7 (issue 13): added, never renamed ---
        _c(
            "organisation_uri",
            "TEXT",
            "URI de l'organisation qui publie le logiciel (organisation.uri, standard 0.5)",
        ),
        _c("organisation_name", "TEXT", "Nom de cette organisation (organisation.name)"),
        _c(
            "supports",
            "TEXT",
            "Normes, règlements ou systèmes pris en charge (liste JSON des supports[].id, "
            "standard 0.7 : alias:gdpr, URL, URN…)",
        ),
        _c("read_at", "TEXT", f"Lecture du fichier, {DATE}"),
    ),
    pk="repository",
    foreign_keys=(("repository", "repositories", "id"),),
    indexes=(("valid",), ("development_status",), ("url",)),
)


LICENCES = Table(
    "licences",
    "Les licences (liste SPDX) : nom, approbations OSI et FSF, famille.",
    (
        _c("spdx_id", "TEXT", "Identifiant SPDX de la licence"),
        _c("name", "TEXT", "Nom complet de la licence"),
        _c("is_osi_approved", "INTEGER", "1 si l'Open Source Initiative approuve la licence"),
        _c("is_fsf_libre", "INTEGER", "1 si la Free Software Foundation la dit libre"),
        _c(
            "is_free",
            "INTEGER",
            "1 si la licence est libre (OSI, FSF, ou licence libre connue : CeCILL, Etalab…)",
        ),
        _c(
            "family",
            "TEXT",
            "Famille : permissive, weak copyleft, strong copyleft, public domain, open data "
            "ou other",
        ),
    ),
    pk="spdx_id",
    indexes=(("family",),),
)

CRAWL_STATE = Table(
    "_crawl_state",
    "État interne du robot : reprise d'un parcours interrompu et détection des comptes inchangés.",
    (
        _c("unit", "TEXT", "Compte (HÔTE/IDENTIFIANT) ou forge entière (HÔTE) parcouru"),
        _c("forge", "TEXT", "Forge concernée"),
        _c("run_id", "INTEGER", "Dernier parcours qui a traité ce compte"),
        _c("cursor", "TEXT", "Point de reprise de la liste des dépôts (vide : liste terminée)"),
        _c("signature", "TEXT", "Empreinte du compte au dernier parcours complet"),
        _c("started_at", "TEXT", f"Début de la liste en cours, {DATE}"),
        _c("started_run", "INTEGER", "Parcours où la liste en cours a commencé"),
        _c("updated_at", "TEXT", f"Dernière page enregistrée, {DATE}"),
        _c("completed_at", "TEXT", f"Dernière liste complète, {DATE}"),
    ),
    pk="unit",
    indexes=(("forge",),),
)

PUBLISH_RUNS = Table(
    "publish_runs",
    "Les publications (codegouv publish) : base publiée, exports et métadonnées, une par "
    "exécution.",
    (
        _c("id", "INTEGER", "Numéro de la publication"),
        _c("started_at", "TEXT", f"Début de la publication, {DATE}"),
        _c("finished_at", "TEXT", f"Fin de la publication, {DATE}"),
        _c(
            "status",
            "TEXT",
            "running (en cours), ok (publiée), failed (échec : la publication précédente reste "
            "en place) ou interrupted (arrêtée avant la fin)",
        ),
        _c("out_dir", "TEXT", "Dossier de publication"),
        _c("crawl_run_id", "INTEGER", "Dernier parcours publié (voir crawl_runs)"),
        _c("error", "TEXT", "Message d'erreur en cas d'échec"),
    ),
    pk="id",
)

DAILY_STATS = Table(
    "daily_stats",
    "Les chiffres du jour par forge et par ministère, une ligne par jour de publication, "
    "conservés pour suivre les tendances (dépôts encore présents sur leur forge).",
    (
        Column("date", "TEXT", "Jour de la publication (AAAA-MM-JJ, UTC)", kind="date"),
        _c("forge", "TEXT", "Forge (voir la table forges)"),
        _c("ministry", "TEXT", "Ministère de rattachement (vide s'il n'est pas connu)"),
        _c("repositories", "INTEGER", "Nombre de dépôts"),
        _c("licensed", "INTEGER", "Dépôts sous licence libre (voir la table licences)"),
        _c("active", "INTEGER", "Dépôts actifs (activity = active)"),
        _c("dormant", "INTEGER", "Dépôts en sommeil (activity = dormant)"),
        _c("inactive", "INTEGER", "Dépôts inactifs (activity = inactive)"),
        _c("archived", "INTEGER", "Dépôts archivés"),
        _c("forks", "INTEGER", "Dépôts qui sont des copies (forks) d'un autre dépôt"),
        _c("with_publiccode", "INTEGER", "Dépôts qui ont un fichier publiccode.yml"),
        _c("in_sill", "INTEGER", "Dépôts qui construisent un logiciel du SILL"),
    ),
    foreign_keys=(("forge", "forges", "host"),),
    indexes=(("date",), ("forge",), ("ministry",)),
)

TABLES: tuple[Table, ...] = (
    FORGES,
    OWNERS,
    REPOSITORIES,
    CRAWL_RUNS,
    CRAWL_ERRORS,
    SILL_SOFTWARE,
    SILL_ORGANISATIONS,
    SILL_INSTANCES,
    SILL_SERVICE_PROVIDERS,
    SILL_SIMILAR_SOFTWARE,
    SILL_REPOSITORIES,
    PUBLICCODE,
    LICENCES,
    CRAWL_STATE,
    PUBLISH_RUNS,
    DAILY_STATS,
)


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


# --- Table Schema details ---------------------------------------------------------------------
# What the exports' Table Schemas need beyond the declarations above: titles, closed lists of
# values, required columns. Each column's Table Schema type follows from its declaration: a
# description that starts with "1 si" is a boolean (0/1), one that ends with DATE a datetime,
# one that says "liste JSON" an array and "(objet JSON" an object; otherwise the SQLite
# affinity decides. Kept in one block so the declarations above stay short.

TITLES: dict[str, tuple[str, dict[str, str]]] = {
    "forges": (
        "Forges",
        {
            "host": "Hôte",
            "kind": "Type de forge",
            "api_url": "Adresse de l'API",
            "whole_instance": "Forge du secteur public",
            "pso_id": "Identifiant de l'organisme",
            "status": "Statut du dernier parcours",
            "last_crawled_at": "Dernier parcours",
            "name": "Organisme",
            "ministry": "Ministère",
            "message": "Message",
        },
    ),
    "owners": (
        "Comptes des organisations",
        {
            "id": "Identifiant",
            "forge": "Forge",
            "login": "Identifiant sur la forge",
            "kind": "Type de compte",
            "name": "Nom",
            "description": "Description",
            "website": "Site web",
            "email": "Adresse électronique",
            "location": "Localisation",
            "avatar_url": "Avatar",
            "created_at": "Date de création",
            "repositories_count": "Nombre de dépôts",
            "pso_id": "Identifiant de l'organisme",
            "ministry": "Ministère",
            "floss_policy": "Politique de publication",
            "ospo_url": "Mission logiciels libres",
            "first_seen_at": "Vu pour la première fois",
            "last_seen_at": "Vu pour la dernière fois",
            "crawl_status": "Statut du dernier parcours",
        },
    ),
    "repositories": (
        "Dépôts de code source",
        {
            "id": "Identifiant",
            "url": "Adresse",
            "forge": "Forge",
            "owner": "Compte propriétaire",
            "name": "Nom",
            "description": "Description",
            "homepage": "Site du projet",
            "default_branch": "Branche par défaut",
            "language": "Langage",
            "topics": "Mots-clés",
            "licence": "Licence",
            "licence_source": "Origine de la licence",
            "is_fork": "Copie (fork)",
            "is_archived": "Archivé",
            "is_template": "Modèle",
            "created_at": "Date de création",
            "updated_at": "Dernière modification",
            "pushed_at": "Dernier envoi de code",
            "last_commit_at": "Dernier commit",
            "stars": "Étoiles",
            "forks": "Copies (forks)",
            "open_issues": "Tickets ouverts",
            "has_readme": "README présent",
            "has_licence_file": "Fichier de licence présent",
            "has_contributing": "Guide de contribution présent",
            "has_changelog": "Journal des modifications présent",
            "has_publiccode": "publiccode.yml présent",
            "activity": "Activité",
            "score": "Score",
            "first_seen_at": "Vu pour la première fois",
            "last_seen_at": "Vu pour la dernière fois",
            "removed_at": "Disparu le",
            "ministry": "Ministère",
            "pso_id": "Identifiant de l'organisme",
            "last_seen_run": "Dernier parcours où il a été vu",
            "in_sill": "Dans le SILL",
            "score_details": "Détail du score",
        },
    ),
    "sill_software": (
        "Logiciels du SILL",
        {
            "id": "Identifiant SILL",
            "name": "Nom",
            "description": "Description",
            "description_en": "Description en anglais",
            "licence": "Licence",
            "licence_raw": "Licence déclarée",
            "version_min": "Version minimale",
            "version_max": "Version maximale",
            "categories": "Catégories",
            "keywords": "Mots-clés",
            "referenced_since": "Référencé depuis",
            "updated_at": "Mise à jour de la fiche",
            "is_dereferenced": "Déréférencé",
            "dereferencing_reason": "Raison du déréférencement",
            "dereferencing_time": "Date du déréférencement",
            "last_recommended_version": "Dernière version recommandée",
            "is_in_observation": "En observation",
            "is_from_french_public_service": "Développé par le service public",
            "is_present_in_support_contract": "Couvert par le marché de support",
            "respects_rgaa": "Conforme au RGAA",
            "is_libre": "Libre selon la source externe",
            "website": "Site web",
            "repository_url": "Dépôt du code source",
            "documentation_url": "Documentation",
            "logo_url": "Logo",
            "wikidata_id": "Identifiant Wikidata",
            "comptoir_du_libre_id": "Identifiant Comptoir du Libre",
            "framalibre_id": "Identifiant Framalibre",
            "external_id": "Identifiant externe",
            "external_source": "Source externe",
            "catalogue_numerique_url": "Fiche du catalogue numérique",
            "latest_version": "Dernière version",
            "latest_version_date": "Date de la dernière version",
            "users_count": "Organisations utilisatrices",
            "referents_count": "Référents",
            "instances_count": "Instances",
            "has_expert_referent": "Référent expert",
            "operating_systems": "Systèmes d'exploitation",
            "runtime_platforms": "Plateformes d'exécution",
            "programming_languages": "Langages de programmation",
            "authors": "Auteurs",
            "parent_software": "Logiciel parent",
            "usage_context": "Contexte d'usage",
            "mim_group": "Groupe de travail",
            "sill_years": "Années au SILL",
            "status": "Statut",
            "custom_attributes": "Autres attributs",
            "in_inventory": "Dépôt dans l'inventaire",
            "source_shape": "Format de l'export",
            "first_seen_at": "Vu pour la première fois",
            "last_seen_at": "Vu pour la dernière fois",
            "removed_at": "Retiré de l'export le",
        },
    ),
    "sill_repositories": (
        "Liens entre le SILL et les dépôts",
        {"sill_id": "Logiciel du SILL", "repository": "Dépôt", "match": "Preuve du lien"},
    ),
    "licences": (
        "Licences",
        {
            "spdx_id": "Identifiant SPDX",
            "name": "Nom",
            "is_osi_approved": "Approuvée par l'OSI",
            "is_fsf_libre": "Libre selon la FSF",
            "is_free": "Licence libre",
            "family": "Famille",
        },
    ),
    "daily_stats": (
        "Chiffres quotidiens",
        {
            "date": "Jour",
            "forge": "Forge",
            "ministry": "Ministère",
            "repositories": "Dépôts",
            "licensed": "Sous licence libre",
            "active": "Actifs",
            "dormant": "En sommeil",
            "inactive": "Inactifs",
            "archived": "Archivés",
            "forks": "Copies (forks)",
            "with_publiccode": "Avec publiccode.yml",
            "in_sill": "Dans le SILL",
        },
    ),
}

ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "forges": {
        "kind": ("github", "gitlab", "gitea", "gogs", "sourcehut"),
        "status": ("ok", "partial", "failed", "unsupported", "ignored"),
    },
    "owners": {"kind": ("organization", "user", "group"), "crawl_status": ("ok", "failed")},
    "repositories": {
        "licence_source": ("forge", "detected", "manifest", "readme"),
        "activity": ("active", "dormant", "inactive", "archived"),
    },
    "sill_repositories": {
        "match": ("repository_url", "publiccode_url", "website", "homepage", "homepage_fork"),
    },
    "licences": {
        "family": (
            "permissive",
            "weak copyleft",
            "strong copyleft",
            "public domain",
            "open data",
            "other",
        ),
    },
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "forges": ("kind",),
    "owners": ("forge", "login"),
    "repositories": ("url", "forge", "owner", "name"),
    "sill_software": ("name",),
    "sill_repositories": ("match",),
    "licences": ("name",),
    "daily_stats": ("repositories",),
}


def _kind(column: Column) -> str:
    if column.type == "INTEGER" and column.description.startswith("1 si"):
        return "boolean"
    if column.type == "TEXT" and column.description.endswith(DATE):
        return "datetime"
    if "liste JSON" in column.description:
        return "array"
    if "(objet JSON" in column.description:
        return "object"
    return {"TEXT": "string", "INTEGER": "integer", "FLOAT": "number"}[column.type]


def _detailed(declared: Table) -> Table:
    title, titles = TITLES.get(declared.name, ("", {}))
    enums = ENUMS.get(declared.name, {})
    keys = (declared.pk,) if isinstance(declared.pk, str) else (declared.pk or ())
    required = set(REQUIRED.get(declared.name, ())) | set(keys)
    columns = tuple(
        replace(
            c,
            title=c.title or titles.get(c.name, ""),
            kind=c.kind or _kind(c),
            enum=c.enum or enums.get(c.name, ()),
            required=c.required or c.name in required,
        )
        for c in declared.columns
    )
    return replace(declared, title=declared.title or title, columns=columns)


TABLES = tuple(_detailed(t) for t in TABLES)
(
    FORGES,
    OWNERS,
    REPOSITORIES,
    CRAWL_RUNS,
    CRAWL_ERRORS,
    SILL_SOFTWARE,
    SILL_ORGANISATIONS,
    SILL_INSTANCES,
    SILL_SERVICE_PROVIDERS,
    SILL_SIMILAR_SOFTWARE,
    SILL_REPOSITORIES,
    PUBLICCODE,
    LICENCES,
    CRAWL_STATE,
    PUBLISH_RUNS,
    DAILY_STATS,
) = TABLES
