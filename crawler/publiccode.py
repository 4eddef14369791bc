"""publiccode.yml: parse safely, validate against the standard (versions 0.2 to 0.7, and
``"0"``, "the latest 0.x"), and keep the main fields, so an author sees what to fix and the
inventory shows what the file declares.

The rules follow the standard's core schema, version 0.7.0 (publiccodeyml/publiccode.yml,
``docs/standard/schema.core.rst`` and its CHANGELOG), key by key: mandatory keys, types,
enumerations (``developmentStatus``, ``softwareType``, ``maintenance.type``, the categories and
scope lists), dates ``YYYY-MM-DD``, URLs and URIs, BCP 47 language tags, ISO 3166-1 alpha-2
countries, SPDX licence expressions. As the reference validator (italia/publiccode-parser-go)
does, a file is checked against the latest rules whatever version it declares, and an explicit
older version gets a warning advising ``"0"``; the one rule kept per version is ``categories``,
mandatory before 0.4 (optional since 0.5). Warnings, not errors: what the standard deprecates
(0.3: ``monochromeLogo``, ``inputTypes``, ``outputTypes``, ``genericName``; 0.4:
``legal.authorsFile``; 0.5: ``legal.repoOwner``, lower-case country codes, ``it.conforme``,
``it.riuso.codiceIPA``; 0.7: the country-specific sections), each for the files that declare
that version or a later one (a 0.4 file had to write ``fr``), what it only recommends, and keys
it does not define. An unknown version is an error; the file is then checked all the same, so
every problem is reported at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pycountry

from crawler.licences import NOASSERTION, normalise
from crawler.licences.bounded import ParseError, load_yaml, read_capped
from crawler.licences.spdx import is_expression

log = logging.getLogger(__name__)

#: ``"0"`` stands for the latest 0.x (the standard's own examples use it).
SUPPORTED_VERSIONS = (
    "0",
    "0.2",
    "0.2.0",
    "0.2.1",
    "0.2.2",
    "0.3",
    "0.3.0",
    "0.4",
    "0.4.0",
    "0.5",
    "0.5.0",
    "0.6",
    "0.6.0",
    "0.7",
    "0.7.0",
)
LATEST_VERSION = "0.7.0"
#: A publiccode.yml is a few kilobytes; larger input is refused before parsing.
MAX_BYTES = 512 * 1024
#: A real one has a few hundred YAML nodes; the cap keeps a hostile one under a second or so.
MAX_NODES = 10_000
#: Seconds PyYAML may spend on one file (a backstop: MAX_NODES and MAX_BYTES come first).
PARSE_SECONDS = 2.0

DEVELOPMENT_STATUSES = ("concept", "development", "beta", "stable", "obsolete")
SOFTWARE_TYPES = (
    "standalone/mobile",
    "standalone/iot",
    "standalone/desktop",
    "standalone/web",
    "standalone/backend",
    "standalone/other",
    "addon",
    "library",
    "configurationFiles",
)
MAINTENANCE_TYPES = ("internal", "contract", "community", "none")
PLATFORMS = ("web", "windows", "mac", "linux", "ios", "android")

#: The standard's controlled vocabularies (docs/standard/categories-list.rst, scope-list.rst).
CATEGORIES = frozenset(
    [
        "accounting",
        "agile-project-management",
        "applicant-tracking",
        "application-development",
        "appointment-scheduling",
        "backup",
        "billing-and-invoicing",
        "blog",
        "budgeting",
        "business-intelligence",
        "business-process-management",
        "cad",
        "call-center-management",
        "cloud-management",
        "collaboration",
        "communications",
        "compliance-management",
        "contact-management",
        "content-management",
        "crm",
        "customer-service-and-support",
        "data-analytics",
        "data-collection",
        "data-visualization",
        "design",
        "design-system",
        "digital-asset-management",
        "digital-citizenship",
        "document-management",
        "donor-management",
        "e-commerce",
        "e-signature",
        "educational-content",
        "email-management",
        "email-marketing",
        "employee-management",
        "enterprise-project-management",
        "enterprise-social-networking",
        "erp",
        "event-management",
        "facility-management",
        "feedback-and-reviews-management",
        "financial-reporting",
        "fleet-management",
        "fundraising",
        "gamification",
        "geographic-information-systems",
        "grant-management",
        "graphic-design",
        "help-desk",
        "hr",
        "ide",
        "identity-management",
        "instant-messaging",
        "integrated-library-system",
        "inventory-management",
        "it-asset-management",
        "it-development",
        "it-management",
        "it-security",
        "it-service-management",
        "knowledge-management",
        "learning-management-system",
        "marketing",
        "mind-mapping",
        "mobile-marketing",
        "mobile-payment",
        "network-management",
        "office",
        "online-booking",
        "online-community",
        "payment-gateway",
        "payroll",
        "predictive-analysis",
        "procurement",
        "productivity-suite",
        "project-collaboration",
        "project-management",
        "property-management",
        "real-estate-management",
        "regulations-and-directives",
        "remote-support",
        "resource-management",
        "sales-management",
        "seo",
        "service-desk",
        "social-media-management",
        "survey",
        "talent-management",
        "task-management",
        "taxes-management",
        "test-management",
        "time-management",
        "time-tracking",
        "translation",
        "video-conferencing",
        "video-editing",
        "visitor-management",
        "voip",
        "warehouse-management",
        "web-collaboration",
        "web-conferencing",
        "website-builder",
        "whistleblowing",
        "workflow-management",
        "other",
    ]
)
SCOPES = frozenset(
    [
        "agriculture",
        "culture",
        "defence",
        "education",
        "emergency-services",
        "employment",
        "energy",
        "environment",
        "finance-and-economic-development",
        "foreign-affairs",
        "government",
        "healthcare",
        "infrastructures",
        "justice",
        "local-authorities",
        "manufacturing",
        "research",
        "science-and-technology",
        "security",
        "society",
        "sport",
        "tourism",
        "transportation",
        "welfare",
    ]
)

_TOP_LEVEL = frozenset(
    {
        "publiccodeYmlVersion",
        "name",
        "applicationSuite",
        "url",
        "landingURL",
        "isBasedOn",
        "softwareVersion",
        "releaseDate",
        "logo",
        "monochromeLogo",
        "inputTypes",
        "outputTypes",
        "platforms",
        "categories",
        "usedBy",
        "roadmap",
        "developmentStatus",
        "softwareType",
        "intendedAudience",
        "description",
        "legal",
        "maintenance",
        "localisation",
        "dependsOn",
        "organisation",
        "fundedBy",
        "supports",
    }
)
_DESCRIPTION_KEYS = frozenset(
    {
        "localisedName",
        "genericName",
        "shortDescription",
        "longDescription",
        "documentation",
        "apiDocumentation",
        "features",
        "screenshots",
        "videos",
        "awards",
    }
)
#: Key path: (the 0.x version that deprecated it, the warning).
_DEPRECATED = {
    "monochromeLogo": (3, "deprecated since 0.3: use logo only"),
    "inputTypes": (3, "deprecated since 0.3"),
    "outputTypes": (3, "deprecated since 0.3"),
    "legal.authorsFile": (4, "deprecated since 0.4"),
    "legal.repoOwner": (5, "deprecated since 0.5: use organisation.name"),
}
_LEGAL_KEYS = frozenset({"license", "mainCopyrightOwner", "repoOwner", "authorsFile"})
_MAINTENANCE_KEYS = frozenset({"type", "contractors", "contacts"})
_CONTACT_KEYS = frozenset({"name", "email", "phone", "affiliation"})
_CONTRACTOR_KEYS = frozenset({"name", "until", "email", "website"})
_LOCALISATION_KEYS = frozenset({"localisationReady", "availableLanguages"})
_AUDIENCE_KEYS = frozenset({"countries", "unsupportedCountries", "scope"})
_DEPENDENCY_KEYS = frozenset({"name", "versionMin", "versionMax", "version", "optional"})
#: The Italian section (the only country-specific one the standard defines): its sub-sections
#: and their keys, booleans but ``riuso.codiceIPA``.
_IT_SECTIONS = {
    "conforme": ("lineeGuidaDesign", "modelloInteroperabilita", "misureMinimeSicurezza", "gdpr"),
    "piattaforme": ("spid", "cie", "anpr", "pagopa", "io"),
    "riuso": ("codiceIPA",),
}
#: ``supports[].id``: ``alias:<name>`` (the standard's list of aliases is not bundled: any
#: well-formed name is accepted) or a URI.
_ALIAS = re.compile(r"^alias:[a-z0-9][a-z0-9._-]*$")
#: Source-control protocols the standard's ``url`` may use besides http(s) ("git, svn, …").
_REPOSITORY_SCHEMES = frozenset({"git", "svn", "ssh", "git+ssh", "svn+ssh", "hg", "bzr"})
#: RFC 3986 ``scheme:rest``: ``https://…``, ``urn:x-italian-pa:c_h501``…
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$")
_BCP47 = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Issue:
    """An error or a warning about one key."""

    path: str
    """Where, as a key path: ``maintenance.type``, ``maintenance.contacts[0].email``,
    ``description.fr.shortDescription``; empty for the whole file."""
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Contact:
    """One of ``maintenance.contacts``."""

    name: str
    email: str | None = None
    phone: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True)
class PubliccodeResult:
    """The validation of one publiccode.yml and the main fields it declares (None when absent or
    of the wrong type)."""

    valid: bool
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    version: str | None = None
    """``publiccodeYmlVersion`` as written."""
    name: str | None = None
    url: str | None = None
    landing_url: str | None = None
    software_version: str | None = None
    release_date: str | None = None
    development_status: str | None = None
    software_type: str | None = None
    platforms: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    short_descriptions: Mapping[str, str] = field(default_factory=dict)
    """``description.<lang>.shortDescription`` by language."""
    licence: str | None = None
    """``legal.license`` as written."""
    licence_spdx: str | None = None
    """``legal.license`` normalised to SPDX (NOASSERTION when it is not a valid expression)."""
    maintenance_type: str | None = None
    maintenance_contacts: tuple[Contact, ...] = ()
    maintenance_contractors: tuple[str, ...] = ()
    """Names of ``maintenance.contractors``."""
    organisation_uri: str | None = None
    """``organisation.uri`` (0.5): who publishes the software."""
    organisation_name: str | None = None
    supports: tuple[str, ...] = ()
    """``supports[].id`` (0.7): standards, regulations or systems the software supports."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``valid``, ``errors``, ``warnings`` and the fields)."""
        return {
            "valid": self.valid,
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
            "publiccodeYmlVersion": self.version,
            "name": self.name,
            "url": self.url,
            "landingURL": self.landing_url,
            "softwareVersion": self.software_version,
            "releaseDate": self.release_date,
            "developmentStatus": self.development_status,
            "softwareType": self.software_type,
            "platforms": list(self.platforms),
            "categories": list(self.categories),
            "shortDescriptions": dict(self.short_descriptions),
            "license": self.licence,
            "licenseSpdx": self.licence_spdx,
            "maintenanceType": self.maintenance_type,
            "maintenanceContacts": [vars(contact) for contact in self.maintenance_contacts],
            "maintenanceContractors": list(self.maintenance_contractors),
            "organisationUri": self.organisation_uri,
            "organisationName": self.organisation_name,
            "supports": list(self.supports),
        }

    def as_row(self, path: str) -> dict[str, Any]:
        """The ``publiccode`` table's columns (but ``repository`` and ``read_at``), lists and
        objects as JSON text."""

        def dumps(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False)

        descriptions = dict(self.short_descriptions)
        short = descriptions.get("fr") or next(iter(descriptions.values()), None)
        return {
            "path": path,
            "valid": int(self.valid),
            "errors_count": len(self.errors),
            "warnings_count": len(self.warnings),
            "errors": dumps([issue.as_dict() for issue in self.errors]),
            "warnings": dumps([issue.as_dict() for issue in self.warnings]),
            "version": self.version,
            "name": self.name,
            "url": self.url,
            "landing_url": self.landing_url,
            "software_version": self.software_version,
            "release_date": self.release_date,
            "development_status": self.development_status,
            "software_type": self.software_type,
            "platforms": dumps(list(self.platforms)),
            "categories": dumps(list(self.categories)),
            "short_description": short,
            "short_descriptions": dumps(descriptions),
            "licence": self.licence,
            "licence_spdx": self.licence_spdx,
            "maintenance_type": self.maintenance_type,
            "maintenance_contacts": dumps(
                [
                    {k: v for k, v in vars(contact).items() if v is not None}
                    for contact in self.maintenance_contacts
                ]
            ),
            "maintenance_contractors": dumps(list(self.maintenance_contractors)),
            "organisation_uri": self.organisation_uri,
            "organisation_name": self.organisation_name,
            "supports": dumps(list(self.supports)),
        }


