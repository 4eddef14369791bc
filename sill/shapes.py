"""One parser per SILL export shape: a JSON entry in, records out.

Field names per shape and the date of each change are in ``sill/data/sill-export-formats.md``.
The v1 export (``/sill/api/sill.json`` = ``catalogi.json``) grew out of the 2023–2024 shape one
renaming at a time (2024-02 to 2026-05), so one tolerant parser reads both and every renamed
field is looked up under each of its names, newest first. The v2 and 2022 exports have their
own parsers.

Each parser raises ``EntryError`` (naming the field) when a field it reads is missing or has the
wrong type; ``sill.load`` then skips that entry with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sill._fields import EntryError, Fields, blank_to_none, json_type
from sill.licences import spdx_licence
from sill.models import (
    CustomValue,
    SillInstance,
    SillOrganisation,
    SillServiceProvider,
    SillSimilarSoftware,
    Software,
)

#: Keys of ``userAndReferentCountByOrganization`` that stand for "no organisation".
_NO_ORGANISATION = ("null", "NO_ORGANIZATION")
_OPERATING_SYSTEMS = ("windows", "linux", "mac", "android", "ios")
_WIKIDATA_ID = re.compile(r"^Q\d+$")
_CATALOGUE_URL = "https://catalogue.numerique.gouv.fr/solutions/{}"


@dataclass
class Parsed:
    """Everything one entry yields."""

    software: Software
    organisations: list[SillOrganisation] = field(default_factory=list)
    instances: list[SillInstance] = field(default_factory=list)
    providers: list[SillServiceProvider] = field(default_factory=list)
    similar: list[SillSimilarSoftware] = field(default_factory=list)


# -- pieces shared by v1, 2023–2024 and v2 ---------------------------------------------------


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)


def _first_str(fields: Fields | None, *keys: str) -> str | None:
    """The first non-empty string among ``keys`` (a field's successive names)."""
    if fields is None:
        return None
    return _first(*(fields.opt_str(key) for key in keys))


def _url(url: str | None) -> str | None:
    """Protocol-relative URLs (``//upload.wikimedia.org/…``, from Wikidata) get ``https:``."""
    if url is not None and url.startswith("//"):
        return "https:" + url
    return url


def _keywords(fields: Fields, key: str) -> tuple[str, ...]:
    """Keywords: strings, plus legacy Wikidata item objects (``{"id": "Q3008145", …}``), which
    carry no label and are dropped."""
    out: list[str] = []
    for index, item in enumerate(fields.opt_list(key)):
        if isinstance(item, str):
            if item.strip():
                out.append(item.strip())
        elif not isinstance(item, dict):
            raise EntryError(
                f"{fields.name(key)}[{index}]",
                f"expected a string or a Wikidata item, got {json_type(item)}",
            )
    return tuple(out)


def _custom_attributes(fields: Fields | None) -> dict[str, CustomValue]:
    if fields is None:
        return {}
    out: dict[str, CustomValue] = {}
    for key, value in fields.data.items():
        if value is not None and not isinstance(value, bool | str | int | float):
            raise EntryError(fields.name(key), f"expected a plain value, got {json_type(value)}")
        out[key] = value
    return out


def _flag(custom: Fields | None, entry: Fields, key: str) -> bool | None:
    """A flag that moved from the entry into ``customAttributes`` in v1.52.0 (2025-10)."""
    if custom is not None and key in custom.data:
        return custom.opt_bool(key)
    return entry.opt_bool(key)


def _version_min(custom: Fields | None, entry: Fields) -> str | None:
    """``versionMin`` moved into ``customAttributes`` in v1.54.0 (2026-01)."""
    if custom is not None and custom.has("versionMin"):
        value = custom.raw("versionMin")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return custom.opt_str("versionMin")
    return entry.opt_str("versionMin")


def _organisations(software_id: int, entry: Fields) -> list[SillOrganisation]:
    out: list[SillOrganisation] = []
    for name, counts in entry.obj_map("userAndReferentCountByOrganization").items():
        organisation = None if name in _NO_ORGANISATION else blank_to_none(name)
        out.append(
            SillOrganisation(
                software_id,
                organisation,
                users_count=counts.opt_int("userCount") or 0,
                referents_count=counts.opt_int("referentCount") or 0,
            )
        )
    return out


def _operating_systems(fields: Fields | None) -> tuple[str, ...]:
    if fields is None:
        return ()
    return tuple(name for name in _OPERATING_SYSTEMS if fields.opt_bool(name))


@dataclass(frozen=True)
class _Identifiers:
    wikidata_id: str | None = None
    comptoir_du_libre_id: int | None = None
    framalibre_id: str | None = None


def _identifiers(fields: Fields | None) -> _Identifiers:
    """The schema.org ``identifiers`` of a software (v1 external data since v1.43.21, v2)."""
    if fields is None:
        return _Identifiers()
    wikidata = comptoir = frama = None
    for identifier in fields.obj_list("identifiers"):
        kind = identifier.opt_str("additionalType")
        if kind not in (None, "Software"):
            continue
        subject = identifier.opt_obj("subjectOf")
        source = (_first_str(subject, "additionalType") or "").lower()
        value = identifier.raw("value")
        text = str(value).strip() if isinstance(value, str | int) else None
        if not text:
            continue
        if source == "wikidata" and wikidata is None:
            wikidata = text
        elif source == "comptoirdulibre" and comptoir is None and text.isdigit():
            comptoir = int(text)
        elif source == "framalibre" and frama is None:
            frama = text
    return _Identifiers(wikidata, comptoir, frama)


def _wikidata(external_id: str | None, source: str | None) -> str | None:
    if external_id is None:
        return None
    if (source or "").lower() == "wikidata" or (source is None and _WIKIDATA_ID.match(external_id)):
        return external_id
    return None


def _names(items: Iterable[Fields], *keys: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        name = _first(*(item.localized(key) for key in keys))
        if name is not None:
            out.append(name)
    return tuple(out)


def _organization_provider(software_id: int, item: Fields) -> SillServiceProvider:
    """A provider as a schema.org Organization (v1 since v1.51.0, v2), or as the 2023–2024
    ``{name, website, cdlUrl, cnllUrl, siren}``."""
    comptoir = siren = None
    for identifier in item.obj_list("identifiers"):
        subject = identifier.opt_obj("subjectOf")
        source = (_first_str(subject, "additionalType", "name") or "").lower().replace(" ", "")
        label = (identifier.opt_str("name") or "").lower()
        if "comptoir" in source:
            comptoir = comptoir or identifier.opt_str("url")
        elif "siren" in source or "siren" in label:
            value = identifier.raw("value")
            siren = siren or (str(value).strip() if isinstance(value, str | int) else None)
    return SillServiceProvider(
        software_id,
        item.req_str("name"),
        website=_first_str(item, "url", "website"),
        comptoir_du_libre_url=_first(item.opt_str("cdlUrl"), comptoir),
        cnll_url=item.opt_str("cnllUrl"),
        siren=_first(item.opt_str("siren"), siren),
    )


def _merge_providers(providers: Iterable[SillServiceProvider]) -> list[SillServiceProvider]:
    """One provider per name (case-insensitive): the 2023–2024 export lists the same company
    in up to three sources; the first mention wins and later ones fill its gaps."""
    merged: dict[str, SillServiceProvider] = {}
    for provider in providers:
        key = provider.name.casefold()
        known = merged.get(key)
        if known is None:
            merged[key] = provider
            continue
        merged[key] = SillServiceProvider(
            known.software_id,
            known.name,
            website=known.website or provider.website,
            comptoir_du_libre_url=known.comptoir_du_libre_url or provider.comptoir_du_libre_url,
            cnll_url=known.cnll_url or provider.cnll_url,
            siren=known.siren or provider.siren,
        )
    return list(merged.values())


def _similar(software_id: int, item: Fields) -> SillSimilarSoftware:
    external_id = _first_str(item, "externalId", "wikidataId")
    source = _first_str(item, "sourceSlug", "externalDataOrigin")
    if source is None and item.has("wikidataId"):
        source = "wikidata"
    is_in_sill = item.opt_bool("isInCatalogi")
    return SillSimilarSoftware(
        software_id,
        _first(item.localized("name"), item.localized("label")),
        wikidata_id=_wikidata(external_id, source),
        external_id=external_id,
        external_source=source,
        description=item.localized("description"),
        is_libre=item.opt_bool("isLibreSoftware"),
        is_in_sill=is_in_sill,
        sill_id=item.opt_int("softwareId"),
    )


@dataclass(frozen=True)
class _Dereferencing:
    is_dereferenced: bool = False
    reason: str | None = None
    time: str | None = None
    last_recommended_version: str | None = None


def _dereferencing(entry: Fields) -> _Dereferencing:
    """``dereferencing`` (present = dereferenced) in every shape since 2023.

    The export code of 2026-10 replaces it with ``status {name, changed{reason, time,
    lastRecommendedVersion}}`` (formats doc §5); that form is read too, anything but
    ``published`` counting as dereferenced, so the change does not silently relist software.
    """
    fields = entry.opt_obj("dereferencing")
    if fields is None:
        status = entry.raw("status")
        if not isinstance(status, dict) or not isinstance(status.get("name"), str):
            return _Dereferencing()
        status_fields = Fields(status, entry.name("status"))
        if status_fields.opt_str("name") in (None, "published"):
            return _Dereferencing()
        fields = status_fields.opt_obj("changed") or Fields({}, entry.name("status.changed"))
    return _Dereferencing(
        True,
        fields.opt_str("reason"),
        fields.opt_time("time"),
        fields.opt_str("lastRecommendedVersion"),
    )


def _counts(organisations: list[SillOrganisation]) -> tuple[int, int]:
    return (
        sum(o.users_count for o in organisations),
        sum(o.referents_count for o in organisations),
    )


# -- v1 and 2023–2024 ------------------------------------------------------------------------


def _runtime_from_software_type(software_type: Fields | None) -> tuple[str, ...]:
    """2023–2024 ``softwareType.type``: ``desktop/mobile`` (split by its OS flags), ``cloud``,
    ``stack``."""
    if software_type is None:
        return ()
    kind = software_type.opt_str("type")
    if kind is None:
        return ()
    if kind != "desktop/mobile":
        return (kind,)
    systems = _operating_systems(software_type.opt_obj("os"))
    platforms = []
    if not systems or set(systems) & {"windows", "linux", "mac"}:
        platforms.append("desktop")
    if set(systems) & {"android", "ios"}:
        platforms.append("mobile")
    return tuple(platforms)


def _instances(software_id: int, entry: Fields) -> list[SillInstance]:
    out = []
    for item in entry.obj_list("instances"):
        out.append(
            SillInstance(
                software_id,
                instance_id=item.opt_int("id"),
                organisation=item.opt_str("organization"),
                target_audience=item.opt_str("targetAudience"),
                url=item.opt_str("publicUrl"),
                other_software=_names(item.obj_list("otherWikidataSoftwares"), "label", "name"),
            )
        )
    return out


def parse_v1(data: dict[str, object]) -> Parsed:
    """A v1 entry (``/sill/api/sill.json``, ``catalogi.json``) or a 2023–2024 one."""
    entry = Fields(data)
    software_id = entry.req_int("id")
    name = entry.req_str("name")
    # External data: ``softwareExternalData`` since sill-api v1.20.0 (2024-02), before that
    # ``wikidataSoftware`` with ``wikidataId``; ``comptoirDuLibreSoftware`` until v1.51.0.
    external = entry.opt_obj("softwareExternalData") or entry.opt_obj("wikidataSoftware")
    comptoir = entry.opt_obj("comptoirDuLibreSoftware")
    comptoir_links = comptoir.opt_obj("external_resources") if comptoir else None
    custom = entry.opt_obj("customAttributes")
    identifiers = _identifiers(external)

    external_id = _first_str(external, "externalId", "wikidataId")
    external_source = _first_str(external, "sourceSlug", "externalDataOrigin")
    if external is not None and external.has("wikidataId") and external_source is None:
        external_source = "wikidata"
    licence = _first(
        entry.opt_str("license"),
        _first_str(external, "license"),
        _first_str(comptoir, "licence"),
    )
    latest = entry.opt_obj("latestVersion")
    external_latest = external.opt_obj("latestVersion") if external else None
    software_type = entry.opt_obj("softwareType")
    operating_systems = entry.opt_obj("operatingSystems") or (
        software_type.opt_obj("os") if software_type else None
    )
    runtime = entry.str_list("runtimePlatforms") or _runtime_from_software_type(software_type)
    catalogue_id = entry.opt_str("catalogNumeriqueGouvFrId")
    parent = entry.opt_obj("parentWikidataSoftware")
    dereferencing = _dereferencing(entry)
    organisations = _organisations(software_id, entry)
    users, referents = _counts(organisations)
    instances = _instances(software_id, entry)

    providers = [_organization_provider(software_id, p) for p in entry.obj_list("serviceProviders")]
    for item in entry.obj_list("annuaireCnllServiceProviders"):
        providers.append(
            SillServiceProvider(
                software_id,
                item.req_str("name"),
                cnll_url=item.opt_str("url"),
                siren=item.opt_str("siren"),
            )
        )
    for item in comptoir.obj_list("providers") if comptoir else ():
        links = item.opt_obj("external_resources")
        providers.append(
            SillServiceProvider(
                software_id,
                item.req_str("name"),
                website=_first_str(links, "website"),
                comptoir_du_libre_url=item.opt_str("url"),
            )
        )
    similar_items = entry.obj_list("similarExternalSoftwares") or entry.obj_list(
        "similarWikidataSoftwares"
    )

    software = Software(
        id=software_id,
        name=name,
        description=_first(entry.localized("description"), _loc(external, "description")),
        description_en=_first(
            entry.localized("description", "en"), _loc(external, "description", "en")
        ),
        licence=licence,
        licence_spdx=spdx_licence(licence),
        version_min=_version_min(custom, entry),
        categories=entry.str_list("categories"),
        keywords=_keywords(entry, "keywords"),
        referenced_since=entry.opt_time("referencedSinceTime"),
        updated_at=entry.opt_time("updateTime"),
        is_dereferenced=dereferencing.is_dereferenced,
        dereferencing_reason=dereferencing.reason,
        dereferencing_time=dereferencing.time,
        last_recommended_version=dereferencing.last_recommended_version,
        is_in_observation=entry.opt_bool("isStillInObservation"),
        is_from_french_public_service=_flag(custom, entry, "isFromFrenchPublicService"),
        is_present_in_support_contract=_flag(custom, entry, "isPresentInSupportContract"),
        respects_rgaa=_flag(custom, entry, "doRespectRgaa"),
        is_libre=external.opt_bool("isLibreSoftware") if external else None,
        website=_first(
            _first_str(external, "url", "websiteUrl"), _first_str(comptoir_links, "website")
        ),
        repository_url=_first(
            _first_str(external, "codeRepositoryUrl", "sourceUrl"),
            _first_str(comptoir_links, "repository"),
        ),
        documentation_url=_first_str(external, "softwareHelp", "documentationUrl"),
        logo_url=_url(
            _first(
                _first_str(entry, "image", "logoUrl"),
                _first_str(external, "image", "logoUrl"),
                _first_str(comptoir, "logoUrl"),
            )
        ),
        wikidata_id=_first(_wikidata(external_id, external_source), identifiers.wikidata_id),
        comptoir_du_libre_id=(comptoir.opt_int("id") if comptoir else None)
        or identifiers.comptoir_du_libre_id,
        framalibre_id=_first(_first_str(external, "framaLibreId"), identifiers.framalibre_id),
        external_id=external_id,
        external_source=external_source,
        catalogue_numerique_url=_CATALOGUE_URL.format(catalogue_id) if catalogue_id else None,
        latest_version=_first(
            _first_str(latest, "semVer"),
            _first_str(external_latest, "version"),
            _first_str(external, "softwareVersion"),
        ),
        latest_version_date=_first(
            latest.opt_time("publicationTime") if latest else None,
            external_latest.opt_time("releaseDate") if external_latest else None,
            external.opt_time("publicationTime") if external else None,
        ),
        users_count=users,
        referents_count=referents,
        instances_count=len(instances) if "instances" in entry.data else None,
        has_expert_referent=entry.opt_bool("hasExpertReferent"),
        operating_systems=_operating_systems(operating_systems),
        runtime_platforms=runtime,
        programming_languages=external.str_list("programmingLanguages") if external else (),
        authors=_names(external.obj_list("authors") or external.obj_list("developers"), "name")
        if external
        else (),
        parent_software=_first(parent.localized("label"), parent.localized("name"))
        if parent
        else None,
        custom_attributes=_custom_attributes(custom),
    )
    return Parsed(
        software,
        organisations,
        instances,
        _merge_providers(providers),
        [_similar(software_id, item) for item in similar_items],
    )


def _loc(fields: Fields | None, key: str, lang: str = "fr") -> str | None:
    return fields.localized(key, lang) if fields is not None else None


# -- v2 --------------------------------------------------------------------------------------


def parse_v2(data: dict[str, object]) -> Parsed:
    """A v2 entry (``/api/v2/catalogi.json``): external data flattened into the entry, ISO
    dates, no instances."""
    entry = Fields(data)
    software_id = entry.req_int("id")
    name = entry.req_str("name")
    custom = entry.opt_obj("customAttributes")
    identifiers = _identifiers(entry)
    external_id = entry.opt_str("externalId")
    external_source = entry.opt_str("sourceSlug")
    licence = entry.opt_str("license")
    latest = entry.opt_obj("latestVersion")
    dereferencing = _dereferencing(entry)
    organisations = _organisations(software_id, entry)
    users, referents = _counts(organisations)

    software = Software(
        id=software_id,
        name=name,
        description=entry.localized("description"),
        description_en=entry.localized("description", "en"),
        licence=licence,
        licence_spdx=spdx_licence(licence),
        version_min=_version_min(custom, entry),
        categories=entry.str_list("applicationCategories"),
        keywords=_keywords(entry, "keywords"),
        referenced_since=entry.opt_time("addedTime"),
        updated_at=entry.opt_time("updateTime"),
        is_dereferenced=dereferencing.is_dereferenced,
        dereferencing_reason=dereferencing.reason,
        dereferencing_time=dereferencing.time,
        last_recommended_version=dereferencing.last_recommended_version,
        is_in_observation=entry.opt_bool("isStillInObservation"),
        is_from_french_public_service=_flag(custom, entry, "isFromFrenchPublicService"),
        is_present_in_support_contract=_flag(custom, entry, "isPresentInSupportContract"),
        respects_rgaa=_flag(custom, entry, "doRespectRgaa"),
        is_libre=entry.opt_bool("isLibreSoftware"),
        website=entry.opt_str("url"),
        repository_url=entry.opt_str("codeRepositoryUrl"),
        documentation_url=entry.opt_str("softwareHelp"),
        logo_url=_url(entry.opt_str("image")),
        wikidata_id=_first(_wikidata(external_id, external_source), identifiers.wikidata_id),
        comptoir_du_libre_id=identifiers.comptoir_du_libre_id,
        framalibre_id=identifiers.framalibre_id,
        external_id=external_id,
        external_source=external_source,
        latest_version=_first_str(latest, "version"),
        latest_version_date=latest.opt_time("releaseDate") if latest else None,
        users_count=users,
        referents_count=referents,
        instances_count=None,
        operating_systems=_operating_systems(entry.opt_obj("operatingSystems")),
        runtime_platforms=entry.str_list("runtimePlatforms"),
        programming_languages=entry.str_list("programmingLanguages"),
        authors=_names(entry.obj_list("authors"), "name"),
        custom_attributes=_custom_attributes(custom),
    )
    return Parsed(
        software,
        organisations,
        [],
        _merge_providers(
            _organization_provider(software_id, p) for p in entry.obj_list("providers")
        ),
        [_similar(software_id, item) for item in entry.obj_list("similarSoftwares")],
    )


# -- 2022 ------------------------------------------------------------------------------------

#: The 2022 statuses: recommandé, en observation, fin de recommandation.
_STATUSES_2022 = ("R", "O", "FR")
_YEAR = re.compile(r"\b(20\d\d)\b")


def _yes(entry: Fields, key: str) -> bool:
    """``"Oui"`` or ``""``."""
    return (entry.opt_str(key) or "").lower() == "oui"


def parse_2022(data: dict[str, object]) -> Parsed:
    """A 2022 entry (etalab/sill-contents ``sill.json``): short keys, strings everywhere.

    The keys come from sill-contents' ``sill-mapping`` (``src/core.clj``): ``i`` nom, ``f``
    fonction, ``u`` contexte d'usage, ``se`` secteur, ``c`` composant, ``l`` licence, ``v-``/``v+``
    versions min/max, ``st`` statut, ``p`` parent, ``si`` similaire à (SILL ids, or names of
    software outside the SILL), ``co`` Comptoir
    du Libre id, ``g`` groupe MIM, ``y`` années, ``la`` label (catalogue.numerique.gouv.fr),
    ``su`` support (``Oui``: in the support contract), ``a`` public (``Oui`` for the software
    made by the French public sector: Archifiltre, VITAM, OpenFisca…), and from Wikidata
    ``website``, ``sources``, ``doc``, ``logo``, ``frama``, ``fr-desc``, ``en-desc``. The Wikidata
    id itself was dropped from this export.
    """
    entry = Fields(data)
    raw_id = entry.req_str("id")
    if not raw_id.isdigit():
        raise EntryError("id", f"expected a number, got {raw_id!r}")
    software_id = int(raw_id)
    name = entry.req_str("i")
    status = entry.opt_str("st")
    if status is not None and status not in _STATUSES_2022:
        raise EntryError("st", f"expected one of {', '.join(_STATUSES_2022)}, got {status!r}")
    years = tuple(sorted({int(y) for y in _YEAR.findall(entry.opt_str("y") or "")}))
    licence = entry.opt_str("l")
    if licence in ("N/A", "NA"):
        licence = None
    comptoir = entry.opt_str("co")
    frama = entry.opt_obj("frama")
    version_max = entry.opt_str("v+")
    is_dereferenced = status == "FR"
    similar = []
    for part in re.split(r"[;,]", entry.opt_str("si") or ""):
        token = part.strip()
        if not token:
            continue
        if token.isdigit():
            similar.append(SillSimilarSoftware(software_id, None, sill_id=int(token)))
        else:
            # Names of software outside the SILL, as in Onyxia's "AWS, Google Cloud Platform".
            similar.append(SillSimilarSoftware(software_id, token))
    categories = tuple(dict.fromkeys(c for c in (entry.opt_str("se"), entry.opt_str("c")) if c))

    software = Software(
        id=software_id,
        name=name,
        description=_first(entry.opt_str("f"), entry.opt_str("fr-desc")),
        description_en=entry.opt_str("en-desc"),
        licence=licence,
        licence_spdx=spdx_licence(licence),
        version_min=entry.opt_str("v-"),
        version_max=version_max,
        categories=categories,
        referenced_since=f"{years[0]}-01-01T00:00:00Z" if years else None,
        is_dereferenced=is_dereferenced,
        last_recommended_version=version_max if is_dereferenced else None,
        is_in_observation=status == "O" if status else None,
        is_from_french_public_service=_yes(entry, "a"),
        is_present_in_support_contract=_yes(entry, "su"),
        website=entry.opt_str("website"),
        repository_url=entry.opt_str("sources"),
        documentation_url=entry.opt_str("doc"),
        logo_url=_url(entry.opt_str("logo")),
        comptoir_du_libre_id=int(comptoir) if comptoir and comptoir.isdigit() else None,
        framalibre_id=frama.opt_str("name") if frama else None,
        catalogue_numerique_url=entry.opt_str("la"),
        parent_software=entry.opt_str("p"),
        usage_context=entry.opt_str("u"),
        mim_group=entry.opt_str("g"),
        sill_years=years,
        status=status,
    )
    return Parsed(software, similar=similar)
