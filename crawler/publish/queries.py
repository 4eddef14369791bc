"""Canned queries of the Datasette instance: the questions journalists and administrators ask of
the inventory, one click away, with French titles, descriptions and result columns.

Every parameter is optional: Datasette sends an empty string for a parameter left blank, and
each query then falls back to a sensible default (every ministry, every account, the latest date
in the data), so that each query answers at once, on live data as on the 2021 demo data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    name: str
    """URL name of the query (``/inventory/NAME``)."""
    title: str
    description: str
    sql: str
    params: tuple[str, ...] = ()
    """Named parameters shown as form fields, in this order."""

    def as_metadata(self) -> dict[str, object]:
        entry: dict[str, object] = {
            "title": self.title,
            "description": self.description,
            "sql": self.sql.strip(),
        }
        if self.params:
            entry["params"] = list(self.params)
        return entry


QUERIES: tuple[Query, ...] = (
    Query(
        "depots_sans_licence_par_ministere",
        "Dépôts sans licence, par ministère",
        "Pour chaque ministère, le nombre de dépôts publics (hors dépôts disparus) sans aucune "
        "licence (NONE) et ceux dont le fichier de licence n'a pas été reconnu (NOASSERTION). "
        "Un dépôt sans licence n'est pas réutilisable légalement. Les comptes dont le "
        "ministère n'est pas connu sont regroupés sous « (ministère non renseigné) ».",
        """
select
    coalesce(ministry, '(ministère non renseigné)') as ministere,
    count(*) as depots,
    sum(licence = 'NONE') as sans_licence,
    sum(licence = 'NOASSERTION') as licence_non_reconnue,
    round(100.0 * sum(licence = 'NONE') / count(*), 1) as pourcentage_sans_licence
from repositories
where removed_at is null
group by ministry
order by sans_licence desc, depots desc
""",
    ),
    Query(
        "part_licences_libres_par_ministere",
        "Part des licences libres, par ministère",
        "Pour chaque ministère, la part des dépôts publiés sous une licence libre (approuvée "
        "par l'OSI ou la FSF, ou licence libre connue : CeCILL, Licence Ouverte…), d'après la "
        "table licences.",
        """
select
    coalesce(r.ministry, '(ministère non renseigné)') as ministere,
    count(*) as depots,
    sum(coalesce(l.is_free, 0)) as sous_licence_libre,
    round(100.0 * sum(coalesce(l.is_free, 0)) / count(*), 1) as pourcentage_libre
from repositories r
left join licences l on l.spdx_id = r.licence
where r.removed_at is null
group by r.ministry
order by pourcentage_libre desc, depots desc
""",
    ),
    Query(
        "depots_actifs_90_jours",
        "Les dépôts les plus actifs des 90 derniers jours",
        "Les 100 dépôts non archivés qui ont reçu du code (push) le plus récemment dans les 90 "
        "jours qui précèdent la date de référence, puis par nombre d'étoiles. La date "
        "de référence est par défaut celle du dernier envoi de code présent dans les données "
        "(aujourd'hui ou presque sur les données à jour ; novembre 2021 sur les données de "
        "démonstration) ; vous pouvez en donner une autre (AAAA-MM-JJ).",
        """
select
    r.id as depot, r.url, r.owner, r.ministry as ministere, r.pushed_at as dernier_envoi,
    r.stars as etoiles, r.forks as copies, r.open_issues as tickets_ouverts,
    r.language as langage, r.licence
from repositories r
-- The reference day written out in both bounds rather than joined from a CTE: with the join,
-- SQLite sorted the whole 90-day window (15,000 rows, 60 ms on 50,000 repositories); this way
-- it reads the (removed_at, is_archived, pushed_at) index backwards and stops at 100 (1 ms).
where r.removed_at is null and r.is_archived = 0
    and r.pushed_at >= date(coalesce(nullif(:date_reference, ''),
        (select substr(max(pushed_at), 1, 10) from repositories)), '-90 days')
    and r.pushed_at < date(coalesce(nullif(:date_reference, ''),
        (select substr(max(pushed_at), 1, 10) from repositories)), '+1 day')
order by r.pushed_at desc, r.stars desc, r.id
limit 100
""",
        ("date_reference",),
    ),
    Query(
        "nouveaux_depots_du_mois",
        "Les nouveaux dépôts du mois",
        "Les dépôts créés pendant le mois choisi (AAAA-MM), les 100 plus récents. Par défaut, "
        "le mois de la création la plus récente présente dans les données : le mois en cours "
        "sur les données à jour, novembre 2021 sur les données de démonstration. La liste "
        "entière d'un mois : la table repositories filtrée sur created_at (« commence par » "
        "AAAA-MM).",
        """