def validate(text: str | bytes) -> PubliccodeResult:
    """Parse (safe YAML, no aliases, bounded size and depth) and validate one publiccode.yml.

    Never raises on bad content: a file that cannot be read is an invalid result whose one
    error has the empty key path.

    Args:
        text: the file's content; bytes must be UTF-8, as the standard requires.

    Returns:
        The result: ``valid`` is False when there is at least one error.
    """
    try:
        data = load_yaml(text, max_bytes=MAX_BYTES, max_nodes=MAX_NODES, timeout=PARSE_SECONDS)
    except ParseError as error:
        return _invalid(str(error))
    if not isinstance(data, dict):
        return _invalid("the file must be a YAML mapping of keys to values")
    return _Validator(data).run()


def validate_file(path: str | Path) -> PubliccodeResult:
    """``validate`` on a file, read no further than ``MAX_BYTES``.

    Raises:
        OSError: the file cannot be read.
    """
    try:
        data = read_capped(path, MAX_BYTES)
    except ParseError as error:
        return _invalid(str(error))
    return validate(data)


def _invalid(message: str) -> PubliccodeResult:
    return PubliccodeResult(valid=False, errors=(Issue("", message),))


class _Validator:
    def __init__(self, data: dict[Any, Any]) -> None:
        self.data = data
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.version: str | None = None

    def error(self, path: str, message: str) -> None:
        self.errors.append(Issue(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Issue(path, message))

    # --- typed getters: report and return None when the type is wrong ---

    def string(self, path: str, value: Any, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.error(path, "missing mandatory key")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(path, "must be a string")
            return None
        text = value if isinstance(value, str) else str(value)
        if not isinstance(value, str):
            self.warn(path, f"should be a quoted string: {value!r}")
        if required and not text.strip():
            self.error(path, "must not be empty")
            return None
        return text

    def strings(self, path: str, value: Any, *, required: bool = False) -> list[str]:
        if value is None:
            if required:
                self.error(path, "missing mandatory key")
            return []
        if not isinstance(value, list):
            self.error(path, "must be a list")
            return []
        if required and not value:
            self.error(path, "must not be empty")
        found = []
        for index, item in enumerate(value):
            text = self.string(f"{path}[{index}]", item)
            if text is not None:
                found.append(text)
        return found

    def mapping(self, path: str, value: Any, *, required: bool = False) -> dict[Any, Any] | None:
        if value is None:
            if required:
                self.error(path, "missing mandatory section")
            return None
        if not isinstance(value, dict):
            self.error(path, "must be a mapping of keys to values")
            return None
        return value

    def url(self, path: str, value: Any, *, required: bool = False) -> str | None:
        text = self.string(path, value, required=required)
        if text is None:
            return None
        parsed = urlparse(text.strip())
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            self.error(path, f"must be an http(s) URL: {text!r}")
            return None
        return text.strip()

    def repository_url(self, value: Any) -> str | None:
        """``url``: the standard allows any repository protocol (git, svn…) and prefers
        HTTP(S); an http(s) URL is what a catalogue can link to."""
        text = self.string("url", value, required=True)
        if text is None:
            return None
        parsed = urlparse(text.strip())
        if parsed.scheme in _REPOSITORY_SCHEMES and parsed.netloc:
            self.warn("url", f"prefer an http(s) URL (not {parsed.scheme}://): {text!r}")
            return text.strip()
        return self.url("url", value, required=True)

    def date(self, path: str, value: Any, *, required: bool = False) -> str | None:
        if isinstance(value, dt.datetime):
            self.error(path, "must be a date YYYY-MM-DD, not a date and time")
            return None
        if isinstance(value, dt.date):  # an unquoted date, read as such by YAML
            return value.isoformat()
        text = self.string(path, value, required=required)
        if text is None:
            return None
        try:
            if not _DATE.match(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            self.error(path, f"must be a date YYYY-MM-DD: {text!r}")
            return None

    def enum(
        self, path: str, value: Any, allowed: tuple[str, ...], *, hint: str = ""
    ) -> str | None:
        text = self.string(path, value, required=True)
        if text is None:
            return None
        if text not in allowed:
            self.error(path, f"{text!r} is not one of {', '.join(allowed)}{hint}")
            return None
        return text

    def language(self, path: str, tag: Any) -> bool:
        if not isinstance(tag, str) or not _BCP47.match(tag):
            self.error(path, f"{tag!r} is not a BCP 47 language tag (fr, en, fr-FR…)")
            return False
        return True

    # --- the standard ---

    def run(self) -> PubliccodeResult:
        data = self.data
        self.check_version()
        for key in data:
            if _is_country(key):
                self.check_country_section(str(key), data[key])
            elif key not in _TOP_LEVEL:
                hint = " (replaced by categories in 0.2)" if key == "tags" else ""
                self.warn(str(key), f"unknown key{hint}")
        for key, (minor, message) in _DEPRECATED.items():
            section, _, last = key.rpartition(".")
            holder = data.get(section) if section else data
            if isinstance(holder, dict) and last in holder and self.since(minor):
                self.warn(key, message)
        name = self.string("name", data.get("name"), required=True)
        self.string("applicationSuite", data.get("applicationSuite"))
        url = self.repository_url(data.get("url"))
        landing = self.url("landingURL", data.get("landingURL"))
        self.check_based_on(data.get("isBasedOn"))
        version = self.string("softwareVersion", data.get("softwareVersion"))
        release = self.date("releaseDate", data.get("releaseDate"))
        if version is not None and release is None and "releaseDate" not in data:
            self.warn("releaseDate", "recommended when softwareVersion is given")
        self.check_logo("logo", data.get("logo"))
        self.check_logo("monochromeLogo", data.get("monochromeLogo"))
        for key in ("inputTypes", "outputTypes", "usedBy"):
            self.strings(key, data.get(key))
        self.check_funded_by(data.get("fundedBy"))
        self.url("roadmap", data.get("roadmap"))
        platforms = self.check_platforms(data.get("platforms"))
        categories = self.check_categories(data.get("categories"))
        status = self.enum("developmentStatus", data.get("developmentStatus"), DEVELOPMENT_STATUSES)
        software_type = self.enum(
            "softwareType",
            data.get("softwareType"),
            SOFTWARE_TYPES,
            hint=_software_type_hint(data.get("softwareType")),
        )
        self.check_audience(data.get("intendedAudience"))
        short = self.check_description(data.get("description"))
        licence, licence_spdx = self.check_legal(data.get("legal"))
        maintenance_type, contacts, contractors = self.check_maintenance(data.get("maintenance"))
        self.check_localisation(data.get("localisation"))
        self.check_depends_on(data.get("dependsOn"))
        organisation_uri, organisation_name = self.check_organisation(data.get("organisation"))
        supports = self.check_supports(data.get("supports"))
        return PubliccodeResult(
            valid=not self.errors,
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
            version=self.version,
            name=name,
            url=url,
            landing_url=landing,
            software_version=version,
            release_date=release,
            development_status=status,
            software_type=software_type,
            platforms=tuple(platforms),
            categories=tuple(categories),
            short_descriptions=short,
            licence=licence,
            licence_spdx=licence_spdx,
            maintenance_type=maintenance_type,
            maintenance_contacts=tuple(contacts),
            maintenance_contractors=tuple(contractors),
            organisation_uri=organisation_uri,
            organisation_name=organisation_name,
            supports=tuple(supports),
        )

    def check_version(self) -> None:
        self.version = self.string(
            "publiccodeYmlVersion", self.data.get("publiccodeYmlVersion"), required=True
        )
        if self.version is None:
            return
        if self.version not in SUPPORTED_VERSIONS:
            self.error(
                "publiccodeYmlVersion",
                f'unknown version {self.version!r}: supported versions are "0" (the latest '
                f"0.x) and 0.2 to 0.7 ({', '.join(SUPPORTED_VERSIONS[1:])})",
            )
        elif self.version != "0" and not self.version.startswith("0.7"):
            self.warn(
                "publiccodeYmlVersion",
                f'version {self.version} is not the latest: write "0" (the latest 0.x, '
                f"{LATEST_VERSION} today); the file is checked against {LATEST_VERSION}",
            )

    @property
    def before_04(self) -> bool:
        return self.version is not None and self.version.startswith(("0.2", "0.3"))

    def check_based_on(self, value: Any) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.url(f"isBasedOn[{index}]", item)
        elif value is not None:
            self.url("isBasedOn", value)

    @property
    def before_05(self) -> bool:
        return self.before_04 or (self.version is not None and self.version.startswith("0.4"))

    def since(self, minor: int) -> bool:
        """Whether the declared version is 0.<minor> or later: ``"0"`` (the latest) and an
        unknown version count as the latest, whose rules the file is checked against."""
        match = re.fullmatch(r"0\.(\d+)(?:\.\d+)?", self.version or "")
        return match is None or int(match.group(1)) >= minor

    def unknown_keys(self, path: str, section: dict[Any, Any], known: frozenset[str]) -> None:
        for key in section:
            if key not in known:
                self.warn(f"{path}.{key}", "unknown key")

    def check_logo(self, path: str, value: Any) -> None:
        text = self.string(path, value)
        if text is not None and not _path_of(text).lower().endswith((".svg", ".svgz", ".png")):
            self.error(path, f"must be an SVG, SVGZ or PNG file: {text!r}")

    def check_platforms(self, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        return self.strings("platforms", value, required=True)

    def check_categories(self, value: Any) -> list[str]:
        if value is None:
            if self.before_04:
                self.error("categories", "missing mandatory key before version 0.4")
            elif self.before_05:
                self.warn("categories", "recommended: helps catalogues list the software")
            return []
        categories = self.strings("categories", value)
        for index, category in enumerate(categories):
            if category not in CATEGORIES:
                self.error(
                    f"categories[{index}]",
                    f"{category!r} is not in the standard's list of categories (use other)",
                )
        return categories

    def country(self, path: str, code: str) -> None:
        """An ISO 3166-1 alpha-2 code: upper-case since 0.5, lower-case deprecated."""
        if code.upper() not in _iso_countries():
            self.error(path, f"{code!r} is not an ISO 3166-1 alpha-2 country code (FR, IT…)")
        elif code != code.upper() and self.since(5):
            self.warn(
                path, f"lower-case country codes are deprecated since 0.5: write {code.upper()!r}"
            )

    def check_audience(self, value: Any) -> None:
        audience = self.mapping("intendedAudience", value)
        if audience is None:
            return
        self.unknown_keys("intendedAudience", audience, _AUDIENCE_KEYS)
        for key in ("countries", "unsupportedCountries"):
            for index, code in enumerate(
                self.strings(f"intendedAudience.{key}", audience.get(key))
            ):
                self.country(f"intendedAudience.{key}[{index}]", code)
        for index, scope in enumerate(
            self.strings("intendedAudience.scope", audience.get("scope"))
        ):
            if scope not in SCOPES:
                self.error(
                    f"intendedAudience.scope[{index}]",
                    f"{scope!r} is not in the standard's scope list",
                )

    def check_description(self, value: Any) -> dict[str, str]:
        description = self.mapping("description", value, required=True)
        if description is None:
            return {}
        if not description:
            self.error("description", "needs at least one language (fr, en…)")
            return {}
        short: dict[str, str] = {}
        has_long = has_features = False
        for lang, content in description.items():
            base = f"description.{lang}"
            valid_tag = self.language(base, lang)
            section = self.mapping(base, content, required=True)
            if section is None:
                continue
            for key in section:
                if key not in _DESCRIPTION_KEYS:
                    self.warn(f"{base}.{key}", "unknown key")
            self.string(f"{base}.localisedName", section.get("localisedName"))
            generic = self.string(f"{base}.genericName", section.get("genericName"))
            if generic is not None:
                if self.since(3):
                    self.warn(f"{base}.genericName", "deprecated since 0.3")
                if len(generic) > 35:
                    self.error(f"{base}.genericName", f"at most 35 characters ({len(generic)})")
            text = self.string(
                f"{base}.shortDescription", section.get("shortDescription"), required=True
            )
            if text is not None:
                if valid_tag:
                    short[str(lang)] = text
                if len(text) > 150:
                    self.error(f"{base}.shortDescription", f"at most 150 characters ({len(text)})")
            long = self.string(f"{base}.longDescription", section.get("longDescription"))
            if long is not None:
                has_long = True
                if not 150 <= len(long) <= 10000:
                    self.error(
                        f"{base}.longDescription",
                        f"must be 150 to 10000 characters long ({len(long)})",
                    )
            self.url(f"{base}.documentation", section.get("documentation"))
            self.url(f"{base}.apiDocumentation", section.get("apiDocumentation"))
            if section.get("features") is not None:
                has_features = bool(self.strings(f"{base}.features", section.get("features")))
            for index, shot in enumerate(
                self.strings(f"{base}.screenshots", section.get("screenshots"))
            ):
                if not _path_of(shot).lower().endswith((".png", ".jpg", ".jpeg")):
                    self.error(
                        f"{base}.screenshots[{index}]", f"must be a PNG or JPEG file: {shot!r}"
                    )
            videos = section.get("videos")
            if isinstance(videos, list):
                for index, video in enumerate(videos):
                    self.url(f"{base}.videos[{index}]", video)
            elif videos is not None:
                self.error(f"{base}.videos", "must be a list")
            self.strings(f"{base}.awards", section.get("awards"))
        if not short:
            self.error("description", "needs at least one language with a shortDescription")
        if not has_long:
            self.error("description", "longDescription is mandatory for at least one language")
        if not has_features:
            self.error("description", "features is mandatory for at least one language")
        return short

    def check_legal(self, value: Any) -> tuple[str | None, str | None]:
        legal = self.mapping("legal", value, required=True)
        if legal is None:
            return None, None
        self.unknown_keys("legal", legal, _LEGAL_KEYS)
        licence = self.string("legal.license", legal.get("license"), required=True)
        spdx = normalise(licence) if licence is not None else None
        if licence is not None and spdx is not None:
            if not is_expression(licence):
                hint = f": write {spdx!r}" if spdx != NOASSERTION else ""
                self.error("legal.license", f"{licence!r} is not an SPDX licence expression{hint}")
            elif spdx != NOASSERTION and spdx.lower() != licence.lower():
                self.warn("legal.license", f"deprecated SPDX identifier: write {spdx!r}")
        for key in ("mainCopyrightOwner", "repoOwner", "authorsFile"):
            self.string(f"legal.{key}", legal.get(key))
        return licence, spdx

    def check_maintenance(self, value: Any) -> tuple[str | None, list[Contact], list[str]]:
        maintenance = self.mapping("maintenance", value, required=True)
        if maintenance is None:
            return None, [], []
        self.unknown_keys("maintenance", maintenance, _MAINTENANCE_KEYS)
        kind = self.enum("maintenance.type", maintenance.get("type"), MAINTENANCE_TYPES)
        contacts = self.check_contacts(maintenance.get("contacts"))
        contractors = self.check_contractors(maintenance.get("contractors"))
        if kind in {"internal", "community"} and not contacts:
            self.error("maintenance.contacts", f"mandatory when maintenance.type is {kind}")
        if kind == "contract" and not contractors:
            self.error("maintenance.contractors", "mandatory when maintenance.type is contract")
        if kind is not None and kind != "contract" and maintenance.get("contractors") is not None:
            self.error(
                "maintenance.contractors",
                f"must not be present when maintenance.type is {kind} (only with contract)",
            )
        return kind, contacts, contractors

    def check_contacts(self, value: Any) -> list[Contact]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error("maintenance.contacts", "must be a list")
            return []
        contacts = []
        for index, item in enumerate(value):
            base = f"maintenance.contacts[{index}]"
            contact = self.mapping(base, item, required=True)
            if contact is None:
                continue
            self.unknown_keys(base, contact, _CONTACT_KEYS)
            name = self.string(f"{base}.name", contact.get("name"), required=True)
            email = self.string(f"{base}.email", contact.get("email"))
            if email is not None and not _EMAIL.match(email):
                self.error(f"{base}.email", f"not an e-mail address: {email!r}")
            phone = self.string(f"{base}.phone", contact.get("phone"))
            affiliation = self.string(f"{base}.affiliation", contact.get("affiliation"))
            if name is not None:
                contacts.append(Contact(name, email, phone, affiliation))
        return contacts

    def check_contractors(self, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error("maintenance.contractors", "must be a list")
            return []
        names = []
        for index, item in enumerate(value):
            base = f"maintenance.contractors[{index}]"
            contractor = self.mapping(base, item, required=True)
            if contractor is None:
                continue
            self.unknown_keys(base, contractor, _CONTRACTOR_KEYS)
            name = self.string(f"{base}.name", contractor.get("name"), required=True)
            self.date(f"{base}.until", contractor.get("until"), required=True)
            email = self.string(f"{base}.email", contractor.get("email"))
            if email is not None and not _EMAIL.match(email):
                self.error(f"{base}.email", f"not an e-mail address: {email!r}")
            self.url(f"{base}.website", contractor.get("website"))
            if name is not None:
                names.append(name)
        return names

    def check_localisation(self, value: Any) -> None:
        localisation = self.mapping("localisation", value, required=True)
        if localisation is None:
            return
        self.unknown_keys("localisation", localisation, _LOCALISATION_KEYS)
        ready = localisation.get("localisationReady")
        if ready is None:
            self.error("localisation.localisationReady", "missing mandatory key")
        elif not isinstance(ready, bool):
            self.error("localisation.localisationReady", "must be true or false")
        languages = self.strings(
            "localisation.availableLanguages", localisation.get("availableLanguages"), required=True
        )
        for index, tag in enumerate(languages):
            self.language(f"localisation.availableLanguages[{index}]", tag)

    def check_depends_on(self, value: Any) -> None:
        depends = self.mapping("dependsOn", value)
        if depends is None:
            return
        for kind, items in depends.items():
            base = f"dependsOn.{kind}"
            if kind not in {"open", "proprietary", "hardware"}:
                self.warn(base, "unknown key (open, proprietary or hardware)")
            if not isinstance(items, list):
                self.error(base, "must be a list")
                continue
            for index, item in enumerate(items):
                dependency = self.mapping(f"{base}[{index}]", item, required=True)
                if dependency is None:
                    continue
                self.unknown_keys(f"{base}[{index}]", dependency, _DEPENDENCY_KEYS)
                self.string(f"{base}[{index}].name", dependency.get("name"), required=True)
                for key in ("versionMin", "versionMax", "version"):
                    self.string(f"{base}[{index}].{key}", dependency.get(key))
                optional = dependency.get("optional")
                if optional is not None and not isinstance(optional, bool):
                    self.error(f"{base}[{index}].optional", "must be true or false")

    def uri(self, path: str, value: Any, *, required: bool = False) -> str | None:
        text = self.string(path, value, required=required)
        if text is None:
            return None
        if not _URI.match(text.strip()):
            self.error(path, f"must be a URI (https://…, urn:…): {text!r}")
            return None
        return text.strip()

    def check_organisation(self, value: Any) -> tuple[str | None, str | None]:
        organisation = self.mapping("organisation", value)
        if organisation is None:
            return None, None
        self.unknown_keys("organisation", organisation, frozenset({"uri", "name"}))
        uri = self.uri("organisation.uri", organisation.get("uri"), required=True)
        name = self.string("organisation.name", organisation.get("name"))
        return uri, name

    def check_funded_by(self, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.error("fundedBy", "must be a list of organisations (name, uri)")
            return
        for index, item in enumerate(value):
            base = f"fundedBy[{index}]"
            funder = self.mapping(base, item, required=True)
            if funder is None:
                continue
            self.unknown_keys(base, funder, frozenset({"name", "uri"}))
            self.string(f"{base}.name", funder.get("name"), required=True)
            self.uri(f"{base}.uri", funder.get("uri"))

    def check_supports(self, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error("supports", "must be a list of objects with an id")
            return []
        ids = []
        for index, item in enumerate(value):
            base = f"supports[{index}]"
            entry = self.mapping(base, item, required=True)
            if entry is None:
                continue
            self.unknown_keys(base, entry, frozenset({"id"}))
            text = self.string(f"{base}.id", entry.get("id"), required=True)
            if text is None:
                continue
            if text.startswith("alias:"):
                if not _ALIAS.match(text):
                    self.error(f"{base}.id", f"not a valid alias (alias:gdpr…): {text!r}")
                    continue
            elif not _URI.match(text):
                self.error(
                    f"{base}.id", f"must be alias:<name> or a URI (https://…, urn:…): {text!r}"
                )
                continue
            ids.append(text)
        return ids

    def check_country_section(self, key: str, value: Any) -> None:
        """``IT:`` and the like: accepted, deprecated since 0.7 in favour of ``supports`` and
        ``organisation``; the Italian section's known keys are type-checked."""
        if self.since(7):
            lower = " (and lower-case country codes since 0.5)" if key != key.upper() else ""
            self.warn(
                key,
                f"country-specific sections are deprecated since 0.7{lower}: "
                "use supports and organisation",
            )
        elif key != key.upper() and self.since(5):
            self.warn(
                key, f"lower-case country codes are deprecated since 0.5: write {key.upper()!r}"
            )
        section = self.mapping(key, value)
        if section is None or key.upper() != "IT":
            return
        self.unknown_keys(key, section, frozenset({"countryExtensionVersion", *_IT_SECTIONS}))
        self.string(f"{key}.countryExtensionVersion", section.get("countryExtensionVersion"))
        for name, keys in _IT_SECTIONS.items():
            sub = self.mapping(f"{key}.{name}", section.get(name))
            if sub is None:
                continue
            base = f"{key}.{name}"
            self.unknown_keys(base, sub, frozenset(keys))
            if name == "conforme" and self.since(5):
                self.warn(base, "deprecated since 0.5: use supports")
            for flag in keys:
                item = sub.get(flag)
                if flag == "codiceIPA":
                    if self.string(f"{base}.{flag}", item) is not None and self.since(5):
                        self.warn(f"{base}.{flag}", "deprecated since 0.5: use organisation.uri")
                elif item is not None and not isinstance(item, bool):
                    self.error(f"{base}.{flag}", "must be true or false")


@cache
def _iso_countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def _is_country(key: Any) -> bool:
    """A country-specific section's key: an ISO 3166-1 alpha-2 code, upper- or lower-case."""
    return (
        isinstance(key, str)
        and len(key) == 2
        and key in (key.upper(), key.lower())
        and key.upper() in _iso_countries()
    )


def _path_of(location: str) -> str:
    """The path of a relative path or absolute URL, so ``logo.png?raw=true`` is a PNG."""
    return urlparse(location.strip()).path


def _software_type_hint(value: Any) -> str:
    if value == "standalone":
        return " (standalone was split in 0.2: standalone/web, standalone/desktop…)"
    if value == "softwareAddon":
        return " (use addon)"
    return ""
