"""Records of the SILL (Socle interministériel de logiciels libres), whatever export shape they
came from.

Frozen dataclasses only, and nothing of ours imported: the database layer turns them into rows of
``sill_software``, ``sill_organisations``, ``sill_instances``, ``sill_service_providers`` and
``sill_similar_software``. A value an export does not carry is ``None`` (unknown), never a guess:
the 2022 export has no user counts, the v2 export has no instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The export shapes ``sill.load`` recognises, newest first (see ``sill/data/SOURCES.md``).
SHAPES = ("v1", "v2", "2023-2024", "2022")

CustomValue = bool | str | int | float | None


@dataclass(frozen=True)
class Software:
    """One SILL entry. Dates are ISO 8601 UTC text (``2018-01-01T00:00:00Z``)."""

    id: int
    """The SILL's own id (``1`` is 7zip in every shape)."""
    name: str
    description: str | None = None
    """French description; in the 2022 export, the SILL's "fonction" text."""
    description_en: str | None = None
    licence: str | None = None
    """The licence exactly as the export gives it (free text or SPDX)."""
    licence_spdx: str | None = None
    """An SPDX id or expression when the given licence maps to one without guessing."""
    version_min: str | None = None
    """Minimum recommended version (free text: ``19``, ``Dernière stable``…)."""
    version_max: str | None = None
    """Maximum recommended version (2022 export only)."""
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    referenced_since: str | None = None
    """When the software entered the SILL (2022 export: 1 January of its first year)."""
    updated_at: str | None = None
    is_dereferenced: bool = False
    dereferencing_reason: str | None = None
    dereferencing_time: str | None = None
    last_recommended_version: str | None = None
    is_in_observation: bool | None = None
    """Still "en observation" (under test) rather than recommended."""
    is_from_french_public_service: bool | None = None
    is_present_in_support_contract: bool | None = None
    """Covered by the interministerial support contract."""
    respects_rgaa: bool | None = None
    """Complies with the RGAA (French accessibility rules); ``None`` when not stated."""
    is_libre: bool | None = None
    """Free software according to the external source (Wikidata, HAL…)."""
    website: str | None = None
    repository_url: str | None = None
    """The source code repository URL as given (see ``sill.match.normalise_repository_url``)."""
    documentation_url: str | None = None
    logo_url: str | None = None
    wikidata_id: str | None = None
    """``Q215051``."""
    comptoir_du_libre_id: int | None = None
    framalibre_id: str | None = None
    external_id: str | None = None
    """Identity of the external source the data comes from (a Wikidata, HAL… id)."""
    external_source: str | None = None
    """``wikidata``, ``HAL``, ``ComptoirDuLibre``…"""
    catalogue_numerique_url: str | None = None
    """Page of the software on catalogue.numerique.gouv.fr (2022 and 2023–2024 exports)."""
    latest_version: str | None = None
    latest_version_date: str | None = None
    users_count: int | None = None
    """Declared users, summed over organisations."""
    referents_count: int | None = None
    instances_count: int | None = None
    has_expert_referent: bool | None = None
    operating_systems: tuple[str, ...] = ()
    """``windows``, ``linux``, ``mac``, ``android``, ``ios``."""
    runtime_platforms: tuple[str, ...] = ()
    """``cloud``, ``desktop``, ``mobile`` (``stack`` in the 2023–2024 export)."""
    programming_languages: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    parent_software: str | None = None
    usage_context: str | None = None
    """Where and how it is used (2022 export's "contexte d'usage")."""
    mim_group: str | None = None
    """The interministerial group in charge in 2022 (MIMO, MIMDEV, MIMPROD…)."""
    sill_years: tuple[int, ...] = ()
    """Editions of the SILL the software was in (2022 export only)."""
    status: str | None = None
    """The export's own status word when it has one (2022: ``R``, ``O``, ``FR``)."""
    custom_attributes: Mapping[str, CustomValue] = field(default_factory=dict, hash=False)
    """Every attribute of ``customAttributes``, including ones this module does not know."""


@dataclass(frozen=True)
class SillOrganisation:
    """Declared users and referents of one software in one organisation (free-text name)."""

    software_id: int
    organisation: str | None
    """``None`` for users who declared no organisation (``"null"`` in v1, ``NO_ORGANIZATION``
    in v2)."""
    users_count: int
    referents_count: int


@dataclass(frozen=True)
class SillInstance:
    """A public instance of a software run by an organisation (v1 and 2023–2024 exports)."""

    software_id: int
    instance_id: int | None
    organisation: str | None
    target_audience: str | None
    url: str | None
    """Public address of the instance; ``None`` for an intranet-only one."""
    other_software: tuple[str, ...] = ()
    """Names of other software the instance also runs."""


@dataclass(frozen=True)
class SillServiceProvider:
    """A company offering services for a software (Comptoir du Libre, CNLL directory…)."""

    software_id: int
    name: str
    website: str | None = None
    comptoir_du_libre_url: str | None = None
    cnll_url: str | None = None
    siren: str | None = None


@dataclass(frozen=True)
class SillSimilarSoftware:
    """A software the SILL lists as similar to one of its entries."""

    software_id: int
    name: str | None
    """``None`` only when a 2022 entry names a SILL id that the export does not hold."""
    wikidata_id: str | None = None
    external_id: str | None = None
    external_source: str | None = None
    description: str | None = None
    is_libre: bool | None = None
    is_in_sill: bool | None = None
    sill_id: int | None = None
    """The similar software's own SILL id when it is in the SILL."""


@dataclass(frozen=True)
class SillExport:
    """One SILL export, loaded: what the ``sill_*`` tables are rebuilt from."""

    shape: str
    """One of ``SHAPES``: which export format was read."""
    source: str
    """The URL, path or ``<bytes>`` it was read from."""
    software: tuple[Software, ...]
    organisations: tuple[SillOrganisation, ...] = ()
    instances: tuple[SillInstance, ...] = ()
    providers: tuple[SillServiceProvider, ...] = ()
    similar: tuple[SillSimilarSoftware, ...] = ()
    warnings: tuple[str, ...] = ()
    """One line per skipped entry, naming its id and the faulty field."""
    skipped: int = 0
    """How many entries were skipped."""