with month as (
    select coalesce(nullif(:mois, ''), (select substr(max(created_at), 1, 7) from repositories))
        || '-01' as first_day
)
select
    r.id as depot, r.url, r.owner, r.ministry as ministere, r.created_at as cree_le,
    r.description, r.language as langage, r.licence
from repositories r, month
where r.removed_at is null
    and r.created_at >= month.first_day
    and r.created_at < date(month.first_day, '+1 month')
order by r.created_at desc, r.id
limit 100
""",
        ("mois",),
    ),
    Query(
        "organisations_depots_archives_ou_dormants",
        "Organisations qui ont le plus de dépôts archivés ou en sommeil",
        "Par compte, le nombre de dépôts archivés (archived), en sommeil (dormant : sans "
        "activité depuis plus d'un an) et inactifs (inactive : depuis plus de deux ans), et la "
        "part des dépôts archivés ou en sommeil.",
        """
select
    r.owner as compte,
    o.name as nom,
    r.ministry as ministere,
    count(*) as depots,
    sum(r.activity = 'archived') as archives,
    sum(r.activity = 'dormant') as en_sommeil,
    sum(r.activity = 'inactive') as inactifs,
    round(100.0 * sum(r.activity in ('archived', 'dormant')) / count(*), 1)
        as pourcentage_archives_ou_en_sommeil
from repositories r
left join owners o on o.id = r.owner
where r.removed_at is null
group by r.owner
having sum(r.activity in ('archived', 'dormant')) > 0
order by archives + en_sommeil desc, depots desc
limit 200
""",
    ),
    Query(
        "licences_utilisees",
        "Licences utilisées, avec leur approbation OSI et FSF",
        "Chaque licence rencontrée dans les dépôts, avec son nom, son approbation par l'Open "
        "Source Initiative (OSI) et la Free Software Foundation (FSF), sa famille et le nombre "
        "de dépôts qui l'utilisent. NONE : aucune licence ; NOASSERTION : fichier de licence "
        "non reconnu.",
        """
select
    r.licence,
    l.name as nom,
    l.is_osi_approved as approuvee_osi,
    l.is_fsf_libre as libre_selon_fsf,
    l.is_free as libre,
    l.family as famille,
    count(*) as depots
from repositories r
left join licences l on l.spdx_id = r.licence
where r.removed_at is null
group by r.licence
order by depots desc
""",
    ),
    Query(
        "sill_logiciels_du_secteur_public",
        "Logiciels du SILL développés par le secteur public, et leurs dépôts",
        "Les logiciels du Socle interministériel de logiciels libres développés par le service "
        "public français, avec les dépôts de l'inventaire qui les construisent (séparés par "
        "des espaces) et la preuve du lien.",
        """
select
    s.id as sill_id,
    s.name as logiciel,
    s.description,
    s.licence,
    count(sr.repository) as nombre_depots,
    group_concat(sr.repository, ' ') as depots,
    group_concat(distinct sr.match) as liens_par,
    s.repository_url as depot_declare_au_sill
from sill_software s
left join sill_repositories sr on sr.sill_id = s.id
where s.is_from_french_public_service = 1 and s.removed_at is null
group by s.id
order by nombre_depots desc, s.name
""",
    ),
    Query(
        "sill_logiciels_sans_depot_connu",
        "Logiciels du SILL sans dépôt public connu",
        "Les logiciels du SILL (non déréférencés) qu'aucun dépôt de l'inventaire ne construit, "
        "avec l'adresse de dépôt que déclare leur fiche quand elle existe : soit leur code est "
        "publié hors des forges parcourues, soit il n'est pas publié du tout.",
        """
select
    s.id as sill_id,
    s.name as logiciel,
    s.description,
    s.licence,
    s.repository_url as depot_declare_au_sill,
    s.website as site
from sill_software s
where s.removed_at is null
    and coalesce(s.is_dereferenced, 0) = 0
    and not exists (select 1 from sill_repositories sr where sr.sill_id = s.id)
order by s.repository_url is not null, s.name
""",
    ),
    Query(
        "rapport_qualite_organisation",
        "Rapport de qualité d'une organisation",
        "Pour un compte (github.com/etalab ou simplement etalab ; vide : tous les comptes), "
        "chacun de ses dépôts non archivés auquel il manque quelque chose : une licence, un "
        "README, une description, un fichier publiccode.yml, ou dont le publiccode.yml est "
        "invalide, les 100 premiers (le rapport complet d'une organisation est sur sa page du "
        "site). La colonne a_corriger dit quoi faire.",
        """
select
    r.owner as compte,
    r.id as depot,
    r.url,
    r.licence,
    rtrim(
        case when r.licence = 'NONE' then 'ajouter une licence ; ' else '' end
        || case when r.licence = 'NOASSERTION' then 'licence non reconnue ; ' else '' end
        || case when coalesce(r.has_readme, 0) = 0 then 'ajouter un README ; ' else '' end
        || case when coalesce(r.description, '') = '' then 'ajouter une description ; '
            else '' end
        || case when coalesce(r.has_publiccode, 0) = 0 then 'ajouter un publiccode.yml ; '
            else '' end
        || case when p.valid = 0 then 'corriger le publiccode.yml ; ' else '' end,
        ' ;'
    ) as a_corriger,
    r.licence in ('NONE', 'NOASSERTION') as sans_licence,
    coalesce(r.has_readme, 0) = 0 as sans_readme,
    coalesce(r.description, '') = '' as sans_description,
    coalesce(r.has_publiccode, 0) = 0 as sans_publiccode,
    coalesce(p.valid = 0, 0) as publiccode_invalide
from repositories r
left join publiccode p on p.repository = r.id
where r.removed_at is null and r.is_archived = 0 and (:owner = '' or r.owner = lower(:owner)
        or r.owner in (select id from owners where lower(login) = lower(:owner)))
    and (r.licence in ('NONE', 'NOASSERTION') or coalesce(r.has_readme, 0) = 0
        or coalesce(r.description, '') = '' or coalesce(r.has_publiccode, 0) = 0
        or p.valid = 0)
order by r.owner, r.id
limit 100
""",
        ("owner",),
    ),
    Query(
        "langages_par_ministere",
        "Langages de programmation, par ministère",
        "Le nombre de dépôts par langage principal (selon la forge) pour chaque ministère ; "
        "donnez un ministère (tel qu'écrit dans la colonne ministry) pour ne voir que le sien.",
        """
select
    coalesce(ministry, '(ministère non renseigné)') as ministere,
    coalesce(language, '(non précisé)') as langage,
    count(*) as depots
from repositories
where removed_at is null and (:ministere = '' or ministry = :ministere)
group by ministry, language
order by ministere, depots desc
""",
        ("ministere",),
    ),
    Query(
        "publiccode_invalides",
        "Fichiers publiccode.yml invalides et leurs erreurs",
        "Une ligne par erreur de chaque fichier publiccode.yml qui ne respecte pas le standard, "
        "avec le chemin de la clé en cause et le message, pour que ses auteurs le corrigent. "
        "Donnez un compte (HÔTE/IDENTIFIANT ou identifiant) pour ne voir que les siens.",
        """
select
    r.owner as compte,
    p.repository as depot,
    r.url,
    p.path as fichier,
    p.version,
    json_extract(e.value, '$.path') as cle,
    json_extract(e.value, '$.message') as erreur
from publiccode p
join repositories r on r.id = p.repository
join json_each(case when json_valid(p.errors) then p.errors else '[]' end) e
where p.valid = 0 and (:owner = '' or r.owner = lower(:owner)
        or r.owner in (select id from owners where lower(login) = lower(:owner)))
order by r.owner, p.repository, e.key
""",
        ("owner",),
    ),
    Query(
        "tendances_quotidiennes",
        "Tendances jour après jour",
        "L'évolution, publication après publication, du nombre de dépôts : sous licence libre, "
        "actifs, en sommeil, archivés, copies (forks), avec un publiccode.yml, dans le SILL "
        "(table daily_stats, une ligne par jour, forge et ministère, conservée pour toujours). "
        "Filtrez par forge (github.com…) ou par ministère.",
        """
select
    date,
    sum(repositories) as depots,
    sum(licensed) as sous_licence_libre,
    sum(active) as actifs,
    sum(dormant) as en_sommeil,
    sum(archived) as archives,
    sum(forks) as copies,
    sum(with_publiccode) as avec_publiccode,
    sum(in_sill) as dans_le_sill
from daily_stats
where (:forge = '' or forge = :forge) and (:ministere = '' or ministry = :ministere)
group by date
order by date desc
""",
        ("forge", "ministere"),
    ),
    Query(
        "depots_par_forge",
        "Dépôts et comptes par forge",
        "Pour chaque forge parcourue : le nombre de comptes, de dépôts, de dépôts sous licence "
        "libre, avec un publiccode.yml, et le résultat du dernier parcours.",
        """
select
    f.host as forge,
    f.kind as logiciel,
    f.status as dernier_parcours,
    f.last_crawled_at as parcourue_le,
    (select count(*) from owners o where o.forge = f.host) as comptes,
    count(r.id) as depots,
    sum(coalesce(l.is_free, 0)) as sous_licence_libre,
    sum(coalesce(r.has_publiccode, 0)) as avec_publiccode
from forges f
left join repositories r on r.forge = f.host and r.removed_at is null
left join licences l on l.spdx_id = r.licence
group by f.host
order by depots desc
""",
    ),
)
